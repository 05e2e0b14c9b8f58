@testable import Jobs
import Testing

@Suite struct OperatorTests {
    @Test func arithmetic() {
        #expect(eval("1 + 2 * 3") == .int(7))
        #expect(eval("7 / 2") == .int(3))
        #expect(eval("-7 / 2") == .int(-3))
        #expect(eval("7 % -3") == .int(1))
        #expect(eval("-7 % 3") == .int(-1))
        #expect(eval("10 / 4.0") == .double(2.5))
        #expect(eval("amount * 2") == .double(241))
        #expect(eval("n + m") == .int(10))
        #expect(eval("n - m * 2") == .int(1))
        #expect(eval("n / m") == .int(2))
        #expect(eval("n % m") == .int(1))
        #expect(eval("n + amount") == .double(127.5))
        #expect(eval("-n") == .int(-7))
        #expect(eval("+n") == .int(7))
        #expect(eval("- amount") == .double(-120.5))
        #expect(eval("amount % 7") == .double(120.5.truncatingRemainder(dividingBy: 7)))
        // Java's wrapping, as in Flink.
        #expect(eval("9223372036854775807 + 1") == .int(.min))
        #expect(eval("-(-9223372036854775807 - 1)") == .int(.min))
        #expect(eval("(-9223372036854775807 - 1) / -1") == .int(.min))
        #expect(eval("n + NULL") == .null)
        #expect(eval("NULL * amount") == .null)
        #expect(eval("'a' || 'b' || channel") == .string("abpos"))
        #expect(eval("channel || CAST(NULL AS STRING)") == .null)
    }

    @Test func divisionByZeroIsARuntimeErrorWithItsPosition() {
        let e = evalError("amount / (n - 7)")
        #expect(e?.kind == .divisionByZero)
        #expect(e?.message == "division by zero in `amount / (n - 7)`")
        #expect(e?.location == SourceLocation(file: "<expression>", line: 1, column: 1))
        #expect(evalError("n % (m - 3)")?.kind == .divisionByZero)
        #expect(evalError("MOD(n, 0)")?.kind == .divisionByZero)
        #expect(evalError("1.5 / 0")?.kind == .divisionByZero)
        // Not evaluated, no error.
        #expect(eval("CASE WHEN n > 100 THEN n / 0 ELSE 1 END") == .int(1))
        #expect(eval("FALSE AND 1 / 0 = 1") == .bool(false))
        let src = ExpressionSource("n +\n  1 / (m - 3)", file: "job.yaml", line: 4, column: 10, continuationColumn: 7)
        do {
            let c = try CompiledExpression(src, scope: txScope)
            _ = try c.evaluate(txRow())
            Issue.record("no error")
        } catch let e as EvaluationError {
            #expect(e.description == "job.yaml:5:9: division by zero in `1 / (m - 3)`")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func comparisons() {
        #expect(eval("amount > 3 * avg_prev") == .bool(true))
        #expect(eval("amount < 100") == .bool(false))
        #expect(eval("n = 7 AND n <> 8 AND n != 8 AND n <= 7 AND n >= 7") == .bool(true))
        #expect(eval("1 = 1.0") == .bool(true))
        #expect(eval("'abc' < 'abd'") == .bool(true))
        #expect(eval("'a' < 'B'") == .bool(false))
        #expect(eval("FALSE < TRUE") == .bool(true))
        #expect(eval("ts = TIMESTAMP '2026-01-04 10:30:01.250'") == .bool(true))
        #expect(eval("ts > '2026-01-01 00:00:00'") == .bool(true))
        #expect(eval("ts = TIMESTAMP '2026-01-04 16:00:01.250+05:30'") == .bool(true))
        #expect(eval("gap > INTERVAL '59' MINUTE") == .bool(true))
        #expect(eval("INTERVAL '1' DAY > INTERVAL '23' HOUR") == .bool(true))
        #expect(eval("n > NULL") == .null)
        #expect(eval("amount > avg_prev", txRow(avgPrev: nil)) == .null)
        #expect(eval("n IS DISTINCT FROM NULL") == .bool(true))
        #expect(eval("n IS NOT DISTINCT FROM 7") == .bool(true))
        #expect(eval("CAST(NULL AS BIGINT) IS NOT DISTINCT FROM NULL") == .bool(true))
        #expect(eval("n IS DISTINCT FROM m") == .bool(true))
    }

    /// SQL's three-valued logic: every combination of TRUE, FALSE and NULL.
    @Test func threeValuedLogicTruthTables() {
        let values: [Bool?] = [true, false, nil]
        func lit(_ b: Bool?) -> String { b.map { $0 ? "TRUE" : "FALSE" } ?? "CAST(NULL AS BOOLEAN)" }
        func v(_ b: Bool?) -> Value { b.map(Value.bool) ?? .null }
        for a in values {
            #expect(eval("NOT \(lit(a))") == v(a.map { !$0 }))
            #expect(eval("\(lit(a)) IS TRUE") == .bool(a == true))
            #expect(eval("\(lit(a)) IS NOT TRUE") == .bool(a != true))
            #expect(eval("\(lit(a)) IS FALSE") == .bool(a == false))
            #expect(eval("\(lit(a)) IS NOT FALSE") == .bool(a != false))
            #expect(eval("\(lit(a)) IS UNKNOWN") == .bool(a == nil))
            #expect(eval("\(lit(a)) IS NULL") == .bool(a == nil))
            for b in values {
                let and: Bool? = a == false || b == false ? false : (a == nil || b == nil ? nil : true)
                let or: Bool? = a == true || b == true ? true : (a == nil || b == nil ? nil : false)
                #expect(eval("\(lit(a)) AND \(lit(b))") == v(and), "\(String(describing: a)) AND \(String(describing: b))")
                #expect(eval("\(lit(a)) OR \(lit(b))") == v(or), "\(String(describing: a)) OR \(String(describing: b))")
            }
        }
        // The same through columns (the non-constant code paths).
        for a in values {
            for b in values {
                let row = txRow(flag: a, flag2: b)
                let and: Bool? = a == false || b == false ? false : (a == nil || b == nil ? nil : true)
                let or: Bool? = a == true || b == true ? true : (a == nil || b == nil ? nil : false)
                #expect(eval("flag AND flag2", row) == v(and))
                #expect(eval("flag OR flag2", row) == v(or))
                #expect(eval("NOT flag", row) == v(a.map { !$0 }))
            }
        }
    }

    @Test func isNull() {
        #expect(eval("amount IS NULL", txRow(amount: nil)) == .bool(true))
        #expect(eval("amount IS NOT NULL", txRow(amount: nil)) == .bool(false))
        #expect(eval("channel IS NOT NULL") == .bool(true))
        #expect(eval("NULL IS NULL") == .bool(true))
        #expect(eval("ts IS NULL", txRow(ts: nil)) == .bool(true))
    }

    @Test func between() {
        #expect(eval("n BETWEEN 1 AND 7") == .bool(true))
        #expect(eval("n BETWEEN 8 AND 10") == .bool(false))
        #expect(eval("n NOT BETWEEN 8 AND 10") == .bool(true))
        #expect(eval("n BETWEEN 10 AND 1") == .bool(false))
        #expect(eval("n BETWEEN SYMMETRIC 10 AND 1") == .bool(true))
        #expect(eval("n NOT BETWEEN SYMMETRIC 10 AND 1") == .bool(false))
        #expect(eval("amount BETWEEN 100 AND 200.5") == .bool(true))
        #expect(eval("'b' BETWEEN 'a' AND 'c'") == .bool(true))
        #expect(eval("n BETWEEN NULL AND 10") == .null)
        #expect(eval("n BETWEEN NULL AND 5") == .bool(false))
        #expect(eval("n BETWEEN m AND 10") == .bool(true))
        #expect(eval("n BETWEEN 1 AND 10", txRow(n: nil)) == .null)
        #expect(eval("ts BETWEEN '2026-01-01 00:00:00' AND '2026-02-01 00:00:00'") == .bool(true))
    }

    @Test func inLists() {
        #expect(eval("n IN (1, 7)") == .bool(true))
        #expect(eval("n IN (1, 2)") == .bool(false))
        #expect(eval("n NOT IN (1, 2)") == .bool(true))
        #expect(eval("n IN (1, NULL)") == .null)
        #expect(eval("n IN (7, NULL)") == .bool(true))
        #expect(eval("n NOT IN (1, NULL)") == .null)
        #expect(eval("n NOT IN (7, NULL)") == .bool(false))
        #expect(eval("n IN (1.0, 7.0)") == .bool(true))
        #expect(eval("channel IN ('pos', 'atm')") == .bool(true))
        #expect(eval("channel IN ('ecommerce', 'atm')") == .bool(false))
        #expect(eval("channel IN ('a')", txRow(channel: nil)) == .null)
        #expect(eval("n IN (m, m + 4)") == .bool(true))
        #expect(eval("n IN (m, NULL)") == .null)
        #expect(eval("n NOT IN (m, 1)") == .bool(true))
        #expect(eval("flag IN (TRUE)") == .bool(true))
    }

    @Test func caseExpressions() {
        #expect(eval("CASE WHEN n > 5 THEN 'big' WHEN n > 2 THEN 'mid' ELSE 'small' END") == .string("big"))
        #expect(eval("CASE WHEN n > 50 THEN 'big' WHEN n > 2 THEN 'mid' ELSE 'small' END") == .string("mid"))
        #expect(eval("CASE WHEN n > 50 THEN 'big' END") == .null)
        #expect(eval("CASE WHEN flag THEN 1 ELSE 2.5 END") == .double(1))
        #expect(eval("CASE WHEN NULL THEN 1 ELSE 2 END") == .int(2))
        #expect(eval("CASE n WHEN 1 THEN 'one' WHEN 7 THEN 'seven' END") == .string("seven"))
        #expect(eval("CASE n WHEN 1 THEN 'one' ELSE NULL END") == .null)
        #expect(eval("CASE channel WHEN 'pos' THEN 1 ELSE 0 END") == .int(1))
        #expect(eval("CASE channel WHEN 'pos' THEN 1 ELSE 0 END", txRow(channel: nil)) == .int(0))
        #expect(eval("CASE WHEN amount > 100 THEN 0.3 ELSE 0 END + CASE WHEN flag THEN 0.1 ELSE 0 END") == .double(0.3 + 0.1))
    }

    @Test func like() {
        #expect(eval("channel LIKE 'p%'") == .bool(true))
        #expect(eval("channel LIKE 'P%'") == .bool(false))
        #expect(eval("channel LIKE '%s'") == .bool(true))
        #expect(eval("channel LIKE '%o%'") == .bool(true))
        #expect(eval("channel LIKE 'p_s'") == .bool(true))
        #expect(eval("channel LIKE 'p_'") == .bool(false))
        #expect(eval("channel NOT LIKE 'a%'") == .bool(true))
        #expect(eval("'a_c' LIKE 'a\\_c' ESCAPE '\\'") == .bool(true))
        #expect(eval("'abc' LIKE 'a\\_c' ESCAPE '\\'") == .bool(false))
        #expect(eval("'a%c' LIKE 'a!%c' ESCAPE '!'") == .bool(true))
        #expect(eval("'a!c' LIKE 'a!!c' ESCAPE '!'") == .bool(true))
        #expect(eval("'a\\b' LIKE 'a\\b'") == .bool(true))
        #expect(eval("'a.c' LIKE 'a.c'") == .bool(true))
        #expect(eval("'aXc' LIKE 'a.c'") == .bool(false))
        #expect(eval("'a' LIKE 'a%%'") == .bool(true))
        #expect(eval("'' LIKE '%'") == .bool(true))
        #expect(eval("'héllo wörld' LIKE 'h_llo%w_rld'") == .bool(true))
        #expect(eval("'aaaaaaaaaaaaaaaaaaaaaaaaaaaaab' LIKE '%a%a%a%a%a%b'") == .bool(true))
        #expect(eval("'mississippi' LIKE '%iss%ipp_'") == .bool(true))
        #expect(eval("'mississippi' LIKE '%iss%ipp__'") == .bool(false))
        #expect(eval("channel LIKE 'p%'", txRow(channel: nil)) == .null)
        #expect(eval("channel LIKE channel || '%'") == .bool(true))
        #expect(eval("'x%' LIKE channel ESCAPE 'p'", txRow(channel: "xp%")) == .bool(true))
    }

    @Test func likeAgainstANaiveMatcher() {
        // Random patterns over a small alphabet, checked against exhaustive recursion.
        func naive(_ p: [Character], _ s: [Character]) -> Bool {
            guard let f = p.first else { return s.isEmpty }
            if f == "%" { return (0...s.count).contains { naive(Array(p.dropFirst()), Array(s.dropFirst($0))) } }
            guard let c = s.first else { return false }
            return (f == "_" || f == c) && naive(Array(p.dropFirst()), Array(s.dropFirst()))
        }
        var rng = SplitMix(seed: 7)
        let alphabet: [Character] = ["a", "b", "%", "_"]
        for _ in 0..<2000 {
            let p = (0..<rng.int(0...6)).map { _ in alphabet[rng.int(0...3)] }
            let s = (0..<rng.int(0...7)).map { _ in alphabet[rng.int(0...1)] }
            guard let m = LikePattern(String(p), escape: nil) else { Issue.record("pattern"); continue }
            #expect(m.matches(String(s)) == naive(p, s), "\(String(s)) LIKE \(String(p))")
        }
    }

    @Test func timestampsAndIntervals() {
        #expect(eval("ts + INTERVAL '1' HOUR") == .timestamp(Timestamp(millis: sundayMorning.millis + 3_600_000)))
        #expect(eval("INTERVAL '90' MINUTE + ts") == .timestamp(Timestamp(millis: sundayMorning.millis + 5_400_000)))
        #expect(eval("ts - INTERVAL '1 02:00:00' DAY TO SECOND") == .timestamp(Timestamp(millis: sundayMorning.millis - 93_600_000)))
        #expect(eval("TIMESTAMP '2026-01-01 10:00:00' + INTERVAL '1' HOUR = TIMESTAMP '2026-01-01 11:00:00'") == .bool(true))
        #expect(eval("gap * 2") == .interval(7_200_000))
        #expect(eval("2 * gap + INTERVAL '1.5' SECOND") == .interval(7_201_500))
        #expect(eval("gap - INTERVAL '10' MINUTE") == .interval(3_000_000))
        #expect(eval("-gap") == .interval(-3_600_000))
        // The offset travels with the timestamp.
        let local = Timestamp(millis: 0, offsetMinutes: 330)
        let shifted = compiled("ts + INTERVAL '1' HOUR").flatMap { try? $0.evaluate(txRow(ts: local)) }
        if case .timestamp(let ms, let off)? = shifted { #expect(ms == 3_600_000 && off == 330) } else { Issue.record("\(String(describing: shifted))") }
        #expect(eval("`timestamp` = ts") == .bool(true))
    }
}

/// A small deterministic generator (tests must be reproducible).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(next() % UInt64(r.count)) }
    mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) / 1_000_000 < p }
}
