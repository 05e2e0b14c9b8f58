@testable import Jobs
import Testing

@Suite struct CompilerTests {
    func code(_ text: String, scope: ExpressionScope = txScope) -> Code? {
        let src = ExpressionSource(text)
        guard let e = ExpressionParser.parse(src).expr else { return nil }
        var checker = TypeChecker(source: src, scope: scope)
        let typed = checker.checkTop(e, expecting: nil)
        guard checker.problems.isEmpty else { return nil }
        return Compiler(source: src).compile(typed)
    }

    @Test func constantsAreFolded() {
        #expect(code("1 + 2 * 3")?.constant == .int(7))
        #expect(code("UPPER('a' || 'b')")?.constant == .string("AB"))
        #expect(code("TIMESTAMP '2026-01-01 10:00:00' + INTERVAL '1' HOUR")?.constant == .timestamp(ts("2026-01-01 11:00:00")))
        #expect(code("CASE WHEN 1 > 2 THEN 'a' ELSE 'b' END")?.constant == .string("b"))
        #expect(code("NULL IS NULL")?.constant == .bool(true))
        #expect(code("n + 1")?.constant == nil)
        #expect(code("n")?.slot?.index == 4)
        // A failing constant is left for run time (it may sit in a branch never taken).
        #expect(code("1 / 0")?.constant == nil)
        #expect(eval("CASE WHEN n > 0 THEN 1 ELSE 1 / 0 END") == .int(1))
    }

    @Test func functionTableIsDocumented() {
        let all = ExpressionFunctions.scalar
        #expect(all.count >= 45)
        for f in all { #expect(f.signature.hasPrefix(f.name) || f.name == "CEILING" || f.name == "SUBSTR" || f.name == "CHARACTER_LENGTH" || f.name == "LOCATE", "\(f.name): \(f.signature)") }
        for name in ["ABS", "ROUND", "FLOOR", "CEIL", "POWER", "SQRT", "LN", "EXP", "MOD", "GREATEST", "LEAST", "UPPER", "LOWER", "LTRIM", "RTRIM",
                     "CHAR_LENGTH", "SUBSTRING", "POSITION", "REPLACE", "CONCAT", "LPAD", "RPAD", "COALESCE", "NULLIF", "IF", "HOUR", "MINUTE",
                     "DAYOFWEEK", "DATE_FORMAT", "TIMESTAMPDIFF", "TO_MILLIS", "GEO_DISTANCE_KM", "GEO_DISTANCE_MILES"] {
            #expect(Functions.scalar[name] != nil, "\(name)")
        }
    }

    @Test func runtimeRowMismatchIsAnErrorNotACrash() throws {
        guard let e = compiled("amount > 1 AND channel = 'x'") else { return }
        var row = txRow()
        row[2] = .string("oops")
        do {
            _ = try e.evaluate(row)
            Issue.record("no error")
        } catch {
            #expect(error.kind == .rowMismatch)
            #expect(error.message == "column `amount` holds STRING where the schema says DOUBLE")
        }
        // A short row reads as NULLs.
        #expect(try e.evaluate(Row([])) == .null)
        // An integer in a DOUBLE column is read as a double (JSON writes 3 for 3.0).
        row[2] = .int(3)
        #expect(try e.evaluate(row) == .bool(false))
    }

    @Test func conditionTreatsNullAsFalse() throws {
        guard let e = compiled("amount > 100", expecting: .boolean) else { return }
        #expect(try e.predicate(txRow()) == true)
        #expect(try e.predicate(txRow(amount: nil)) == false)
        #expect(try e.condition(txRow(amount: 5)) == false)
    }

    @Test func compiledExpressionsAreSharedAcrossThreads() async throws {
        guard let e = compiled("amount > 3 * avg_prev AND HOUR(ts) NOT BETWEEN 6 AND 21 OR channel IN ('atm', 'pos')") else { return }
        let counts = await withTaskGroup(of: Int.self) { group in
            for t in 0..<4 {
                group.addTask {
                    var n = 0
                    for i in 0..<2000 where (try? e.predicate(txRow(amount: Double(i + t), channel: i % 3 == 0 ? "atm" : "web"))) == true { n += 1 }
                    return n
                }
            }
            var all: [Int] = []
            for await c in group { all.append(c) }
            return all
        }
        #expect(counts.count == 4 && counts.allSatisfy { $0 > 600 })
    }
}
