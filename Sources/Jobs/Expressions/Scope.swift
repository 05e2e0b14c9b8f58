/// What an expression may refer to, and so the layout of the row it is evaluated against:
///
///     [ schema fields … | extra inputs … | aggregate results … ]
///
/// Extra inputs are names the planner provides beside the source's fields (a window's
/// start, a lookup's result). Aggregate calls, where allowed, are not computed by the
/// expression: the checker lists them (`CompiledExpression.aggregates`) with the slot where
/// the outer expression reads each result, and the window/OVER operator fills those slots.
public struct ExpressionScope: Sendable, Hashable {
    public var schema: RowSchema
    public var extras: [RowSchema.Field]
    public var allowsAggregates: Bool

    public init(_ schema: RowSchema, extras: [RowSchema.Field] = [], allowsAggregates: Bool = false) {
        self.schema = schema
        self.extras = extras
        self.allowsAggregates = allowsAggregates
    }

    /// The fields and the extra inputs, in slot order.
    public var inputs: RowSchema { schema.appending(extras) }

    /// The slot of the first aggregate result.
    public var firstAggregateSlot: Int { schema.count + extras.count }
}

/// An aggregate call found in an expression, for the planner to compute.
public struct AggregateCall: Sendable {
    public enum Function: String, Sendable, Hashable, CaseIterable {
        case count = "COUNT", sum = "SUM", avg = "AVG", min = "MIN", max = "MAX"
        case firstValue = "FIRST_VALUE", lastValue = "LAST_VALUE", lag = "LAG"
    }

    public var function: Function
    /// The argument, compiled against the scope's inputs; nil for COUNT(*).
    public var argument: CompiledExpression?
    /// LAG's offset (1 unless written).
    public var offset: Int
    public var type: SQLType
    public var nullable: Bool
    /// Where the outer expression reads the result.
    public var slot: Int
    public var range: SourceRange
    public var location: SourceLocation
    /// Canonical text (`AVG(amount)`); a call written twice is listed once.
    public var sql: String
}
