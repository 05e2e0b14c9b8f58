/// Compiled code with what the compiler knows about it: its value when it is a constant (so
/// parents fold, and LIKE patterns or IN lists are prepared once), or the slot it reads.
struct Code {
    var compiled: Compiled
    var constant: Value? = nil
    var slot: SlotRef? = nil

    static func constant(_ v: Value, _ type: SQLType) -> Code {
        Code(compiled: .constant(v, type), constant: v)
    }
}

/// Turns a checked tree into closures, bottom-up: each node's closure calls its children's,
/// operators with a constant or a slot operand get a closure that does that part inline,
/// constant subtrees are evaluated once here, AND/OR/CASE/COALESCE evaluate lazily.
struct Compiler {
    let source: ExpressionSource

    func location(_ r: SourceRange) -> SourceLocation { source.location(of: r.start) }

    /// The expression text of a range, for runtime messages.
    func text(_ r: SourceRange) -> String {
        let u = Array(source.text.utf8)
        let s = max(0, min(r.start, u.count)), e = max(s, min(r.end, u.count))
        return String(decoding: u[s..<e], as: UTF8.self)
    }

    /// Compiles the children first, then the node: the recursion stays in this small
    /// function (a tall tree must not need a big stack), the big switch is in `build`.
    func compile(_ t: Typed) -> Code {
        var kids: [Code] = []
        for c in t.children { kids.append(compile(c)) }
        let code = build(t, kids)
        if code.constant != nil || code.slot != nil || kids.contains(where: { $0.constant == nil }) { return code }
        if case .slot = t.node { return code }
        if case .call(let fn, _) = t.node, !fn.deterministic { return code }
        // Every input is a constant: run it once. A failure (1 / 0) stays for run time.
        if let v = try? code.compiled.value(Row([])) {
            return Code.constant(v, code.compiled.type)
        }
        return code
    }

    /// One node from its children's code (`k`, in the order of `Typed.children`).
    private func build(_ t: Typed, _ k: [Code]) -> Code {
        let type = t.type ?? .boolean
        switch t.node {
        case .invalid:
            return Code.constant(.null, type)
        case .constant(let v):
            return Code.constant(v, type)
        case .slot(let i, let name):
            let s = SlotRef(index: i, name: name, location: location(t.range))
            return Code(compiled: s.code(type), slot: s)
        case .toDouble:
            // A BIGINT slot read as DOUBLE is still a slot read (the DOUBLE reader takes integers).
            if let s = k[0].slot { return Code(compiled: s.code(.double), slot: s) }
            return Code(compiled: .double(k[0].compiled.asDouble))
        case .negate:
            switch k[0].compiled {
            case .int(let f): return Code(compiled: .int(lift(f) { 0 &- $0 }))
            case .interval(let f): return Code(compiled: .interval(lift(f) { 0 &- $0 }))
            case .double(let f): return Code(compiled: .double(lift(f) { -$0 }))
            default: return k[0]
            }
        case .not:
            let f = k[0].compiled.asBool
            return Code(compiled: .bool { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let b = try f(row) else { return nil }
                return !b
            })
        case .arithmetic(let op, _, _):
            return Code(compiled: arithmetic(op, k[0], k[1], type, t.range))
        case .shift(_, _, let subtract):
            let f = k[0].compiled.asTimestamp, g = k[1].compiled.asInt
            return Code(compiled: .timestamp(lift(f, g) { t, ms in
                Timestamp(millis: subtract ? t.millis &- ms : t.millis &+ ms, offsetMinutes: t.offsetMinutes)
            }))
        case .scale:
            let f = k[0].compiled.asInt
            if case .int(let g) = k[1].compiled { return Code(compiled: .interval(lift(f, g) { $0 &* $1 })) }
            return Code(compiled: .interval(lift(f, k[1].compiled.asDouble) { NumberText.toInt64(Double($0) * $1) }))
        case .concat:
            let f = k[0].compiled.asString, g = k[1].compiled.asString
            return Code(compiled: .string(lift(f, g) { $0 + $1 }))
        case .compare(let op, let a, _):
            return Code(compiled: .bool(compare(op, k[0], k[1], a.type ?? .boolean)))
        case .distinct(let a, _, let negated):
            let eq = compare(.equal, Code(compiled: k[0].compiled), Code(compiled: k[1].compiled), a.type ?? .boolean)
            let na = k[0].compiled.nullTest, nb = k[1].compiled.nullTest
            return Code(compiled: .bool { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                let x = try na(row), y = try nb(row)
                let distinct: Bool = (x || y) ? x != y : (try eq(row) == false)
                return distinct != negated
            })
        case .and:
            let f = k[0].compiled.asBool, g = k[1].compiled.asBool
            return Code(compiled: .bool { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                let x = try f(row)
                if x == false { return false }
                let y = try g(row)
                if y == false { return false }
                return x == nil || y == nil ? nil : true
            })
        case .or:
            let f = k[0].compiled.asBool, g = k[1].compiled.asBool
            return Code(compiled: .bool { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                let x = try f(row)
                if x == true { return true }
                let y = try g(row)
                if y == true { return true }
                return x == nil || y == nil ? nil : false
            })
        case .isNull(_, let negated):
            let f = k[0].compiled.nullTest
            return Code(compiled: .bool { (row: borrowing Row) throws(EvaluationError) -> Bool? in try f(row) != negated })
        case .isBool(_, let value, let negated):
            let f = k[0].compiled.asBool
            return Code(compiled: .bool { (row: borrowing Row) throws(EvaluationError) -> Bool? in (try f(row) == value) != negated })
        case .between(let x, _, _, let negated, let symmetric):
            return Code(compiled: .bool(between(k[0], k[1], k[2], x.type ?? .boolean, negated: negated, symmetric: symmetric)))
        case .inList(let x, _, let negated):
            return Code(compiled: .bool(inList(k[0], Array(k.dropFirst()), x.type ?? .boolean, negated: negated)))
        case .like(_, _, let esc, let negated):
            return Code(compiled: .bool(like(k[0], k[1], esc == nil ? nil : k[2], negated: negated, t.range)))
        case .caseWhen(let branches, let otherwise):
            let conds = (0..<branches.count).map { k[2 * $0].compiled.asBool }
            let results = (0..<branches.count).map { k[2 * $0 + 1].compiled }
            let other = otherwise == nil ? nil : k.last?.compiled
            return Code(compiled: Branching.caseWhen(conds, results, other, type))
        case .cast(let x, let target, let isTry):
            return Code(compiled: Casts.compile(k[0], from: x.type ?? target.type, to: target, isTry: isTry, at: location(t.range)))
        case .call(let fn, _):
            return Code(compiled: fn.build(CallSite(args: k, result: type, location: location(t.range), text: text(t.range))))
        }
    }

    // MARK: - Operators

    private func arithmetic(_ op: ArithmeticOperator, _ a: Code, _ b: Code, _ type: SQLType, _ r: SourceRange) -> Compiled {
        let at = location(r), txt = text(r)
        switch type {
        case .double:
            switch op {
            case .add: return .double(arithmeticDouble(a, b, DoubleAdd.self, at, txt))
            case .subtract: return .double(arithmeticDouble(a, b, DoubleSubtract.self, at, txt))
            case .multiply: return .double(arithmeticDouble(a, b, DoubleMultiply.self, at, txt))
            case .divide: return .double(arithmeticDouble(a, b, DoubleDivide.self, at, txt))
            case .modulo: return .double(arithmeticDouble(a, b, DoubleModulo.self, at, txt))
            }
        case .interval:
            let f = a.compiled.asInt, g = b.compiled.asInt
            return .interval(lift(f, g) { op == .subtract ? $0 &- $1 : $0 &+ $1 })
        default:
            switch op {
            case .add: return .int(arithmeticInt(a, b, IntAdd.self, at, txt))
            case .subtract: return .int(arithmeticInt(a, b, IntSubtract.self, at, txt))
            case .multiply: return .int(arithmeticInt(a, b, IntMultiply.self, at, txt))
            case .divide: return .int(arithmeticInt(a, b, IntDivide.self, at, txt))
            case .modulo: return .int(arithmeticInt(a, b, IntModulo.self, at, txt))
            }
        }
    }

    /// Both operands of `type` (the checker converted them).
    func compare(_ op: ComparisonOperator, _ a: Code, _ b: Code, _ type: SQLType) -> Eval<Bool> {
        switch type {
        case .bigint: return compareInt(op, a, b)
        case .double: return compareDouble(op, a, b)
        case .string: return compareString(op, a, b)
        case .timestamp: return compareTimestamp(op, a, b)
        // Interval slots hold `.interval`, not `.int`: compared through their code.
        case .interval: return compareInt(op, a, b, slots: false)
        case .boolean:
            // FALSE < TRUE.
            let f = a.compiled.asBool, g = b.compiled.asBool
            let x = Code(compiled: .int(lift(f) { $0 ? 1 : 0 }), constant: a.constantBool.map { $0.map { Value.int($0 ? 1 : 0) } ?? .null })
            let y = Code(compiled: .int(lift(g) { $0 ? 1 : 0 }), constant: b.constantBool.map { $0.map { Value.int($0 ? 1 : 0) } ?? .null })
            return compareInt(op, x, y)
        }
    }

    /// x BETWEEN lo AND hi ≡ x >= lo AND x <= hi, in three-valued logic.
    private func between(_ x: Code, _ lo: Code, _ hi: Code, _ type: SQLType, negated: Bool, symmetric: Bool) -> Eval<Bool> {
        // The usual shape: constant bounds on an integer (HOUR(ts) BETWEEN 6 AND 21).
        if type == .bigint, !symmetric, case .int(let l)? = lo.constant, case .int(let h)? = hi.constant {
            let f = x.compiled.asInt
            if let s = x.slot {
                return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                    guard let v = try s.int(row) else { return nil }
                    return (v >= l && v <= h) != negated
                }
            }
            return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
                guard let v = try f(row) else { return nil }
                return (v >= l && v <= h) != negated
            }
        }
        let ge = compare(.greaterEqual, x, lo, type), le = compare(.lessEqual, x, hi, type)
        let geSwapped = compare(.greaterEqual, x, hi, type), leSwapped = compare(.lessEqual, x, lo, type)
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            var r = Logic.and(try ge(row), try le(row))
            if symmetric, r != true { r = Logic.or(r, Logic.and(try geSwapped(row), try leSwapped(row))) }
            return r.map { $0 != negated }
        }
    }

    /// x IN (…): a hash set when the list is constant. TRUE when found; otherwise NULL if
    /// x or any item is NULL; otherwise FALSE. NOT IN negates that.
    private func inList(_ x: Code, _ items: [Code], _ type: SQLType, negated: Bool) -> Eval<Bool> {
        if items.allSatisfy({ $0.constant != nil }) {
            let values = items.compactMap(\.constant)
            let hasNull = values.contains(where: \.isNull)
            let probe = type == .interval ? Code(compiled: x.compiled, constant: x.constant) : x
            switch type {
            case .bigint, .interval: return inSetInt(probe, Set(values.compactMap { v -> Int64? in if case .int(let i) = v { return i }; if case .interval(let i) = v { return i }; return nil }), hasNull: hasNull, negated: negated)
            case .double: return inSetDouble(x, Set(values.compactMap { v -> Double? in if case .double(let d) = v { return d }; if case .int(let i) = v { return Double(i) }; return nil }), hasNull: hasNull, negated: negated)
            case .string: return inSetString(x, Set(values.compactMap { v -> String? in if case .string(let s) = v { return s }; return nil }), hasNull: hasNull, negated: negated)
            case .timestamp: return inSetTimestamp(x, Set(values.compactMap { v -> Timestamp? in if case .timestamp(let ms, let o) = v { return Timestamp(millis: ms, offsetMinutes: o) }; return nil }), hasNull: hasNull, negated: negated)
            case .boolean: return inSetBool(x, Set(values.compactMap { v -> Bool? in if case .bool(let b) = v { return b }; return nil }), hasNull: hasNull, negated: negated)
            }
        }
        let tests = items.map { compare(.equal, x, $0, type) }
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            var sawNull = false
            for t in tests {
                switch try t(row) {
                case true?: return !negated
                case nil: sawNull = true
                default: break
                }
            }
            return sawNull ? nil : negated
        }
    }

    private func like(_ x: Code, _ p: Code, _ esc: Code?, negated: Bool, _ r: SourceRange) -> Eval<Bool> {
        let f = x.compiled.asString
        let at = location(r)
        if case .string(let pat)? = p.constant, esc == nil || esc?.constant != nil {
            var e: Unicode.Scalar? = nil
            if case .string(let s)? = esc?.constant { e = s.unicodeScalars.first }
            if let m = LikePattern(pat, escape: e) {
                return lift(f) { m.matches($0) != negated }
            }
        }
        let g = p.compiled.asString
        let h = esc?.compiled.asString
        return { (row: borrowing Row) throws(EvaluationError) -> Bool? in
            guard let s = try f(row), let pat = try g(row) else { return nil }
            var e: Unicode.Scalar? = nil
            if let h {
                guard let es = try h(row) else { return nil }
                guard es.unicodeScalars.count == 1 else {
                    throw EvaluationError(.invalidArgument, "ESCAPE must be a single character, got '\(es)'", at: at)
                }
                e = es.unicodeScalars.first
            }
            guard let m = LikePattern(pat, escape: e) else {
                throw EvaluationError(.invalidArgument, "invalid LIKE pattern '\(pat)'", at: at)
            }
            return m.matches(s) != negated
        }
    }
}

/// SQL's three-valued AND/OR on nullable booleans.
enum Logic {
    @inline(__always) static func and(_ a: Bool?, _ b: Bool?) -> Bool? {
        if a == false || b == false { return false }
        return a == nil || b == nil ? nil : true
    }

    @inline(__always) static func or(_ a: Bool?, _ b: Bool?) -> Bool? {
        if a == true || b == true { return true }
        return a == nil || b == nil ? nil : false
    }
}

extension Compiled {
    /// Whether the result is NULL (the value itself is not needed).
    var nullTest: @Sendable (borrowing Row) throws(EvaluationError) -> Bool {
        switch self {
        case .bool(let f): return { (r: borrowing Row) throws(EvaluationError) -> Bool in try f(r) == nil }
        case .int(let f), .interval(let f): return { (r: borrowing Row) throws(EvaluationError) -> Bool in try f(r) == nil }
        case .double(let f): return { (r: borrowing Row) throws(EvaluationError) -> Bool in try f(r) == nil }
        case .string(let f): return { (r: borrowing Row) throws(EvaluationError) -> Bool in try f(r) == nil }
        case .timestamp(let f): return { (r: borrowing Row) throws(EvaluationError) -> Bool in try f(r) == nil }
        }
    }
}

/// Constructs that work the same for every result type, instantiated per type.
enum Generic {
    /// GREATEST/LEAST: NULL if any argument is NULL (as Flink).
    @inline(__always) static func extremeCode<T: Comparable & SendableMetatype>(_ args: [Eval<T>], greatest: Bool) -> Eval<T> {
        liftAll(args) { xs in greatest ? xs.max() : xs.min() }
    }

    static func extreme(_ args: [Compiled], _ type: SQLType, greatest: Bool) -> Compiled {
        switch type {
        case .boolean: return .bool(liftAll(args.map(\.asBool)) { xs in greatest ? xs.contains(true) : !xs.contains(false) })
        case .bigint: return .int(extremeCode(args.map(\.asInt), greatest: greatest))
        case .double: return .double(extremeCode(args.map(\.asDouble), greatest: greatest))
        case .string: return .string(extremeCode(args.map(\.asString), greatest: greatest))
        case .timestamp: return .timestamp(extremeCode(args.map(\.asTimestamp), greatest: greatest))
        case .interval: return .interval(extremeCode(args.map(\.asInt), greatest: greatest))
        }
    }

    /// NULLIF(a, b): NULL when a = b, else a.
    static func nullIf(_ a: Compiled, _ eq: @escaping Eval<Bool>, _ type: SQLType) -> Compiled {
        @inline(__always) func make<T>(_ f: @escaping Eval<T>) -> Eval<T> {
            { (row: borrowing Row) throws(EvaluationError) -> T? in
                guard let v = try f(row) else { return nil }
                return try eq(row) == true ? nil : v
            }
        }
        switch a {
        case .bool(let f): return .bool(make(f))
        case .int(let f): return .int(make(f))
        case .double(let f): return .double(make(f))
        case .string(let f): return .string(make(f))
        case .timestamp(let f): return .timestamp(make(f))
        case .interval(let f): return .interval(make(f))
        }
    }
}
