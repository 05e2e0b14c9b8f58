// Measures compiled job expressions against the same logic written by hand in Swift, over
// the same rows: `swift build -c release && .build/release/jobs-expr-bench [rows]`.
// Not a test: timings depend on the machine; this prints them.
import Jobs

/// xorshift, so every run measures the same rows.
struct XorShift {
    var state: UInt64 = 0x2545_F491_4F6C_DD1D
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

/// Hides a closure from the optimiser, so it is called as a closure value. (Not generic: a
/// closure passed through a generic parameter is re-abstracted and every call pays a thunk.)
@inline(never) func opaque(_ x: @escaping Eval<Bool>) -> Eval<Bool> { x }

func runBench() throws {
    let schema = RowSchema([
        .init("transaction_id", .string, nullable: false),
        .init("customer_id", .string, nullable: false),
        .init("amount", .double),
        .init("avg_prev", .double),
        .init("ts", .timestamp),
        .init("channel", .string),
        .init("location.lat", .double),
        .init("location.lon", .double),
    ])

    /// Rows cycled through: enough of them that they do not all sit in L1.
    let distinct = 1 << 16
    var gen = XorShift()
    func next() -> UInt64 { gen.next() }
    let offsets: [Int16] = [0, 60, 330, -300, -480, 540]
    let channels = ["pos", "ecommerce", "mobile", "atm"]
    let rows: [Row] = (0..<distinct).map { i in
        let amount = Double(next() % 50_000) / 100
        let avg = Double(next() % 20_000) / 100 + 1
        let ts = Timestamp(millis: 1_767_225_600_000 + Int64(next() % 86_400_000 * 30), offsetMinutes: offsets[Int(next() % 6)])
        return Row([.string("tx\(i)"), .string("c\(i % 1000)"), i % 97 == 0 ? .null : .double(amount), .double(avg), .timestamp(ts),
                    .string(channels[i % 4]), .double(51 + Double(next() % 1000) / 1000), .double(Double(next() % 1000) / 1000)])
    }

    let total = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 10_000_000 : 10_000_000

    /// Best of five runs, in ns per row, and the count of TRUE results (so nothing is optimised away).
    /// Runs `f` over `total` rows, best of five; `f` is called as the engine would call a
    /// filter: through a closure value, NULL counting as false.
    func measure(_ f: Eval<Bool>) throws(EvaluationError) -> (ns: Double, hits: Int) {
        var best = Double.infinity
        var hits = 0
        for _ in 0..<5 {
            var h = 0
            let clock = ContinuousClock()
            let start = clock.now
            try rows.withUnsafeBufferPointer { (b) throws(EvaluationError) in
                var done = 0
                while done < total {
                    let n = min(b.count, total - done)
                    for i in 0..<n where try f(b[i]) == true { h += 1 }
                    done += n
                }
            }
            let d = clock.now - start
            let ns = Double(d.components.seconds) * 1e9 + Double(d.components.attoseconds) / 1e9
            best = min(best, ns / Double(total))
            hits = h
        }
        return (best, hits)
    }

    func report(_ name: String, _ r: (ns: Double, hits: Int)) {
        let ns = (r.ns * 100).rounded() / 100
        print("  \(name): \(ns) ns/row (\(r.hits) true)")
    }

    /// The fraud rules' two cheapest tests, as the brief states them.
    let text = "amount > 3 * avg_prev AND HOUR(ts) NOT BETWEEN 6 AND 21"
    let clock = ContinuousClock()
    let compileStart = clock.now
    let compiled = try CompiledExpression(text, scope: ExpressionScope(schema), expecting: .boolean)
    let compileTime = clock.now - compileStart
    guard case .bool(let condition) = compiled.code else { return }

    /// The same test written by hand against the same rows: NULL amount or timestamp is false.
    let hand: Eval<Bool> = { (row: borrowing Row) throws(EvaluationError) -> Bool? in
        guard case .double(let amount) = row.values[2], case .double(let avg) = row.values[3],
              case .timestamp(let ms, let off) = row.values[4] else { return false }
        guard amount > 3 * avg else { return false }
        let local = ms &+ Int64(off) &* 60_000
        var msOfDay = local % 86_400_000
        if msOfDay < 0 { msOfDay += 86_400_000 }
        let hour = msOfDay / 3_600_000
        return !(hour >= 6 && hour <= 21)
    }

    print("jobs-expr-bench: \(total) rows (\(distinct) distinct, cycled)")
    // `jobs-expr-bench N compiled` runs the compiled fraud test alone (for a profiler).
    if CommandLine.arguments.count > 2, CommandLine.arguments[2] == "compiled" {
        report("compiled", try measure(condition))
        return
    }
    if CommandLine.arguments.count > 2, CommandLine.arguments[2] == "hand" {
        report("hand", try measure(opaque(hand)))
        return
    }
    print("\(text)   [compiled in \(compileTime)]")
    let c = try measure(condition)
    let h = try measure(opaque(hand))
    report("compiled", c)
    report("hand-written Swift", h)
    // The hand-written test inlined into the loop, as the Swift API's operators get it.
    var best = Double.infinity
    for _ in 0..<5 {
        var hits = 0
        let start = clock.now
        rows.withUnsafeBufferPointer { b in
            var done = 0
            while done < total {
                let n = min(b.count, total - done)
                for i in 0..<n where (try? hand(b[i])) == .some(true) { hits += 1 }
                done += n
            }
        }
        let d = clock.now - start
        best = min(best, (Double(d.components.seconds) * 1e9 + Double(d.components.attoseconds) / 1e9) / Double(total))
        if hits != h.hits { print("  MISMATCH inline") }
    }
    report("hand-written Swift, inlined into the loop", (best, h.hits))
    print("  ratio: \(((c.ns / h.ns) * 100).rounded() / 100)×, overhead \(((c.ns - h.ns) * 100).rounded() / 100) ns/row")
    if c.hits != h.hits { print("  MISMATCH: \(c.hits) vs \(h.hits)") }

    // A few more shapes from the job files, compiled only (no hand-written twin).
    for more in [
        "CASE WHEN amount > 3 * avg_prev THEN 0.3 ELSE 0 END + CASE WHEN HOUR(ts) NOT BETWEEN 6 AND 21 THEN 0.1 ELSE 0 END > 0.35",
        "channel IN ('ecommerce', 'mobile') AND amount BETWEEN 100 AND 400",
        "GEO_DISTANCE_KM(location.lat, location.lon, 48.8566, 2.3522) > 804.67",
        "customer_id LIKE 'c1%' OR UPPER(channel) = 'ATM'",
    ] {
        let e = try CompiledExpression(more, scope: ExpressionScope(schema), expecting: .boolean)
        print(more)
        guard case .bool(let f) = e.code else { continue }
        report("compiled", try measure(f))
    }
}

try runBench()
