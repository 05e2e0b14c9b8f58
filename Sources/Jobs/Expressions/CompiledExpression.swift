/// An expression of a job file, parsed, type-checked and compiled: the front door of the
/// expression language.
///
///     let e = try CompiledExpression(ExpressionSource("amount > 100", file: "fraud.yaml", line: 12, column: 12),
///                                    scope: ExpressionScope(schema), expecting: .boolean)
///     let keep = try e.predicate(row)
public struct CompiledExpression: Sendable {
    public let source: ExpressionSource
    /// The syntax tree (for export to Flink SQL and for messages).
    public let syntax: Expr
    public let type: SQLType
    public let nullable: Bool
    /// The code, one case per result type.
    public let code: Compiled
    /// Aggregate calls for the planner to compute, each read back from its slot.
    public let aggregates: [AggregateCall]

    /// Parses, checks and compiles; throws every error found (syntax and type errors together).
    /// `expecting` is the type the context needs (BOOLEAN for a filter), nil for any.
    public init(_ source: ExpressionSource, scope: ExpressionScope, expecting: SQLType? = nil) throws(Diagnostics) {
        let (expr, syntaxErrors) = ExpressionParser.parse(source)
        guard let expr else { throw Diagnostics(syntaxErrors) }
        var checker = TypeChecker(source: source, scope: scope)
        let typed = checker.checkTop(expr, expecting: expecting)
        var all = syntaxErrors
        // Type errors beside syntax errors: the checker stays quiet about `.error` nodes.
        all += checker.problems.diagnostics(source)
        guard all.isEmpty, !typed.invalid, let type = typed.type else {
            if all.isEmpty { all.append(source.diagnostic(expr.range, "the expression could not be checked")) }
            throw Diagnostics(all)
        }
        let compiler = Compiler(source: source)
        self.aggregates = checker.aggregates.map { a in
            let arg = a.argument.map { t in
                CompiledExpression(source: source, syntax: a.argumentSyntax ?? expr, type: t.type ?? .boolean, nullable: t.nullable, code: compiler.compile(t).compiled, aggregates: [])
            }
            return AggregateCall(function: a.function, argument: arg, offset: a.offset, type: a.type, nullable: a.nullable,
                                 slot: a.slot, range: a.range, location: source.location(of: a.range.start), sql: a.sql)
        }
        self.source = source
        self.syntax = expr
        self.type = type
        self.nullable = typed.nullable
        self.code = compiler.compile(typed).compiled
    }

    private init(source: ExpressionSource, syntax: Expr, type: SQLType, nullable: Bool, code: Compiled, aggregates: [AggregateCall]) {
        self.source = source
        self.syntax = syntax
        self.type = type
        self.nullable = nullable
        self.code = code
        self.aggregates = aggregates
    }

    /// Convenience: an expression given as text alone (tests, the REPL).
    public init(_ text: String, scope: ExpressionScope, expecting: SQLType? = nil) throws(Diagnostics) {
        try self.init(ExpressionSource(text), scope: scope, expecting: expecting)
    }

    /// The result for one row, boxed.
    public func evaluate(_ row: borrowing Row) throws(EvaluationError) -> Value {
        try code.value(row)
    }

    /// For a BOOLEAN expression used as a condition: NULL counts as false, as in WHERE.
    public func predicate(_ row: borrowing Row) throws(EvaluationError) -> Bool {
        guard case .bool(let f) = code else { return false }
        return try f(row) ?? false
    }

    /// The condition as a closure (no switch per call).
    public var condition: @Sendable (borrowing Row) throws(EvaluationError) -> Bool {
        guard case .bool(let f) = code else { return { (_: borrowing Row) throws(EvaluationError) -> Bool in false } }
        return { (r: borrowing Row) throws(EvaluationError) -> Bool in try f(r) ?? false }
    }
}

/// What expressions can call, for documentation.
public enum ExpressionFunctions {
    /// Scalar functions with their signatures, sorted by name.
    public static var scalar: [(name: String, signature: String)] { Functions.catalog }

    /// Aggregate functions, which window and OVER operators compute.
    public static let aggregates = ["COUNT(*)", "COUNT(x)", "SUM(x)", "AVG(x)", "MIN(x)", "MAX(x)", "FIRST_VALUE(x)", "LAST_VALUE(x)", "LAG(x [, offset])"]
}
