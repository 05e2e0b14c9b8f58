/// CAST and TRY_CAST: which conversions exist, and their code. Reading a string is done at
/// run time (a failure is an `invalidCast` error for CAST, NULL for TRY_CAST).
enum Casts {
    static func allowed(_ from: SQLType, _ to: SQLType) -> Bool {
        if from == to || to == .string { return true }
        switch (from, to) {
        case (.string, .boolean), (.string, .bigint), (.string, .double), (.string, .timestamp): return true
        case (.bigint, .double), (.double, .bigint): return true
        case (.boolean, .bigint), (.boolean, .double), (.bigint, .boolean), (.double, .boolean): return true
        default: return false
        }
    }

    /// A string read as `type` (nil when it cannot be).
    static func parse(_ s: String, as type: SQLType) -> Value? {
        switch type {
        case .boolean: return NumberText.parseBool(s).map(Value.bool)
        case .bigint: return NumberText.parseInteger(s).map(Value.int)
        case .double: return NumberText.parseDouble(s).map(Value.double)
        case .timestamp: return TimeText.parseTimestamp(s).map { Value.timestamp($0) }
        case .string: return .string(s)
        case .interval: return nil
        }
    }

    /// Wraps to the written width: CAST(300 AS TINYINT) is 44, as in Flink.
    @inline(__always) static func narrow(_ v: Int64, _ w: SQLTypeName.IntegerWidth) -> Int64 {
        switch w {
        case .bits64: return v
        case .bits32: return Int64(Int32(truncatingIfNeeded: v))
        case .bits16: return Int64(Int16(truncatingIfNeeded: v))
        case .bits8: return Int64(Int8(truncatingIfNeeded: v))
        }
    }

    static func compile(_ x: Code, from: SQLType, to target: SQLTypeName, isTry: Bool, at: SourceLocation) -> Compiled {
        let to = target.type
        let width = target.integerWidth
        let scale = target.decimalScale.map(Int64.init)
        let written = target.written
        @Sendable func fail(_ s: String) -> EvaluationError {
            EvaluationError(.invalidCast, "cannot CAST '\(s)' to \(written)", at: at)
        }
        switch (from, to) {
        case (_, .string):
            switch x.compiled {
            case .string(let f): return .string(f)
            case .bool(let f): return .string(lift(f) { $0 ? "TRUE" : "FALSE" })
            case .int(let f): return .string(lift(f) { String($0) })
            case .double(let f): return .string(lift(f) { NumberText.javaDouble($0) })
            case .timestamp(let f): return .string(lift(f) { TimeText.format($0) })
            case .interval(let f): return .string(lift(f) { TimeText.formatInterval($0) })
            }
        case (.string, .bigint):
            let f = x.compiled.asString
            return .int(liftThrowing(f) { (s: String) throws(EvaluationError) -> Int64? in
                guard let v = NumberText.parseInteger(s) else {
                    if isTry { return nil }
                    throw fail(s)
                }
                return narrow(v, width)
            })
        case (.string, .double):
            let f = x.compiled.asString
            return .double(liftThrowing(f) { (s: String) throws(EvaluationError) -> Double? in
                guard let v = NumberText.parseDouble(s) else {
                    if isTry { return nil }
                    throw fail(s)
                }
                return scale.map { NumberText.round(v, $0) } ?? v
            })
        case (.string, .boolean):
            let f = x.compiled.asString
            return .bool(liftThrowing(f) { (s: String) throws(EvaluationError) -> Bool? in
                guard let v = NumberText.parseBool(s) else {
                    if isTry { return nil }
                    throw fail(s)
                }
                return v
            })
        case (.string, .timestamp):
            let f = x.compiled.asString
            return .timestamp(liftThrowing(f) { (s: String) throws(EvaluationError) -> Timestamp? in
                guard let v = TimeText.parseTimestamp(s) else {
                    if isTry { return nil }
                    throw fail(s)
                }
                return v
            })
        case (.double, .bigint):
            return .int(lift(x.compiled.asDouble) { narrow(NumberText.toInt64($0), width) })
        case (.bigint, .bigint):
            if width == .bits64 { return x.compiled }
            return .int(lift(x.compiled.asInt) { narrow($0, width) })
        case (.bigint, .double), (.double, .double):
            let f = x.compiled.asDouble
            guard let scale else { return .double(f) }
            return .double(lift(f) { NumberText.round($0, scale) })
        case (.boolean, .bigint):
            return .int(lift(x.compiled.asBool) { $0 ? 1 : 0 })
        case (.boolean, .double):
            return .double(lift(x.compiled.asBool) { $0 ? 1 : 0 })
        case (.bigint, .boolean):
            return .bool(lift(x.compiled.asInt) { $0 != 0 })
        case (.double, .boolean):
            return .bool(lift(x.compiled.asDouble) { $0 != 0 })
        default:
            // Same type (TIMESTAMP to TIMESTAMP(3), …): nothing to do.
            return x.compiled
        }
    }
}
