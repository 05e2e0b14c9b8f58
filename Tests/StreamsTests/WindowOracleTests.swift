import Foundation
import KafkaClient
@testable import Streams
import Testing

/// Window results against a brute-force oracle over the same rows: every window of every key
/// recomputed from the events that the watermark at their arrival still admits.
@Suite struct WindowOracleTests {
    struct Expected {
        var count = 0
        var sum = 0.0
        var min = Double.infinity
        var max = -Double.infinity
    }

    /// Windows holding a timestamp, as (start, end), computed directly from the definition.
    static func windows(_ spec: WindowSpec, _ ts: Int64) -> [(Int64, Int64)] {
        switch spec {
        case .tumbling(let size):
            let s = floorDivT(ts, size) * size
            return [(s, s + size)]
        case .hopping(let size, let slide):
            var out: [(Int64, Int64)] = []
            var s = floorDivT(ts, slide) * slide
            while s > ts - size {
                out.append((s, s + size))
                s -= slide
            }
            return out
        case .cumulate(let step, let maxSize):
            let p = floorDivT(ts, maxSize) * maxSize
            var out: [(Int64, Int64)] = []
            var e = p + step
            while e <= p + maxSize {
                if ts < e { out.append((p, e)) }
                e += step
            }
            return out
        case .session:
            preconditionFailure("sessions have their own oracle (SessionWindowTests)")
        }
    }

    func run(_ spec: WindowSpec, lateness: Int64, seed: UInt64, events evs: [Ev], ooo: Int64) throws {
        let job = StreamJob(name: "t")
        job.source(topic: "in", as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .milliseconds(ooo))
            .keyBy { StreamKey($0.key) }
            .window(spec, allowedLateness: .milliseconds(lateness), name: "w") { (a: inout Stats, e: Ev) in a.add(e.v) }
            .sink(topic: "out", key: { $0.key.bytes }) { r, w in
                w.field("key", r.key.int); w.field("start", r.start); w.field("end", r.end)
                w.field("cnt", r.value.count); w.field("sum", r.value.sum); w.field("min", r.value.min); w.field("max", r.value.max)
                w.field("update", r.isUpdate)
            }
        let p = try LocalPipeline(job: job)
        for e in evs { p.push(topic: "in", json: e.json) }
        p.finish()
        let out = p.drain()

        // Oracle.
        let wms = arrivalWatermarks(evs, outOfOrderness: ooo)
        var expected: [String: Expected] = [:]
        var expectedLate = Set<Int64>()
        for (i, e) in evs.enumerated() {
            let ws = Self.windows(spec, e.ts)
            let w = wms[i]
            let lastEnd = ws.map(\.1).max()!
            if w != .min && lastEnd - 1 + lateness <= w {
                expectedLate.insert(e.id)
                continue
            }
            for (s, end) in ws where w == .min || end - 1 + lateness > w {
                var x = expected["\(e.key)/\(s)/\(end)", default: Expected()]
                x.count += 1; x.sum += e.v; x.min = min(x.min, e.v); x.max = max(x.max, e.v)
                expected["\(e.key)/\(s)/\(end)"] = x
            }
        }

        var final: [String: [String: Any]] = [:]
        var late = Set<Int64>()
        for r in out {
            if r.topic == "t.late" {
                let v = decodeJSON(r)
                late.insert((v["id"] as! NSNumber).int64Value)
                #expect(header(r, "riverbank.late.reason")?.contains("allowed lateness") == true)
                #expect(header(r, "riverbank.late.operator") == "w")
                continue
            }
            #expect(r.topic == "out")
            let v = decodeJSON(r)
            let id = "\(v["key"]!)/\(v["start"]!)/\(v["end"]!)"
            let isUpdate = (v["update"] as! Bool)
            if final[id] == nil && isUpdate {
                // A window can first appear as an update only if late data alone filled it.
            } else if final[id] != nil {
                #expect(isUpdate, "second result for \(id) not flagged as an update (seed \(seed))")
            }
            final[id] = v
        }
        #expect(late == expectedLate, "late records differ (seed \(seed)): \(late.symmetricDifference(expectedLate).sorted().prefix(5))")
        #expect(Set(final.keys) == Set(expected.keys), "windows differ (seed \(seed)): \(Set(final.keys).symmetricDifference(expected.keys).sorted().prefix(5))")
        for (id, x) in expected {
            guard let v = final[id] else { continue }
            #expect((v["cnt"] as! NSNumber).intValue == x.count, "count of \(id) (seed \(seed))")
            #expect(close((v["sum"] as! NSNumber).doubleValue, x.sum), "sum of \(id) (seed \(seed))")
            #expect((v["min"] as! NSNumber).doubleValue == x.min, "min of \(id)")
            #expect((v["max"] as! NSNumber).doubleValue == x.max, "max of \(id)")
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func tumblingInOrderAndOutOfOrder(seed: UInt64) throws {
        let evs = makeEvents(seed: seed, count: 3000, keys: 25, step: 1000, jitter: 5000)
        try run(.tumbling(size: 60_000), lateness: 0, seed: seed, events: evs, ooo: 5000)
    }

    @Test(arguments: [11, 12, 13] as [UInt64])
    func tumblingWithLateDataAndAllowedLateness(seed: UInt64) throws {
        let evs = makeEvents(seed: seed, count: 3000, keys: 10, step: 1000, jitter: 2000, lateShare: 0.05, lateBy: 120_000)
        try run(.tumbling(size: 60_000), lateness: 0, seed: seed, events: evs, ooo: 1000)
        try run(.tumbling(size: 60_000), lateness: 30_000, seed: seed, events: evs, ooo: 1000)
    }

    @Test(arguments: [21, 22] as [UInt64])
    func hoppingMatchesOracle(seed: UInt64) throws {
        let evs = makeEvents(seed: seed, count: 3000, keys: 15, step: 700, jitter: 3000, lateShare: 0.03, lateBy: 200_000)
        try run(.hopping(size: 60_000, slide: 15_000), lateness: 0, seed: seed, events: evs, ooo: 2000)
        try run(.hopping(size: 60_000, slide: 15_000), lateness: 20_000, seed: seed, events: evs, ooo: 2000)
        // A slide that does not divide the size: slices of gcd(size, slide).
        try run(.hopping(size: 50_000, slide: 20_000), lateness: 10_000, seed: seed, events: evs, ooo: 2000)
    }

    @Test(arguments: [31, 32] as [UInt64])
    func cumulateMatchesOracle(seed: UInt64) throws {
        let evs = makeEvents(seed: seed, count: 3000, keys: 8, step: 900, jitter: 4000, lateShare: 0.03, lateBy: 100_000)
        try run(.cumulate(step: 10_000, maxSize: 60_000), lateness: 0, seed: seed, events: evs, ooo: 3000)
        try run(.cumulate(step: 10_000, maxSize: 60_000), lateness: 15_000, seed: seed, events: evs, ooo: 3000)
    }

    @Test func resultsDoNotDependOnWhenTheWatermarkAdvances() throws {
        // No late data: advancing after every record or only at the end gives the same windows.
        let evs = makeEvents(seed: 99, count: 2000, keys: 20, step: 500, jitter: 2000)
        func results(advanceEvery n: Int) throws -> [String] {
            let job = StreamJob(name: "t")
            job.source(topic: "in", as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .seconds(2))
                .keyBy { StreamKey($0.key) }
                .window(.hopping(size: 30_000, slide: 10_000)) { (a: inout Stats, e: Ev) in a.add(e.v) }
                .sink(topic: "out", key: { _ in nil }) { r, w in w.field("k", r.key.int); w.field("s", r.start); w.field("c", r.value.count) }
            let p = try LocalPipeline(job: job)
            for (i, e) in evs.enumerated() { p.push(topic: "in", json: e.json, advance: i % n == 0) }
            p.finish()
            return p.drain().map { String(buffer: $0.value!) }.sorted()
        }
        let a = try results(advanceEvery: 1)
        #expect(a.count > 100)
        #expect(try results(advanceEvery: 97) == a)
        #expect(try results(advanceEvery: 100_000) == a)
    }

    @Test func windowSpecsAreValidated() {
        let job = StreamJob(name: "t")
        job.source(topic: "in", as: Ev.self, eventTime: { $0.ts })
            .keyBy { StreamKey($0.key) }
            .window(.hopping(size: 10, slide: 20)) { (a: inout Stats, e: Ev) in a.add(e.v) }
            .sink(topic: "out", key: { _ in nil }) { _, _ in }
        #expect(throws: StreamsError.self) { try job.validate() }
    }
}
