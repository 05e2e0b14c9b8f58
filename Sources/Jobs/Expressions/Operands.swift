/// The building blocks the compiler specialises on: how a value of each type is read from a
/// row slot, and operands known to be a constant or a slot, so that `amount > 100` compiles
/// to one closure that reads the slot and compares, not three closures calling each other.

/// How one SQL type is stored in a `Value`.
protocol SlotKind: SendableMetatype {
    associatedtype V
    static var type: SQLType { get }
    /// `.some(nil)` for NULL, nil when the value is of another type.
    static func read(_ v: Value) -> V??
}

enum BoolSlot: SlotKind {
    static var type: SQLType { .boolean }
    @inline(__always) static func read(_ v: Value) -> Bool?? {
        switch v {
        case .bool(let b): return .some(b)
        case .null: return .some(nil)
        default: return nil
        }
    }
}

enum BigintSlot: SlotKind {
    static var type: SQLType { .bigint }
    @inline(__always) static func read(_ v: Value) -> Int64?? {
        switch v {
        case .int(let i): return .some(i)
        case .null: return .some(nil)
        default: return nil
        }
    }
}

enum DoubleSlot: SlotKind {
    static var type: SQLType { .double }
    /// A BIGINT in a DOUBLE slot is accepted (JSON writes 3 for 3.0).
    @inline(__always) static func read(_ v: Value) -> Double?? {
        switch v {
        case .double(let d): return .some(d)
        case .int(let i): return .some(Double(i))
        case .null: return .some(nil)
        default: return nil
        }
    }
}

enum StringSlot: SlotKind {
    static var type: SQLType { .string }
    @inline(__always) static func read(_ v: Value) -> String?? {
        switch v {
        case .string(let s): return .some(s)
        case .null: return .some(nil)
        default: return nil
        }
    }
}

enum TimestampSlot: SlotKind {
    static var type: SQLType { .timestamp }
    @inline(__always) static func read(_ v: Value) -> Timestamp?? {
        switch v {
        case .timestamp(let ms, let off): return .some(Timestamp(millis: ms, offsetMinutes: off))
        case .null: return .some(nil)
        default: return nil
        }
    }
}

enum IntervalSlot: SlotKind {
    static var type: SQLType { .interval }
    @inline(__always) static func read(_ v: Value) -> Int64?? {
        switch v {
        case .interval(let i): return .some(i)
        case .null: return .some(nil)
        default: return nil
        }
    }
}

/// A slot to read: index, and what to say when the row holds the wrong type.
struct SlotRef: Sendable {
    var index: Int
    var name: String
    var location: SourceLocation

    /// The value at the slot; NULL past the end of a short row.
    @inline(__always) func read<K: SlotKind>(_ row: borrowing Row, _: K.Type) throws(EvaluationError) -> K.V? {
        guard index < row.values.count else { return nil }
        let v = row.values[index]
        if let r = K.read(v) { return r }
        throw EvaluationError(.rowMismatch, "column `\(name)` holds \(v.type?.description ?? "NULL") where the schema says \(K.type)", at: location)
    }
}

/// An operand, as specific as the compiler knows it.
enum Operand<T> {
    case constant(T?)
    case slot(SlotRef)
    case code(Eval<T>)
}

extension Code {
    func operand<K: SlotKind>(_ k: K.Type, _ f: @escaping Eval<K.V>) -> Operand<K.V> {
        if let c = constant {
            if case .some(.some(let v)) = K.read(c) { return .constant(v) }
            if c.isNull { return .constant(nil) }
        }
        if let s = slot { return .slot(s) }
        return .code(f)
    }
}

/// Reads a slot as a closure (what a bare column reference compiles to).
func slotCode<K: SlotKind>(_ s: SlotRef, _ k: K.Type) -> Eval<K.V> {
    { (row: borrowing Row) throws(EvaluationError) -> K.V? in try s.read(row, k) }
}

// MARK: - Comparisons

protocol CompareOperation: SendableMetatype {
    static func test<T: Comparable>(_ a: T, _ b: T) -> Bool
}

enum EqualOp: CompareOperation { @inline(__always) static func test<T: Comparable>(_ a: T, _ b: T) -> Bool { a == b } }
enum NotEqualOp: CompareOperation { @inline(__always) static func test<T: Comparable>(_ a: T, _ b: T) -> Bool { a != b } }
enum LessOp: CompareOperation { @inline(__always) static func test<T: Comparable>(_ a: T, _ b: T) -> Bool { a < b } }
enum LessEqualOp: CompareOperation { @inline(__always) static func test<T: Comparable>(_ a: T, _ b: T) -> Bool { a <= b } }
enum GreaterOp: CompareOperation { @inline(__always) static func test<T: Comparable>(_ a: T, _ b: T) -> Bool { a > b } }
enum GreaterEqualOp: CompareOperation { @inline(__always) static func test<T: Comparable>(_ a: T, _ b: T) -> Bool { a >= b } }

/// `a op b` with NULL → NULL, one closure per operand shape.
func compareCode<K: SlotKind, O: CompareOperation>(_ a: Operand<K.V>, _ b: Operand<K.V>, _ k: K.Type, _ o: O.Type) -> Eval<Bool> where K.V: Comparable & Sendable {
    switch (a, b) {
    case (.constant(let x), .constant(let y)):
        let r: Bool? = x.flatMap { x in y.map { O.test(x, $0) } }
        return { _ in r }
    case (_, .constant(nil)), (.constant(nil), _):
        return { _ in nil }
    case (.slot(let s), .constant(let y?)):
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let x = try s.read(row, k) else { return nil }
            return O.test(x, y)
        }
    case (.constant(let x?), .slot(let s)):
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let y = try s.read(row, k) else { return nil }
            return O.test(x, y)
        }
    case (.code(let f), .constant(let y?)):
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let x = try f(row) else { return nil }
            return O.test(x, y)
        }
    case (.constant(let x?), .code(let g)):
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let y = try g(row) else { return nil }
            return O.test(x, y)
        }
    case (.slot(let s), .slot(let t)):
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let x = try s.read(row, k), let y = try t.read(row, k) else { return nil }
            return O.test(x, y)
        }
    case (.slot(let s), .code(let g)):
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let x = try s.read(row, k), let y = try g(row) else { return nil }
            return O.test(x, y)
        }
    case (.code(let f), .slot(let t)):
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let x = try f(row), let y = try t.read(row, k) else { return nil }
            return O.test(x, y)
        }
    case (.code(let f), .code(let g)):
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let x = try f(row), let y = try g(row) else { return nil }
            return O.test(x, y)
        }
    }
}

func compareCode<K: SlotKind>(_ op: ComparisonOperator, _ a: Operand<K.V>, _ b: Operand<K.V>, _ k: K.Type) -> Eval<Bool> where K.V: Comparable & Sendable {
    switch op {
    case .equal: return compareCode(a, b, k, EqualOp.self)
    case .notEqual: return compareCode(a, b, k, NotEqualOp.self)
    case .less: return compareCode(a, b, k, LessOp.self)
    case .lessEqual: return compareCode(a, b, k, LessEqualOp.self)
    case .greater: return compareCode(a, b, k, GreaterOp.self)
    case .greaterEqual: return compareCode(a, b, k, GreaterEqualOp.self)
    }
}

// MARK: - Arithmetic

/// An arithmetic operator on one numeric type; division and modulo can fail.
protocol ArithmeticOperation: SendableMetatype {
    associatedtype T
    static func apply(_ a: T, _ b: T, _ at: SourceLocation, _ text: String) throws(EvaluationError) -> T
}

/// Integer arithmetic wraps on overflow, as Java's (and so Flink's) does.
enum IntAdd: ArithmeticOperation { @inline(__always) static func apply(_ a: Int64, _ b: Int64, _: SourceLocation, _: String) -> Int64 { a &+ b } }
enum IntSubtract: ArithmeticOperation { @inline(__always) static func apply(_ a: Int64, _ b: Int64, _: SourceLocation, _: String) -> Int64 { a &- b } }
enum IntMultiply: ArithmeticOperation { @inline(__always) static func apply(_ a: Int64, _ b: Int64, _: SourceLocation, _: String) -> Int64 { a &* b } }
enum IntDivide: ArithmeticOperation {
    @inline(__always) static func apply(_ a: Int64, _ b: Int64, _ at: SourceLocation, _ text: String) throws(EvaluationError) -> Int64 {
        guard b != 0 else { throw EvaluationError(.divisionByZero, "division by zero in `\(text)`", at: at) }
        return a.dividedReportingOverflow(by: b).partialValue
    }
}
enum IntModulo: ArithmeticOperation {
    @inline(__always) static func apply(_ a: Int64, _ b: Int64, _ at: SourceLocation, _ text: String) throws(EvaluationError) -> Int64 {
        guard b != 0 else { throw EvaluationError(.divisionByZero, "division by zero in `\(text)`", at: at) }
        return a.remainderReportingOverflow(dividingBy: b).partialValue
    }
}
enum DoubleAdd: ArithmeticOperation { @inline(__always) static func apply(_ a: Double, _ b: Double, _: SourceLocation, _: String) -> Double { a + b } }
enum DoubleSubtract: ArithmeticOperation { @inline(__always) static func apply(_ a: Double, _ b: Double, _: SourceLocation, _: String) -> Double { a - b } }
enum DoubleMultiply: ArithmeticOperation { @inline(__always) static func apply(_ a: Double, _ b: Double, _: SourceLocation, _: String) -> Double { a * b } }
/// Flink 2 raises "Division by zero" for DOUBLE too (no Infinity).
enum DoubleDivide: ArithmeticOperation {
    @inline(__always) static func apply(_ a: Double, _ b: Double, _ at: SourceLocation, _ text: String) throws(EvaluationError) -> Double {
        guard b != 0 else { throw EvaluationError(.divisionByZero, "division by zero in `\(text)`", at: at) }
        return a / b
    }
}
enum DoubleModulo: ArithmeticOperation {
    @inline(__always) static func apply(_ a: Double, _ b: Double, _ at: SourceLocation, _ text: String) throws(EvaluationError) -> Double {
        guard b != 0 else { throw EvaluationError(.divisionByZero, "division by zero in `\(text)`", at: at) }
        return a.truncatingRemainder(dividingBy: b)
    }
}

func arithmeticCode<K: SlotKind, O: ArithmeticOperation>(_ a: Operand<K.V>, _ b: Operand<K.V>, _ k: K.Type, _ o: O.Type, _ at: SourceLocation, _ text: String) -> Eval<K.V> where O.T == K.V, K.V: Sendable {
    switch (a, b) {
    case (_, .constant(nil)), (.constant(nil), _):
        return { _ in nil }
    case (.slot(let s), .constant(let y?)):
        return { (row: borrowing Row) throws(EvaluationError) -> K.V? in
            guard let x = try s.read(row, k) else { return nil }
            return try O.apply(x, y, at, text)
        }
    case (.constant(let x?), .slot(let s)):
        return { (row: borrowing Row) throws(EvaluationError) -> K.V? in
            guard let y = try s.read(row, k) else { return nil }
            return try O.apply(x, y, at, text)
        }
    case (.code(let f), .constant(let y?)):
        return { (row: borrowing Row) throws(EvaluationError) -> K.V? in
            guard let x = try f(row) else { return nil }
            return try O.apply(x, y, at, text)
        }
    case (.constant(let x?), .code(let g)):
        return { (row: borrowing Row) throws(EvaluationError) -> K.V? in
            guard let y = try g(row) else { return nil }
            return try O.apply(x, y, at, text)
        }
    case (.slot(let s), .slot(let t)):
        return { (row: borrowing Row) throws(EvaluationError) -> K.V? in
            guard let x = try s.read(row, k), let y = try t.read(row, k) else { return nil }
            return try O.apply(x, y, at, text)
        }
    default:
        let f = a.eval(k), g = b.eval(k)
        return { (row: borrowing Row) throws(EvaluationError) -> K.V? in
            guard let x = try f(row), let y = try g(row) else { return nil }
            return try O.apply(x, y, at, text)
        }
    }
}

extension Operand where T: Sendable {
    /// The operand as a plain closure.
    func eval<K: SlotKind>(_ k: K.Type) -> Eval<T> where K.V == T {
        switch self {
        case .constant(let c): return { _ in c }
        case .slot(let s): return slotCode(s, k)
        case .code(let f): return f
        }
    }
}
