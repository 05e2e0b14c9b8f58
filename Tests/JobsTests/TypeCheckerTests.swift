@testable import Jobs
import Testing

@Suite struct TypeCheckerTests {
    @Test func resultTypesAndNullability() {
        func typed(_ s: String) -> String {
            guard let e = compiled(s) else { return "?" }
            return "\(e.type)\(e.nullable ? "" : " NOT NULL")"
        }
        #expect(typed("n + 1") == "BIGINT")
        #expect(typed("n + 1.5") == "DOUBLE")
        #expect(typed("1 + 2") == "BIGINT NOT NULL")
        #expect(typed("transaction_id || 'x'") == "STRING NOT NULL")
        #expect(typed("amount IS NULL") == "BOOLEAN NOT NULL")
        #expect(typed("CASE WHEN flag THEN 1 ELSE 2 END") == "BIGINT NOT NULL")
        #expect(typed("CASE WHEN flag THEN 1 END") == "BIGINT")
        #expect(typed("CASE WHEN flag THEN 1 ELSE 2.5 END") == "DOUBLE NOT NULL")
        #expect(typed("CAST(n AS STRING)") == "STRING")
        #expect(typed("ts + INTERVAL '1' HOUR") == "TIMESTAMP")
        #expect(typed("HOUR(ts)") == "BIGINT")
        #expect(typed("COALESCE(n, 0)") == "BIGINT NOT NULL")
        #expect(messages("NULL") == ["cannot tell the type of NULL here: write CAST(NULL AS type)"])
        #expect(typed("CAST(NULL AS DOUBLE)") == "DOUBLE")
    }

    @Test func unknownColumnsSuggestTheNearest() {
        #expect(messages("amout > 5") == ["unknown column `amout`; did you mean `amount`?"])
        #expect(messages("AMUONT > 5") == ["unknown column `AMUONT`; did you mean `amount`?"])
        #expect(messages("location.lan > 5") == ["unknown column `location.lan`; did you mean `location.lat`?"])
        #expect(messages("zzzzzz > 5") == ["unknown column `zzzzzz`"])
        #expect(messages("`Amount` > 5") == ["unknown column `Amount`; did you mean `amount`?"])
        #expect(messages("hour > 5") == ["unknown column `hour`; HOUR is a function: call it with parentheses"])
        let dup = ExpressionScope(RowSchema([.init("Amount", .double), .init("amount", .double)]))
        #expect(messages("amount > 1", scope: dup) == ["ambiguous column `amount`: it matches `Amount` and `amount`; write the exact name in backquotes"])
        #expect(messages("`amount` > 1", scope: dup) == [])
    }

    @Test func allErrorsOfAnExpressionAtOnce() {
        let d = diagnostics("amout > 5 AND chanel = 'pos' OR HOUR(tss) > 22 OR nn + 'x' = 1")
        #expect(d.map(\.message) == [
            "unknown column `amout`; did you mean `amount`?",
            "unknown column `chanel`; did you mean `channel`?",
            "unknown column `tss`; did you mean `ts`?",
            "unknown column `nn`; did you mean `n`?",
        ])
        #expect(d.map(\.location.column) == [1, 15, 38, 51])
        // Syntax and type errors together.
        #expect(messages("amout > AND channel = 5") == [
            "expected an expression, found AND",
            "unknown column `amout`; did you mean `amount`?",
            "`=` cannot compare values that mix STRING and BIGINT: a string is not compared with a number; CAST one side (CAST(x AS DOUBLE) or CAST(x AS STRING))",
        ])
    }

    @Test func comparisonsNeedCompatibleTypes() {
        #expect(messages("channel = 5") == ["`=` cannot compare values that mix STRING and BIGINT: a string is not compared with a number; CAST one side (CAST(x AS DOUBLE) or CAST(x AS STRING))"])
        #expect(messages("ts > 5").first == "`>` cannot compare values that mix TIMESTAMP and BIGINT: use TO_MILLIS(ts) for the epoch milliseconds of a timestamp")
        #expect(messages("flag = 1").first?.hasPrefix("`=` cannot compare values that mix BOOLEAN and BIGINT") == true)
        #expect(messages("ts > 'yesterday'") == ["cannot read 'yesterday' as a TIMESTAMP: expected 'yyyy-MM-dd HH:mm:ss[.SSS]'"])
        #expect(messages("ts > channel").first?.hasPrefix("`>` cannot compare values that mix TIMESTAMP and STRING") == true)
        #expect(messages("n BETWEEN 'a' AND 'b'").first?.hasPrefix("BETWEEN's value and bounds mix BIGINT and STRING") == true)
        #expect(messages("n IN (1, 'two', 3)").first?.hasPrefix("IN's value and list mix BIGINT and STRING") == true)
        #expect(diagnostics("n IN (1, 'two', 3)").first?.location.column == 10)
    }

    @Test func operatorsNeedFittingOperands() {
        #expect(messages("channel + 1") == ["`+` does not apply to STRING and BIGINT; a string is not a number: CAST(x AS DOUBLE) first"])
        #expect(messages("channel + channel") == ["`+` does not apply to STRING and STRING; strings are concatenated with `||`"])
        #expect(messages("ts - ts") == ["timestamps cannot be subtracted: use TIMESTAMPDIFF(SECOND, a, b) (or MINUTE, HOUR, DAY)"])
        #expect(messages("ts * 2").first?.hasPrefix("`*` does not apply to TIMESTAMP and BIGINT") == true)
        #expect(messages("channel || 1") == ["`||` concatenates strings, got BIGINT; CAST it AS STRING first"])
        #expect(messages("flag || flag2") == ["`||` concatenates strings, got BOOLEAN; for a logical or write OR"])
        #expect(messages("n AND flag") == ["AND needs BOOLEAN operands, got BIGINT (SQL has no truthy numbers: compare it, e.g. x <> 0)"])
        #expect(messages("NOT channel") == ["NOT needs a BOOLEAN operand, got STRING"])
        #expect(messages("-channel") == ["unary `-` needs a number or an interval, got STRING"])
        #expect(messages("NULL + NULL") == ["cannot tell the type of NULL + NULL: write CAST(NULL AS type)"])
        #expect(messages("n LIKE 'a%'") == ["LIKE needs a STRING value, got BIGINT"])
        #expect(messages("channel LIKE 'a%' ESCAPE 'ab'") == ["ESCAPE must be a single character, got 'ab'"])
        #expect(messages("channel LIKE 'a!' ESCAPE '!'") == ["invalid LIKE pattern 'a!': the ESCAPE character must be followed by %, _ or itself"])
        #expect(messages("flag IS TRUE AND n IS FALSE") == ["IS FALSE needs a BOOLEAN, got BIGINT"])
    }

    @Test func caseBranchesUnify() {
        #expect(messages("CASE WHEN flag THEN 1 ELSE 'a' END").first?.hasPrefix("CASE branches mix BIGINT and STRING") == true)
        #expect(diagnostics("CASE WHEN flag THEN 1 ELSE 'a' END").first?.location.column == 28)
        #expect(messages("CASE WHEN n THEN 1 END") == ["a WHEN condition must be BOOLEAN, got BIGINT"])
        #expect(messages("CASE channel WHEN 1 THEN 1 END").first?.hasPrefix("CASE's value and its WHEN value mix STRING and BIGINT") == true)
        #expect(messages("CASE WHEN flag THEN NULL END") == ["cannot tell the type of NULL here: write CAST(NULL AS type)"])
    }

    @Test func castRules() {
        #expect(messages("CAST(ts AS BIGINT)") == ["cannot CAST TIMESTAMP to BIGINT: use TO_MILLIS(ts) for epoch milliseconds"])
        #expect(messages("CAST(n AS TIMESTAMP)") == ["cannot CAST BIGINT to TIMESTAMP: use TO_TIMESTAMP_LTZ(millis, 3)"])
        #expect(messages("CAST(gap AS BIGINT)") == ["cannot CAST INTERVAL DAY TO SECOND to BIGINT"])
        #expect(messages("CAST('abc' AS INT)") == ["cannot CAST 'abc' to INT"])
        #expect(messages("CAST('2026-99-01' AS TIMESTAMP)") == ["cannot CAST '2026-99-01' to TIMESTAMP: expected 'yyyy-MM-dd HH:mm:ss[.SSS]'"])
        #expect(messages("TRY_CAST('abc' AS INT)") == [])
        #expect(messages("CAST(n AS DATE)") == ["DATE is not supported: use TIMESTAMP"])
    }

    @Test func functionCalls() {
        #expect(messages("ROUNDD(amount)") == ["unknown function `ROUNDD`; did you mean ROUND?"])
        #expect(messages("ROUND(amount, 1, 2)") == ["ROUND takes 1 to 2 arguments, got 3: ROUND(x BIGINT|DOUBLE [, places BIGINT]) → type of x; half away from zero, on the decimal value (ROUND(1.005, 2) = 1.01)"])
        #expect(messages("ABS(channel)").first == "ABS: expected a number, got STRING; ABS(x BIGINT|DOUBLE) → type of x")
        #expect(messages("UPPER(n)").first?.hasPrefix("UPPER argument 1 must be STRING, got BIGINT") == true)
        #expect(messages("HOUR(channel)").first?.hasPrefix("HOUR argument 1 must be TIMESTAMP, got STRING") == true)
        #expect(messages("GEO_DISTANCE_KM(1, 2, 3, channel)").first?.hasPrefix("GEO_DISTANCE_KM argument 4 must be DOUBLE, got STRING") == true)
        #expect(diagnostics("GEO_DISTANCE_KM(1, 2, 3, channel)").first?.location.column == 26)
        #expect(messages("COALESCE(n, 'x')").first?.hasPrefix("COALESCE: COALESCE mixes BIGINT and STRING") == true)
        #expect(messages("IF(n, 1, 2)").first?.hasPrefix("IF: the condition must be BOOLEAN, got BIGINT") == true)
        #expect(messages("UPPER(DISTINCT channel)") == ["DISTINCT is only allowed in aggregate calls"])
        #expect(messages("n > 1", expecting: .boolean) == [])
        #expect(messages("n + 1", expecting: .boolean) == ["expected a BOOLEAN expression (a condition), got BIGINT"])
        #expect(compiled("n + 1", expecting: .double)?.type == .double)
    }
}

@Suite struct AggregateTests {
    let windowScope = ExpressionScope(txSchema, extras: [.init("window_start", .timestamp, nullable: false)], allowsAggregates: true)

    @Test func aggregatesAreListedForThePlanner() throws {
        let e = try CompiledExpression("amount > 3 * AVG(amount) AND COUNT(*) > 5 OR SUM(n) + COUNT(*) > MAX(n) AND LAG(amount, 2) IS NULL", scope: windowScope, expecting: .boolean)
        #expect(e.aggregates.map(\.sql) == ["AVG(amount)", "COUNT(*)", "SUM(n)", "MAX(n)", "LAG(amount, 2)"])
        #expect(e.aggregates.map(\.function) == [.avg, .count, .sum, .max, .lag])
        let base = txSchema.count + 1
        #expect(e.aggregates.map(\.slot) == Array(base..<(base + 5)))
        #expect(e.aggregates.map(\.type) == [.double, .bigint, .bigint, .bigint, .double])
        #expect(e.aggregates[1].nullable == false && e.aggregates[1].argument == nil)
        #expect(e.aggregates[4].offset == 2)
        #expect(e.aggregates[0].location.column == 14)
        // The argument is compiled against the row; the outer expression reads the slots.
        let row = txRow()
        #expect(try e.aggregates[0].argument?.evaluate(row) == .double(120.5))
        var out = row.appending([.timestamp(sundayMorning), .double(30), .int(6), .int(20), .int(7), .null])
        #expect(try e.predicate(out) == true)
        out[base] = .double(50)
        out[base + 1] = .int(2)
        out[base + 4] = .double(1)
        #expect(try e.predicate(out) == false)
    }

    @Test func aggregateTypes() throws {
        func type(_ s: String) throws -> String {
            let e = try CompiledExpression(s, scope: windowScope)
            return "\(e.type)\(e.nullable ? "" : " NOT NULL")"
        }
        #expect(try type("COUNT(amount)") == "BIGINT NOT NULL")
        #expect(try type("AVG(n)") == "BIGINT")
        #expect(try type("AVG(amount)") == "DOUBLE")
        #expect(try type("MIN(channel)") == "STRING")
        #expect(try type("FIRST_VALUE(ts)") == "TIMESTAMP")
        #expect(try type("LAST_VALUE(flag)") == "BOOLEAN")
        #expect(try type("SUM(amount) / COUNT(*)") == "DOUBLE")
        #expect(try type("window_start") == "TIMESTAMP NOT NULL")
    }

    @Test func aggregateErrors() {
        #expect(messages("COUNT(*) > 5") == ["aggregate function COUNT is not allowed here: aggregates belong in window and OVER operators"])
        #expect(messages("SUM(AVG(n))", scope: windowScope) == ["aggregate calls cannot be nested (AVG inside SUM)"])
        #expect(messages("COUNT(DISTINCT channel)", scope: windowScope) == ["COUNT(DISTINCT …) is not supported: distinct aggregates need per-window sets of values"])
        #expect(messages("SUM(channel)", scope: windowScope) == ["SUM needs a number, got STRING"])
        #expect(messages("LAG(amount, n)", scope: windowScope) == ["LAG's offset must be a whole-number literal from 0 to 1000000"])
        #expect(messages("AVG(amout)", scope: windowScope) == ["unknown column `amout`; did you mean `amount`?"])
        #expect(messages("MAX(n, m)", scope: windowScope) == ["MAX takes 1 argument, got 2"])
        #expect(messages("UPPER(*)").contains("`*` is only allowed in COUNT(*)"))
    }
}
