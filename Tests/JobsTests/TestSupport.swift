@testable import Jobs
import Testing

/// A transaction-like schema for the tests.
let txSchema = RowSchema([
    .init("transaction_id", .string, nullable: false),
    .init("customer_id", .string),
    .init("amount", .double),
    .init("avg_prev", .double),
    .init("n", .bigint),
    .init("m", .bigint),
    .init("ts", .timestamp),
    .init("location.lat", .double),
    .init("location.lon", .double),
    .init("channel", .string),
    .init("flag", .boolean),
    .init("flag2", .boolean),
    .init("gap", .interval),
    .init("timestamp", .timestamp),
])

/// 2026-01-04T10:30:01.250Z, a Sunday.
let sundayMorning = Timestamp(millis: 1_767_522_601_250)

func txRow(amount: Double? = 120.5, avgPrev: Double? = 30, n: Int64? = 7, m: Int64? = 3, ts: Timestamp? = sundayMorning,
           channel: String? = "pos", flag: Bool? = true, flag2: Bool? = false) -> Row {
    Row([
        .string("t1"), .string("c1"),
        amount.map(Value.double) ?? .null, avgPrev.map(Value.double) ?? .null,
        n.map(Value.int) ?? .null, m.map(Value.int) ?? .null,
        ts.map { Value.timestamp($0) } ?? .null,
        .double(51.5074), .double(-0.1278),
        channel.map(Value.string) ?? .null,
        flag.map(Value.bool) ?? .null, flag2.map(Value.bool) ?? .null,
        .interval(3_600_000),
        .timestamp(sundayMorning),
    ])
}

let txScope = ExpressionScope(txSchema)

/// Compiles `text` against the test schema; fails the test on diagnostics.
func compiled(_ text: String, scope: ExpressionScope = txScope, expecting: SQLType? = nil, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> CompiledExpression? {
    do {
        return try CompiledExpression(text, scope: scope, expecting: expecting)
    } catch {
        Issue.record("\(text): \(error.rendered)", sourceLocation: sourceLocation)
        return nil
    }
}

/// The value of `text` over `row`.
func eval(_ text: String, _ row: Row = txRow(), sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Value? {
    guard let e = compiled(text, sourceLocation: sourceLocation) else { return nil }
    do {
        return try e.evaluate(row)
    } catch {
        Issue.record("\(text): runtime error \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// The runtime error of `text` over `row`, if any.
func evalError(_ text: String, _ row: Row = txRow(), sourceLocation: Testing.SourceLocation = #_sourceLocation) -> EvaluationError? {
    guard let e = compiled(text, sourceLocation: sourceLocation) else { return nil }
    do throws(EvaluationError) {
        let v = try e.evaluate(row)
        Issue.record("\(text): expected a runtime error, got \(v)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// The diagnostics of `text` (empty when it compiles).
func diagnostics(_ text: String, scope: ExpressionScope = txScope, expecting: SQLType? = nil) -> [Diagnostic] {
    do {
        _ = try CompiledExpression(text, scope: scope, expecting: expecting)
        return []
    } catch {
        return error.all
    }
}

func messages(_ text: String, scope: ExpressionScope = txScope, expecting: SQLType? = nil) -> [String] {
    diagnostics(text, scope: scope, expecting: expecting).map(\.message)
}

/// Canonical, fully parenthesised form of a parse.
func parsed(_ text: String) -> String {
    let (e, d) = ExpressionParser.parse(ExpressionSource(text))
    if !d.isEmpty { return "ERROR: " + d.map(\.message).joined(separator: " | ") }
    return e?.sql ?? "nil"
}

func ts(_ text: String) -> Timestamp {
    TimeText.parseTimestamp(text) ?? Timestamp(millis: Int64.min)
}
