import Foundation
@testable import Jobs
import Testing

/// The parser, checker and compiler must never crash: every input gives either a compiled
/// expression or diagnostics, and a compiled one evaluates or throws an EvaluationError.
@Suite struct FuzzTests {
    static let seeds = [
        "amount > 3 * avg_prev AND HOUR(ts) NOT BETWEEN 6 AND 21",
        "CASE WHEN channel IN ('pos', 'atm') THEN amount * 1.5 ELSE -amount END > 10",
        "COALESCE(NULLIF(n, 0), m) / (ABS(m) + 1) BETWEEN SYMMETRIC -3 AND 3",
        "channel LIKE 'p!%%' ESCAPE '!' OR channel NOT LIKE '_o%'",
        "DATE_FORMAT(ts + INTERVAL '1 02:00:00' DAY TO SECOND, 'yyyy-MM-dd HH:mm') || ' ' || UPPER(TRIM(LEADING 'x' FROM channel))",
        "TIMESTAMPDIFF(MINUTE, ts, TIMESTAMP '2026-01-01 10:00:00') > 5 IS NOT TRUE",
        "CAST(SUBSTRING(channel FROM 2 FOR 1) AS BIGINT) + TRY_CAST('12' AS INT) * POSITION('o' IN channel)",
        "GEO_DISTANCE_KM(location.lat, location.lon, 48.85, 2.35) > 804.67 AND flag IS DISTINCT FROM flag2",
        "ROUND(amount / NULLIF(avg_prev, 0), 2) >= GREATEST(1, LEAST(n, m), 2.5)",
        "CASE n WHEN 1 THEN 'a' WHEN 2 THEN 'b' ELSE LPAD(channel, 5, '*') END = 'a'",
        "EXTRACT(DOW FROM `timestamp`) IN (1, 7) AND MOD(n, 2) = 0",
    ]

    static let vocabulary = [
        "amount", "avg_prev", "n", "m", "ts", "channel", "flag", "location.lat", "`timestamp`", "x", "HOUR", "ROUND",
        "COUNT", "SUM", "CASE", "WHEN", "THEN", "ELSE", "END", "AND", "OR", "NOT", "IS", "NULL", "TRUE", "FALSE", "IN",
        "BETWEEN", "LIKE", "ESCAPE", "CAST", "TRY_CAST", "AS", "BIGINT", "DOUBLE", "DECIMAL(10,2)", "STRING", "INTERVAL",
        "'1'", "HOUR", "DAY", "TO", "SECOND", "TIMESTAMP", "'2026-01-01 10:00:00'", "EXTRACT", "FROM", "TRIM", "LEADING",
        "SUBSTRING", "FOR", "POSITION", "DISTINCT", "SYMMETRIC", "*", "/", "%", "+", "-", "||", "=", "<>", "<", ">=", "(",
        ")", ",", ".", "0", "1", "-9223372036854775808", "9223372036854775807", "1.5", "1e308", "1e999", "'", "''", "'a'",
        "`", "\"q\"", "--", "/*", "*/", "#", "é", "\t", "\n", "!", "==", "&&", "|",
    ]

    /// A row that may hold the wrong types too (a schema/decoder mismatch must not crash).
    func randomRow(_ rng: inout SplitMix) -> Row {
        let pool: [Value] = [.null, .int(0), .int(-1), .int(.max), .int(.min), .double(0), .double(-0.0), .double(.nan), .double(.infinity),
                             .double(120.5), .string(""), .string("pos"), .string("é%_"), .bool(true), .bool(false),
                             .timestamp(0, offsetMinutes: 330), .timestamp(.max, offsetMinutes: 0), .timestamp(.min, offsetMinutes: -480), .interval(1)]
        let typed = txRow(amount: rng.chance(0.2) ? nil : 5, n: Int64(rng.int(-3...3)), m: rng.chance(0.3) ? 0 : 2, channel: rng.chance(0.5) ? "pos" : "x")
        var r = typed
        if rng.chance(0.3) { r[rng.int(0...(txSchema.count - 1))] = pool[rng.int(0...(pool.count - 1))] }
        if rng.chance(0.05) { r = Row(Array(r.values.prefix(rng.int(0...5)))) }
        return r
    }

    func exercise(_ text: String, _ rng: inout SplitMix) {
        let scope = rng.chance(0.5) ? txScope : ExpressionScope(txSchema, allowsAggregates: true)
        do {
            let e = try CompiledExpression(text, scope: scope)
            let row = randomRow(&rng).appending(Array(repeating: .int(1), count: e.aggregates.count))
            _ = try? e.evaluate(row)
            for a in e.aggregates { _ = try? a.argument?.evaluate(row) }
        } catch {
            #expect(!error.isEmpty, "no diagnostics for a failure: \(text)")
            for d in error.all {
                #expect(d.location.line >= 1 && d.location.column >= 1)
                _ = d.rendered
            }
        }
    }

    @Test func tokenSoup() {
        var rng = SplitMix(seed: 1)
        for _ in 0..<4000 {
            let n = rng.int(1...14)
            let text = (0..<n).map { _ in Self.vocabulary[rng.int(0...(Self.vocabulary.count - 1))] }.joined(separator: rng.chance(0.8) ? " " : "")
            exercise(text, &rng)
        }
    }

    @Test func mutationsOfValidExpressions() {
        var rng = SplitMix(seed: 2)
        for s in Self.seeds { #expect(diagnostics(s, scope: ExpressionScope(txSchema, allowsAggregates: true)).isEmpty, "\(s)") }
        for _ in 0..<4000 {
            var chars = Array(Self.seeds[rng.int(0...(Self.seeds.count - 1))].unicodeScalars)
            for _ in 0..<rng.int(1...4) {
                guard !chars.isEmpty else { break }
                let i = rng.int(0...(chars.count - 1))
                switch rng.int(0...4) {
                case 0: chars.remove(at: i)
                case 1: chars.insert(chars[rng.int(0...(chars.count - 1))], at: i)
                case 2: chars.swapAt(i, rng.int(0...(chars.count - 1)))
                case 3:
                    let word = Self.vocabulary[rng.int(0...(Self.vocabulary.count - 1))]
                    chars.insert(contentsOf: Array((" " + word + " ").unicodeScalars), at: i)
                default: chars = Array(chars.prefix(i))
                }
            }
            var text = String.UnicodeScalarView()
            text.append(contentsOf: chars)
            exercise(String(text), &rng)
        }
    }

    @Test func randomBytes() {
        var rng = SplitMix(seed: 3)
        for _ in 0..<1500 {
            let bytes = (0..<rng.int(0...40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            exercise(String(decoding: bytes, as: UTF8.self), &rng)
        }
    }

    /// Expressions at the nesting and height limits are parsed, checked, compiled, evaluated
    /// and freed on a thread with half the stack that threads get by default (8 MiB on Linux,
    /// for the main thread and Swift concurrency's alike), in a debug build, whose frames are
    /// several times larger than release ones (up to ~16 KiB per nesting level for calls).
    @Test func tallTreesOnAHalfSizeStack() {
        let texts = [
            (0..<250).map { _ in "n" }.joined(separator: " + "),
            (0..<120).map { "n = \($0)" }.joined(separator: " OR "),
            String(repeating: "(", count: 99) + "n" + String(repeating: ")", count: 99),
            String(repeating: "- ", count: 99) + "n",
            String(repeating: "NOT ", count: 99) + "flag",
            String(repeating: "ABS(", count: 98) + "n" + String(repeating: ")", count: 98),
            String(repeating: "CASE WHEN flag THEN ", count: 98) + "1" + String(repeating: " ELSE 2 END", count: 98),
            String(repeating: "COALESCE(n, ", count: 98) + "1" + String(repeating: ")", count: 98),
        ]
        let done = Locked(0)
        let sem = DispatchSemaphore(value: 0)
        let t = Thread {
            for s in texts {
                guard let e = try? CompiledExpression(s, scope: txScope) else { continue }
                _ = try? e.evaluate(txRow())
                done.withLock { $0 += 1 }
            }
            sem.signal()
        }
        t.stackSize = 4 << 20
        t.start()
        sem.wait()
        #expect(done.withLock { $0 } == texts.count)
    }
}

/// A tiny lock for the test thread's result.
final class Locked<T>: @unchecked Sendable {
    private var value: T
    private let lock = NSLock()
    init(_ v: T) { value = v }
    func withLock<R>(_ f: (inout T) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return f(&value)
    }
}
