/// The checked form of an expression, what the compiler consumes: names resolved to row
/// slots, every node typed, implicit conversions (BIGINT → DOUBLE, a string literal read as
/// a TIMESTAMP) made explicit, simple CASE turned into searched CASE.
struct Typed {
    var node: TypedNode
    /// nil only for an untyped NULL that no context has typed yet.
    var type: SQLType?
    var nullable: Bool
    var range: SourceRange
    /// An error was reported in this subtree: checks above it stay quiet.
    var invalid = false

    init(_ node: TypedNode, _ type: SQLType?, nullable: Bool, _ range: SourceRange, invalid: Bool = false) {
        self.node = node
        self.type = type
        self.nullable = nullable
        self.range = range
        self.invalid = invalid
    }

    static func failed(_ r: SourceRange) -> Typed { Typed(.invalid, nil, nullable: true, r, invalid: true) }

    /// The operands, in the order the compiler reads their code.
    var children: [Typed] {
        switch node {
        case .constant, .slot, .invalid: return []
        case .toDouble(let x), .negate(let x), .not(let x), .isNull(let x, _), .isBool(let x, _, _), .cast(let x, _, _): return [x]
        case .arithmetic(_, let a, let b), .shift(let a, let b, _), .scale(let a, let b), .concat(let a, let b),
             .compare(_, let a, let b), .distinct(let a, let b, _), .and(let a, let b), .or(let a, let b): return [a, b]
        case .between(let x, let lo, let hi, _, _): return [x, lo, hi]
        case .inList(let x, let items, _): return [x] + items
        case .like(let x, let p, let esc, _): return [x, p] + (esc.map { [$0] } ?? [])
        case .caseWhen(let branches, let otherwise): return branches.flatMap { [$0.0, $0.1] } + (otherwise.map { [$0] } ?? [])
        case .call(_, let args): return args
        }
    }

    /// The value of a literal (after implicit conversions of literals), if this is one.
    var literal: Value? {
        if case .constant(let v) = node { return v }
        return nil
    }
}

enum ArithmeticOperator: String {
    case add = "+", subtract = "-", multiply = "*", divide = "/", modulo = "%"
}

enum ComparisonOperator: String {
    case equal = "=", notEqual = "<>", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
}

indirect enum TypedNode {
    case constant(Value)
    /// A row slot: a schema field, an extra input, or an aggregate's result.
    case slot(Int, name: String)
    case toDouble(Typed)
    case negate(Typed)
    case not(Typed)
    /// Both operands of the same numeric type (or both INTERVAL for + and -).
    case arithmetic(ArithmeticOperator, Typed, Typed)
    /// TIMESTAMP ± INTERVAL.
    case shift(Typed, Typed, subtract: Bool)
    /// INTERVAL × number.
    case scale(Typed, Typed)
    case concat(Typed, Typed)
    /// Both operands of the same type.
    case compare(ComparisonOperator, Typed, Typed)
    case distinct(Typed, Typed, negated: Bool)
    case and(Typed, Typed)
    case or(Typed, Typed)
    case isNull(Typed, negated: Bool)
    case isBool(Typed, Bool, negated: Bool)
    case between(Typed, Typed, Typed, negated: Bool, symmetric: Bool)
    case inList(Typed, [Typed], negated: Bool)
    case like(Typed, Typed, escape: Typed?, negated: Bool)
    case caseWhen([(Typed, Typed)], otherwise: Typed?)
    case cast(Typed, SQLTypeName, isTry: Bool)
    case call(ScalarFunction, [Typed])
    case invalid
}
