import Foundation
@testable import Jobs
import Testing

/// The independent check: random well-typed expressions over random rows, evaluated here and
/// by SQLite (Python's sqlite3, a separate implementation of the same SQL semantics), results
/// compared row by row. The generator keeps to the common ground of the two dialects:
/// divisors that cannot be zero (SQLite gives NULL where Flink raises), values small enough
/// not to overflow (SQLite turns to REAL where Java wraps), `%` on integers only, ASCII text
/// and case-sensitive LIKE.
@Suite struct SQLiteOracleTests {
    static let python: String? = {
        for p in ["/usr/bin/python3", "/usr/local/bin/python3", "/root/.pyenv/shims/python3"] where FileManager.default.isExecutableFile(atPath: p) { return p }
        return nil
    }()

    let schema = RowSchema([
        .init("a", .bigint), .init("b", .bigint), .init("c", .bigint),
        .init("x", .double), .init("y", .double), .init("s", .string), .init("flag", .boolean),
    ])

    enum Kind: CaseIterable { case int, double, bool, string }

    struct Gen {
        var rng: SplitMix

        mutating func pick<T>(_ xs: [T]) -> T { xs[rng.int(0...(xs.count - 1))] }

        /// (Flink SQL text, SQLite text) of a random expression of kind `k`.
        mutating func expr(_ k: Kind, _ depth: Int) -> (String, String) {
            let leaf = depth <= 0 || rng.chance(0.25)
            switch k {
            case .int:
                if leaf {
                    switch rng.int(0...5) {
                    case 0, 1, 2: let c = pick(["a", "b", "c"]); return (c, c)
                    case 3: return ("CAST(NULL AS BIGINT)", "CAST(NULL AS INTEGER)")
                    default: let v = String(rng.int(-20...20)); return (v, v)
                    }
                }
                switch rng.int(0...11) {
                case 0, 1, 2:
                    let op = pick(["+", "-", "*"])
                    let (l1, l2) = expr(.int, depth - 1), (r1, r2) = expr(.int, depth - 1)
                    return ("(\(l1) \(op) \(r1))", "(\(l2) \(op) \(r2))")
                case 3:
                    // A divisor that is never zero: a non-zero constant or ABS(e) + 1.
                    let op = pick(["/", "%"])
                    let (l1, l2) = expr(.int, depth - 1)
                    if rng.chance(0.5) {
                        let d = pick(["3", "-4", "7", "2"])
                        return ("(\(l1) \(op) \(d))", "(\(l2) \(op) \(d))")
                    }
                    let (d1, d2) = expr(.int, depth - 1)
                    return ("(\(l1) \(op) (ABS(\(d1)) + 1))", "(\(l2) \(op) (ABS(\(d2)) + 1))")
                case 4:
                    let (e1, e2) = expr(.int, depth - 1)
                    return ("(- \(e1))", "(- \(e2))")
                case 5:
                    let (e1, e2) = expr(.int, depth - 1)
                    return ("ABS(\(e1))", "ABS(\(e2))")
                case 6:
                    let (c1, c2) = expr(.bool, depth - 1), (t1, t2) = expr(.int, depth - 1), (f1, f2) = expr(.int, depth - 1)
                    if rng.chance(0.3) { return ("CASE WHEN \(c1) THEN \(t1) END", "CASE WHEN \(c2) THEN \(t2) END") }
                    return ("CASE WHEN \(c1) THEN \(t1) ELSE \(f1) END", "CASE WHEN \(c2) THEN \(t2) ELSE \(f2) END")
                case 7:
                    let (s1, s2) = expr(.int, depth - 1), (v1, v2) = expr(.int, 0), (t1, t2) = expr(.int, depth - 1), (f1, f2) = expr(.int, depth - 1)
                    return ("CASE \(s1) WHEN \(v1) THEN \(t1) ELSE \(f1) END", "CASE \(s2) WHEN \(v2) THEN \(t2) ELSE \(f2) END")
                case 8:
                    let (l1, l2) = expr(.int, depth - 1), (r1, r2) = expr(.int, depth - 1)
                    let fn = pick(["COALESCE", "NULLIF"])
                    return ("\(fn)(\(l1), \(r1))", "\(fn)(\(l2), \(r2))")
                case 9:
                    let (d1, d2) = expr(.double, depth - 1)
                    return ("CAST(\(d1) AS BIGINT)", "CAST(\(d2) AS INTEGER)")
                case 10:
                    let (s1, s2) = expr(.string, depth - 1)
                    return ("CHAR_LENGTH(\(s1))", "LENGTH(\(s2))")
                default:
                    let (l1, l2) = expr(.int, depth - 1), (r1, r2) = expr(.int, depth - 1)
                    return ("(\(l1) + \(r1))", "(\(l2) + \(r2))")
                }
            case .double:
                if leaf {
                    switch rng.int(0...4) {
                    case 0, 1, 2: let c = pick(["x", "y"]); return (c, c)
                    case 3: return ("CAST(NULL AS DOUBLE)", "CAST(NULL AS REAL)")
                    default: let v = pick(["1.5", "-2.25", "0.5", "10.0", "3.75"]); return (v, v)
                    }
                }
                switch rng.int(0...8) {
                case 0, 1, 2:
                    let op = pick(["+", "-", "*"])
                    let (l1, l2) = expr(.double, depth - 1)
                    let (r1, r2) = rng.chance(0.3) ? expr(.int, depth - 1) : expr(.double, depth - 1)
                    return ("(\(l1) \(op) \(r1))", "(\(l2) \(op) \(r2))")
                case 3:
                    let (l1, l2) = expr(.double, depth - 1)
                    if rng.chance(0.5) {
                        let d = pick(["2.5", "-4.0", "0.25"])
                        return ("(\(l1) / \(d))", "(\(l2) / \(d))")
                    }
                    let (d1, d2) = expr(.double, depth - 1)
                    return ("(\(l1) / (ABS(\(d1)) + 1.0))", "(\(l2) / (ABS(\(d2)) + 1.0))")
                case 4:
                    let (e1, e2) = expr(.double, depth - 1)
                    return ("ABS(- \(e1))", "ABS(- \(e2))")
                case 5:
                    let (c1, c2) = expr(.bool, depth - 1), (t1, t2) = expr(.double, depth - 1), (f1, f2) = expr(.double, depth - 1)
                    return ("CASE WHEN \(c1) THEN \(t1) ELSE \(f1) END", "CASE WHEN \(c2) THEN \(t2) ELSE \(f2) END")
                case 6:
                    let (l1, l2) = expr(.double, depth - 1), (r1, r2) = expr(.double, depth - 1)
                    return ("COALESCE(\(l1), \(r1))", "COALESCE(\(l2), \(r2))")
                default:
                    let (i1, i2) = expr(.int, depth - 1)
                    return ("CAST(\(i1) AS DOUBLE)", "CAST(\(i2) AS REAL)")
                }
            case .bool:
                if leaf {
                    switch rng.int(0...3) {
                    case 0, 1: return ("flag", "flag")
                    case 2: return ("CAST(NULL AS BOOLEAN)", "NULL")
                    default: let v = pick(["TRUE", "FALSE"]); return (v, v)
                    }
                }
                switch rng.int(0...12) {
                case 0, 1:
                    let op = pick(["=", "<>", "<", "<=", ">", ">="])
                    let k1: Kind = pick([.int, .double, .int])
                    let k2: Kind = k1 == .int ? pick([.int, .double]) : .double
                    let (l1, l2) = expr(k1, depth - 1), (r1, r2) = expr(k2, depth - 1)
                    return ("(\(l1) \(op) \(r1))", "(\(l2) \(op) \(r2))")
                case 2:
                    let op = pick(["=", "<>", "<", ">="])
                    let (l1, l2) = expr(.string, depth - 1), (r1, r2) = expr(.string, depth - 1)
                    return ("(\(l1) \(op) \(r1))", "(\(l2) \(op) \(r2))")
                case 3, 4:
                    let op = pick(["AND", "OR"])
                    let (l1, l2) = expr(.bool, depth - 1), (r1, r2) = expr(.bool, depth - 1)
                    return ("(\(l1) \(op) \(r1))", "(\(l2) \(op) \(r2))")
                case 5:
                    let (e1, e2) = expr(.bool, depth - 1)
                    return ("(NOT \(e1))", "(NOT \(e2))")
                case 6:
                    let k: Kind = pick(Kind.allCases)
                    let (e1, e2) = expr(k, depth - 1)
                    let t = pick(["IS NULL", "IS NOT NULL"])
                    return ("(\(e1) \(t))", "(\(e2) \(t))")
                case 7:
                    let (e1, e2) = expr(.bool, depth - 1)
                    let t = pick(["IS TRUE", "IS NOT TRUE", "IS FALSE", "IS NOT FALSE"])
                    return ("(\(e1) \(t))", "(\(e2) \(t))")
                case 8:
                    let not = rng.chance(0.3) ? "NOT " : ""
                    let (e1, e2) = expr(.int, depth - 1), (l1, l2) = expr(.int, depth - 1), (h1, h2) = expr(.int, depth - 1)
                    return ("(\(e1) \(not)BETWEEN \(l1) AND \(h1))", "(\(e2) \(not)BETWEEN \(l2) AND \(h2))")
                case 9:
                    let not = rng.chance(0.3) ? "NOT " : ""
                    let (e1, e2) = expr(.int, depth - 1)
                    var items = (0..<rng.int(1...4)).map { _ in String(rng.int(-5...5)) }
                    if rng.chance(0.3) { items.append("NULL") }
                    let list = items.joined(separator: ", ")
                    return ("(\(e1) \(not)IN (\(list)))", "(\(e2) \(not)IN (\(list)))")
                case 10:
                    let (e1, e2) = expr(.int, depth - 1), (f1, f2) = expr(.int, depth - 1), (g1, g2) = expr(.int, depth - 1)
                    return ("(\(e1) IN (\(f1), \(g1)))", "(\(e2) IN (\(f2), \(g2)))")
                case 11:
                    let not = rng.chance(0.3) ? "NOT " : ""
                    let (e1, e2) = expr(.string, depth - 1)
                    let p = pick(["'a%'", "'%b'", "'_b%'", "'%'", "'ab'", "'A%'", "'%a_b%'"])
                    return ("(\(e1) \(not)LIKE \(p))", "(\(e2) \(not)LIKE \(p))")
                default:
                    let (c1, c2) = expr(.bool, depth - 1), (t1, t2) = expr(.bool, depth - 1), (f1, f2) = expr(.bool, depth - 1)
                    return ("CASE WHEN \(c1) THEN \(t1) ELSE \(f1) END", "CASE WHEN \(c2) THEN \(t2) ELSE \(f2) END")
                }
            case .string:
                if leaf {
                    if rng.chance(0.6) { return ("s", "s") }
                    let v = pick(["'ab'", "'b'", "'Ab'", "''", "'abab'"])
                    return (v, v)
                }
                switch rng.int(0...4) {
                case 0:
                    let (l1, l2) = expr(.string, depth - 1), (r1, r2) = expr(.string, depth - 1)
                    return ("(\(l1) || \(r1))", "(\(l2) || \(r2))")
                case 1:
                    let fn = pick(["UPPER", "LOWER"])
                    let (e1, e2) = expr(.string, depth - 1)
                    return ("\(fn)(\(e1))", "\(fn)(\(e2))")
                case 2:
                    let (c1, c2) = expr(.bool, depth - 1), (t1, t2) = expr(.string, depth - 1), (f1, f2) = expr(.string, depth - 1)
                    return ("CASE WHEN \(c1) THEN \(t1) ELSE \(f1) END", "CASE WHEN \(c2) THEN \(t2) ELSE \(f2) END")
                default:
                    let (e1, e2) = expr(.string, depth - 1)
                    return ("COALESCE(\(e1), 'z')", "COALESCE(\(e2), 'z')")
                }
            }
        }
    }

    static let script = """
    import json, sqlite3, sys
    job = json.load(sys.stdin)
    db = sqlite3.connect(":memory:")
    db.execute("PRAGMA case_sensitive_like = ON")
    db.execute("CREATE TABLE t (a INTEGER, b INTEGER, c INTEGER, x REAL, y REAL, s TEXT, flag INTEGER)")
    db.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", job["rows"])
    out = []
    for e in job["exprs"]:
        try:
            out.append({"ok": [r[0] for r in db.execute("SELECT " + e + " FROM t ORDER BY rowid")]})
        except Exception as ex:
            out.append({"error": str(ex)})
    json.dump(out, sys.stdout)
    """

    func runSQLite(_ rows: [[Any]], _ exprs: [String]) throws -> [Any] {
        let input = try JSONSerialization.data(withJSONObject: ["rows": rows, "exprs": exprs])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.python ?? "python3")
        p.arguments = ["-c", Self.script]
        let stdin = Pipe(), stdout = Pipe()
        p.standardInput = stdin
        p.standardOutput = stdout
        try p.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (try JSONSerialization.jsonObject(with: data) as? [Any]) ?? []
    }

    @Test(.enabled(if: python != nil, "python3 with sqlite3 is needed"))
    func randomExpressionsAgreeWithSQLite() throws {
        var rng = SplitMix(seed: 20_260_101)
        // Rows: small integers, binary fractions (exact in both), some NULLs.
        var rows: [Row] = []
        var liteRows: [[Any]] = []
        for _ in 0..<24 {
            func maybe<T>(_ v: T) -> T? { rng.chance(0.15) ? nil : v }
            let a = maybe(Int64(rng.int(-30...30))), b = maybe(Int64(rng.int(-30...30))), c = maybe(Int64(rng.int(-5...5)))
            let x = maybe(Double(rng.int(-400...400)) / 8), y = maybe(Double(rng.int(-400...400)) / 4)
            let s = maybe(["ab", "b", "Ab", "", "abab", "ba", "aXb"][rng.int(0...6)])
            let flag = maybe(rng.chance(0.5))
            rows.append(Row([a.map(Value.int) ?? .null, b.map(Value.int) ?? .null, c.map(Value.int) ?? .null,
                             x.map(Value.double) ?? .null, y.map(Value.double) ?? .null, s.map(Value.string) ?? .null,
                             flag.map(Value.bool) ?? .null]))
            liteRows.append([a.map { $0 as Any } ?? NSNull(), b.map { $0 as Any } ?? NSNull(), c.map { $0 as Any } ?? NSNull(),
                             x.map { $0 as Any } ?? NSNull(), y.map { $0 as Any } ?? NSNull(), s.map { $0 as Any } ?? NSNull(),
                             flag.map { ($0 ? 1 : 0) as Any } ?? NSNull()])
        }
        var gen = Gen(rng: rng)
        var ours: [(String, Kind)] = []
        var lite: [String] = []
        for i in 0..<600 {
            let k = Kind.allCases[i % 4]
            let (e1, e2) = gen.expr(k, 3)
            ours.append((e1, k))
            lite.append(e2)
        }
        let results = try runSQLite(liteRows, lite)
        try #require(results.count == lite.count)
        let scope = ExpressionScope(schema)
        var compared = 0
        for (i, (text, kind)) in ours.enumerated() {
            guard let r = results[i] as? [String: Any], let expected = r["ok"] as? [Any] else {
                Issue.record("SQLite failed on \(lite[i]): \(results[i])")
                continue
            }
            let e: CompiledExpression
            do { e = try CompiledExpression(text, scope: scope) } catch {
                Issue.record("\(text): \(error.rendered)")
                continue
            }
            let wantType: SQLType = [.bigint, .double, .boolean, .string][Kind.allCases.firstIndex(of: kind) ?? 0]
            #expect(e.type == wantType, "\(text)")
            for (j, row) in rows.enumerated() {
                let got: Value
                do { got = try e.evaluate(row) } catch {
                    Issue.record("\(text) on row \(j): \(error)")
                    continue
                }
                let want = expected[j]
                compared += 1
                switch got {
                case .null:
                    #expect(want is NSNull, "\(text) on row \(j): got NULL, SQLite \(want)")
                case .bool(let b):
                    #expect((want as? NSNumber)?.intValue == (b ? 1 : 0) && !(want is NSNull), "\(text) on row \(j): got \(b), SQLite \(want)")
                case .int(let v):
                    #expect((want as? NSNumber)?.int64Value == v, "\(text) on row \(j): got \(v), SQLite \(want)")
                case .double(let d):
                    let w = (want as? NSNumber)?.doubleValue ?? .nan
                    #expect(abs(w - d) <= 1e-9 * max(1, abs(d)), "\(text) on row \(j): got \(d), SQLite \(want)")
                case .string(let s):
                    #expect((want as? String) == s, "\(text) on row \(j): got '\(s)', SQLite \(want)")
                default:
                    Issue.record("unexpected \(got)")
                }
            }
        }
        #expect(compared == 600 * rows.count)
    }
}
