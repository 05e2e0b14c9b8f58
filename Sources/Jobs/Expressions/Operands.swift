/// The closures on the hot path: reading a slot, comparing, arithmetic, IN sets, CASE and
/// COALESCE, written per value type. Not generic on purpose: a closure created inside a
/// generic function keeps the generic calling convention (results returned indirectly) and
/// every call from concrete code then goes through a reabstraction thunk, which measured at
/// about twice the cost of the whole expression. Generics here only pick the operator
/// (`O.test`, `O.apply`), which appears in no closure's signature.

/// A slot to read. The name and position, needed only to report a mismatch, live in a
/// class so that the read path touches the index alone.
struct SlotRef: Sendable {
    final class Info: Sendable {
        let name: String
        let location: SourceLocation

        init(name: String, location: SourceLocation) {
            self.name = name
            self.location = location
        }
    }

    let index: Int
    let info: Info

    init(index: Int, name: String, location: SourceLocation) {
        self.index = index
        self.info = Info(name: name, location: location)
    }

    @inline(never)
    func mismatch(_ v: Value, _ want: SQLType) -> EvaluationError {
        EvaluationError(.rowMismatch, "column `\(info.name)` holds \(v.type?.description ?? "NULL") where the schema says \(want)", at: info.location)
    }

    // Each reader: NULL past the end of a short row; a value of another type is an error.
    // The expected case is tested first and alone: a `switch` over the whole value would copy
    // it (retaining a string payload) before looking at it.

    @inline(__always) func double(_ row: borrowing Row) throws(EvaluationError) -> Double? {
        guard index < row.values.count else { return nil }
        if case .double(let d) = row.values[index] { return d }
        return try other(row, .double).map { if case .int(let i) = $0 { Double(i) } else { 0 } }
    }

    @inline(__always) func int(_ row: borrowing Row) throws(EvaluationError) -> Int64? {
        guard index < row.values.count else { return nil }
        if case .int(let i) = row.values[index] { return i }
        return try other(row, .bigint).map { _ in 0 }
    }

    @inline(__always) func interval(_ row: borrowing Row) throws(EvaluationError) -> Int64? {
        guard index < row.values.count else { return nil }
        if case .interval(let i) = row.values[index] { return i }
        return try other(row, .interval).map { _ in 0 }
    }

    @inline(__always) func bool(_ row: borrowing Row) throws(EvaluationError) -> Bool? {
        guard index < row.values.count else { return nil }
        if case .bool(let b) = row.values[index] { return b }
        return try other(row, .boolean).map { _ in false }
    }

    @inline(__always) func string(_ row: borrowing Row) throws(EvaluationError) -> String? {
        guard index < row.values.count else { return nil }
        if case .string(let s) = row.values[index] { return s }
        return try other(row, .string).map { _ in "" }
    }

    @inline(__always) func timestamp(_ row: borrowing Row) throws(EvaluationError) -> Timestamp? {
        guard index < row.values.count else { return nil }
        if case .timestamp(let ms, let off) = row.values[index] { return Timestamp(millis: ms, offsetMinutes: off) }
        return try other(row, .timestamp).map { _ in Timestamp(millis: 0) }
    }

    /// The slot when it does not hold `want`: nil for NULL, the value for a BIGINT in a DOUBLE
    /// slot (JSON writes 3 for 3.0), else a mismatch error.
    @inline(never)
    func other(_ row: borrowing Row, _ want: SQLType) throws(EvaluationError) -> Value? {
        let v = row.values[index]
        switch v {
        case .null: return nil
        case .int where want == .double: return v
        default: throw mismatch(v, want)
        }
    }

    /// The slot as code of `type`.
    func code(_ type: SQLType) -> Compiled {
        let s = self
        switch type {
        case .boolean: return .bool { (row: borrowing Row) throws(EvaluationError) -> Bool? in try s.bool(row) }
        case .bigint: return .int { (row: borrowing Row) throws(EvaluationError) -> Int64? in try s.int(row) }
        case .double: return .double { (row: borrowing Row) throws(EvaluationError) -> Double? in try s.double(row) }
        case .string: return .string { (row: borrowing Row) throws(EvaluationError) -> String? in try s.string(row) }
        case .timestamp: return .timestamp { (row: borrowing Row) throws(EvaluationError) -> Timestamp? in try s.timestamp(row) }
        case .interval: return .interval { (row: borrowing Row) throws(EvaluationError) -> Int64? in try s.interval(row) }
        }
    }
}

/// A constant's value as `T`: nil when the code is not constant, `.some(nil)` for NULL.
extension Code {
    var constantDouble: Double?? {
        switch constant {
        case nil: return nil
        case .double(let d)?: return .some(d)
        case .int(let i)?: return .some(Double(i))
        default: return .some(nil)
        }
    }

    var constantInt: Int64?? {
        switch constant {
        case nil: return nil
        case .int(let i)?, .interval(let i)?: return .some(i)
        default: return .some(nil)
        }
    }

    var constantString: String?? {
        switch constant {
        case nil: return nil
        case .string(let s)?: return .some(s)
        default: return .some(nil)
        }
    }

    var constantTimestamp: Timestamp?? {
        switch constant {
        case nil: return nil
        case .timestamp(let ms, let off)?: return .some(Timestamp(millis: ms, offsetMinutes: off))
        default: return .some(nil)
        }
    }

    var constantBool: Bool?? {
        switch constant {
        case nil: return nil
        case .bool(let b)?: return .some(b)
        default: return .some(nil)
        }
    }
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


/// `a op b` on Double operands (the operator picked once, here).
func compareDouble(_ op: ComparisonOperator, _ a: Code, _ b: Code, slots: Bool = true) -> Eval<Bool> {
    switch op {
    case .equal: return compareDouble(a, b, EqualOp.self, slots: slots)
    case .notEqual: return compareDouble(a, b, NotEqualOp.self, slots: slots)
    case .less: return compareDouble(a, b, LessOp.self, slots: slots)
    case .lessEqual: return compareDouble(a, b, LessEqualOp.self, slots: slots)
    case .greater: return compareDouble(a, b, GreaterOp.self, slots: slots)
    case .greaterEqual: return compareDouble(a, b, GreaterEqualOp.self, slots: slots)
    }
}

/// `a op b` on Double operands, NULL when either is; one closure per operand shape (a constant
/// or a slot is read inline rather than through a child closure).
func compareDouble<O: CompareOperation>(_ a: Code, _ b: Code, _: O.Type, slots: Bool = true) -> Eval<Bool> {
    let f = a.compiled.asDouble, g = b.compiled.asDouble
    let ka = a.constantDouble, kb = b.constantDouble
    let sa = slots ? a.slot : nil, sb = slots ? b.slot : nil
    if case .some(nil) = ka { return { _ in nil } }
    if case .some(nil) = kb { return { _ in nil } }
    switch (ka, kb) {
    case (let x??, let y??):
        let r = O.test(x, y)
        return { _ in r }
    case (nil, let y??):
        if let s = sa {
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try s.double(row) else { return nil }
                return O.test(x, y)
            }
        }
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let x = try f(row) else { return nil }
            return O.test(x, y)
        }
    case (let x??, nil):
        if let s = sb {
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let y = try s.double(row) else { return nil }
                return O.test(x, y)
            }
        }
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let y = try g(row) else { return nil }
            return O.test(x, y)
        }
    default:
        switch (sa, sb) {
        case (let s?, let t?):
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try s.double(row), let y = try t.double(row) else { return nil }
                return O.test(x, y)
            }
        case (let s?, nil):
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try s.double(row), let y = try g(row) else { return nil }
                return O.test(x, y)
            }
        case (nil, let t?):
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try f(row), let y = try t.double(row) else { return nil }
                return O.test(x, y)
            }
        case (nil, nil):
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try f(row), let y = try g(row) else { return nil }
                return O.test(x, y)
            }
        }
    }
}

/// `a op b` on Int64 operands (the operator picked once, here).
func compareInt(_ op: ComparisonOperator, _ a: Code, _ b: Code, slots: Bool = true) -> Eval<Bool> {
    switch op {
    case .equal: return compareInt(a, b, EqualOp.self, slots: slots)
    case .notEqual: return compareInt(a, b, NotEqualOp.self, slots: slots)
    case .less: return compareInt(a, b, LessOp.self, slots: slots)
    case .lessEqual: return compareInt(a, b, LessEqualOp.self, slots: slots)
    case .greater: return compareInt(a, b, GreaterOp.self, slots: slots)
    case .greaterEqual: return compareInt(a, b, GreaterEqualOp.self, slots: slots)
    }
}

/// `a op b` on Int64 operands, NULL when either is; one closure per operand shape (a constant
/// or a slot is read inline rather than through a child closure).
func compareInt<O: CompareOperation>(_ a: Code, _ b: Code, _: O.Type, slots: Bool = true) -> Eval<Bool> {
    let f = a.compiled.asInt, g = b.compiled.asInt
    let ka = a.constantInt, kb = b.constantInt
    let sa = slots ? a.slot : nil, sb = slots ? b.slot : nil
    if case .some(nil) = ka { return { _ in nil } }
    if case .some(nil) = kb { return { _ in nil } }
    switch (ka, kb) {
    case (let x??, let y??):
        let r = O.test(x, y)
        return { _ in r }
    case (nil, let y??):
        if let s = sa {
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try s.int(row) else { return nil }
                return O.test(x, y)
            }
        }
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let x = try f(row) else { return nil }
            return O.test(x, y)
        }
    case (let x??, nil):
        if let s = sb {
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let y = try s.int(row) else { return nil }
                return O.test(x, y)
            }
        }
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let y = try g(row) else { return nil }
            return O.test(x, y)
        }
    default:
        switch (sa, sb) {
        case (let s?, let t?):
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try s.int(row), let y = try t.int(row) else { return nil }
                return O.test(x, y)
            }
        case (let s?, nil):
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try s.int(row), let y = try g(row) else { return nil }
                return O.test(x, y)
            }
        case (nil, let t?):
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try f(row), let y = try t.int(row) else { return nil }
                return O.test(x, y)
            }
        case (nil, nil):
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try f(row), let y = try g(row) else { return nil }
                return O.test(x, y)
            }
        }
    }
}

/// `a op b` on String operands (the operator picked once, here).
func compareString(_ op: ComparisonOperator, _ a: Code, _ b: Code, slots: Bool = true) -> Eval<Bool> {
    switch op {
    case .equal: return compareString(a, b, EqualOp.self, slots: slots)
    case .notEqual: return compareString(a, b, NotEqualOp.self, slots: slots)
    case .less: return compareString(a, b, LessOp.self, slots: slots)
    case .lessEqual: return compareString(a, b, LessEqualOp.self, slots: slots)
    case .greater: return compareString(a, b, GreaterOp.self, slots: slots)
    case .greaterEqual: return compareString(a, b, GreaterEqualOp.self, slots: slots)
    }
}

/// `a op b` on String operands, NULL when either is; one closure per operand shape (a constant
/// or a slot is read inline rather than through a child closure).
func compareString<O: CompareOperation>(_ a: Code, _ b: Code, _: O.Type, slots: Bool = true) -> Eval<Bool> {
    let f = a.compiled.asString, g = b.compiled.asString
    let ka = a.constantString, kb = b.constantString
    let sa = slots ? a.slot : nil, sb = slots ? b.slot : nil
    if case .some(nil) = ka { return { _ in nil } }
    if case .some(nil) = kb { return { _ in nil } }
    switch (ka, kb) {
    case (let x??, let y??):
        let r = O.test(x, y)
        return { _ in r }
    case (nil, let y??):
        if let s = sa {
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try s.string(row) else { return nil }
                return O.test(x, y)
            }
        }
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let x = try f(row) else { return nil }
            return O.test(x, y)
        }
    case (let x??, nil):
        if let s = sb {
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let y = try s.string(row) else { return nil }
                return O.test(x, y)
            }
        }
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let y = try g(row) else { return nil }
            return O.test(x, y)
        }
    default:
        switch (sa, sb) {
        case (let s?, let t?):
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try s.string(row), let y = try t.string(row) else { return nil }
                return O.test(x, y)
            }
        case (let s?, nil):
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try s.string(row), let y = try g(row) else { return nil }
                return O.test(x, y)
            }
        case (nil, let t?):
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try f(row), let y = try t.string(row) else { return nil }
                return O.test(x, y)
            }
        case (nil, nil):
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try f(row), let y = try g(row) else { return nil }
                return O.test(x, y)
            }
        }
    }
}

/// `a op b` on Timestamp operands (the operator picked once, here).
func compareTimestamp(_ op: ComparisonOperator, _ a: Code, _ b: Code, slots: Bool = true) -> Eval<Bool> {
    switch op {
    case .equal: return compareTimestamp(a, b, EqualOp.self, slots: slots)
    case .notEqual: return compareTimestamp(a, b, NotEqualOp.self, slots: slots)
    case .less: return compareTimestamp(a, b, LessOp.self, slots: slots)
    case .lessEqual: return compareTimestamp(a, b, LessEqualOp.self, slots: slots)
    case .greater: return compareTimestamp(a, b, GreaterOp.self, slots: slots)
    case .greaterEqual: return compareTimestamp(a, b, GreaterEqualOp.self, slots: slots)
    }
}

/// `a op b` on Timestamp operands, NULL when either is; one closure per operand shape (a constant
/// or a slot is read inline rather than through a child closure).
func compareTimestamp<O: CompareOperation>(_ a: Code, _ b: Code, _: O.Type, slots: Bool = true) -> Eval<Bool> {
    let f = a.compiled.asTimestamp, g = b.compiled.asTimestamp
    let ka = a.constantTimestamp, kb = b.constantTimestamp
    let sa = slots ? a.slot : nil, sb = slots ? b.slot : nil
    if case .some(nil) = ka { return { _ in nil } }
    if case .some(nil) = kb { return { _ in nil } }
    switch (ka, kb) {
    case (let x??, let y??):
        let r = O.test(x, y)
        return { _ in r }
    case (nil, let y??):
        if let s = sa {
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try s.timestamp(row) else { return nil }
                return O.test(x, y)
            }
        }
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let x = try f(row) else { return nil }
            return O.test(x, y)
        }
    case (let x??, nil):
        if let s = sb {
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let y = try s.timestamp(row) else { return nil }
                return O.test(x, y)
            }
        }
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let y = try g(row) else { return nil }
            return O.test(x, y)
        }
    default:
        switch (sa, sb) {
        case (let s?, let t?):
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try s.timestamp(row), let y = try t.timestamp(row) else { return nil }
                return O.test(x, y)
            }
        case (let s?, nil):
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try s.timestamp(row), let y = try g(row) else { return nil }
                return O.test(x, y)
            }
        case (nil, let t?):
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try f(row), let y = try t.timestamp(row) else { return nil }
                return O.test(x, y)
            }
        case (nil, nil):
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let x = try f(row), let y = try g(row) else { return nil }
                return O.test(x, y)
            }
        }
    }
}

// MARK: - Arithmetic

protocol DoubleOperation: SendableMetatype {
    static func apply(_ a: Double, _ b: Double, _ at: SourceLocation, _ text: String) throws(EvaluationError) -> Double
}

protocol IntOperation: SendableMetatype {
    static func apply(_ a: Int64, _ b: Int64, _ at: SourceLocation, _ text: String) throws(EvaluationError) -> Int64
}

/// Integer arithmetic wraps on overflow, as Java's (and so Flink's) does.
enum IntAdd: IntOperation { @inline(__always) static func apply(_ a: Int64, _ b: Int64, _: SourceLocation, _: String) -> Int64 { a &+ b } }
enum IntSubtract: IntOperation { @inline(__always) static func apply(_ a: Int64, _ b: Int64, _: SourceLocation, _: String) -> Int64 { a &- b } }
enum IntMultiply: IntOperation { @inline(__always) static func apply(_ a: Int64, _ b: Int64, _: SourceLocation, _: String) -> Int64 { a &* b } }
enum IntDivide: IntOperation {
    @inline(__always) static func apply(_ a: Int64, _ b: Int64, _ at: SourceLocation, _ text: String) throws(EvaluationError) -> Int64 {
        guard b != 0 else { throw divisionByZero(at, text) }
        return a.dividedReportingOverflow(by: b).partialValue
    }
}
enum IntModulo: IntOperation {
    @inline(__always) static func apply(_ a: Int64, _ b: Int64, _ at: SourceLocation, _ text: String) throws(EvaluationError) -> Int64 {
        guard b != 0 else { throw divisionByZero(at, text) }
        return a.remainderReportingOverflow(dividingBy: b).partialValue
    }
}
enum DoubleAdd: DoubleOperation { @inline(__always) static func apply(_ a: Double, _ b: Double, _: SourceLocation, _: String) -> Double { a + b } }
enum DoubleSubtract: DoubleOperation { @inline(__always) static func apply(_ a: Double, _ b: Double, _: SourceLocation, _: String) -> Double { a - b } }
enum DoubleMultiply: DoubleOperation { @inline(__always) static func apply(_ a: Double, _ b: Double, _: SourceLocation, _: String) -> Double { a * b } }
/// Flink 2 raises "Division by zero" for DOUBLE too (no Infinity).
enum DoubleDivide: DoubleOperation {
    @inline(__always) static func apply(_ a: Double, _ b: Double, _ at: SourceLocation, _ text: String) throws(EvaluationError) -> Double {
        guard b != 0 else { throw divisionByZero(at, text) }
        return a / b
    }
}
enum DoubleModulo: DoubleOperation {
    @inline(__always) static func apply(_ a: Double, _ b: Double, _ at: SourceLocation, _ text: String) throws(EvaluationError) -> Double {
        guard b != 0 else { throw divisionByZero(at, text) }
        return a.truncatingRemainder(dividingBy: b)
    }
}

@inline(never)
func divisionByZero(_ at: SourceLocation, _ text: String) -> EvaluationError {
    EvaluationError(.divisionByZero, "division by zero in `\(text)`", at: at)
}

/// `a op b` on Double operands, NULL when either is; one closure per operand shape.
func arithmeticDouble<O: DoubleOperation>(_ a: Code, _ b: Code, _: O.Type, _ at: SourceLocation, _ text: String) -> Eval<Double> {
    let f = a.compiled.asDouble, g = b.compiled.asDouble
    let ka = a.constantDouble, kb = b.constantDouble
    if case .some(nil) = ka { return { _ in nil } }
    if case .some(nil) = kb { return { _ in nil } }
    switch (ka, kb) {
    case (nil, let y??):
        if let s = a.slot {
            return { (row: borrowing Row) throws(EvaluationError) -> Double? in
                guard let x = try s.double(row) else { return nil }
                return try O.apply(x, y, at, text)
            }
        }
        return { (row: borrowing Row) throws(EvaluationError) -> Double? in
            guard let x = try f(row) else { return nil }
            return try O.apply(x, y, at, text)
        }
    case (let x??, nil):
        if let s = b.slot {
            return { (row: borrowing Row) throws(EvaluationError) -> Double? in
                guard let y = try s.double(row) else { return nil }
                return try O.apply(x, y, at, text)
            }
        }
        return { (row: borrowing Row) throws(EvaluationError) -> Double? in
            guard let y = try g(row) else { return nil }
            return try O.apply(x, y, at, text)
        }
    default:
        if let s = a.slot, let t = b.slot {
            return { (row: borrowing Row) throws(EvaluationError) -> Double? in
                guard let x = try s.double(row), let y = try t.double(row) else { return nil }
                return try O.apply(x, y, at, text)
            }
        }
        return { (row: borrowing Row) throws(EvaluationError) -> Double? in
            guard let x = try f(row), let y = try g(row) else { return nil }
            return try O.apply(x, y, at, text)
        }
    }
}

/// `a op b` on Int64 operands, NULL when either is; one closure per operand shape.
func arithmeticInt<O: IntOperation>(_ a: Code, _ b: Code, _: O.Type, _ at: SourceLocation, _ text: String) -> Eval<Int64> {
    let f = a.compiled.asInt, g = b.compiled.asInt
    let ka = a.constantInt, kb = b.constantInt
    if case .some(nil) = ka { return { _ in nil } }
    if case .some(nil) = kb { return { _ in nil } }
    switch (ka, kb) {
    case (nil, let y??):
        if let s = a.slot {
            return { (row: borrowing Row) throws(EvaluationError) -> Int64? in
                guard let x = try s.int(row) else { return nil }
                return try O.apply(x, y, at, text)
            }
        }
        return { (row: borrowing Row) throws(EvaluationError) -> Int64? in
            guard let x = try f(row) else { return nil }
            return try O.apply(x, y, at, text)
        }
    case (let x??, nil):
        if let s = b.slot {
            return { (row: borrowing Row) throws(EvaluationError) -> Int64? in
                guard let y = try s.int(row) else { return nil }
                return try O.apply(x, y, at, text)
            }
        }
        return { (row: borrowing Row) throws(EvaluationError) -> Int64? in
            guard let y = try g(row) else { return nil }
            return try O.apply(x, y, at, text)
        }
    default:
        if let s = a.slot, let t = b.slot {
            return { (row: borrowing Row) throws(EvaluationError) -> Int64? in
                guard let x = try s.int(row), let y = try t.int(row) else { return nil }
                return try O.apply(x, y, at, text)
            }
        }
        return { (row: borrowing Row) throws(EvaluationError) -> Int64? in
            guard let x = try f(row), let y = try g(row) else { return nil }
            return try O.apply(x, y, at, text)
        }
    }
}

// MARK: - IN lists of constants

/// `x IN (constants)` as a hash lookup: TRUE when found, else NULL if the list holds a NULL,
/// else FALSE; NOT IN negates (NULL stays NULL), and a NULL x is NULL.
func inSetDouble(_ x: Code, _ members: Set<Double>, hasNull: Bool, negated: Bool) -> Eval<Bool> {
    if let s = x.slot {
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let v = try s.double(row) else { return nil }
            if members.contains(v) { return !negated }
            return hasNull ? nil : negated
        }
    }
    let f = x.compiled.asDouble
    return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
        guard let v = try f(row) else { return nil }
        if members.contains(v) { return !negated }
        return hasNull ? nil : negated
    }
}

func inSetInt(_ x: Code, _ members: Set<Int64>, hasNull: Bool, negated: Bool) -> Eval<Bool> {
    if let s = x.slot {
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let v = try s.int(row) else { return nil }
            if members.contains(v) { return !negated }
            return hasNull ? nil : negated
        }
    }
    let f = x.compiled.asInt
    return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
        guard let v = try f(row) else { return nil }
        if members.contains(v) { return !negated }
        return hasNull ? nil : negated
    }
}

func inSetString(_ x: Code, _ members: Set<String>, hasNull: Bool, negated: Bool) -> Eval<Bool> {
    if let s = x.slot {
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let v = try s.string(row) else { return nil }
            if members.contains(v) { return !negated }
            return hasNull ? nil : negated
        }
    }
    let f = x.compiled.asString
    return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
        guard let v = try f(row) else { return nil }
        if members.contains(v) { return !negated }
        return hasNull ? nil : negated
    }
}

func inSetTimestamp(_ x: Code, _ members: Set<Timestamp>, hasNull: Bool, negated: Bool) -> Eval<Bool> {
    if let s = x.slot {
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let v = try s.timestamp(row) else { return nil }
            if members.contains(v) { return !negated }
            return hasNull ? nil : negated
        }
    }
    let f = x.compiled.asTimestamp
    return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
        guard let v = try f(row) else { return nil }
        if members.contains(v) { return !negated }
        return hasNull ? nil : negated
    }
}

func inSetBool(_ x: Code, _ members: Set<Bool>, hasNull: Bool, negated: Bool) -> Eval<Bool> {
    if let s = x.slot {
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let v = try s.bool(row) else { return nil }
            if members.contains(v) { return !negated }
            return hasNull ? nil : negated
        }
    }
    let f = x.compiled.asBool
    return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
        guard let v = try f(row) else { return nil }
        if members.contains(v) { return !negated }
        return hasNull ? nil : negated
    }
}

// MARK: - CASE and COALESCE

/// Per result type, as the rest: lazy, the first TRUE condition's result (else the ELSE's,
/// else NULL); COALESCE's first non-NULL argument.
enum Branching {
    static func caseWhen(_ conds: [Eval<Bool>], _ results: [Compiled], _ other: Compiled?, _ type: SQLType) -> Compiled {
        switch type {
        case .boolean:
            let rs = results.map(\.asBool), o = other?.asBool
            if conds.count == 1, let c = conds.first, let r = rs.first {
                if let o {
                    return .bool { (row: borrowing Row) throws(EvaluationError) -> Bool? in try c(row) == true ? try r(row) : try o(row) }
                }
                return .bool { (row: borrowing Row) throws(EvaluationError) -> Bool? in try c(row) == true ? try r(row) : nil }
            }
            return .bool { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                for i in 0..<conds.count {
                    if try conds[i](row) == true { return try rs[i](row) }
                }
                return try o?(row) ?? nil
            }
        case .bigint:
            let rs = results.map(\.asInt), o = other?.asInt
            if conds.count == 1, let c = conds.first, let r = rs.first {
                if let o {
                    return .int { (row: borrowing Row) throws(EvaluationError) -> Int64? in try c(row) == true ? try r(row) : try o(row) }
                }
                return .int { (row: borrowing Row) throws(EvaluationError) -> Int64? in try c(row) == true ? try r(row) : nil }
            }
            return .int { (row: borrowing Row) throws(EvaluationError) -> Int64? in
                for i in 0..<conds.count {
                    if try conds[i](row) == true { return try rs[i](row) }
                }
                return try o?(row) ?? nil
            }
        case .double:
            let rs = results.map(\.asDouble), o = other?.asDouble
            if conds.count == 1, let c = conds.first, let r = rs.first {
                if let o {
                    return .double { (row: borrowing Row) throws(EvaluationError) -> Double? in try c(row) == true ? try r(row) : try o(row) }
                }
                return .double { (row: borrowing Row) throws(EvaluationError) -> Double? in try c(row) == true ? try r(row) : nil }
            }
            return .double { (row: borrowing Row) throws(EvaluationError) -> Double? in
                for i in 0..<conds.count {
                    if try conds[i](row) == true { return try rs[i](row) }
                }
                return try o?(row) ?? nil
            }
        case .string:
            let rs = results.map(\.asString), o = other?.asString
            if conds.count == 1, let c = conds.first, let r = rs.first {
                if let o {
                    return .string { (row: borrowing Row) throws(EvaluationError) -> String? in try c(row) == true ? try r(row) : try o(row) }
                }
                return .string { (row: borrowing Row) throws(EvaluationError) -> String? in try c(row) == true ? try r(row) : nil }
            }
            return .string { (row: borrowing Row) throws(EvaluationError) -> String? in
                for i in 0..<conds.count {
                    if try conds[i](row) == true { return try rs[i](row) }
                }
                return try o?(row) ?? nil
            }
        case .timestamp:
            let rs = results.map(\.asTimestamp), o = other?.asTimestamp
            if conds.count == 1, let c = conds.first, let r = rs.first {
                if let o {
                    return .timestamp { (row: borrowing Row) throws(EvaluationError) -> Timestamp? in try c(row) == true ? try r(row) : try o(row) }
                }
                return .timestamp { (row: borrowing Row) throws(EvaluationError) -> Timestamp? in try c(row) == true ? try r(row) : nil }
            }
            return .timestamp { (row: borrowing Row) throws(EvaluationError) -> Timestamp? in
                for i in 0..<conds.count {
                    if try conds[i](row) == true { return try rs[i](row) }
                }
                return try o?(row) ?? nil
            }
        case .interval:
            let rs = results.map(\.asInt), o = other?.asInt
            if conds.count == 1, let c = conds.first, let r = rs.first {
                if let o {
                    return .interval { (row: borrowing Row) throws(EvaluationError) -> Int64? in try c(row) == true ? try r(row) : try o(row) }
                }
                return .interval { (row: borrowing Row) throws(EvaluationError) -> Int64? in try c(row) == true ? try r(row) : nil }
            }
            return .interval { (row: borrowing Row) throws(EvaluationError) -> Int64? in
                for i in 0..<conds.count {
                    if try conds[i](row) == true { return try rs[i](row) }
                }
                return try o?(row) ?? nil
            }
        }
    }

    static func coalesce(_ args: [Compiled], _ type: SQLType) -> Compiled {
        switch type {
        case .boolean:
            let fs = args.map(\.asBool)
            if fs.count == 2 {
                let a = fs[0], b = fs[1]
                return .bool { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                    if let v = try a(row) { return v }
                    return try b(row)
                }
            }
            return .bool { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                for f in fs { if let v = try f(row) { return v } }
                return nil
            }
        case .bigint:
            let fs = args.map(\.asInt)
            if fs.count == 2 {
                let a = fs[0], b = fs[1]
                return .int { (row: borrowing Row) throws(EvaluationError) -> Int64? in
                    if let v = try a(row) { return v }
                    return try b(row)
                }
            }
            return .int { (row: borrowing Row) throws(EvaluationError) -> Int64? in
                for f in fs { if let v = try f(row) { return v } }
                return nil
            }
        case .double:
            let fs = args.map(\.asDouble)
            if fs.count == 2 {
                let a = fs[0], b = fs[1]
                return .double { (row: borrowing Row) throws(EvaluationError) -> Double? in
                    if let v = try a(row) { return v }
                    return try b(row)
                }
            }
            return .double { (row: borrowing Row) throws(EvaluationError) -> Double? in
                for f in fs { if let v = try f(row) { return v } }
                return nil
            }
        case .string:
            let fs = args.map(\.asString)
            if fs.count == 2 {
                let a = fs[0], b = fs[1]
                return .string { (row: borrowing Row) throws(EvaluationError) -> String? in
                    if let v = try a(row) { return v }
                    return try b(row)
                }
            }
            return .string { (row: borrowing Row) throws(EvaluationError) -> String? in
                for f in fs { if let v = try f(row) { return v } }
                return nil
            }
        case .timestamp:
            let fs = args.map(\.asTimestamp)
            if fs.count == 2 {
                let a = fs[0], b = fs[1]
                return .timestamp { (row: borrowing Row) throws(EvaluationError) -> Timestamp? in
                    if let v = try a(row) { return v }
                    return try b(row)
                }
            }
            return .timestamp { (row: borrowing Row) throws(EvaluationError) -> Timestamp? in
                for f in fs { if let v = try f(row) { return v } }
                return nil
            }
        case .interval:
            let fs = args.map(\.asInt)
            if fs.count == 2 {
                let a = fs[0], b = fs[1]
                return .interval { (row: borrowing Row) throws(EvaluationError) -> Int64? in
                    if let v = try a(row) { return v }
                    return try b(row)
                }
            }
            return .interval { (row: borrowing Row) throws(EvaluationError) -> Int64? in
                for f in fs { if let v = try f(row) { return v } }
                return nil
            }
        }
    }
}
