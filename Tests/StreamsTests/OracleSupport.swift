import Foundation
import KafkaClient
@testable import Streams

/// The test events: `{"id", "key", "ts", "v"}`.
struct Ev: JSONRecord, Equatable, StateCodable {
    func write(to w: inout StateWriter) { w.int(id); w.int(key); w.int(ts); w.double(v) }
    init(from r: inout StateReader) throws(StateError) {
        id = try r.int(); key = try r.int(); ts = try r.int(); v = try r.double()
    }

    static let jsonFields = JSONFieldTable(["id", "key", "ts", "v"])
    var id: Int64
    var key: Int64
    var ts: Int64
    var v: Double

    init(id: Int64, key: Int64, ts: Int64, v: Double) {
        self.id = id
        self.key = key
        self.ts = ts
        self.v = v
    }

    init(json f: JSONFields) throws(FormatError) {
        id = try f.int64(0)
        key = try f.int64(1)
        ts = try f.int64(2)
        v = try f.double(3)
    }

    var json: String { "{\"id\":\(id),\"key\":\(key),\"ts\":\(ts),\"v\":\(v)}" }
}

/// A small deterministic generator (SplitMix64), so a failing seed can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Events in arrival order: time moves forward by `step` per event, each jittered back by up
/// to `jitter`, and a fraction `lateShare` thrown far back (late data).
func makeEvents(seed: UInt64, count: Int, keys: Int, step: Int64, jitter: Int64, lateShare: Double = 0, lateBy: Int64 = 0) -> [Ev] {
    var rng = SplitMix(seed: seed)
    let base: Int64 = 1_767_225_600_000
    return (0..<count).map { i in
        var ts = base + Int64(i) * step - Int64.random(in: 0...jitter, using: &rng)
        if lateShare > 0 && Double.random(in: 0..<1, using: &rng) < lateShare { ts -= Int64.random(in: 0...lateBy, using: &rng) }
        let v = Double(Int.random(in: 1...100_000, using: &rng)) / 100
        return Ev(id: Int64(i), key: Int64.random(in: 0..<Int64(keys), using: &rng), ts: ts, v: v)
    }
}

/// The watermark each event meets on arrival when the watermark advances after every event:
/// the largest earlier event time − out-of-orderness − 1.
func arrivalWatermarks(_ evs: [Ev], outOfOrderness: Int64) -> [Int64] {
    var maxTs = Int64.min
    return evs.map { e in
        let w = maxTs == .min ? Int64.min : maxTs - outOfOrderness - 1
        maxTs = max(maxTs, e.ts)
        return w
    }
}

func floorDivT(_ a: Int64, _ b: Int64) -> Int64 { Int64((Double(a) / Double(b)).rounded(.down)) }

/// Parses a sink record's JSON value with Foundation (an independent decoder).
func decodeJSON(_ r: ProducerRecord) -> [String: Any] {
    let bytes = r.value.map { Array($0.readableBytesView) } ?? []
    return (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
}

func header(_ r: ProducerRecord, _ key: String) -> String? {
    r.headers.first { $0.key == key }?.value.map { String(buffer: $0) }
}

func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(1, abs(a), abs(b)) }
