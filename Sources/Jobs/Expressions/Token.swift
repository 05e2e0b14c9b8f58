/// A lexical token of Flink SQL's expression syntax. Keywords are not separate kinds: they
/// are identifiers the parser recognises by their upper-cased text, as SQL keywords are
/// case-insensitive and most of them are only keywords in one position.
struct Token: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// A bare word: a column, a function name or a keyword.
        case word
        /// A backquoted identifier (`` `timestamp` ``): never a keyword, matched exactly.
        case quotedWord
        /// Digits only; the magnitude (2^63 is allowed, for -9223372036854775808).
        case integer(UInt64)
        /// Digits with a point: an exact numeric in Flink, computed as DOUBLE here.
        case decimal(Double)
        /// Exponent notation (1e3): an approximate numeric, DOUBLE.
        case float(Double)
        case string
        case symbol(Symbol)
        case end
    }

    enum Symbol: String, Sendable, Equatable {
        case leftParen = "(", rightParen = ")", comma = ",", dot = "."
        case plus = "+", minus = "-", star = "*", slash = "/", percent = "%", concat = "||"
        case equal = "=", notEqual = "<>", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
    }

    var kind: Kind
    var range: SourceRange
    /// Identifier text (unescaped for quoted words), string contents with '' unescaped, or the
    /// literal's source text for numbers.
    var text: String
    /// Upper-cased text of a bare word, for keyword tests.
    var upper: String

    init(_ kind: Kind, _ range: SourceRange, _ text: String = "") {
        self.kind = kind
        self.range = range
        self.text = text
        if case .word = kind { upper = text.uppercased() } else { upper = "" }
    }

    func isKeyword(_ k: String) -> Bool {
        if case .word = kind { return upper == k }
        return false
    }

    func isSymbol(_ s: Symbol) -> Bool {
        if case .symbol(let t) = kind { return t == s }
        return false
    }

    var isEnd: Bool {
        if case .end = kind { return true }
        return false
    }

    /// How the token reads in a message: `amount`, `)`, '…', or "the end of the expression".
    var shown: String {
        switch kind {
        case .end: return "the end of the expression"
        case .string: return "'\(text)'"
        case .quotedWord: return "`\(text)`"
        case .symbol(let s): return "`\(s.rawValue)`"
        default: return "`\(text)`"
        }
    }
}
