import Foundation
import KafkaClient
@testable import Streams
import Testing

/// Event-time operators after event-time operators: what one emits as the watermark passes
/// reaches the next before that one sees the new watermark, so nothing of it is late.
@Suite struct ChainedTimeTests {
    @Test func anOverAfterAnOverSeesEveryRowInEventTimeOrder() throws {
        let job = StreamJob(name: "t")
        job.source(topic: "in", as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .seconds(2))
            .keyBy { StreamKey($0.key) }
            .over([.count(.unbounded)], name: "first")
            .map { $0.value }
            .keyBy { StreamKey($0.key) }
            .over([.count(.unbounded, excludeCurrent: true)], name: "second")
            .sink(topic: "out", key: { _ in nil }) { r, w in
                w.field("id", r.value.id); w.field("before", r.measures[0].count)
            }
        let p = try LocalPipeline(job: job)
        var evs: [Ev] = []
        for i in 0..<3000 { evs.append(Ev(id: Int64(i), key: Int64(i % 5), ts: Int64(i) * 1_000 - Int64((i * 7919) % 1_500), v: 1)) }
        for e in evs { p.push(topic: "in", json: e.json) }
        p.finish()
        let out = p.drain()
        #expect(out.filter { $0.topic == "t.late" }.isEmpty, "rows the first OVER released were judged late by the second")
        var want: [Int64: Int] = [:]
        for (_, es) in Dictionary(grouping: evs, by: \.key) {
            for (j, e) in es.sorted(by: { ($0.ts, $0.id) < ($1.ts, $1.id) }).enumerated() { want[e.id] = j }
        }
        var got: [Int64: Int] = [:]
        for r in out where r.topic == "out" {
            let v = decodeJSON(r)
            got[Int64(v["id"] as! Int)] = v["before"] as? Int
        }
        #expect(got == want)
    }
}
