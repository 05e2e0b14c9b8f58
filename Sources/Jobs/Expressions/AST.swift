/// The syntax tree of an expression, as written (no types yet). Every node carries the range
/// of text it came from, for diagnostics and for runtime errors.
public struct Expr: Sendable, Hashable, CustomStringConvertible {
    public var kind: ExprKind
    public var range: SourceRange
    /// Levels of the tree below and including this node; the parser bounds it, so every
    /// recursive pass over a tree (checking, compiling, freeing) has a bounded stack.
    public private(set) var height: Int

    public init(_ kind: ExprKind, _ range: SourceRange) {
        self.kind = kind
        self.range = range
        self.height = 1
        self.height = 1 + (children.map(\.height).max() ?? 0)
    }

    /// Canonical SQL, fully parenthesised: `((a + (b * 2)) > 3)`. Used to show structure in
    /// tests and to recognise the same aggregate written twice.
    public var description: String { sql }
}

/// A possibly dotted name: `location.lat`, `` `timestamp` ``.
public struct Identifier: Sendable, Hashable, CustomStringConvertible {
    public struct Part: Sendable, Hashable {
        public var name: String
        public var quoted: Bool
    }

    public var parts: [Part]

    /// The dotted name as it would be looked up.
    public var name: String { parts.map(\.name).joined(separator: ".") }

    public var description: String {
        parts.map { $0.quoted ? "`" + $0.name.replacingBackquotes() + "`" : $0.name }.joined(separator: ".")
    }
}

extension String {
    fileprivate func replacingBackquotes() -> String {
        var out = ""
        for ch in self { out += ch == "`" ? "``" : String(ch) }
        return out
    }
}

/// Units of INTERVAL, EXTRACT, TIMESTAMPDIFF and TIMESTAMPADD.
public enum TimeUnit: String, Sendable, Hashable, CaseIterable {
    case millisecond = "MILLISECOND", second = "SECOND", minute = "MINUTE", hour = "HOUR", day = "DAY"
    case week = "WEEK", month = "MONTH", quarter = "QUARTER", year = "YEAR"
    case dayOfWeek = "DOW", isoDayOfWeek = "ISODOW", dayOfYear = "DOY", epoch = "EPOCH"

    /// Milliseconds per unit for the day-time units.
    var millis: Int64? {
        switch self {
        case .millisecond: return 1
        case .second: return 1000
        case .minute: return 60_000
        case .hour: return 3_600_000
        case .day: return 86_400_000
        case .week: return 7 * 86_400_000
        default: return nil
        }
    }
}

public enum TrimMode: String, Sendable, Hashable {
    case both = "BOTH", leading = "LEADING", trailing = "TRAILING"
}

public enum UnaryOperator: String, Sendable, Hashable {
    case negate = "-", plus = "+", not = "NOT"
}

public enum BinaryOperator: String, Sendable, Hashable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", modulo = "%", concat = "||"
    case equal = "=", notEqual = "<>", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
    case and = "AND", or = "OR"
    case isDistinctFrom = "IS DISTINCT FROM", isNotDistinctFrom = "IS NOT DISTINCT FROM"

    var isComparison: Bool {
        switch self {
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual: return true
        default: return false
        }
    }
}

/// What `x IS [NOT] …` tests.
public enum TruthTest: String, Sendable, Hashable {
    case null = "NULL", `true` = "TRUE", `false` = "FALSE", unknown = "UNKNOWN"
}

public struct CaseBranch: Sendable, Hashable {
    public var when: Expr
    public var then: Expr
}

public indirect enum ExprKind: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    /// 1.5: exact in Flink (DECIMAL), a DOUBLE here. `text` is the literal as written.
    case decimal(Double, text: String)
    /// 1.5e3: DOUBLE.
    case double(Double, text: String)
    case string(String)
    /// INTERVAL '90' MINUTE, in milliseconds; `text` is the literal as written.
    case interval(millis: Int64, text: String)
    /// TIMESTAMP '2026-01-01 10:00:00'.
    case timestamp(Timestamp, text: String)
    case column(Identifier)
    case unary(UnaryOperator, Expr)
    case binary(BinaryOperator, Expr, Expr)
    case isTest(Expr, TruthTest, negated: Bool)
    case between(Expr, low: Expr, high: Expr, negated: Bool, symmetric: Bool)
    case inList(Expr, [Expr], negated: Bool)
    case like(Expr, pattern: Expr, escape: Expr?, negated: Bool)
    /// CASE [subject] WHEN … THEN … [ELSE …] END.
    case caseWhen(subject: Expr?, branches: [CaseBranch], otherwise: Expr?)
    case cast(Expr, SQLTypeName, isTry: Bool)
    /// A function call; `nameRange` is where the name is written.
    case call(name: String, nameRange: SourceRange, args: [Expr], distinct: Bool)
    /// COUNT(*).
    case countStar
    case extract(TimeUnit, Expr)
    case trim(TrimMode, characters: Expr?, Expr)
    /// The unit argument of TIMESTAMPDIFF / TIMESTAMPADD.
    case timeUnit(TimeUnit)
    /// Where the parser found an error (already reported).
    case error
}

extension Expr {
    /// Canonical SQL (see `description`).
    public var sql: String { render { _ in nil } }

    /// The expression's text, with `override` asked first at every node (nil: the node as
    /// written): export to another dialect rewrites the calls it spells differently.
    public func render(_ override: (Expr) -> String?) -> String {
        if let o = override(self) { return o }
        func list(_ es: [Expr]) -> String { es.map { $0.render(override) }.joined(separator: ", ") }
        switch kind {
        case .null: return "NULL"
        case .bool(let b): return b ? "TRUE" : "FALSE"
        case .integer(let v): return String(v)
        case .decimal(_, let t), .double(_, let t): return t
        case .string(let s): return Expr.quote(s)
        case .interval(_, let t), .timestamp(_, let t): return t
        case .column(let id): return id.description
        case .unary(let op, let e): return op == .not ? "(NOT \(e.render(override)))" : "(\(op.rawValue)\(e.render(override)))"
        case .binary(let op, let a, let b): return "(\(a.render(override)) \(op.rawValue) \(b.render(override)))"
        case .isTest(let e, let t, let n): return "(\(e.render(override)) IS \(n ? "NOT " : "")\(t.rawValue))"
        case .between(let e, let lo, let hi, let n, let sym):
            return "(\(e.render(override)) \(n ? "NOT " : "")BETWEEN \(sym ? "SYMMETRIC " : "")\(lo.render(override)) AND \(hi.render(override)))"
        case .inList(let e, let items, let n): return "(\(e.render(override)) \(n ? "NOT " : "")IN (\(list(items))))"
        case .like(let e, let p, let esc, let n):
            return "(\(e.render(override)) \(n ? "NOT " : "")LIKE \(p.render(override))\(esc.map { " ESCAPE \($0.render(override))" } ?? ""))"
        case .caseWhen(let subject, let branches, let otherwise):
            var s = "CASE"
            if let subject { s += " " + subject.render(override) }
            for b in branches { s += " WHEN \(b.when.render(override)) THEN \(b.then.render(override))" }
            if let otherwise { s += " ELSE \(otherwise.render(override))" }
            return s + " END"
        case .cast(let e, let t, let isTry): return "\(isTry ? "TRY_CAST" : "CAST")(\(e.render(override)) AS \(t.written))"
        case .call(let name, _, let args, let distinct): return "\(name)(\(distinct ? "DISTINCT " : "")\(list(args)))"
        case .countStar: return "COUNT(*)"
        case .extract(let u, let e): return "EXTRACT(\(u.rawValue) FROM \(e.render(override)))"
        case .trim(let mode, let chars, let e): return "TRIM(\(mode.rawValue) \(chars.map { $0.render(override) + " " } ?? "")FROM \(e.render(override)))"
        case .timeUnit(let u): return u.rawValue
        case .error: return "<error>"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "'"
        for ch in s { out += ch == "'" ? "''" : String(ch) }
        return out + "'"
    }

    /// The nodes directly below this one.
    var children: [Expr] {
        switch kind {
        case .null, .bool, .integer, .decimal, .double, .string, .interval, .timestamp, .column, .countStar, .timeUnit, .error:
            return []
        case .unary(_, let e), .isTest(let e, _, _), .cast(let e, _, _), .extract(_, let e): return [e]
        case .binary(_, let a, let b): return [a, b]
        case .between(let e, let lo, let hi, _, _): return [e, lo, hi]
        case .inList(let e, let items, _): return [e] + items
        case .like(let e, let p, let esc, _): return [e, p] + (esc.map { [$0] } ?? [])
        case .caseWhen(let subject, let branches, let otherwise):
            return (subject.map { [$0] } ?? []) + branches.flatMap { [$0.when, $0.then] } + (otherwise.map { [$0] } ?? [])
        case .call(_, _, let args, _): return args
        case .trim(_, let chars, let e): return (chars.map { [$0] } ?? []) + [e]
        }
    }
}
