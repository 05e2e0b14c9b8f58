/// Splits an expression into tokens, reporting (and skipping past) what it cannot read, so
/// the parser still sees the rest. Works on UTF-8 bytes; offsets are UTF-8 offsets.
struct Lexer {
    private let b: [UInt8]
    private var i = 0
    private(set) var problems = ProblemSink()

    init(_ text: String) {
        b = Array(text.utf8)
    }

    static func tokenize(_ text: String) -> (tokens: [Token], problems: ProblemSink) {
        var lx = Lexer(text)
        var out: [Token] = []
        while true {
            let t = lx.next()
            out.append(t)
            if t.isEnd { break }
        }
        return (out, lx.problems)
    }

    private func peek(_ k: Int = 0) -> UInt8 { i + k < b.count ? b[i + k] : 0 }

    private func text(_ s: Int, _ e: Int) -> String { String(decoding: b[s..<e], as: UTF8.self) }

    private static func isIdentStart(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c >= 0x80
    }

    private static func isIdentPart(_ c: UInt8) -> Bool {
        isIdentStart(c) || (c >= 0x30 && c <= 0x39) || c == 0x24
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    mutating func next() -> Token {
        while true {
            if let t = scan() { return t }
        }
    }

    /// One token, or nil after skipping a character it cannot read.
    private mutating func scan() -> Token? {
        skipBlanksAndComments()
        guard i < b.count else { return Token(.end, SourceRange(b.count, b.count)) }
        let s = i
        let c = b[i]
        if Lexer.isIdentStart(c) {
            while i < b.count, Lexer.isIdentPart(b[i]) { i += 1 }
            return Token(.word, SourceRange(s, i), text(s, i))
        }
        if Lexer.isDigit(c) || (c == 0x2E && Lexer.isDigit(peek(1))) {
            return number()
        }
        switch c {
        case 0x27: return string(quote: 0x27)
        case 0x22:
            // "…" is an identifier in standard SQL but neither in Flink: say what to write.
            let t = string(quote: 0x22)
            problems.report(t.range, "double quotes are not used in Flink SQL: write strings in single quotes ('…') and quote names with backquotes (`…`)")
            return t
        case 0x60: return quotedWord()
        default: break
        }
        i += 1
        func sym(_ y: Token.Symbol, _ n: Int = 0) -> Token {
            i += n
            return Token(.symbol(y), SourceRange(s, i), y.rawValue)
        }
        switch c {
        case 0x28: return sym(.leftParen)
        case 0x29: return sym(.rightParen)
        case 0x2C: return sym(.comma)
        case 0x2E: return sym(.dot)
        case 0x2B: return sym(.plus)
        case 0x2D: return sym(.minus)
        case 0x2A: return sym(.star)
        case 0x2F: return sym(.slash)
        case 0x25: return sym(.percent)
        case 0x3D:
            if peek() == 0x3D {
                problems.report(SourceRange(s, s + 2), "`==` is not SQL: use `=` to compare")
                return sym(.equal, 1)
            }
            return sym(.equal)
        case 0x3C:
            if peek() == 0x3D { return sym(.lessEqual, 1) }
            if peek() == 0x3E { return sym(.notEqual, 1) }
            return sym(.less)
        case 0x3E:
            if peek() == 0x3D { return sym(.greaterEqual, 1) }
            return sym(.greater)
        case 0x21:
            if peek() == 0x3D { return sym(.notEqual, 1) }
            problems.report(SourceRange(s, s + 1), "`!` is not SQL: use NOT")
            return Token(.word, SourceRange(s, i), "NOT")
        case 0x7C:
            if peek() == 0x7C { return sym(.concat, 1) }
            problems.report(SourceRange(s, s + 1), "unexpected `|`: use OR for a logical or, `||` to concatenate strings")
            return Token(.word, SourceRange(s, i), "OR")
        case 0x26:
            if peek() == 0x26 { i += 1 }
            problems.report(SourceRange(s, i), "`&&` is not SQL: use AND")
            return Token(.word, SourceRange(s, i), "AND")
        default:
            // Skip the whole UTF-8 sequence of an unknown character.
            while i < b.count, b[i] & 0xC0 == 0x80 { i += 1 }
            problems.report(SourceRange(s, i), "unexpected character `\(text(s, i))`")
            return nil
        }
    }

    private mutating func skipBlanksAndComments() {
        while i < b.count {
            let c = b[i]
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
                i += 1
            } else if c == 0x2D, peek(1) == 0x2D {
                while i < b.count, b[i] != 0x0A { i += 1 }
            } else if c == 0x2F, peek(1) == 0x2A {
                let s = i
                i += 2
                while i < b.count, !(b[i] == 0x2A && peek(1) == 0x2F) { i += 1 }
                if i >= b.count {
                    problems.report(SourceRange(s, s + 2), "unterminated comment: `/*` has no `*/`")
                } else {
                    i += 2
                }
            } else {
                return
            }
        }
    }

    private mutating func number() -> Token {
        let s = i
        while i < b.count, Lexer.isDigit(b[i]) { i += 1 }
        var isDecimal = false
        if i < b.count, b[i] == 0x2E {
            isDecimal = true
            i += 1
            while i < b.count, Lexer.isDigit(b[i]) { i += 1 }
        }
        var isFloat = false
        if i < b.count, b[i] == 0x45 || b[i] == 0x65 {
            let save = i
            i += 1
            if i < b.count, b[i] == 0x2B || b[i] == 0x2D { i += 1 }
            if i < b.count, Lexer.isDigit(b[i]) {
                while i < b.count, Lexer.isDigit(b[i]) { i += 1 }
                isFloat = true
            } else {
                i = save
            }
        }
        let t = text(s, i)
        let r = SourceRange(s, i)
        // A letter glued to a number (`12abc`) is a typo, not two tokens.
        if i < b.count, Lexer.isIdentStart(b[i]) {
            while i < b.count, Lexer.isIdentPart(b[i]) { i += 1 }
            problems.report(SourceRange(s, i), "malformed number `\(text(s, i))`")
            return Token(.integer(0), SourceRange(s, i), text(s, i))
        }
        if isFloat || isDecimal {
            guard let d = Double(t), d.isFinite else {
                problems.report(r, "numeric literal `\(t)` is out of range")
                return Token(.float(0), r, t)
            }
            return Token(isFloat ? .float(d) : .decimal(d), r, t)
        }
        guard let v = UInt64(t), v <= UInt64(Int64.max) + 1 else {
            problems.report(r, "integer literal `\(t)` is out of range for BIGINT")
            return Token(.integer(0), r, t)
        }
        return Token(.integer(v), r, t)
    }

    /// A quoted string; a doubled quote stands for one.
    private mutating func string(quote: UInt8) -> Token {
        let s = i
        i += 1
        var bytes: [UInt8] = []
        while true {
            guard i < b.count else {
                problems.report(SourceRange(s, s + 1), "unterminated string: the quote opened here is never closed")
                return Token(.string, SourceRange(s, i), String(decoding: bytes, as: UTF8.self))
            }
            if b[i] == quote {
                if peek(1) == quote {
                    bytes.append(quote)
                    i += 2
                    continue
                }
                i += 1
                return Token(.string, SourceRange(s, i), String(decoding: bytes, as: UTF8.self))
            }
            bytes.append(b[i])
            i += 1
        }
    }

    private mutating func quotedWord() -> Token {
        let s = i
        i += 1
        var bytes: [UInt8] = []
        while true {
            guard i < b.count else {
                problems.report(SourceRange(s, s + 1), "unterminated quoted name: the backquote opened here is never closed")
                return Token(.quotedWord, SourceRange(s, i), String(decoding: bytes, as: UTF8.self))
            }
            if b[i] == 0x60 {
                if peek(1) == 0x60 {
                    bytes.append(0x60)
                    i += 2
                    continue
                }
                i += 1
                if bytes.isEmpty { problems.report(SourceRange(s, i), "empty quoted name ``") }
                return Token(.quotedWord, SourceRange(s, i), String(decoding: bytes, as: UTF8.self))
            }
            bytes.append(b[i])
            i += 1
        }
    }
}
