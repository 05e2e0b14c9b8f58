import Foundation
@testable import Streams
import Testing

/// Versioned global tables: each record a version valid from its own time, a lookup seeing the
/// version in force at the element's event time — checked against a brute-force search over
/// every version ever written.
@Suite struct VersionedTableTests {
    /// The version in force at `t` among all written (later writes win at equal times).
    static func oracle(_ written: [(from: Millis, value: Int)], at t: Millis) -> Int? {
        var best: (from: Millis, index: Int, value: Int)? = nil
        for (i, w) in written.enumerated() where w.from <= t {
            if best == nil || w.from > best!.from || (w.from == best!.from && i > best!.index) { best = (w.from, i, w.value) }
        }
        return best?.value
    }

    @Test(arguments: [1, 2, 3, 4, 5]) func aLookupFindsTheVersionInForceWhateverOrderTheyCameIn(seed: UInt64) {
        var rng = SplitMix(seed: seed)
        var v = TableVersions<Int>()
        var written: [(from: Millis, value: Int)] = []
        for i in 0..<400 {
            // Mostly in time order, some late, some at a time already written.
            let from: Millis = Int.random(in: 0..<5, using: &rng) == 0 ? Millis(Int.random(in: 0..<10_000, using: &rng)) : Millis(i * 25 + Int.random(in: 0..<3, using: &rng))
            v.insert(i, from: from, history: .max / 2, maxVersions: 10_000)
            written.append((from, i))
            for _ in 0..<5 {
                let t = Millis(Int.random(in: 0..<11_000, using: &rng)) - 500
                #expect(v.at(t) == Self.oracle(written, at: t), "seed \(seed) after \(i) writes, lookup at \(t)")
            }
        }
        #expect(v.from == v.from.sorted())
    }

    /// History is trimmed behind the newest version, never the version still in force at the
    /// horizon; the count per key is capped.
    @Test func historyIsKeptForTheConfiguredSpanAndNoLonger() {
        var v = TableVersions<Int>()
        var written: [(from: Millis, value: Int)] = []
        for i in 0..<1_000 {
            v.insert(i, from: Millis(i) * 1_000, history: 100_000, maxVersions: 10_000)
            written.append((Millis(i) * 1_000, i))
        }
        // Newest at 999 s: versions from 899 s on, and the one in force at 899 s.
        #expect(v.from.first == 899_000 && v.from.count == 101)
        for t in stride(from: Millis(899_000), through: 1_100_000, by: 777) {
            #expect(v.at(t) == Self.oracle(written, at: t))
        }
        #expect(v.at(898_999) == nil)
        var capped = TableVersions<Int>()
        for i in 0..<100 { capped.insert(i, from: Millis(i), history: .max / 2, maxVersions: 8) }
        #expect(capped.from == Array(92..<100).map { Millis($0) } && capped.at(10_000) == 99)
    }

    /// Through a job: elements meet the version in force at their event time though the table
    /// holds later ones (a replay must not see the future); a tombstone deletes the key's
    /// history; a value without a time is refused with the reason; a plain table meets the latest.
    @Test func aJobLooksUpAsOfEachElementsEventTime() throws {
        let job = StreamJob(name: "vt")
        let versioned = job.globalTable(topic: "risk", as: Ev.self, name: "risk", versioning: TableVersioning(history: 1_000_000) {
            $0.ts >= 0 ? $0.ts : nil
        })
        let plain = job.globalTable(topic: "latest", as: Ev.self, name: "latest")
        job.source(topic: "in", as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .seconds(1))
            .lookup(versioned, key: { StreamKey("k\($0.key)") }) { e, r in (e, r?.v) }
            .lookup(plain, key: { StreamKey("k\($0.0.key)") }) { e, r in (e.0, e.1, r?.v) }
            .sink(topic: "out", key: { _ in nil }) { r, w in
                w.field("id", r.0.id)
                w.field("asof", r.1)
                w.field("latest", r.2)
            }
        let p = try LocalPipeline(job: job)
        func rec(_ key: Int64, ts: Int64, v: Double) -> (key: String?, json: String?) {
            ("k\(key)", Ev(id: 0, key: key, ts: ts, v: v).json)
        }
        // Out of order on the topic, as a repartitioned writer can leave them.
        #expect(p.loadTable(topic: "risk", [rec(1, ts: 5_000, v: 2), rec(1, ts: 1_000, v: 1), rec(1, ts: 9_000, v: 3),
                                            rec(2, ts: 2_000, v: 20), rec(3, ts: -1, v: 30)])
                == ["versioned table record has no version time"])
        #expect(p.loadTable(topic: "latest", [rec(1, ts: 0, v: 7)]).isEmpty)
        let events: [(Int64, Int64, Int64)] = [(1, 1, 500), (2, 1, 1_000), (3, 1, 4_999), (4, 1, 5_000), (5, 1, 8_000),
                                               (6, 1, 20_000), (7, 2, 1_999), (8, 2, 2_000), (9, 3, 3_000)]
        let want: [Int64: Double?] = [1: nil, 2: 1, 3: 1, 4: 2, 5: 2, 6: 3, 7: nil, 8: 20, 9: nil]
        for (id, key, ts) in events { p.push(topic: "in", json: Ev(id: id, key: key, ts: ts, v: 0).json) }
        #expect(p.loadTable(topic: "risk", [("k2", nil)]).isEmpty)
        p.push(topic: "in", json: Ev(id: 10, key: 2, ts: 30_000, v: 0).json)
        p.finish()
        var got: [Int64: Double?] = [:]
        var latest: [Int64: Double?] = [:]
        for r in p.drain() where r.topic == "out" {
            let o = decodeJSON(r)
            got.updateValue((o["asof"] as? NSNumber)?.doubleValue, forKey: Int64(o["id"] as! Int))
            latest.updateValue((o["latest"] as? NSNumber)?.doubleValue, forKey: Int64(o["id"] as! Int))
        }
        var w = want
        w.updateValue(nil, forKey: 10)
        #expect(got.count == w.count)
        for (id, v) in w { #expect(got[id] == .some(v), "element \(id)") }
        #expect(latest[1] == .some(7) && latest[9] == .some(nil))
        #expect(versioned.versionCount == 3 && versioned.get(StreamKey("k1")) != nil && versioned.get(StreamKey("k2")) == nil)
    }
}
