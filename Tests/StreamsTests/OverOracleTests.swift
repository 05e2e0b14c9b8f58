import Foundation
import KafkaClient
@testable import Streams
import Testing

/// OVER aggregates against a brute-force oracle: per key, the admitted rows sorted by (event
/// time, arrival), each frame recomputed from scratch for every row.
@Suite struct OverOracleTests {
    func run(seed: UInt64, events evs: [Ev], ooo: Int64) throws {
        let job = StreamJob(name: "t")
        job.source(topic: "in", as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .milliseconds(ooo))
            .keyBy { StreamKey($0.key) }
            .over([
                OverMeasure(.unbounded, excludeCurrent: true) { $0.v },
                OverMeasure(.rows(3)) { $0.v },
                OverMeasure(.range(10_000)) { $0.v },
                OverMeasure(.range(10_000), excludeCurrent: true) { $0.v },
            ], name: "o")
            .sink(topic: "out", key: { _ in nil }) { r, w in
                w.field("id", r.value.id)
                for i in 0..<4 {
                    let s = r.measures[i]
                    w.field(named: "c\(i)", String(s.count)); w.field(named: "s\(i)", String(s.sum))
                    w.field(named: "mn\(i)", String(s.min)); w.field(named: "mx\(i)", String(s.max))
                }
                w.field("prev", r.previous?.id ?? -1)
            }
        let p = try LocalPipeline(job: job)
        for e in evs { p.push(topic: "in", json: e.json) }
        p.finish()
        let out = p.drain()

        let wms = arrivalWatermarks(evs, outOfOrderness: ooo)
        var admitted: [Int64: [(Ev, Int)]] = [:]
        var expectedLate = Set<Int64>()
        for (i, e) in evs.enumerated() {
            if wms[i] != .min && e.ts <= wms[i] { expectedLate.insert(e.id); continue }
            admitted[e.key, default: []].append((e, i))
        }
        struct Row { var c: [Int64]; var s: [Double]; var mn: [Double]; var mx: [Double]; var prev: Int64 }
        var expected: [Int64: Row] = [:]
        for (_, rows) in admitted {
            let sorted = rows.sorted { $0.0.ts != $1.0.ts ? $0.0.ts < $1.0.ts : $0.1 < $1.1 }.map(\.0)
            for (j, e) in sorted.enumerated() {
                func agg(_ xs: [Ev]) -> (Int64, Double, Double, Double) {
                    (Int64(xs.count), xs.reduce(0) { $0 + $1.v }, xs.map(\.v).min() ?? .infinity, xs.map(\.v).max() ?? -.infinity)
                }
                let f0 = agg(Array(sorted[..<j]))
                let f1 = agg(Array(sorted[max(0, j - 3)...j]))
                let range = sorted.filter { $0.ts >= e.ts - 10_000 && $0.ts <= e.ts }
                let f2 = agg(range)
                var others = range
                others.remove(at: others.firstIndex { $0.id == e.id }!)
                let f3 = agg(others)
                let fs = [f0, f1, f2, f3]
                expected[e.id] = Row(c: fs.map(\.0), s: fs.map(\.1), mn: fs.map(\.2), mx: fs.map(\.3), prev: j == 0 ? -1 : sorted[j - 1].id)
            }
        }
        var late = Set<Int64>()
        var seen = Set<Int64>()
        var lastTs: [Int64: Int64] = [:]
        for r in out {
            if r.topic == "t.late" {
                late.insert((decodeJSON(r)["id"] as! NSNumber).int64Value)
                continue
            }
            let v = decodeJSON(r)
            let id = (v["id"] as! NSNumber).int64Value
            #expect(!seen.contains(id), "row \(id) emitted twice")
            seen.insert(id)
            let ev = evs[Int(id)]
            #expect(ev.ts >= lastTs[ev.key, default: .min], "rows of a key leave in event-time order")
            lastTs[ev.key] = ev.ts
            #expect(header(r, "riverbank.source") == "in/0/\(id)", "lineage of row \(id)")
            guard let x = expected[id] else { Issue.record("unexpected row \(id) (seed \(seed))"); continue }
            for i in 0..<4 {
                #expect(Int64(v["c\(i)"] as! String) == x.c[i], "count \(i) of row \(id) (seed \(seed))")
                #expect(close(Double(v["s\(i)"] as! String)!, x.s[i]), "sum \(i) of row \(id) (seed \(seed))")
                #expect(Double(v["mn\(i)"] as! String) == x.mn[i], "min \(i) of row \(id)")
                #expect(Double(v["mx\(i)"] as! String) == x.mx[i], "max \(i) of row \(id)")
            }
            #expect((v["prev"] as! NSNumber).int64Value == x.prev, "previous row of \(id) (seed \(seed))")
        }
        #expect(seen == Set(expected.keys))
        #expect(late == expectedLate)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func overMatchesOracle(seed: UInt64) throws {
        // Coarse timestamps (multiples of 500 ms) make same-time peers common.
        var evs = makeEvents(seed: seed, count: 1500, keys: 12, step: 400, jitter: 3000, lateShare: 0.04, lateBy: 30_000)
        for i in evs.indices { evs[i].ts -= evs[i].ts % 500 }
        try run(seed: seed, events: evs, ooo: 2000)
    }

    @Test func jobCRuleOnHistoryInEventTimeOrder() throws {
        // The fraud rule's shape: flag amount > 3 × the average of the previous amounts.
        let job = StreamJob(name: "t")
        job.source(topic: "in", as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .seconds(10))
            .keyBy { StreamKey($0.key) }
            .over([OverMeasure(.unbounded, excludeCurrent: true) { $0.v }])
            .filter { $0.measures[0].count > 0 && $0.value.v > 3 * $0.measures[0].sum / Double($0.measures[0].count) }
            .sink(topic: "out", key: { _ in nil }) { r, w in w.field("id", r.value.id) }
        let p = try LocalPipeline(job: job)
        // Arrives out of order: 100 at t=3 s is earlier in event time than the spike's row.
        p.push(topic: "in", json: Ev(id: 0, key: 1, ts: 1_000, v: 10).json)
        p.push(topic: "in", json: Ev(id: 1, key: 1, ts: 5_000, v: 40).json)   // 40 > 3 × avg(10, 100)? no: 3 × 55
        p.push(topic: "in", json: Ev(id: 2, key: 1, ts: 3_000, v: 100).json)  // 100 > 3 × 10: yes
        p.finish()
        let flagged = p.drain().map { (decodeJSON($0)["id"] as! NSNumber).int64Value }
        #expect(flagged == [2])
    }
}
