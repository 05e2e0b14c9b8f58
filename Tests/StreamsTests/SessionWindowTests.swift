import Foundation
import KafkaClient
@testable import Streams
import Testing

/// Session windows against a brute-force oracle: per key, the sessions are the connected runs
/// of accepted events at most `gap` apart, recomputed from scratch at every arrival; an event
/// is late when the run it would join ends (last + gap − 1 + lateness) at or before the
/// watermark it meets; a run closes when the watermark passes its end + lateness.
@Suite struct SessionWindowTests {
    struct Run: Hashable {
        var key: Int64
        var start: Int64
        var end: Int64
        var count: Int
        var sum: Double
    }

    /// Connected runs of (ts, v) with gaps ≤ `gap`, as sessions [first, last + gap).
    static func runs(key: Int64, _ evs: [(Int64, Double)], gap: Int64) -> [Run] {
        var out: [Run] = []
        for (ts, v) in evs.sorted(by: { $0.0 < $1.0 }) {
            if var r = out.last, ts <= r.end {
                r.end = max(r.end, ts + gap); r.count += 1; r.sum += v
                out[out.count - 1] = r
            } else {
                out.append(Run(key: key, start: ts, end: ts + gap, count: 1, sum: v))
            }
        }
        return out
    }

    struct Oracle {
        var closed: [Run] = []
        var late: Set<Int64> = []
    }

    static func oracle(_ evs: [Ev], gap: Int64, lateness: Int64, ooo: Int64) -> Oracle {
        let wms = arrivalWatermarks(evs, outOfOrderness: ooo)
        var live: [Int64: [(Int64, Double)]] = [:]
        var o = Oracle()
        func close(upTo w: Int64) {
            for (k, es) in live {
                let rs = runs(key: k, es, gap: gap)
                let (done, open) = (rs.filter { $0.end - 1 + lateness <= w }, rs.filter { $0.end - 1 + lateness > w })
                o.closed += done
                live[k] = es.filter { e in open.contains { e.0 >= $0.start && e.0 < $0.end } }
            }
        }
        for (i, e) in evs.enumerated() {
            let w = wms[i]
            var es = live[e.key, default: []]
            es.append((e.ts, e.v))
            let run = runs(key: e.key, es, gap: gap).first { e.ts >= $0.start && e.ts < $0.end }!
            if w != .min && run.end - 1 + lateness <= w {
                o.late.insert(e.id)
            } else {
                live[e.key] = es
            }
            close(upTo: i + 1 < evs.count ? wms[i + 1] : .max)
        }
        return o
    }

    func run(gap: Int64, lateness: Int64, ooo: Int64, events evs: [Ev], seed: UInt64, advanceEvery: Int = 1) throws {
        let job = StreamJob(name: "t")
        job.source(topic: "in", as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .milliseconds(ooo))
            .keyBy { StreamKey($0.key) }
            .window(.session(gap: gap), allowedLateness: .milliseconds(lateness), name: "s") { (a: inout Stats, e: Ev) in a.add(e.v) }
            .sink(topic: "out", key: { $0.key.bytes }) { r, w in
                w.field("key", r.key.int); w.field("start", r.start); w.field("end", r.end)
                w.field("cnt", r.value.count); w.field("sum", r.value.sum); w.field("update", r.isUpdate)
            }
        let p = try LocalPipeline(job: job)
        for (i, e) in evs.enumerated() { p.push(topic: "in", json: e.json, advance: i % advanceEvery == 0) }
        p.finish()
        let out = p.drain()
        let o = Self.oracle(evs, gap: gap, lateness: lateness, ooo: ooo)

        var late = Set<Int64>()
        var results: [(Run, Bool)] = []
        for r in out {
            let v = decodeJSON(r)
            if r.topic == "t.late" {
                late.insert((v["id"] as! NSNumber).int64Value)
                #expect(header(r, "riverbank.late.operator") == "s")
                continue
            }
            results.append((Run(key: (v["key"] as! NSNumber).int64Value, start: (v["start"] as! NSNumber).int64Value,
                                end: (v["end"] as! NSNumber).int64Value, count: (v["cnt"] as! NSNumber).intValue,
                                sum: (v["sum"] as! NSNumber).doubleValue), v["update"] as! Bool))
        }
        #expect(late == o.late, "late records differ (seed \(seed)): \(late.symmetricDifference(o.late).sorted().prefix(5))")
        // Each closed run is the last result among those of its key that overlap it, and every
        // result lies inside one closed run (earlier ones were partial, later merged away).
        var lastByRun: [Run: (Run, Bool)] = [:]
        var seen: Set<String> = []
        for (r, isUpdate) in results {
            let owner = o.closed.first { $0.key == r.key && r.start >= $0.start && r.end <= $0.end }
            #expect(owner != nil, "result \(r) is inside no session of the oracle (seed \(seed))")
            if let owner { lastByRun[owner] = (r, isUpdate) }
            let id = "\(r.key)/\(r.start)"
            if seen.contains(id) { #expect(isUpdate, "second result for \(id) not flagged as an update (seed \(seed))") }
            seen.insert(id)
        }
        #expect(lastByRun.count == o.closed.count, "\(o.closed.count - lastByRun.count) sessions never emitted (seed \(seed))")
        for run in o.closed {
            guard let (got, _) = lastByRun[run] else { continue }
            #expect(got.start == run.start && got.end == run.end && got.count == run.count, "session \(run) came out as \(got) (seed \(seed))")
            #expect(close(got.sum, run.sum))
        }
        if lateness == 0 {
            #expect(results.allSatisfy { !$0.1 }, "no updates without allowed lateness")
            #expect(results.count == o.closed.count)
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func inOrderAndOutOfOrder(seed: UInt64) throws {
        // Keys with bursts and silences: ~40 events per key over 600 s, gap 20 s.
        let evs = makeEvents(seed: seed, count: 2000, keys: 50, step: 300, jitter: 4000)
        try run(gap: 20_000, lateness: 0, ooo: 4000, events: evs, seed: seed)
        try run(gap: 20_000, lateness: 0, ooo: 4000, events: evs, seed: seed, advanceEvery: 37)
    }

    @Test(arguments: [11, 12, 13, 14] as [UInt64])
    func lateDataMergesAndBridgesSessionsWithinTheLateness(seed: UInt64) throws {
        let evs = makeEvents(seed: seed, count: 2500, keys: 20, step: 400, jitter: 1000, lateShare: 0.06, lateBy: 90_000)
        try run(gap: 15_000, lateness: 0, ooo: 1000, events: evs, seed: seed)
        try run(gap: 15_000, lateness: 40_000, ooo: 1000, events: evs, seed: seed)
        try run(gap: 5_000, lateness: 20_000, ooo: 1000, events: evs, seed: seed)
    }

    @Test func aBridgingRecordMergesTwoSessionsIntoOneUpdate() throws {
        let job = StreamJob(name: "t")
        job.source(topic: "in", as: Ev.self, eventTime: { $0.ts })
            .keyBy { StreamKey($0.key) }
            .window(.session(gap: 20), allowedLateness: .milliseconds(100), name: "s") { (a: inout Stats, e: Ev) in a.add(e.v) }
            .sink(topic: "out", key: { _ in nil }) { r, w in
                w.field("s", r.start); w.field("e", r.end); w.field("c", r.value.count); w.field("u", r.isUpdate)
            }
        let p = try LocalPipeline(job: job)
        for (i, ts) in [100, 130, 200].enumerated() { p.push(topic: "in", json: Ev(id: Int64(i), key: 1, ts: Int64(ts), v: 1).json) }
        // Watermark 199: [100,120) and [130,150) fired; [120,140) touches both and bridges them.
        p.push(topic: "in", json: Ev(id: 9, key: 1, ts: 120, v: 1).json)
        p.finish()
        let rs = p.drain().map { String(buffer: $0.value!) }
        #expect(rs == [#"{"s":100,"e":120,"c":1,"u":false}"#, #"{"s":130,"e":150,"c":1,"u":false}"#,
                       #"{"s":100,"e":150,"c":3,"u":true}"#, #"{"s":200,"e":220,"c":1,"u":false}"#])
    }

    @Test func aSessionGapMustBePositive() {
        let job = StreamJob(name: "t")
        job.source(topic: "in", as: Ev.self, eventTime: { $0.ts })
            .keyBy { StreamKey($0.key) }
            .window(.session(gap: 0)) { (a: inout Stats, e: Ev) in a.add(e.v) }
            .sink(topic: "out", key: { _ in nil }) { _, _ in }
        #expect(throws: StreamsError.self) { try job.validate() }
    }
}
