/// What a function's typing rule sees of one argument.
struct ArgumentInfo {
    var type: SQLType?
    var nullable: Bool
    /// The argument's value when it is a literal (a DATE_FORMAT pattern, a time unit).
    var literal: Value?
}

enum Nullability {
    /// NULL in, NULL out (most functions).
    case ifAnyArgument
    /// Only when every argument is nullable (COALESCE).
    case ifAllArguments
    case always
    case never
}

/// A resolved call: the argument types to convert to, the result.
struct Signature {
    var parameters: [SQLType?]
    var result: SQLType
    var nullability: Nullability = .ifAnyArgument
}

enum Typing {
    case ok(Signature)
    /// The message, and the argument (0-based) to put the caret under.
    case failed(String, argument: Int?)
}

/// What a function's code builder gets: the compiled arguments (already of the parameter
/// types), the result type, and where the call is written (for runtime errors).
struct CallSite {
    var args: [Code]
    var result: SQLType
    var location: SourceLocation
    var text: String

    func fail(_ kind: EvaluationError.Kind, _ message: String) -> EvaluationError {
        EvaluationError(kind, message, at: location)
    }
}

/// One scalar function of the table in Functions.swift.
struct ScalarFunction: Sendable {
    var name: String
    /// The signature as documentation shows it (also appended to argument errors).
    var signature: String
    var arity: ClosedRange<Int>
    var typing: @Sendable ([ArgumentInfo]) -> Typing
    var build: @Sendable (CallSite) -> Compiled
    /// False for NOW(): never folded into a constant, evaluated per row.
    var deterministic = true
}

// MARK: - Typing rules shared by many functions

enum Rules {
    /// Fixed parameter types (BIGINT arguments widen to DOUBLE parameters).
    static func fixed(_ params: [SQLType], _ result: SQLType, _ n: Nullability = .ifAnyArgument) -> @Sendable ([ArgumentInfo]) -> Typing {
        { _ in .ok(Signature(parameters: params, result: result, nullability: n)) }
    }

    /// One numeric argument, result of the same type (ABS, FLOOR …); extra parameters fixed.
    static func numericSame(_ rest: [SQLType] = []) -> @Sendable ([ArgumentInfo]) -> Typing {
        { args in
            guard let t = args.first?.type else { return .ok(Signature(parameters: [.double] + rest, result: .double)) }
            guard t.isNumeric else { return .failed("expected a number, got \(t)", argument: 0) }
            return .ok(Signature(parameters: [t] + rest, result: t))
        }
    }

    /// All arguments of one common type (GREATEST, COALESCE …).
    static func common(_ what: String, comparable: Bool, _ n: Nullability) -> @Sendable ([ArgumentInfo]) -> Typing {
        { args in
            guard let t = commonType(args.map(\.type)) else {
                if args.allSatisfy({ $0.type == nil }) { return .failed("cannot tell the type of NULL: write CAST(NULL AS type)", argument: 0) }
                let first = args.first { $0.type != nil }?.type
                let k = args.firstIndex { $0.type != nil && commonType([first, $0.type]) == nil }
                return .failed("\(what) mixes \(first?.description ?? "?") and \(k.flatMap { args[$0].type }?.description ?? "?")", argument: k)
            }
            return .ok(Signature(parameters: Array(repeating: t, count: args.count), result: t, nullability: n))
        }
    }

    static func commonType(_ ts: [SQLType?]) -> SQLType? {
        let known = ts.compactMap { $0 }
        guard let first = known.first else { return nil }
        if known.allSatisfy(\.isNumeric) { return known.contains(.double) ? .double : .bigint }
        return known.allSatisfy { $0 == first } ? first : nil
    }
}

// MARK: - Lifting Swift functions over nullable compiled arguments

/// NULL if the argument is NULL, else f of it.
@inline(__always) func lift<A, R>(_ a: @escaping Eval<A>, _ f: @escaping @Sendable (A) -> R?) -> Eval<R> {
    { (row: borrowing Row) throws(EvaluationError) -> R? in
        guard let x = try a(row) else { return nil }
        return f(x)
    }
}

@inline(__always) func lift<A, B, R>(_ a: @escaping Eval<A>, _ b: @escaping Eval<B>, _ f: @escaping @Sendable (A, B) -> R?) -> Eval<R> {
    { (row: borrowing Row) throws(EvaluationError) -> R? in
        guard let x = try a(row), let y = try b(row) else { return nil }
        return f(x, y)
    }
}

@inline(__always) func lift<A, B, C, R>(_ a: @escaping Eval<A>, _ b: @escaping Eval<B>, _ c: @escaping Eval<C>, _ f: @escaping @Sendable (A, B, C) -> R?) -> Eval<R> {
    { (row: borrowing Row) throws(EvaluationError) -> R? in
        guard let x = try a(row), let y = try b(row), let z = try c(row) else { return nil }
        return f(x, y, z)
    }
}

@inline(__always) func lift<A, B, C, D, R>(_ a: @escaping Eval<A>, _ b: @escaping Eval<B>, _ c: @escaping Eval<C>, _ d: @escaping Eval<D>, _ f: @escaping @Sendable (A, B, C, D) -> R?) -> Eval<R> {
    { (row: borrowing Row) throws(EvaluationError) -> R? in
        guard let x = try a(row), let y = try b(row), let z = try c(row), let w = try d(row) else { return nil }
        return f(x, y, z, w)
    }
}

/// As `lift`, for functions that can fail.
@inline(__always) func liftThrowing<A, R>(_ a: @escaping Eval<A>, _ f: @escaping @Sendable (A) throws(EvaluationError) -> R?) -> Eval<R> {
    { (row: borrowing Row) throws(EvaluationError) -> R? in
        guard let x = try a(row) else { return nil }
        return try f(x)
    }
}

@inline(__always) func liftThrowing<A, B, R>(_ a: @escaping Eval<A>, _ b: @escaping Eval<B>, _ f: @escaping @Sendable (A, B) throws(EvaluationError) -> R?) -> Eval<R> {
    { (row: borrowing Row) throws(EvaluationError) -> R? in
        guard let x = try a(row), let y = try b(row) else { return nil }
        return try f(x, y)
    }
}

/// NULL if any argument is NULL, else f of all of them.
@inline(__always) func liftAll<A, R>(_ args: [Eval<A>], _ f: @escaping @Sendable ([A]) -> R?) -> Eval<R> {
    { (row: borrowing Row) throws(EvaluationError) -> R? in
        var xs: [A] = []
        xs.reserveCapacity(args.count)
        for a in args {
            guard let x = try a(row) else { return nil }
            xs.append(x)
        }
        return f(xs)
    }
}
