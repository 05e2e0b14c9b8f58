import Foundation
import KafkaClient
@testable import Streams
import Testing

/// Per-key values with their times: the process function's state in the tests.
struct Recent: StateCodable, Sendable {
    var times: [Int64] = []
    var values: [Double] = []

    init() {}
    func write(to w: inout StateWriter) { times.write(to: &w); values.write(to: &w) }
    init(from r: inout StateReader) throws(StateError) {
        times = try [Int64](from: &r)
        values = try [Double](from: &r)
    }
}

@Suite struct ProcessTests {
    /// For every event, at its time + 0 in event time (a timer), the sum of the key's values
    /// in the 5 s before: a rolling window built from state and timers, checked by brute force.
    static func rollingJob() -> StreamJob {
        let job = StreamJob(name: "p")
        job.source(topic: "in", as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .seconds(3))
            .keyBy { StreamKey($0.key) }
            .process(name: "rolling", state: Recent.self, ttl: .seconds(60), onElement: { (e: Ev, c: inout ProcessContext<Recent, String>) in
                var s = c.state ?? Recent()
                s.times.append(e.ts)
                s.values.append(e.v)
                c.state = s
                c.registerTimer(e.ts)
            }, onTimer: { t, domain, c in
                guard domain == .eventTime, var s = c.state else { return }
                var sum = 0.0, n = 0
                for (x, v) in zip(s.times, s.values) where x > t - 5000 && x <= t { sum += v; n += 1 }
                c.emit("\(c.key)/\(t)/\(n)/\((sum * 100).rounded() / 100)")
                // Keep what later timers can still need (timers fire in time order).
                let keep = s.times.indices.filter { s.times[$0] > t - 5000 }
                s.times = keep.map { s.times[$0] }
                s.values = keep.map { s.values[$0] }
                c.state = s
            })
            .sink(topic: "out", key: { _ in nil }) { v, w in w.field("r", v) }
        return job
    }

    static func expected(_ evs: [Ev]) -> Set<String> {
        var out = Set<String>()
        for e in evs {
            let same = evs.filter { $0.key == e.key && $0.ts > e.ts - 5000 && $0.ts <= e.ts }
            let sum = same.reduce(0.0) { $0 + $1.v }
            out.insert("\(e.key)/\(e.ts)/\(same.count)/\((sum * 100).rounded() / 100)")
        }
        return out
    }

    @Test(arguments: [1, 2] as [UInt64])
    func stateAndEventTimeTimersMatchBruteForce(seed: UInt64) throws {
        var evs = makeEvents(seed: seed, count: 1500, keys: 15, step: 200, jitter: 3000)
        for i in evs.indices { evs[i].ts -= evs[i].ts % 100 }  // same-time events: one timer each
        let p = try LocalPipeline(job: Self.rollingJob())
        for e in evs { p.push(topic: "in", json: e.json) }
        p.finish()
        let got = p.drain().map { decodeJSON($0)["r"] as! String }
        #expect(got.count == Set(got).count, "a timer registered twice fired twice")
        let want = Self.expected(evs)
        #expect(Set(got) == want, "missing \(want.subtracting(got).sorted().prefix(3)), extra \(Set(got).subtracting(want).sorted().prefix(3)), \(got.count) vs \(want.count)")
    }

    @Test func checkpointedMidwayGivesTheSameResults() throws {
        let evs = makeEvents(seed: 4, count: 1200, keys: 10, step: 250, jitter: 2500)
        let first = try LocalPipeline(job: Self.rollingJob())
        for e in evs[..<700] { first.push(topic: "in", json: e.json) }
        let before = first.drain().map { decodeJSON($0)["r"] as! String }
        let second = try LocalPipeline(job: Self.rollingJob(), restoring: try TaskSnapshot(decoding: first.snapshot().encode()))
        for e in evs[700...] { second.push(topic: "in", json: e.json) }
        second.finish()
        let after = second.drain().map { decodeJSON($0)["r"] as! String }
        let want = Self.expected(evs), all = Set(before + after)
        #expect(all == want, "missing \(want.subtracting(all).sorted().prefix(3)), extra \(all.subtracting(want).sorted().prefix(3))")
        #expect(before.count + after.count == Set(before + after).count)
    }

    @Test func processingTimeTimersAndStateTTL() throws {
        let job = StreamJob(name: "p")
        job.source(topic: "in", as: Ev.self, eventTime: { $0.ts })
            .keyBy { StreamKey($0.key) }
            .process(name: "pt", state: Int64.self, ttl: .seconds(10), onElement: { (e: Ev, c: inout ProcessContext<Int64, String>) in
                c.emit("seen \(c.key) before=\(c.state ?? 0)")
                c.state = (c.state ?? 0) + 1
                if e.id == 0 { c.registerTimer(5_000, .processingTime) }
                if e.id == 1 { c.registerTimer(6_000, .processingTime); c.deleteTimer(6_000, .processingTime) }
            }, onTimer: { t, d, c in
                c.emit("timer \(t) \(d == .processingTime ? "pt" : "et") state=\(c.state ?? -1)")
            })
            .sink(topic: "out", key: { _ in nil }) { v, w in w.field("r", v) }
        let p = try LocalPipeline(job: job)
        p.push(topic: "in", json: Ev(id: 0, key: 7, ts: 1_000, v: 1).json)
        p.push(topic: "in", json: Ev(id: 1, key: 7, ts: 2_000, v: 1).json)
        p.advanceProcessingTime(to: 4_999)
        p.advanceProcessingTime(to: 6_500)
        // 10 s of event time without a write: the key's state expires.
        p.push(topic: "in", json: Ev(id: 2, key: 8, ts: 20_000, v: 1).json)
        p.push(topic: "in", json: Ev(id: 3, key: 7, ts: 21_000, v: 1).json)
        let got = p.drain().map { decodeJSON($0)["r"] as! String }
        #expect(got == ["seen 7 before=0", "seen 7 before=1", "timer 5000 pt state=2", "seen 8 before=0", "seen 7 before=0"])
    }
}

/// A profile row of the table side.
struct Profile: JSONRecord, StateCodable, Equatable {
    static let jsonFields = JSONFieldTable(["key", "ts", "tier"])
    var key: Int64
    var ts: Int64
    var tier: String

    init(key: Int64, ts: Int64, tier: String) { self.key = key; self.ts = ts; self.tier = tier }
    init(json f: JSONFields) throws(FormatError) { key = try f.int64(0); ts = try f.int64(1); tier = try f.string(2) }
    func write(to w: inout StateWriter) { w.int(key); w.int(ts); w.string(tier) }
    init(from r: inout StateReader) throws(StateError) { key = try r.int(); ts = try r.int(); tier = try r.string() }
    var json: String { "{\"key\":\(key),\"ts\":\(ts),\"tier\":\"\(tier)\"}" }
}

@Suite struct TableJoinTests {
    static func job() -> StreamJob {
        let job = StreamJob(name: "j")
        let events = job.source(topic: "ev", as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .seconds(2))
        let profiles = job.source(topic: "profiles", as: Profile.self, eventTime: { $0.ts }, outOfOrderness: .seconds(2))
        events.keyBy { StreamKey($0.key) }
            .join(profiles.keyBy { StreamKey($0.key) }, name: "enrich") { e, p in "\(e.id):\(p?.tier ?? "none")" }
            .sink(topic: "out", key: { _ in nil }) { v, w in w.field("r", v) }
        return job
    }

    /// Each event meets the profile version current at its event time, whatever the order in
    /// which the two topics' records arrive; checked against the versions by brute force.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func eventsMeetTheVersionOfTheirTime(seed: UInt64) throws {
        let evs = makeEvents(seed: seed, count: 2000, keys: 12, step: 300, jitter: 1500)
        var rng = SplitMix(seed: seed + 100)
        let base: Int64 = 1_767_225_600_000
        var profiles: [Profile] = []
        for i in 0..<300 {
            let ts = base + Int64(i) * 2000 - Int64.random(in: 0...1500, using: &rng)
            profiles.append(Profile(key: Int64.random(in: 0..<12, using: &rng), ts: ts, tier: "t\(i)"))
        }
        let p = try LocalPipeline(job: Self.job())
        // Interleave the two inputs in arrival order of their (jittered) positions.
        var i = 0, j = 0
        while i < evs.count || j < profiles.count {
            let takeEvent = j >= profiles.count || (i < evs.count && Int64(i) * 300 < Int64(j) * 2000)
            if takeEvent { p.push(topic: "ev", json: evs[i].json); i += 1 } else { p.push(topic: "profiles", json: profiles[j].json); j += 1 }
        }
        p.finish()
        let got = Set(p.drain().filter { $0.topic == "out" }.map { decodeJSON($0)["r"] as! String })
        var want = Set<String>()
        for e in evs {
            // The latest version at or before the event's time; later-arriving same-time
            // versions replace earlier ones.
            let candidates = profiles.enumerated().filter { $0.element.key == e.key && $0.element.ts <= e.ts }
            let best = candidates.max { a, b in a.element.ts != b.element.ts ? a.element.ts < b.element.ts : a.offset < b.offset }
            want.insert("\(e.id):\(best?.element.tier ?? "none")")
        }
        #expect(got == want, "seed \(seed): \(got.symmetricDifference(want).sorted().prefix(4))")
    }
}
