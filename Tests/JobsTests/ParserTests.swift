@testable import Jobs
import Testing

@Suite struct LexerTests {
    func kinds(_ s: String) -> [Token.Kind] { Lexer.tokenize(s).tokens.map(\.kind) }

    @Test func numbersStringsAndSymbols() {
        #expect(kinds("12 1.5 .5 1e3 2.5E-2 'it''s' `a``b` <= <> != || >=") == [
            .integer(12), .decimal(1.5), .decimal(0.5), .float(1000), .float(0.025), .string, .quotedWord,
            .symbol(.lessEqual), .symbol(.notEqual), .symbol(.notEqual), .symbol(.concat), .symbol(.greaterEqual), .end,
        ])
        let toks = Lexer.tokenize("'it''s' `a``b`").tokens
        #expect(toks[0].text == "it's")
        #expect(toks[1].text == "a`b")
    }

    @Test func commentsAndRanges() {
        let (toks, problems) = Lexer.tokenize("a -- note\n + /* x */ b")
        #expect(problems.isEmpty)
        #expect(toks.map(\.text) == ["a", "+", "b", ""])
        #expect(toks[2].range == SourceRange(21, 22))
    }

    @Test func lexicalErrorsAreReportedAndSkipped() {
        let (toks, problems) = Lexer.tokenize("a # b 'open")
        #expect(problems.problems.map(\.message) == ["unexpected character `#`", "unterminated string: the quote opened here is never closed"])
        #expect(toks.count == 4)
        #expect(Lexer.tokenize("99999999999999999999").problems.problems.first?.message == "integer literal `99999999999999999999` is out of range for BIGINT")
        #expect(Lexer.tokenize("a == b").problems.problems.first?.message == "`==` is not SQL: use `=` to compare")
        #expect(Lexer.tokenize("\"x\"").problems.problems.first?.message.hasPrefix("double quotes are not used") == true)
    }
}

@Suite struct ParserTests {
    @Test func precedenceFollowsCalcite() {
        #expect(parsed("1 + 2 * 3") == "(1 + (2 * 3))")
        #expect(parsed("1 - 2 - 3") == "((1 - 2) - 3)")
        #expect(parsed("a || b || c") == "((a || b) || c)")
        // `||` binds like `*` (Calcite): 1 + (2 || 'a').
        #expect(parsed("1 + 2 || 'a'") == "(1 + (2 || 'a'))")
        #expect(parsed("-a * b") == "((-a) * b)")
        #expect(parsed("a = b AND c OR d") == "(((a = b) AND c) OR d)")
        #expect(parsed("a OR b AND c") == "(a OR (b AND c))")
        #expect(parsed("NOT a = b") == "(NOT (a = b))")
        #expect(parsed("NOT a IS NULL") == "(NOT (a IS NULL))")
        #expect(parsed("a = b IS NULL") == "((a = b) IS NULL)")
        #expect(parsed("1 < 2 = TRUE") == "((1 < 2) = TRUE)")
        #expect(parsed("x BETWEEN 1 AND 2 + 3 AND y") == "((x BETWEEN 1 AND (2 + 3)) AND y)")
        #expect(parsed("a = b BETWEEN 1 AND 2") == "(a = (b BETWEEN 1 AND 2))")
        #expect(parsed("a + 1 IN (1, 2)") == "((a + 1) IN (1, 2))")
        #expect(parsed("a LIKE 'x%' = TRUE") == "((a LIKE 'x%') = TRUE)")
        #expect(parsed("5 - -3") == "(5 - -3)")
        #expect(parsed("- -3") == "(-(-3))" || parsed("- -3") == "(--3)")
        #expect(parsed("-9223372036854775808") == "-9223372036854775808")
        #expect(parsed("(1 + 2) * 3") == "((1 + 2) * 3)")
        #expect(parsed("amount > 3 * avg_prev AND HOUR(ts) NOT BETWEEN 6 AND 21")
            == "((amount > (3 * avg_prev)) AND (HOUR(ts) NOT BETWEEN 6 AND 21))")
    }

    @Test func everyConstruct() {
        #expect(parsed("TRUE AND FALSE OR NULL") == "((TRUE AND FALSE) OR NULL)")
        #expect(parsed("'a''b'") == "'a''b'")
        #expect(parsed("1.50 + 1e3") == "(1.50 + 1e3)")
        #expect(parsed("INTERVAL '1' HOUR") == "INTERVAL '1' HOUR")
        #expect(parsed("INTERVAL '1 02:00:00' DAY TO SECOND") == "INTERVAL '1 02:00:00' DAY TO SECOND")
        #expect(parsed("TIMESTAMP '2026-01-01 10:00:00'") == "TIMESTAMP '2026-01-01 10:00:00'")
        #expect(parsed("location.lat") == "location.lat")
        #expect(parsed("`timestamp` + `a``b`.c") == "(`timestamp` + `a``b`.c)")
        #expect(parsed("x IS NOT NULL AND y IS TRUE AND z IS NOT FALSE AND w IS UNKNOWN") == "((((x IS NOT NULL) AND (y IS TRUE)) AND (z IS NOT FALSE)) AND (w IS UNKNOWN))")
        #expect(parsed("a IS DISTINCT FROM b") == "(a IS DISTINCT FROM b)")
        #expect(parsed("a IS NOT DISTINCT FROM b") == "(a IS NOT DISTINCT FROM b)")
        #expect(parsed("x NOT BETWEEN SYMMETRIC 1 AND 2") == "(x NOT BETWEEN SYMMETRIC 1 AND 2)")
        #expect(parsed("x NOT IN ('a', 'b')") == "(x NOT IN ('a', 'b'))")
        #expect(parsed("x NOT LIKE 'a!%%' ESCAPE '!'") == "(x NOT LIKE 'a!%%' ESCAPE '!')")
        #expect(parsed("CASE WHEN a THEN 1 WHEN b THEN 2 ELSE 3 END") == "CASE WHEN a THEN 1 WHEN b THEN 2 ELSE 3 END")
        #expect(parsed("CASE x WHEN 1 THEN 'a' END") == "CASE x WHEN 1 THEN 'a' END")
        #expect(parsed("CAST(x AS DECIMAL(10, 2))") == "CAST(x AS DECIMAL(10, 2))")
        #expect(parsed("TRY_CAST(x AS int)") == "TRY_CAST(x AS INT)")
        #expect(parsed("round(x, 2)") == "ROUND(x, 2)")
        #expect(parsed("COUNT(*)") == "COUNT(*)")
        #expect(parsed("count(DISTINCT x)") == "COUNT(DISTINCT x)")
        #expect(parsed("SUBSTRING(s FROM 2 FOR 3)") == "SUBSTRING(s, 2, 3)")
        #expect(parsed("SUBSTRING(s, 2)") == "SUBSTRING(s, 2)")
        #expect(parsed("POSITION('l' IN s)") == "POSITION('l', s)")
        #expect(parsed("EXTRACT(HOUR FROM ts)") == "EXTRACT(HOUR FROM ts)")
        #expect(parsed("TRIM(s)") == "TRIM(BOTH FROM s)")
        #expect(parsed("TRIM(LEADING 'x' FROM s)") == "TRIM(LEADING 'x' FROM s)")
        #expect(parsed("TRIM('x' FROM s)") == "TRIM(BOTH 'x' FROM s)")
        #expect(parsed("TIMESTAMPDIFF(HOUR, a, b)") == "TIMESTAMPDIFF(HOUR, a, b)")
        #expect(parsed("now()") == "NOW()")
    }

    @Test func keywordsAreCaseInsensitive() {
        #expect(parsed("case when x is not null then cast(y as bigint) else null end")
            == "CASE WHEN (x IS NOT NULL) THEN CAST(y AS BIGINT) ELSE NULL END")
        #expect(parsed("a between 1 and 2 or not b") == "((a BETWEEN 1 AND 2) OR (NOT b))")
    }

    @Test func everyNodeCarriesItsRange() {
        let text = "amount > 3 * avg_prev"
        let (e, _) = ExpressionParser.parse(ExpressionSource(text))
        guard let e, case .binary(.greater, let l, let r) = e.kind, case .binary(.multiply, let three, let avg) = r.kind else {
            Issue.record("unexpected tree")
            return
        }
        #expect(e.range == SourceRange(0, 21))
        #expect(l.range == SourceRange(0, 6))
        #expect(r.range == SourceRange(9, 21))
        #expect(three.range == SourceRange(9, 10))
        #expect(avg.range == SourceRange(13, 21))
    }

    @Test func severalErrorsInOneExpression() {
        let (e, d) = ExpressionParser.parse(ExpressionSource("amount > AND (b + ) OR CASE WHEN x 1 END"))
        #expect(e != nil)
        #expect(d.map(\.message) == [
            "expected an expression, found AND",
            "expected an expression, found `)`",
            "expected THEN after the WHEN condition, found `1`",
        ])
        let more = ExpressionParser.parse(ExpressionSource("f(a,, b) + CAST(x AS BLOB) + 'open")).diagnostics.map(\.message)
        #expect(more.contains("expected an expression, found `,`"))
        #expect(more.contains { $0.hasPrefix("unknown type `BLOB`") })
        #expect(more.contains("unterminated string: the quote opened here is never closed"))
    }

    @Test func strayTokensAfterAnExpression() {
        // What follows a stray token is parsed too (`c` alone is fine), to find its errors.
        let d = ExpressionParser.parse(ExpressionSource("a b ) c +")).diagnostics.map(\.message)
        #expect(d == [
            "unexpected `b` after a complete expression (a missing operator or comma?)",
            "unbalanced `)`: no `(` is open here",
            "expected an expression, found the end of the expression",
        ])
        #expect(ExpressionParser.parse(ExpressionSource("(a + b")).diagnostics.map(\.message) == ["expected `)` to close the `(` at column 1, found the end of the expression"])
        #expect(ExpressionParser.parse(ExpressionSource("")).diagnostics.map(\.message) == ["expected an expression, found the end of the expression"])
    }

    @Test func literalErrors() {
        #expect(parsed("INTERVAL '1' MONTH").hasPrefix("ERROR: year-month intervals are not supported"))
        #expect(parsed("INTERVAL '1:30' HOUR") == "ERROR: invalid INTERVAL '1:30' for HOUR: expected 'hh'")
        #expect(parsed("INTERVAL '1 25:00:00' DAY TO SECOND") == "ERROR: invalid INTERVAL '1 25:00:00' for DAY TO SECOND: expected 'd hh:mm:ss'")
        #expect(parsed("TIMESTAMP '2026-13-01 00:00:00'").hasPrefix("ERROR: invalid TIMESTAMP literal '2026-13-01 00:00:00'"))
        #expect(parsed("DATE '2026-01-01'") == "ERROR: DATE literals are not supported: use TIMESTAMP '…'")
        #expect(parsed("9223372036854775808") == "ERROR: integer literal `9223372036854775808` is out of range for BIGINT")
    }

    @Test func intervals() {
        #expect(Parser.intervalMillis("10", from: .minute, to: nil) == 600_000)
        #expect(Parser.intervalMillis("1.5", from: .second, to: nil) == 1500)
        #expect(Parser.intervalMillis("-2", from: .day, to: nil) == -172_800_000)
        #expect(Parser.intervalMillis("1 02:00:00", from: .day, to: .second) == 93_600_000)
        #expect(Parser.intervalMillis("1 02:30", from: .day, to: .minute) == 95_400_000)
        #expect(Parser.intervalMillis("02:30", from: .hour, to: .minute) == 9_000_000)
        #expect(Parser.intervalMillis("30:15.5", from: .minute, to: .second) == 1_815_500)
        #expect(Parser.intervalMillis("1 02", from: .day, to: .hour) == 93_600_000)
        #expect(Parser.intervalMillis("1:00", from: .day, to: .second) == nil)
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000)
        let (e, d) = ExpressionParser.parse(ExpressionSource(deep))
        #expect(e == nil)
        #expect(d.first?.message == "expression is nested too deeply (more than 100 levels of parentheses, calls, CASE or prefix operators)")
        let chain = (0..<5000).map { _ in "1" }.joined(separator: " + ")
        let (e2, d2) = ExpressionParser.parse(ExpressionSource(chain))
        #expect(e2 == nil && d2.count == 1)
        let minus = String(repeating: "- ", count: 5000) + "x"
        #expect(ExpressionParser.parse(ExpressionSource(minus)).expr == nil)
        let ok = (0..<200).map { _ in "1" }.joined(separator: " + ")
        #expect(ExpressionParser.parse(ExpressionSource(ok)).diagnostics.isEmpty)
    }
}

@Suite struct DiagnosticTests {
    @Test func renderingShowsFileLineColumnAndCaret() throws {
        let src = ExpressionSource("amout > 100", file: "jobs/fraud.yaml", line: 12, column: 12)
        do {
            _ = try CompiledExpression(src, scope: txScope)
            Issue.record("expected an error")
        } catch {
            #expect(error.rendered == """
            jobs/fraud.yaml:12:12: error: unknown column `amout`; did you mean `amount`?
                       amout > 100
                       ^~~~~
            """)
        }
    }

    @Test func caretsInAMultiLineExpression() {
        // A YAML block scalar: the first line at column 7 of line 20, the rest indented by 4.
        let text = "amount > 100\nAND chanel = 'pos'\n  AND HOUR(ts) > 'x'"
        let src = ExpressionSource(text, file: "f.yaml", line: 20, column: 7, continuationColumn: 5)
        var found: [Diagnostic] = []
        do { _ = try CompiledExpression(src, scope: txScope) } catch { found = error.all }
        #expect(found.count == 2)
        #expect(found.map(\.location) == [
            SourceLocation(file: "f.yaml", line: 21, column: 9),
            SourceLocation(file: "f.yaml", line: 22, column: 22),
        ])
        #expect(found.first?.rendered == """
        f.yaml:21:9: error: unknown column `chanel`; did you mean `channel`?
            AND chanel = 'pos'
                ^~~~~~
        """)
        #expect(found.last?.length == 3)
        #expect(found.last?.rendered.hasSuffix("      AND HOUR(ts) > 'x'\n                     ^~~") == true)
    }

    @Test func columnsCountCharactersNotBytes() {
        let d = diagnostics("'héllo' || amoun")
        #expect(d.first?.location.column == 12)
    }

    @Test func tabsAreKeptUnderTheCaret() {
        let d = Diagnostic(location: SourceLocation(file: "f", line: 1, column: 3), length: 2, message: "m", sourceLine: "\t\tab")
        #expect(d.rendered == "f:1:3: error: m\n\t\tab\n\t\t^~")
    }

    @Test func suggestions() {
        #expect(Suggest.nearest("amuont", among: ["amount", "avg_prev"]) == "amount")
        #expect(Suggest.nearest("xyz", among: ["amount"]) == nil)
        #expect(Suggest.distance("kitten", "sitting") == 3)
    }
}
