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
