import Foundation
import KafkaClient

/// The scalar functions, one table. Each entry gives the signature as documentation shows
/// it, its typing rule and its code. Flink's semantics are followed (checked against Flink
/// 2.3 where they are not obvious); Riverbank's own functions are marked as such.
/// Aggregates (COUNT, SUM, AVG, MIN, MAX, FIRST_VALUE, LAST_VALUE, LAG) are not here: the
/// checker hands them to the window/OVER planner (see `AggregateCall`).
enum Functions {
    static let scalar: [String: ScalarFunction] = {
        var t: [String: ScalarFunction] = [:]
        for f in math + strings + conditionals + times + geo + [ModelFunction.scoreFunction, ModelFunction.versionFunction] { t[f.name] = f }
        for (alias, name) in [("CEILING", "CEIL"), ("SUBSTR", "SUBSTRING"), ("CHARACTER_LENGTH", "CHAR_LENGTH"), ("LOCATE", "POSITION")] {
            if var f = t[name] { f.name = alias; t[alias] = f }
        }
        return t
    }()

    /// Every scalar function's signature, by name (for documentation and `job validate --help`).
    static var catalog: [(name: String, signature: String)] {
        scalar.values.map { ($0.name, $0.signature) }.sorted { $0.name < $1.name }
    }

    // MARK: - Numbers

    static let math: [ScalarFunction] = [
        ScalarFunction(name: "ABS", signature: "ABS(x BIGINT|DOUBLE) → type of x", arity: 1...1, typing: Rules.numericSame()) { c in
            switch c.args[0].compiled {
            case .int(let f): return .int(lift(f) { $0 < 0 ? 0 &- $0 : $0 })
            default: return .double(lift(c.args[0].compiled.asDouble) { Swift.abs($0) })
            }
        },
        ScalarFunction(name: "ROUND", signature: "ROUND(x BIGINT|DOUBLE [, places BIGINT]) → type of x; half away from zero, on the decimal value (ROUND(1.005, 2) = 1.01)", arity: 1...2, typing: Rules.numericSame([.bigint])) { c in
            let zero: Eval<Int64> = { _ in 0 }
            let places = c.args.count > 1 ? c.args[1].compiled.asInt : zero
            switch c.args[0].compiled {
            case .int(let f): return .int(lift(f, places) { NumberText.round($0, $1) })
            default: return .double(lift(c.args[0].compiled.asDouble, places) { NumberText.round($0, $1) })
            }
        },
        ScalarFunction(name: "FLOOR", signature: "FLOOR(x BIGINT|DOUBLE) → type of x", arity: 1...1, typing: Rules.numericSame()) { c in
            if case .int = c.args[0].compiled { return c.args[0].compiled }
            return .double(lift(c.args[0].compiled.asDouble) { $0.rounded(.down) })
        },
        ScalarFunction(name: "CEIL", signature: "CEIL(x BIGINT|DOUBLE) → type of x (also CEILING)", arity: 1...1, typing: Rules.numericSame()) { c in
            if case .int = c.args[0].compiled { return c.args[0].compiled }
            return .double(lift(c.args[0].compiled.asDouble) { $0.rounded(.up) })
        },
        ScalarFunction(name: "POWER", signature: "POWER(x DOUBLE, y DOUBLE) → DOUBLE", arity: 2...2, typing: Rules.fixed([.double, .double], .double)) { c in
            .double(lift(c.args[0].compiled.asDouble, c.args[1].compiled.asDouble) { Foundation.pow($0, $1) })
        },
        ScalarFunction(name: "SQRT", signature: "SQRT(x DOUBLE) → DOUBLE (NaN below zero)", arity: 1...1, typing: Rules.fixed([.double], .double)) { c in
            .double(lift(c.args[0].compiled.asDouble) { $0.squareRoot() })
        },
        ScalarFunction(name: "LN", signature: "LN(x DOUBLE) → DOUBLE, the natural logarithm", arity: 1...1, typing: Rules.fixed([.double], .double)) { c in
            .double(lift(c.args[0].compiled.asDouble) { Foundation.log($0) })
        },
        ScalarFunction(name: "LOG10", signature: "LOG10(x DOUBLE) → DOUBLE", arity: 1...1, typing: Rules.fixed([.double], .double)) { c in
            .double(lift(c.args[0].compiled.asDouble) { Foundation.log10($0) })
        },
        ScalarFunction(name: "EXP", signature: "EXP(x DOUBLE) → DOUBLE, e to the x", arity: 1...1, typing: Rules.fixed([.double], .double)) { c in
            .double(lift(c.args[0].compiled.asDouble) { Foundation.exp($0) })
        },
        ScalarFunction(name: "MOD", signature: "MOD(a BIGINT|DOUBLE, b BIGINT|DOUBLE) → common type; the sign of a; division by zero is an error", arity: 2...2, typing: Rules.common("MOD's arguments", comparable: false, .ifAnyArgument)) { c in
            let at = c.location, text = c.text
            if c.result == .bigint {
                return .int(liftThrowing(c.args[0].compiled.asInt, c.args[1].compiled.asInt) { (a: Int64, b: Int64) throws(EvaluationError) -> Int64? in try IntModulo.apply(a, b, at, text) })
            }
            return .double(liftThrowing(c.args[0].compiled.asDouble, c.args[1].compiled.asDouble) { (a: Double, b: Double) throws(EvaluationError) -> Double? in try DoubleModulo.apply(a, b, at, text) })
        },
        ScalarFunction(name: "GREATEST", signature: "GREATEST(v, …) → common type; NULL if any argument is NULL", arity: 1...Int.max, typing: Rules.common("GREATEST", comparable: true, .ifAnyArgument)) { c in
            Generic.extreme(c.args.map(\.compiled), c.result, greatest: true)
        },
        ScalarFunction(name: "LEAST", signature: "LEAST(v, …) → common type; NULL if any argument is NULL", arity: 1...Int.max, typing: Rules.common("LEAST", comparable: true, .ifAnyArgument)) { c in
            Generic.extreme(c.args.map(\.compiled), c.result, greatest: false)
        },
    ]

    // MARK: - Strings

    static let strings: [ScalarFunction] = [
        ScalarFunction(name: "UPPER", signature: "UPPER(s STRING) → STRING", arity: 1...1, typing: Rules.fixed([.string], .string)) { c in
            .string(lift(c.args[0].compiled.asString) { $0.uppercased() })
        },
        ScalarFunction(name: "LOWER", signature: "LOWER(s STRING) → STRING", arity: 1...1, typing: Rules.fixed([.string], .string)) { c in
            .string(lift(c.args[0].compiled.asString) { $0.lowercased() })
        },
        trim(.leading, name: "LTRIM"),
        trim(.trailing, name: "RTRIM"),
        ScalarFunction(name: "CHAR_LENGTH", signature: "CHAR_LENGTH(s STRING) → BIGINT, in characters (code points); also CHARACTER_LENGTH", arity: 1...1, typing: Rules.fixed([.string], .bigint)) { c in
            .int(lift(c.args[0].compiled.asString) { Strings.length($0) })
        },
        ScalarFunction(name: "SUBSTRING", signature: "SUBSTRING(s FROM start [FOR length]) or SUBSTRING(s, start [, length]) → STRING; 1-based, a negative start counts from the end; also SUBSTR", arity: 2...3, typing: Rules.fixed([.string, .bigint, .bigint], .string)) { c in
            let s = c.args[0].compiled.asString, p = c.args[1].compiled.asInt
            if c.args.count == 3 {
                return .string(lift(s, p, c.args[2].compiled.asInt) { Strings.substring($0, $1, $2) })
            }
            return .string(lift(s, p) { Strings.substring($0, $1, nil) })
        },
        ScalarFunction(name: "POSITION", signature: "POSITION(needle IN s) → BIGINT, 1-based, 0 when absent; also LOCATE(needle, s)", arity: 2...2, typing: Rules.fixed([.string, .string], .bigint)) { c in
            .int(lift(c.args[0].compiled.asString, c.args[1].compiled.asString) { Strings.position($0, $1) })
        },
        ScalarFunction(name: "REPLACE", signature: "REPLACE(s STRING, from STRING, to STRING) → STRING, every occurrence", arity: 3...3, typing: Rules.fixed([.string, .string, .string], .string)) { c in
            .string(lift(c.args[0].compiled.asString, c.args[1].compiled.asString, c.args[2].compiled.asString) { Strings.replace($0, $1, $2) })
        },
        ScalarFunction(name: "CONCAT", signature: "CONCAT(s STRING, …) → STRING; NULL if any argument is NULL", arity: 1...Int.max, typing: { args in
            .ok(Signature(parameters: Array(repeating: .string, count: args.count), result: .string))
        }) { c in
            .string(liftAll(c.args.map(\.compiled.asString)) { $0.joined() })
        },
        ScalarFunction(name: "LPAD", signature: "LPAD(s STRING, length BIGINT, pad STRING) → STRING, padded on the left or cut to length; NULL for a negative length or an empty pad", arity: 3...3, typing: Rules.fixed([.string, .bigint, .string], .string, .always)) { c in
            .string(lift(c.args[0].compiled.asString, c.args[1].compiled.asInt, c.args[2].compiled.asString) { Strings.pad($0, $1, $2, left: true) })
        },
        ScalarFunction(name: "RPAD", signature: "RPAD(s STRING, length BIGINT, pad STRING) → STRING, padded on the right or cut to length; NULL for a negative length or an empty pad", arity: 3...3, typing: Rules.fixed([.string, .bigint, .string], .string, .always)) { c in
            .string(lift(c.args[0].compiled.asString, c.args[1].compiled.asInt, c.args[2].compiled.asString) { Strings.pad($0, $1, $2, left: false) })
        },
    ]

    /// TRIM([BOTH|LEADING|TRAILING] [chars] FROM s), LTRIM(s), RTRIM(s): spaces unless `chars`
    /// (a set of characters) is given.
    static func trim(_ mode: TrimMode, name: String = "TRIM") -> ScalarFunction {
        ScalarFunction(name: name, signature: name == "TRIM" ? "TRIM([BOTH|LEADING|TRAILING] [chars] FROM s) → STRING" : "\(name)(s STRING) → STRING", arity: 1...(name == "TRIM" ? 2 : 1), typing: Rules.fixed([.string, .string], .string)) { c in
            let s = c.args[0].compiled.asString
            let space: Eval<String> = { _ in " " }
            let chars = c.args.count > 1 ? c.args[1].compiled.asString : space
            return .string(lift(s, chars) { Strings.trim($0, $1, leading: mode != .trailing, trailing: mode != .leading) })
        }
    }

    // MARK: - Conditionals

    static let conditionals: [ScalarFunction] = [
        ScalarFunction(name: "COALESCE", signature: "COALESCE(v, …) → common type, the first non-NULL argument (later ones are not evaluated)", arity: 1...Int.max, typing: Rules.common("COALESCE", comparable: false, .ifAllArguments)) { c in
            Branching.coalesce(c.args.map(\.compiled), c.result)
        },
        ScalarFunction(name: "NULLIF", signature: "NULLIF(a, b) → type of a; NULL when a = b, else a", arity: 2...2, typing: Rules.common("NULLIF", comparable: true, .always)) { c in
            let eq = Compiler(source: ExpressionSource("")).compare(.equal, c.args[0], c.args[1], c.result)
            return Generic.nullIf(c.args[0].compiled, eq, c.result)
        },
        ScalarFunction(name: "IF", signature: "IF(condition BOOLEAN, a, b) → common type of a and b; b when the condition is FALSE or NULL", arity: 3...3, typing: { args in
            guard args[0].type == nil || args[0].type == .boolean else { return .failed("the condition must be BOOLEAN, got \(args[0].type?.description ?? "?")", argument: 0) }
            guard let t = Rules.commonType([args[1].type, args[2].type]) else {
                if args[1].type == nil, args[2].type == nil { return .failed("cannot tell the type of NULL: write CAST(NULL AS type)", argument: 1) }
                return .failed("the two results mix \(args[1].type?.description ?? "?") and \(args[2].type?.description ?? "?")", argument: 2)
            }
            return .ok(Signature(parameters: [.boolean, t, t], result: t, nullability: args[1].nullable || args[2].nullable ? .always : .never))
        }) { c in
            Branching.caseWhen([c.args[0].compiled.asBool], [c.args[1].compiled], c.args[2].compiled, c.result)
        },
    ]

    // MARK: - Time

    /// One local calendar field of a timestamp (EXTRACT, HOUR(), …).
    static func extract(_ unit: TimeUnit, name: String? = nil) -> ScalarFunction {
        let n = name ?? "EXTRACT"
        let sig = name.map { "\($0)(ts TIMESTAMP) → BIGINT" } ?? "EXTRACT(unit FROM ts TIMESTAMP) → BIGINT"
        return ScalarFunction(name: n, signature: sig, arity: 1...1, typing: Rules.fixed([.timestamp], .bigint)) { c in
            let arg = c.args[0]
            if unit == .hour {
                // The fraud rule's path: no calendar breakdown, a direct slot read when possible.
                if let s = arg.slot {
                    return .int { (row: borrowing Row) throws(EvaluationError) -> Int64? in
                        guard let t = try s.timestamp(row) else { return nil }
                        return TimeText.hour(t)
                    }
                }
                return .int(lift(arg.compiled.asTimestamp) { TimeText.hour($0) })
            }
            return .int(lift(arg.compiled.asTimestamp) { t in
                if unit == .epoch { return TimeText.floorDiv(t.millis, 1000) }
                let f = TimeText.fields(t)
                switch unit {
                case .millisecond: return f.millis
                case .second: return f.second
                case .minute: return f.minute
                case .hour: return f.hour
                case .day: return f.day
                case .week: return TimeText.isoWeek(f)
                case .month: return f.month
                case .quarter: return (f.month - 1) / 3 + 1
                case .year: return f.year
                case .dayOfWeek: return f.dayOfWeek
                case .isoDayOfWeek: return (f.dayOfWeek + 5) % 7 + 1
                case .dayOfYear: return f.dayOfYear
                case .epoch: return TimeText.floorDiv(t.millis, 1000)
                }
            })
        }
    }

    static let times: [ScalarFunction] = [
        extract(.hour, name: "HOUR"),
        extract(.minute, name: "MINUTE"),
        extract(.second, name: "SECOND"),
        extract(.year, name: "YEAR"),
        extract(.quarter, name: "QUARTER"),
        extract(.month, name: "MONTH"),
        extract(.week, name: "WEEK"),
        extract(.day, name: "DAYOFMONTH"),
        extract(.dayOfWeek, name: "DAYOFWEEK"),
        extract(.dayOfYear, name: "DAYOFYEAR"),
        ScalarFunction(name: "DATE_FORMAT", signature: "DATE_FORMAT(ts TIMESTAMP|STRING, pattern STRING) → STRING, local time, Java DateTimeFormatter letters (yyyy-MM-dd HH:mm:ss.SSS)", arity: 2...2, typing: { args in
            guard args[0].type == nil || args[0].type == .timestamp || args[0].type == .string else {
                return .failed("the value must be a TIMESTAMP or a STRING, got \(args[0].type?.description ?? "?")", argument: 0)
            }
            if case .string(let p)? = args[1].literal, case .failure(let e) = DateFormat.compile(p) {
                return .failed(e.message, argument: 1)
            }
            return .ok(Signature(parameters: [args[0].type == .string ? .string : .timestamp, .string], result: .string))
        }) { c in
            let at = c.location
            let ts: Eval<Timestamp>
            if case .string(let f) = c.args[0].compiled {
                ts = liftThrowing(f) { (s: String) throws(EvaluationError) -> Timestamp? in
                    guard let t = TimeText.parseTimestamp(s) else { throw EvaluationError(.invalidCast, "DATE_FORMAT cannot read '\(s)' as a timestamp", at: at) }
                    return t
                }
            } else {
                ts = c.args[0].compiled.asTimestamp
            }
            if case .string(let p)? = c.args[1].constant, case .success(let fmt) = DateFormat.compile(p) {
                return .string(lift(ts) { fmt.format($0) })
            }
            return .string(liftThrowing(ts, c.args[1].compiled.asString) { (t: Timestamp, p: String) throws(EvaluationError) -> String? in
                switch DateFormat.compile(p) {
                case .success(let fmt): return fmt.format(t)
                case .failure(let e): throw EvaluationError(.invalidArgument, e.message, at: at)
                }
            })
        },
        ScalarFunction(name: "TIMESTAMPDIFF", signature: "TIMESTAMPDIFF(SECOND|MINUTE|HOUR|DAY|WEEK, a TIMESTAMP, b TIMESTAMP) → BIGINT, whole units from a to b (truncated toward zero)", arity: 3...3, typing: { args in
            guard case .string(let u)? = args[0].literal, let unit = TimeUnit(rawValue: u), unit.millis != nil, unit != .millisecond else {
                return .failed("the unit must be SECOND, MINUTE, HOUR, DAY or WEEK (months and years have no fixed length)", argument: 0)
            }
            return .ok(Signature(parameters: [.string, .timestamp, .timestamp], result: .bigint))
        }) { c in
            guard case .string(let u)? = c.args[0].constant, let per = TimeUnit(rawValue: u)?.millis else { return .int { _ in nil } }
            return .int(lift(c.args[1].compiled.asTimestamp, c.args[2].compiled.asTimestamp) { a, b in (b.millis &- a.millis) / per })
        },
        ScalarFunction(name: "TIMESTAMPADD", signature: "TIMESTAMPADD(SECOND|MINUTE|HOUR|DAY|WEEK, n BIGINT, ts TIMESTAMP) → TIMESTAMP (the offset of ts kept)", arity: 3...3, typing: { args in
            guard case .string(let u)? = args[0].literal, let unit = TimeUnit(rawValue: u), unit.millis != nil, unit != .millisecond else {
                return .failed("the unit must be SECOND, MINUTE, HOUR, DAY or WEEK", argument: 0)
            }
            return .ok(Signature(parameters: [.string, .bigint, .timestamp], result: .timestamp))
        }) { c in
            guard case .string(let u)? = c.args[0].constant, let per = TimeUnit(rawValue: u)?.millis else { return .timestamp { _ in nil } }
            return .timestamp(lift(c.args[1].compiled.asInt, c.args[2].compiled.asTimestamp) { n, t in
                Timestamp(millis: t.millis &+ n &* per, offsetMinutes: t.offsetMinutes)
            })
        },
        ScalarFunction(name: "TO_MILLIS", signature: "TO_MILLIS(ts TIMESTAMP) → BIGINT, epoch milliseconds of the instant (Riverbank; Flink has no single equivalent)", arity: 1...1, typing: Rules.fixed([.timestamp], .bigint)) { c in
            .int(lift(c.args[0].compiled.asTimestamp) { $0.millis })
        },
        {
            var f = ScalarFunction(name: "NOW", signature: "NOW() → TIMESTAMP, the wall-clock time when the row is computed, at UTC (processing time: detection times, latencies)", arity: 0...0, typing: Rules.fixed([], .timestamp, .never)) { _ in
                .timestamp { _ in Timestamp(millis: currentTimeMillis()) }
            }
            f.deterministic = false
            return f
        }(),
        ScalarFunction(name: "TO_TIMESTAMP_LTZ", signature: "TO_TIMESTAMP_LTZ(epoch BIGINT [, precision 0|3]) → TIMESTAMP at UTC; precision 0 reads seconds, 3 (the default) milliseconds", arity: 1...2, typing: { args in
            if args.count == 2 {
                guard case .int(let p)? = args[1].literal, p == 0 || p == 3 else { return .failed("the precision must be the literal 0 (seconds) or 3 (milliseconds)", argument: 1) }
            }
            return .ok(Signature(parameters: [.bigint, .bigint], result: .timestamp))
        }) { c in
            let perUnit: Int64 = c.args.count == 2 && c.args[1].constant == .int(0) ? 1000 : 1
            return .timestamp(lift(c.args[0].compiled.asInt) { Timestamp(millis: $0 &* perUnit) })
        },
    ]

    // MARK: - Geography

    /// Mean Earth radius (IUGG), km.
    static let earthRadiusKm = 6371.0088

    /// Great-circle distance by the haversine formula (accurate to ~0.5 % on the ellipsoid).
    static func haversineKm(_ lat1: Double, _ lon1: Double, _ lat2: Double, _ lon2: Double) -> Double {
        let r = Double.pi / 180
        let dLat = (lat2 - lat1) * r, dLon = (lon2 - lon1) * r
        let s1 = Foundation.sin(dLat / 2), s2 = Foundation.sin(dLon / 2)
        let a = s1 * s1 + Foundation.cos(lat1 * r) * Foundation.cos(lat2 * r) * s2 * s2
        return 2 * earthRadiusKm * Foundation.asin(Swift.min(1, a.squareRoot()))
    }

    static let geo: [ScalarFunction] = [
        ScalarFunction(name: "GEO_DISTANCE_KM", signature: "GEO_DISTANCE_KM(lat1, lon1, lat2, lon2 DOUBLE) → DOUBLE, great-circle km (Riverbank; haversine, R = 6371.0088 km)", arity: 4...4, typing: Rules.fixed([.double, .double, .double, .double], .double)) { c in
            .double(lift(c.args[0].compiled.asDouble, c.args[1].compiled.asDouble, c.args[2].compiled.asDouble, c.args[3].compiled.asDouble) { haversineKm($0, $1, $2, $3) })
        },
        ScalarFunction(name: "GEO_DISTANCE_MILES", signature: "GEO_DISTANCE_MILES(lat1, lon1, lat2, lon2 DOUBLE) → DOUBLE, great-circle statute miles (Riverbank)", arity: 4...4, typing: Rules.fixed([.double, .double, .double, .double], .double)) { c in
            .double(lift(c.args[0].compiled.asDouble, c.args[1].compiled.asDouble, c.args[2].compiled.asDouble, c.args[3].compiled.asDouble) { haversineKm($0, $1, $2, $3) / 1.609344 })
        },
    ]
}
