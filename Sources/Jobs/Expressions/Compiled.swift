/// A compiled expression of type T over a row: nil is SQL NULL; failures (division by zero,
/// a CAST that cannot read its input) are thrown with the expression's position.
public typealias Eval<T> = @Sendable (borrowing Row) throws(EvaluationError) -> T?

/// Compiled code, one case per result type, so callers run a closure of the exact type
/// (`amount > 3 * avg` is a `(Row) -> Bool?` that calls a `(Row) -> Double?` …) rather than
/// boxing every intermediate result in a `Value`.
public enum Compiled: Sendable {
    case bool(Eval<Bool>)
    case int(Eval<Int64>)
    case double(Eval<Double>)
    case string(Eval<String>)
    case timestamp(Eval<Timestamp>)
    case interval(Eval<Int64>)

    public var type: SQLType {
        switch self {
        case .bool: return .boolean
        case .int: return .bigint
        case .double: return .double
        case .string: return .string
        case .timestamp: return .timestamp
        case .interval: return .interval
        }
    }

    /// Runs the code and boxes the result (for generic callers; typed callers switch on the case).
    public func value(_ row: borrowing Row) throws(EvaluationError) -> Value {
        switch self {
        case .bool(let f): return try f(row).map(Value.bool) ?? .null
        case .int(let f): return try f(row).map(Value.int) ?? .null
        case .double(let f): return try f(row).map(Value.double) ?? .null
        case .string(let f): return try f(row).map(Value.string) ?? .null
        case .timestamp(let f): return try f(row).map { Value.timestamp($0) } ?? .null
        case .interval(let f): return try f(row).map(Value.interval) ?? .null
        }
    }

    /// Code that returns `v` (NULL of `type` for `.null`).
    static func constant(_ v: Value, _ type: SQLType) -> Compiled {
        switch (v, type) {
        case (.bool(let b), _): return .bool { _ in b }
        case (.int(let i), .double): let d = Double(i); return .double { _ in d }
        case (.int(let i), _): return .int { _ in i }
        case (.double(let d), _): return .double { _ in d }
        case (.string(let s), _): return .string { _ in s }
        case (.timestamp(let ms, let off), _): let t = Timestamp(millis: ms, offsetMinutes: off); return .timestamp { _ in t }
        case (.interval(let ms), _): return .interval { _ in ms }
        case (.null, .boolean): return .bool { _ in nil }
        case (.null, .bigint): return .int { _ in nil }
        case (.null, .double): return .double { _ in nil }
        case (.null, .string): return .string { _ in nil }
        case (.null, .timestamp): return .timestamp { _ in nil }
        case (.null, .interval): return .interval { _ in nil }
        }
    }

    // Typed views. The checker guarantees the case; a mismatch (a bug) throws rather than traps.

    var asBool: Eval<Bool> {
        if case .bool(let f) = self { return f }
        return Compiled.mismatch(self, .boolean)
    }

    var asInt: Eval<Int64> {
        switch self {
        case .int(let f), .interval(let f): return f
        default: return Compiled.mismatch(self, .bigint)
        }
    }

    /// BIGINT code widens on the way.
    var asDouble: Eval<Double> {
        switch self {
        case .double(let f): return f
        case .int(let f): return { (r: borrowing Row) throws(EvaluationError) -> Double? in try f(r).map(Double.init) }
        default: return Compiled.mismatch(self, .double)
        }
    }

    var asString: Eval<String> {
        if case .string(let f) = self { return f }
        return Compiled.mismatch(self, .string)
    }

    var asTimestamp: Eval<Timestamp> {
        if case .timestamp(let f) = self { return f }
        return Compiled.mismatch(self, .timestamp)
    }

    private static func mismatch<T>(_ c: Compiled, _ want: SQLType) -> Eval<T> {
        let got = c.type
        return { (_: borrowing Row) throws(EvaluationError) -> T? in
            throw EvaluationError(.internalError, "internal error: \(want) code expected, got \(got)", at: SourceLocation(file: "", line: 0, column: 0))
        }
    }
}

/// A failure while evaluating an expression over one row: the job dead-letters the record
/// with `description` as the reason.
public struct EvaluationError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case divisionByZero = "division by zero"
        case invalidCast = "invalid cast"
        case invalidArgument = "invalid argument"
        /// The row does not hold what its schema says (a decoder bug or a stale schema).
        case rowMismatch = "row does not match the schema"
        case internalError = "internal error"
    }

    public var kind: Kind
    public var message: String
    /// Where, in the job file, the failing part of the expression is written.
    public var location: SourceLocation

    public init(_ kind: Kind, _ message: String, at location: SourceLocation) {
        self.kind = kind
        self.message = message
        self.location = location
    }

    public var description: String { "\(location): \(message)" }
}
