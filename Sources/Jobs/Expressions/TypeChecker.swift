/// Types an expression against a scope, with SQL's rules as Flink applies them:
/// three-valued logic (a result is nullable when an input is), BIGINT widening to DOUBLE,
/// comparisons only between compatible types (a string is never silently a number), CASE
/// branches unified, CAST checked (a literal that cannot be read is an error now; other
/// strings are read at run time). Every error is reported, not just the first.
struct TypeChecker {
    let source: ExpressionSource
    let scope: ExpressionScope
    let inputs: RowSchema
    private(set) var problems = ProblemSink()
    private(set) var aggregates: [PendingAggregate] = []
    private var insideAggregate: String? = nil

    struct PendingAggregate {
        var function: AggregateCall.Function
        var argument: Typed?
        var argumentSyntax: Expr?
        var offset: Int
        var type: SQLType
        var nullable: Bool
        var range: SourceRange
        var sql: String
        var slot: Int
    }

    init(source: ExpressionSource, scope: ExpressionScope) {
        self.source = source
        self.scope = scope
        self.inputs = scope.inputs
    }

    private mutating func report(_ r: SourceRange, _ m: String) { problems.report(r, m) }

    /// Checks the whole expression; `expecting` is the type its context needs (BOOLEAN for a
    /// filter), or nil for any type.
    mutating func checkTop(_ e: Expr, expecting: SQLType?) -> Typed {
        var t = check(e)
        if t.invalid { return t }
        if let want = expecting {
            if let c = coerce(t, to: want) {
                t = c
            } else if let got = t.type {
                report(e.range, "expected a \(want) expression\(want == .boolean ? " (a condition)" : ""), got \(got)")
                return .failed(e.range)
            }
        }
        if t.type == nil {
            report(e.range, "cannot tell the type of NULL here: write CAST(NULL AS type)")
            return .failed(e.range)
        }
        return t
    }

    // MARK: - Conversions

    /// `t` as a value of `type`, converting implicitly where SQL does; nil when it cannot.
    func coerce(_ t: Typed, to type: SQLType) -> Typed? {
        if t.invalid { return t }
        guard let from = t.type else {
            return Typed(.constant(.null), type, nullable: true, t.range)
        }
        if from == type { return t }
        if from == .bigint, type == .double {
            if case .constant(let v) = t.node {
                if case .int(let i) = v { return Typed(.constant(.double(Double(i))), .double, nullable: false, t.range) }
                return Typed(.constant(.null), .double, nullable: true, t.range)
            }
            return Typed(.toDouble(t), .double, nullable: t.nullable, t.range)
        }
        // A string literal compared with a timestamp is read as one (as Flink does).
        if from == .string, type == .timestamp, case .constant(.string(let s)) = t.node, let ts = TimeText.parseTimestamp(s) {
            return Typed(.constant(.timestamp(ts)), .timestamp, nullable: false, t.range)
        }
        return nil
    }

    /// The type values of all `ts` share, when they can be compared or unified.
    private func commonType(_ ts: [Typed]) -> SQLType? {
        let known = ts.compactMap(\.type)
        guard let first = known.first else { return nil }
        if known.allSatisfy(\.isNumeric) { return known.contains(.double) ? .double : .bigint }
        if known.contains(.timestamp), known.allSatisfy({ $0 == .timestamp || $0 == .string }) {
            // Timestamps with string literals: the literals convert (checked by coerce).
            return .timestamp
        }
        return known.allSatisfy({ $0 == first }) ? first : nil
    }

    /// Converts all of `ts` to their common type, reporting the first that does not fit.
    private mutating func unify(_ ts: [Typed], what: String, at range: SourceRange) -> (type: SQLType?, items: [Typed])? {
        if ts.contains(where: \.invalid) { return nil }
        guard let common = commonType(ts) else {
            if ts.allSatisfy({ $0.type == nil }) { return (nil, ts) }
            // Name the first pair that clashes.
            let known = ts.filter { $0.type != nil }
            var clash = known[0]
            for t in known.dropFirst() where commonType([known[0], t]) == nil { clash = t; break }
            report(clash.range, "\(what) mix \(known[0].type?.description ?? "?") and \(clash.type?.description ?? "?"): \(Self.mixHint(known[0].type, clash.type))")
            return nil
        }
        var out: [Typed] = []
        for t in ts {
            guard let c = coerce(t, to: common) else {
                if t.type == .string, common == .timestamp, case .constant(.string(let s)) = t.node {
                    report(t.range, "cannot read '\(s)' as a TIMESTAMP: expected 'yyyy-MM-dd HH:mm:ss[.SSS]'")
                } else {
                    report(t.range, "\(what) mix \(common) and \(t.type?.description ?? "?"): \(Self.mixHint(common, t.type))")
                }
                return nil
            }
            out.append(c)
        }
        return (common, out)
    }

    private static func mixHint(_ a: SQLType?, _ b: SQLType?) -> String {
        let pair = Set([a, b].compactMap { $0 })
        if pair.contains(.string), pair.contains(where: \.isNumeric) {
            return "a string is not compared with a number; CAST one side (CAST(x AS DOUBLE) or CAST(x AS STRING))"
        }
        if pair.contains(.timestamp), pair.contains(where: \.isNumeric) {
            return "use TO_MILLIS(ts) for the epoch milliseconds of a timestamp"
        }
        return "CAST one side to the other's type"
    }

    // MARK: - Nodes

    /// Checks the children first, then the node: the recursion stays in this small function
    /// (a tall tree must not need a big stack); aggregates check their arguments themselves.
    mutating func check(_ e: Expr) -> Typed {
        switch e.kind {
        case .countStar:
            return aggregate(.count, "COUNT", [], distinct: false, star: true, e.range)
        case .call(let name, _, let args, let distinct):
            if let f = AggregateCall.Function(rawValue: name) {
                return aggregate(f, name, args, distinct: distinct, star: false, e.range)
            }
        default:
            break
        }
        var kids: [Typed] = []
        kids.reserveCapacity(2)
        for c in e.children { kids.append(check(c)) }
        return combine(e, kids)
    }

    /// One node from its checked children (`k`, in the order of `Expr.children`).
    private mutating func combine(_ e: Expr, _ k: [Typed]) -> Typed {
        let r = e.range
        switch e.kind {
        case .error, .countStar:
            return .failed(r)
        case .null:
            return Typed(.constant(.null), nil, nullable: true, r)
        case .bool(let b):
            return Typed(.constant(.bool(b)), .boolean, nullable: false, r)
        case .integer(let v):
            return Typed(.constant(.int(v)), .bigint, nullable: false, r)
        case .decimal(let d, _), .double(let d, _):
            return Typed(.constant(.double(d)), .double, nullable: false, r)
        case .string(let s):
            return Typed(.constant(.string(s)), .string, nullable: false, r)
        case .interval(let ms, _):
            return Typed(.constant(.interval(ms)), .interval, nullable: false, r)
        case .timestamp(let ts, _):
            return Typed(.constant(.timestamp(ts)), .timestamp, nullable: false, r)
        case .timeUnit(let u):
            // Only the parser puts units here (TIMESTAMPDIFF's first argument); they travel as text.
            return Typed(.constant(.string(u.rawValue)), .string, nullable: false, r)
        case .column(let id):
            return column(id, r)
        case .unary(let op, _):
            return unary(op, k[0], r)
        case .binary(let op, _, _):
            return binary(op, k[0], k[1], r)
        case .isTest(_, let test, let negated):
            return isTest(k[0], test, negated, r)
        case .between(_, _, _, let negated, let symmetric):
            guard let (_, u) = unify(k, what: "BETWEEN's value and bounds", at: r) else { return .failed(r) }
            return Typed(.between(u[0], u[1], u[2], negated: negated, symmetric: symmetric), .boolean, nullable: u.contains(where: \.nullable), r)
        case .inList(_, _, let negated):
            guard let (_, u) = unify(k, what: "IN's value and list", at: r) else { return .failed(r) }
            return Typed(.inList(u[0], Array(u.dropFirst()), negated: negated), .boolean, nullable: u.contains(where: \.nullable), r)
        case .like(_, _, let escape, let negated):
            return like(k[0], k[1], escape == nil ? nil : k[2], negated, r)
        case .caseWhen(let subject, let branches, let otherwise):
            let base = subject == nil ? 0 : 1
            let pairs = (0..<branches.count).map { (k[base + 2 * $0], k[base + 2 * $0 + 1]) }
            return caseWhen(subject == nil ? nil : k[0], pairs, otherwise == nil ? nil : k.last, r)
        case .cast(_, let type, let isTry):
            return cast(k[0], type, isTry, r)
        case .call(let name, let nameRange, _, let distinct):
            return call(name, nameRange, k, distinct, r)
        case .extract(let unit, _):
            guard !k[0].invalid, let ts = coerce(k[0], to: .timestamp) else {
                if !k[0].invalid { report(k[0].range, "EXTRACT needs a TIMESTAMP, got \(k[0].type?.description ?? "?")") }
                return .failed(r)
            }
            return functionCall(Functions.extract(unit), [ts], r)
        case .trim(let mode, let chars, _):
            // Children: [chars,] value; the function takes (value [, chars]).
            let args = chars == nil ? [k[0]] : [k[1], k[0]]
            guard !args.contains(where: \.invalid) else { return .failed(r) }
            for a in args where a.type != nil && a.type != .string {
                report(a.range, "TRIM works on strings, got \(a.type?.description ?? "?")")
                return .failed(r)
            }
            let typed = args.map { coerce($0, to: .string) ?? $0 }
            return functionCall(Functions.trim(mode), typed, r)
        }
    }

    private mutating func column(_ id: Identifier, _ r: SourceRange) -> Typed {
        switch inputs.resolve(parts: id.parts.map { ($0.name, $0.quoted) }) {
        case .found(let i):
            let f = inputs[i]
            return Typed(.slot(i, name: f.name), f.type, nullable: f.nullable, r)
        case .ambiguous(let slots):
            let names = slots.map { "`\(inputs[$0].name)`" }.joined(separator: " and ")
            report(r, "ambiguous column `\(id.name)`: it matches \(names); write the exact name in backquotes")
        case .notFound:
            var m = "unknown column `\(id.name)`"
            if let near = Suggest.nearest(id.name, among: inputs.fields.map(\.name)) {
                m += "; did you mean `\(near)`?"
            } else if Functions.scalar[id.name.uppercased()] != nil || AggregateCall.Function(rawValue: id.name.uppercased()) != nil {
                m += "; \(id.name.uppercased()) is a function: call it with parentheses"
            }
            report(r, m)
        }
        return .failed(r)
    }

    private mutating func unary(_ op: UnaryOperator, _ x: Typed, _ r: SourceRange) -> Typed {
        if x.invalid { return .failed(r) }
        switch op {
        case .not:
            guard let b = coerce(x, to: .boolean) else {
                report(x.range, "NOT needs a BOOLEAN operand, got \(x.type?.description ?? "?")")
                return .failed(r)
            }
            return Typed(.not(b), .boolean, nullable: b.nullable, r)
        case .negate, .plus:
            guard let t = x.type else { return Typed(.constant(.null), nil, nullable: true, r) }
            guard t.isNumeric || t == .interval else {
                report(x.range, "unary `\(op.rawValue)` needs a number or an interval, got \(t)")
                return .failed(r)
            }
            return op == .plus ? x : Typed(.negate(x), t, nullable: x.nullable, r)
        }
    }

    private mutating func binary(_ op: BinaryOperator, _ a: Typed, _ b: Typed, _ r: SourceRange) -> Typed {
        if a.invalid || b.invalid { return .failed(r) }
        let nullable = a.nullable || b.nullable
        switch op {
        case .and, .or:
            var operands: [Typed] = []
            for x in [a, b] {
                guard let c = coerce(x, to: .boolean) else {
                    report(x.range, "\(op.rawValue) needs BOOLEAN operands, got \(x.type?.description ?? "?")\(x.type == .bigint ? " (SQL has no truthy numbers: compare it, e.g. x <> 0)" : "")")
                    return .failed(r)
                }
                operands.append(c)
            }
            return Typed(op == .and ? .and(operands[0], operands[1]) : .or(operands[0], operands[1]), .boolean, nullable: nullable, r)
        case .concat:
            for x in [a, b] where x.type != nil && x.type != .string {
                let hint = a.type == .boolean && b.type == .boolean ? "; for a logical or write OR" : "; CAST it AS STRING first"
                report(x.range, "`||` concatenates strings, got \(x.type?.description ?? "?")\(hint)")
                return .failed(r)
            }
            guard let s1 = coerce(a, to: .string), let s2 = coerce(b, to: .string) else { return .failed(r) }
            return Typed(.concat(s1, s2), .string, nullable: nullable, r)
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual, .isDistinctFrom, .isNotDistinctFrom:
            guard let (type, u) = unify([a, b], what: "`\(op.rawValue)` cannot compare values that", at: r) else { return .failed(r) }
            let cmp: ComparisonOperator
            switch op {
            case .equal: cmp = .equal
            case .notEqual: cmp = .notEqual
            case .less: cmp = .less
            case .lessEqual: cmp = .lessEqual
            case .greater: cmp = .greater
            case .greaterEqual: cmp = .greaterEqual
            case .isDistinctFrom, .isNotDistinctFrom:
                let x = type == nil ? u.map { coerce($0, to: .boolean) ?? $0 } : u
                return Typed(.distinct(x[0], x[1], negated: op == .isNotDistinctFrom), .boolean, nullable: false, r)
            default: return .failed(r)
            }
            guard type != nil else { return Typed(.constant(.null), .boolean, nullable: true, r) }
            return Typed(.compare(cmp, u[0], u[1]), .boolean, nullable: nullable, r)
        case .add, .subtract, .multiply, .divide, .modulo:
            return arithmetic(op, a, b, r)
        }
    }

    private mutating func arithmetic(_ op: BinaryOperator, _ a: Typed, _ b: Typed, _ r: SourceRange) -> Typed {
        let nullable = a.nullable || b.nullable
        let ar: ArithmeticOperator = op == .add ? .add : op == .subtract ? .subtract : op == .multiply ? .multiply : op == .divide ? .divide : .modulo
        switch (a.type, b.type) {
        case (let x?, let y?) where x.isNumeric && y.isNumeric:
            let t: SQLType = x == .double || y == .double ? .double : .bigint
            guard let ca = coerce(a, to: t), let cb = coerce(b, to: t) else { return .failed(r) }
            return Typed(.arithmetic(ar, ca, cb), t, nullable: nullable, r)
        case (.timestamp?, .interval?) where op == .add || op == .subtract:
            return Typed(.shift(a, b, subtract: op == .subtract), .timestamp, nullable: nullable, r)
        case (.interval?, .timestamp?) where op == .add:
            return Typed(.shift(b, a, subtract: false), .timestamp, nullable: nullable, r)
        case (.interval?, .interval?) where op == .add || op == .subtract:
            return Typed(.arithmetic(ar, a, b), .interval, nullable: nullable, r)
        case (.interval?, let n?) where n.isNumeric && op == .multiply:
            return Typed(.scale(a, b), .interval, nullable: nullable, r)
        case (let n?, .interval?) where n.isNumeric && op == .multiply:
            return Typed(.scale(b, a), .interval, nullable: nullable, r)
        case (.timestamp?, .timestamp?) where op == .subtract:
            report(r, "timestamps cannot be subtracted: use TIMESTAMPDIFF(SECOND, a, b) (or MINUTE, HOUR, DAY)")
            return .failed(r)
        case (nil, nil):
            report(r, "cannot tell the type of NULL \(op.rawValue) NULL: write CAST(NULL AS type)")
            return .failed(r)
        case (nil, let t?), (let t?, nil):
            // NULL with a typed operand: NULL of the operand's type, if the operator applies to it.
            if t.isNumeric || (t == .interval && op != .divide && op != .modulo) || (t == .timestamp && (op == .add || op == .subtract)) {
                return Typed(.constant(.null), t, nullable: true, r)
            }
            report(r, "`\(op.rawValue)` does not apply to \(t)")
            return .failed(r)
        case (let x?, let y?):
            var m = "`\(op.rawValue)` does not apply to \(x) and \(y)"
            if x == .string || y == .string {
                m += op == .add && x == .string && y == .string ? "; strings are concatenated with `||`" : "; a string is not a number: CAST(x AS DOUBLE) first"
            } else if x == .timestamp || y == .timestamp {
                m += "; timestamps take `+`/`-` an INTERVAL (ts + INTERVAL '1' HOUR)"
            }
            report(r, m)
            return .failed(r)
        }
    }

    private mutating func isTest(_ x: Typed, _ test: TruthTest, _ negated: Bool, _ r: SourceRange) -> Typed {
        if x.invalid { return .failed(r) }
        switch test {
        case .null:
            let typed = x.type == nil ? (coerce(x, to: .boolean) ?? x) : x
            return Typed(.isNull(typed, negated: negated), .boolean, nullable: false, r)
        case .unknown, .true, .false:
            guard let b = coerce(x, to: .boolean) else {
                report(x.range, "IS \(negated ? "NOT " : "")\(test.rawValue) needs a BOOLEAN, got \(x.type?.description ?? "?")")
                return .failed(r)
            }
            if test == .unknown { return Typed(.isNull(b, negated: negated), .boolean, nullable: false, r) }
            return Typed(.isBool(b, test == .true, negated: negated), .boolean, nullable: false, r)
        }
    }

    private mutating func like(_ x: Typed, _ p: Typed, _ esc: Typed?, _ negated: Bool, _ r: SourceRange) -> Typed {
        if x.invalid || p.invalid || esc?.invalid == true { return .failed(r) }
        var parts: [Typed] = []
        for (t, what) in [(x, "value"), (p, "pattern")] + (esc.map { [($0, "ESCAPE character")] } ?? []) {
            guard let s = coerce(t, to: .string) else {
                report(t.range, "LIKE needs a STRING \(what), got \(t.type?.description ?? "?")")
                return .failed(r)
            }
            parts.append(s)
        }
        if let e = esc, case .constant(.string(let s)) = e.node, s.unicodeScalars.count != 1 {
            report(e.range, "ESCAPE must be a single character, got '\(s)'")
            return .failed(r)
        }
        if case .constant(.string(let pat)) = p.node {
            var escChar: Unicode.Scalar? = nil
            if let e = esc, case .constant(.string(let s)) = e.node { escChar = s.unicodeScalars.first }
            if LikePattern(pat, escape: escChar) == nil {
                report(p.range, "invalid LIKE pattern '\(pat)': the ESCAPE character must be followed by %, _ or itself")
                return .failed(r)
            }
        }
        let nullable = parts.contains(where: \.nullable)
        return Typed(.like(parts[0], parts[1], escape: parts.count > 2 ? parts[2] : nil, negated: negated), .boolean, nullable: nullable, r)
    }

    private mutating func caseWhen(_ subj: Typed?, _ branches: [(Typed, Typed)], _ other: Typed?, _ r: SourceRange) -> Typed {
        var ok = subj?.invalid != true
        var conditions: [Typed] = []
        for (w, _) in branches {
            if w.invalid || !ok { ok = false; continue }
            if let s = subj {
                // CASE x WHEN v THEN …: each v compared with x.
                if let (type, u) = unify([s, w], what: "CASE's value and its WHEN value", at: w.range) {
                    conditions.append(type == nil ? Typed(.constant(.null), .boolean, nullable: true, w.range) : Typed(.compare(.equal, u[0], u[1]), .boolean, nullable: s.nullable || w.nullable, w.range))
                } else {
                    ok = false
                }
            } else if let c = coerce(w, to: .boolean) {
                conditions.append(c)
            } else {
                report(w.range, "a WHEN condition must be BOOLEAN, got \(w.type?.description ?? "?")")
                ok = false
            }
        }
        var results = branches.map(\.1)
        if let other { results.append(other) }
        guard ok, !results.contains(where: \.invalid) else { return .failed(r) }
        guard let (type, u) = unify(results, what: "CASE branches", at: r) else { return .failed(r) }
        guard let type else {
            return Typed(.constant(.null), nil, nullable: true, r)
        }
        let thens = Array(u.prefix(branches.count))
        let elseBranch = other != nil ? u.last : nil
        let nullable = u.contains(where: \.nullable) || other == nil
        return Typed(.caseWhen(Array(zip(conditions, thens)), otherwise: elseBranch), type, nullable: nullable, r)
    }

    private mutating func cast(_ x: Typed, _ target: SQLTypeName, _ isTry: Bool, _ r: SourceRange) -> Typed {
        if x.invalid { return .failed(r) }
        let to = target.type
        let name = isTry ? "TRY_CAST" : "CAST"
        guard let from = x.type else {
            return Typed(.constant(.null), to, nullable: true, r)
        }
        if !Casts.allowed(from, to) {
            var m = "cannot \(name) \(from) to \(target.written)"
            if from == .timestamp && to.isNumeric { m += ": use TO_MILLIS(ts) for epoch milliseconds" }
            if from.isNumeric && to == .timestamp { m += ": use TO_TIMESTAMP_LTZ(millis, 3)" }
            report(r, m)
            return .failed(r)
        }
        // A literal that cannot be read is a mistake now, not a failure on every row later.
        if case .constant(.string(let s)) = x.node, !isTry, to != .string, Casts.parse(s, as: to) == nil {
            report(x.range, "cannot CAST '\(s)' to \(target.written)\(to == .timestamp ? ": expected 'yyyy-MM-dd HH:mm:ss[.SSS]'" : "")")
            return .failed(r)
        }
        let nullable = x.nullable || (isTry && from == .string && to != .string)
        return Typed(.cast(x, target, isTry: isTry), to, nullable: nullable, r)
    }

    // MARK: - Calls

    private mutating func call(_ name: String, _ nameRange: SourceRange, _ typed: [Typed], _ distinct: Bool, _ r: SourceRange) -> Typed {
        guard let fn = Functions.scalar[name] else {
            var m = "unknown function `\(name)`"
            if let near = Suggest.nearest(name, among: Array(Functions.scalar.keys) + AggregateCall.Function.allCases.map(\.rawValue)) {
                m += "; did you mean \(near)?"
            }
            report(nameRange, m)
            return .failed(r)
        }
        if distinct { report(nameRange, "DISTINCT is only allowed in aggregate calls") }
        guard fn.arity.contains(typed.count) else {
            let n = fn.arity.lowerBound == fn.arity.upperBound ? "\(fn.arity.lowerBound)" : "\(fn.arity.lowerBound) to \(fn.arity.upperBound)"
            report(r, "\(name) takes \(n) argument\(fn.arity.upperBound == 1 ? "" : "s"), got \(typed.count): \(fn.signature)")
            return .failed(r)
        }
        guard !typed.contains(where: \.invalid), !distinct else { return .failed(r) }
        return functionCall(fn, typed, r)
    }

    /// Types a call with the function's rule and converts the arguments to its parameters.
    private mutating func functionCall(_ fn: ScalarFunction, _ args: [Typed], _ r: SourceRange) -> Typed {
        let info = args.map { ArgumentInfo(type: $0.type, nullable: $0.nullable, literal: $0.literal) }
        switch fn.typing(info) {
        case .failed(let message, let k):
            report(k.flatMap { $0 < args.count ? args[$0].range : nil } ?? r, "\(fn.name): \(message); \(fn.signature)")
            return .failed(r)
        case .ok(let sig):
            var converted: [Typed] = []
            for (k, a) in args.enumerated() {
                let want: SQLType? = k < sig.parameters.count ? sig.parameters[k] : (sig.parameters.last ?? nil)
                guard let want else { converted.append(a); continue }
                guard let c = coerce(a, to: want) else {
                    report(a.range, "\(fn.name) argument \(k + 1) must be \(want), got \(a.type?.description ?? "?"); \(fn.signature)")
                    return .failed(r)
                }
                converted.append(c)
            }
            let nullable: Bool
            switch sig.nullability {
            case .ifAnyArgument: nullable = converted.contains(where: \.nullable)
            case .ifAllArguments: nullable = converted.allSatisfy(\.nullable)
            case .always: nullable = true
            case .never: nullable = false
            }
            return Typed(.call(fn, converted), sig.result, nullable: nullable, r)
        }
    }

    private mutating func aggregate(_ f: AggregateCall.Function, _ name: String, _ args: [Expr], distinct: Bool, star: Bool, _ r: SourceRange) -> Typed {
        if !scope.allowsAggregates {
            report(r, "aggregate function \(name) is not allowed here: aggregates belong in window and OVER operators")
            for a in args { _ = check(a) }
            return .failed(r)
        }
        if let outer = insideAggregate {
            report(r, "aggregate calls cannot be nested (\(name) inside \(outer))")
            return .failed(r)
        }
        if distinct {
            report(r, "\(name)(DISTINCT …) is not supported: distinct aggregates need per-window sets of values")
            return .failed(r)
        }
        insideAggregate = name
        let typed = args.map { check($0) }
        insideAggregate = nil
        if typed.contains(where: \.invalid) { return .failed(r) }
        let arity: ClosedRange<Int> = f == .count ? (star ? 0...0 : 1...1) : f == .lag ? 1...2 : 1...1
        guard arity.contains(args.count) else {
            report(r, "\(name) takes \(f == .lag ? "1 or 2 arguments (LAG(x [, offset]))" : "1 argument"), got \(args.count)")
            return .failed(r)
        }
        var argument = typed.first
        var type: SQLType = .bigint
        var nullable = true
        var offset = 1
        switch f {
        case .count:
            nullable = false
        case .sum, .avg:
            // AVG of a BIGINT is a BIGINT (truncated), as in Flink.
            guard let t = argument?.type, t.isNumeric else {
                report(argument?.range ?? r, "\(name) needs a number, got \(argument?.type?.description ?? "NULL")")
                return .failed(r)
            }
            type = t
        case .min, .max, .firstValue, .lastValue, .lag:
            guard let t = argument?.type else {
                report(argument?.range ?? r, "\(name) of an untyped NULL: write CAST(NULL AS type)")
                return .failed(r)
            }
            type = t
            if f == .lag, typed.count == 2 {
                guard case .constant(.int(let n)) = typed[1].node, n >= 0, n <= 1_000_000 else {
                    report(typed[1].range, "LAG's offset must be a whole-number literal from 0 to 1000000")
                    return .failed(r)
                }
                offset = Int(n)
            }
        }
        if let a = argument, a.type == nil { argument = coerce(a, to: .boolean) }
        let sql = f == .count && star ? "COUNT(*)" : "\(name)(\(args.map(\.sql).joined(separator: ", ")))"
        if let existing = aggregates.first(where: { $0.sql == sql }) {
            return Typed(.slot(existing.slot, name: sql), existing.type, nullable: existing.nullable, r)
        }
        let slot = scope.firstAggregateSlot + aggregates.count
        aggregates.append(PendingAggregate(function: f, argument: star ? nil : argument, argumentSyntax: star ? nil : args.first, offset: offset, type: type, nullable: nullable, range: r, sql: sql, slot: slot))
        return Typed(.slot(slot, name: sql), type, nullable: nullable, r)
    }
}
