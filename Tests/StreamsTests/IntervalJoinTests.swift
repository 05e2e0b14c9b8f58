import Foundation
import KafkaClient
@testable import Streams
import Testing

/// The interval join against a brute-force oracle: every pair of the same key, both on time
/// (after the combined watermark of the two inputs when they arrived), with b's time in
/// [a's + lower, a's + upper] — whatever the interleaving, out-of-order and late data.
@Suite struct IntervalJoinTests {
    static func job(lower: Int64, upper: Int64) -> StreamJob {
        let job = StreamJob(name: "ij")
        let a = job.source(topic: "a", as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .seconds(2))
        let b = job.source(topic: "b", as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .seconds(2))
        a.keyBy { StreamKey($0.key) }
            .intervalJoin(b.keyBy { StreamKey($0.key) }, between: .milliseconds(lower), and: .milliseconds(upper), name: "pairs") { l, r in
                (l.id, r.id, max(l.ts, r.ts))
            }
            .sink(topic: "out", key: { _ in nil }) { v, w in w.field("p", "\(v.0)-\(v.1)"); w.field("t", v.2) }
        return job
    }

    /// Arrival order: the two inputs interleaved at random; ids of b are offset by 1e6.
    static func inputs(seed: UInt64) -> [(String, Ev)] {
        let a = makeEvents(seed: seed, count: 1500, keys: 10, step: 400, jitter: 1500, lateShare: 0.04, lateBy: 30_000)
        let b = makeEvents(seed: seed + 1000, count: 1500, keys: 10, step: 400, jitter: 1500, lateShare: 0.04, lateBy: 30_000)
            .map { Ev(id: $0.id + 1_000_000, key: $0.key, ts: $0.ts, v: $0.v) }
        var rng = SplitMix(seed: seed * 31)
        var out: [(String, Ev)] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if j >= b.count || (i < a.count && Bool.random(using: &rng)) { out.append(("a", a[i])); i += 1 } else { out.append(("b", b[j])); j += 1 }
        }
        return out
    }

    static func oracle(_ input: [(String, Ev)], lower: Int64, upper: Int64, ooo: Int64) -> (pairs: [String: Int64], late: Set<Int64>) {
        var maxTs: [String: Int64] = ["a": .min, "b": .min]
        var accepted: [String: [Ev]] = ["a": [], "b": []]
        var late = Set<Int64>()
        for (topic, e) in input {
            let wms = maxTs.values.map { $0 == .min ? Int64.min : $0 - ooo - 1 }
            let w = wms.min()!
            if w != .min && e.ts <= w { late.insert(e.id) } else { accepted[topic]!.append(e) }
            maxTs[topic] = max(maxTs[topic]!, e.ts)
        }
        var pairs: [String: Int64] = [:]
        for l in accepted["a"]! {
            for r in accepted["b"]! where r.key == l.key && r.ts >= l.ts + lower && r.ts <= l.ts + upper {
                pairs["\(l.id)-\(r.id)"] = max(l.ts, r.ts)
            }
        }
        return (pairs, late)
    }

    static func results(_ out: [ProducerRecord]) -> (pairs: [String: Int64], late: Set<Int64>, duplicates: Int) {
        var pairs: [String: Int64] = [:]
        var late = Set<Int64>()
        var dups = 0
        for r in out {
            let v = decodeJSON(r)
            if r.topic == "ij.late" { late.insert((v["id"] as! NSNumber).int64Value); continue }
            let p = v["p"] as! String
            if pairs[p] != nil { dups += 1 }
            pairs[p] = (v["t"] as! NSNumber).int64Value
            #expect(r.timestamp == pairs[p], "a result carries the later of the two event times")
        }
        return (pairs, late, dups)
    }

    @Test(arguments: [(1, -10_000, 5_000), (2, 0, 1_000), (3, -3_000, -1_000), (4, 2_000, 20_000)] as [(UInt64, Int64, Int64)])
    func pairsMatchTheOracle(seed: UInt64, lower: Int64, upper: Int64) throws {
        let input = Self.inputs(seed: seed)
        let p = try LocalPipeline(job: Self.job(lower: lower, upper: upper))
        for (t, e) in input { p.push(topic: t, json: e.json) }
        let op = p.builder.stateful.first { $0.name == "pairs" }?.op as! IntervalJoinOperator<Ev, Ev, (Int64, Int64, Int64)>
        // Only rows a future record can still match are kept (here ~25 s of 600 s of data).
        let held = op.keys.values.reduce(0) { $0 + $1.left.ts.count + $1.right.ts.count }
        #expect(held < input.count / 10, "\(held) rows held of \(input.count)")
        p.finish()
        let got = Self.results(p.drain())
        let want = Self.oracle(input, lower: lower, upper: upper, ooo: 2000)
        #expect(got.duplicates == 0)
        #expect(got.late == want.late, "late differ (seed \(seed)): \(got.late.symmetricDifference(want.late).sorted().prefix(5))")
        #expect(want.pairs.count > 100, "the test joins something")
        #expect(Set(got.pairs.keys) == Set(want.pairs.keys),
                "pairs differ (seed \(seed)): missing \(Set(want.pairs.keys).subtracting(got.pairs.keys).sorted().prefix(4)), extra \(Set(got.pairs.keys).subtracting(want.pairs.keys).sorted().prefix(4))")
        // Rows nobody can match any more are gone.
        #expect(op.keys.isEmpty, "state left after the end of input: \(op.keys.count) keys")
    }

    @Test(arguments: [5, 6, 7] as [UInt64])
    func restoreAtARandomPointGivesTheUninterruptedPairs(seed: UInt64) throws {
        let input = Self.inputs(seed: seed)
        var rng = SplitMix(seed: seed)
        let cut = Int.random(in: 1..<input.count, using: &rng)
        let first = try LocalPipeline(job: Self.job(lower: -5_000, upper: 5_000))
        for (t, e) in input[..<cut] { first.push(topic: t, json: e.json) }
        let before = first.drain()
        let snap = try TaskSnapshot(decoding: first.snapshot().encode())
        let second = try LocalPipeline(job: Self.job(lower: -5_000, upper: 5_000), restoring: snap)
        for (t, e) in input[cut...] { second.push(topic: t, json: e.json) }
        second.finish()
        let got = Self.results(before + second.drain())
        let want = Self.oracle(input, lower: -5_000, upper: 5_000, ooo: 2000)
        #expect(got.duplicates == 0)
        #expect(Set(got.pairs.keys) == Set(want.pairs.keys), "seed \(seed), cut \(cut)")
        #expect(got.late == want.late)
    }

    @Test func boundsAreValidated() {
        let job = Self.job(lower: 10, upper: 5)
        #expect(throws: StreamsError.self) { try job.validate() }
    }
}
