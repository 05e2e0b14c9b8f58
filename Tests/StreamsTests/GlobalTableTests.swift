import Foundation
import KafkaClient
import Logging
import NIOCore
@testable import Streams
import Testing

/// Global tables against a real broker: loaded whole before the first record, kept up to date
/// while the job runs, tombstones delete, unreadable records go to the dead-letter topic.
@Suite(.serialized, .timeLimit(.minutes(2))) struct GlobalTableTests {
    let rt = BrokerRunTests()
    var quiet: Logger { rt.quiet }

    /// A table record: key, value (nil: tombstone), partition.
    func produceTable(_ bootstrap: String, topic: String, partitions: Int32, compacted: Bool = true, _ records: [(String?, String?, Int32)]) async throws {
        let admin = try KafkaAdmin(bootstrap: bootstrap)
        _ = try await admin.createTopics([NewTopic(name: topic, partitions: partitions, replicationFactor: 1,
                                                   configs: ["cleanup.policy": compacted ? "compact" : "delete"])],
                                         ifNotExists: true)
        await admin.close()
        var pc = try KafkaProducerConfig(bootstrap: bootstrap)
        pc.client.logger = quiet
        let p = try KafkaProducer(config: pc)
        for (k, v, part) in records {
            try await p.produce(ProducerRecord(topic: topic, key: k.map { ByteBuffer(string: $0) }, value: v.map { ByteBuffer(string: $0) },
                                               partition: part))
        }
        await p.flush()
        await p.close()
    }

    func lookupJob(name: String, input: String, table: String, output: String) -> (StreamJob, GlobalTable<Ev>) {
        let job = StreamJob(name: name)
        let profiles = job.globalTable(topic: table, as: Ev.self, name: "profiles")
        job.source(topic: input, as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .seconds(1))
            .lookup(profiles, key: { StreamKey("k\($0.key)") }) { e, p in (e, p?.v) }
            .sink(topic: output, key: { Array("\($0.0.id)".utf8) }) { r, w in
                w.field("id", r.0.id)
                w.field("tier", r.1)
            }
        return (job, profiles)
    }

    func rows(_ out: [ConsumerRecord]) -> [Int64: Double?] {
        var m: [Int64: Double?] = [:]
        for r in out {
            let v = try! JSONSerialization.jsonObject(with: Data(r.valueBytes!)) as! [String: Any]
            // updateValue: assigning nil through the subscript would remove the key.
            m.updateValue((v["tier"] as? NSNumber)?.doubleValue, forKey: (v["id"] as! NSNumber).int64Value)
        }
        return m
    }

    @Test(arguments: [3, 11]) func lookupsMeetTheTableAsLoadedBeforeTheFirstRecord(seed: UInt64) async throws {
        try await rt.withBroker { bootstrap in
            var rng = SplitMix(seed: seed)
            // Several versions per key, some deleted; a key's records in one partition, in order.
            var latest: [String: Double] = [:]
            var table: [(String?, String?, Int32)] = []
            for i in 0..<20_000 {
                let k = Int.random(in: 0..<50, using: &rng)
                let key = "k\(k)"
                if Int.random(in: 0..<6, using: &rng) == 0 {
                    table.append((key, nil, Int32(k % 3)))
                    latest[key] = nil
                } else {
                    let v = Double(i)
                    table.append((key, Ev(id: Int64(i), key: Int64(k), ts: 0, v: v).json, Int32(k % 3)))
                    latest[key] = v
                }
            }
            // Unreadable: no key (a compacted topic refuses it: this one is not); not JSON. The
            // key keeps its previous value.
            table.insert((nil, Ev(id: -1, key: 1, ts: 0, v: -1).json, 0), at: 10_000)
            table.append(("k7", "{not json", 1))
            try await produceTable(bootstrap, topic: "profiles", partitions: 3, compacted: false, table)

            let evs = makeEvents(seed: seed, count: 4000, keys: 60, step: 10, jitter: 200)
            try await rt.produce(bootstrap, topic: "ltx", partitions: 2, evs.map { ($0, Int32($0.key % 2)) })
            var config = try StreamJobConfig(bootstrap: bootstrap)
            config.bounded = true
            config.client.logger = quiet
            let (job, profiles) = lookupJob(name: "it-lookup", input: "ltx", table: "profiles", output: "enriched")
            let report = try await StreamJobRunner(job: job, config: config, logger: quiet).execute()
            #expect(report.recordsIn == evs.count)
            #expect(report.deadLettered == 2)
            #expect(profiles.count == latest.count)

            let raw = try await rt.readAll(bootstrap, topic: "enriched", atLeast: evs.count)
            let out = rows(raw)
            #expect(out.count == evs.count)
            var wrong = 0
            for e in evs where out[e.id] != .some(latest["k\(e.key)"]) { wrong += 1 }
            #expect(wrong == 0, "rows whose tier is not the key's latest table value")
            #expect(evs.contains { latest["k\($0.key)"] == nil }, "some events meet no entry")

            let dead = try await rt.readAll(bootstrap, topic: "it-lookup.dead-letter", atLeast: 2, within: .seconds(10))
            #expect(dead.count == 2)
            let reasons = dead.compactMap { $0.headers.first { $0.key == "riverbank.dead-letter.reason" }?.value.map { String(buffer: $0) } }
            #expect(reasons.contains("table record has no key"), "reasons: \(reasons)")
            #expect(dead.allSatisfy { $0.headers.contains { $0.key == "riverbank.dead-letter.operator" && $0.value.map { String(buffer: $0) } == "table profiles" } })
        }
    }

    @Test func updatesWhileTheJobRunsReachLaterLookupsAndAMissingTopicIsMade() async throws {
        try await rt.withBroker { bootstrap in
            try await produceTable(bootstrap, topic: "tiers", partitions: 1, [("k1", Ev(id: 0, key: 1, ts: 0, v: 1).json, 0)])
            let base: Int64 = 1_767_225_600_000
            try await rt.produce(bootstrap, topic: "utx", partitions: 1, [(Ev(id: 1, key: 1, ts: base, v: 0), 0)])
            var config = try StreamJobConfig(bootstrap: bootstrap)
            config.client.logger = quiet
            config.tick = .milliseconds(20)
            let (job, tiers) = lookupJob(name: "it-live", input: "utx", table: "tiers", output: "live")
            let missing = job.globalTable(topic: "no-such-table", as: Ev.self)
            let runner = StreamJobRunner(job: job, config: config, logger: quiet)
            try await withThrowingTaskGroup(of: Void.self) { g in
                g.addTask { _ = try await runner.execute() }
                var first = rows(try await rt.readAll(bootstrap, topic: "live", atLeast: 1))
                #expect(first[1] == .some(1))
                // A new value, then a delete, each seen by the next event once the reader has it.
                for (id, value) in [(Int64(2), Optional(2.0)), (3, nil)] {
                    try await produceTable(bootstrap, topic: "tiers", partitions: 1,
                                           [("k1", value.map { Ev(id: 9, key: 1, ts: 0, v: $0).json }, 0)])
                    let until = ContinuousClock.now + .seconds(10)
                    while tiers.get(StreamKey("k1"))?.v != value && ContinuousClock.now < until { try await Task.sleep(for: .milliseconds(10)) }
                    try await rt.produce(bootstrap, topic: "utx", partitions: 1, [(Ev(id: id, key: 1, ts: base + id * 1000, v: 0), 0)])
                    first = rows(try await rt.readAll(bootstrap, topic: "live", atLeast: Int(id)))
                    #expect(first[id] == .some(value), "event \(id)")
                }
                runner.stop()
                try await g.waitForAll()
            }
            #expect(missing.count == 0)
            let admin = try KafkaAdmin(bootstrap: bootstrap)
            #expect(try await admin.describeTopic("no-such-table").partitionCount == 1)
            await admin.close()
        }
    }
}
