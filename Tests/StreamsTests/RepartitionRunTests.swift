import Foundation
import KafkaClient
@testable import Streams
import Testing

/// Re-keying through a repartition topic against a real broker: windows keyed by something
/// other than the partition key see every record of their key (not one partial result per
/// partition), and a first stage that reads its input again does not count it twice.
extension BrokerRunTests {
    /// Records keyed (and partitioned) by `key`, windows by `key % 7`.
    func regroupedJob(name: String, input: String, output: String) -> StreamJob {
        let job = StreamJob(name: name)
        job.source(topic: input, as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .seconds(2))
            .repartition(name: "by-group") { e in Array("\(e.key % 7)".utf8) }
            .keyBy { StreamKey($0.key % 7) }
            .window(.tumbling(size: 60_000), name: "per-group") { (a: inout Stats, e: Ev) in a.add(e.v) }
            .sink(topic: output, key: { $0.key.bytes }) { r, w in
                w.field("group", r.key.int); w.field("start", r.start); w.field("cnt", r.value.count); w.field("sum", r.value.sum)
            }
        return job
    }

    func groupOracle(_ evs: [Ev]) -> [String: (Int, Double)] {
        var expected: [String: (Int, Double)] = [:]
        for e in evs {
            let id = "\(e.key % 7)/\(floorDivT(e.ts, 60_000) * 60_000)"
            let x = expected[id, default: (0, 0)]
            expected[id] = (x.0 + 1, x.1 + e.v)
        }
        return expected
    }

    @Test func aKeyOtherThanThePartitionKeyIsRepartitionedAndEveryWindowIsWhole() async throws {
        try await withBroker { bootstrap in
            let evs = makeEvents(seed: 11, count: 12_000, keys: 300, step: 40, jitter: 1500)
            try await produce(bootstrap, topic: "rk", partitions: 4, evs.map { ($0, Int32($0.key % 4)) })
            var config = try StreamJobConfig(bootstrap: bootstrap)
            config.parallelism = 2
            config.bounded = true
            config.client.logger = quiet
            let job = regroupedJob(name: "rk-job", input: "rk", output: "rk-out")
            #expect(job.allStages.map(\.identity.name) == ["rk-job", "rk-job.by-group"])
            let report = try await StreamJobRunner(job: job, config: config, logger: quiet).execute()
            #expect(report.recordsIn == evs.count)
            #expect(report.late == 0 && report.deadLettered == 0)
            let expected = groupOracle(evs)
            #expect(report.recordsOut == expected.count, "one result per group and window, not one per partition")
            let out = try await readAll(bootstrap, topic: "rk-out", atLeast: expected.count)
            #expect(out.count == expected.count)
            for r in out {
                let v = try JSONSerialization.jsonObject(with: Data(r.valueBytes!)) as! [String: Any]
                let id = "\(v["group"]!)/\(v["start"]!)"
                guard let x = expected[id] else { Issue.record("unexpected window \(id)"); continue }
                #expect((v["cnt"] as! NSNumber).intValue == x.0, "window \(id)")
                #expect(close((v["sum"] as! NSNumber).doubleValue, x.1))
            }
            let admin = try KafkaAdmin(bootstrap: bootstrap)
            #expect(try await admin.describeTopic("rk-job.by-group.repartition").partitionCount == 4)
            await admin.close()
        }
    }

    /// Event times far from now (a replay of history, simulated traffic) stay in the records'
    /// values: the repartition topic's records carry the broker's time, which it accepts.
    @Test func eventTimesFarFromNowCrossTheRepartitionTopic() async throws {
        try await withBroker { bootstrap in
            let future: Int64 = Int64(Date().timeIntervalSince1970 * 1000) + 60 * 86_400_000
            let evs = makeEvents(seed: 13, count: 3000, keys: 50, step: 40, jitter: 1500).map {
                Ev(id: $0.id, key: $0.key, ts: $0.ts - 1_700_000_000_000 + future, v: $0.v)
            }
            let admin = try KafkaAdmin(bootstrap: bootstrap)
            _ = try await admin.createTopics([NewTopic(name: "rf", partitions: 2, replicationFactor: 1)])
            await admin.close()
            var pc = try KafkaProducerConfig(bootstrap: bootstrap)
            pc.client.logger = quiet
            let p = try KafkaProducer(config: pc)
            for e in evs {  // the record's timestamp is the send time, as a producer's
                try await p.produce(ProducerRecord(topic: "rf", key: String(e.key), value: e.json, partition: Int32(e.key % 2)))
            }
            await p.flush()
            await p.close()
            var config = try StreamJobConfig(bootstrap: bootstrap)
            config.bounded = true
            config.client.logger = quiet
            let runner = StreamJobRunner(job: regroupedJob(name: "rf-job", input: "rf", output: "rf-out"), config: config, logger: quiet)
            let report = try await runner.execute()
            #expect(runner.stageProgress.first?.report.recordsIn == evs.count, "every row crossed the repartition topic")
            // The windows' results carry their event time (this sink's choice), which the broker
            // refuses: they are dead letters with the reason, not lost.
            #expect(report.recordsOut == groupOracle(evs).count)
            #expect(report.deadLettered == groupOracle(evs).count)
        }
    }

    @Test func aFirstStageThatReadsItsInputAgainIsNotCountedTwice() async throws {
        try await withBroker { bootstrap in
            let evs = makeEvents(seed: 12, count: 8000, keys: 120, step: 60, jitter: 1500)
            try await produce(bootstrap, topic: "rd", partitions: 2, evs.map { ($0, Int32($0.key % 2)) })
            var config = try StreamJobConfig(bootstrap: bootstrap)
            config.client.logger = quiet
            config.checkpointInterval = .milliseconds(200)
            config.tick = .milliseconds(20)
            // Run 1 reads everything and stops: both stages checkpoint.
            let first = StreamJobRunner(job: regroupedJob(name: "rd-job", input: "rd", output: "rd-out"), config: config, logger: quiet)
            try await withThrowingTaskGroup(of: JobReport.self) { g in
                g.addTask { try await first.execute() }
                let deadline = ContinuousClock.now + .seconds(30)
                func applied() -> Int { first.stageProgress.first?.report.recordsIn ?? 0 }
                while applied() < evs.count && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                #expect(applied() >= evs.count, "the second stage read every record")
                first.stop()
                _ = try await g.next()!
            }
            // The first stage loses its checkpoint (as after a crash before its first one):
            // it reads the input from the start and writes all of it again.
            let admin = try KafkaAdmin(bootstrap: bootstrap)
            _ = try await admin.deleteTopics(["rd-job.checkpoints"])
            await admin.close()
            try await Task.sleep(for: .milliseconds(300))
            config.bounded = true
            let second = try await StreamJobRunner(job: regroupedJob(name: "rd-job", input: "rd", output: "rd-out"), config: config, logger: quiet).execute()
            #expect(second.recordsIn == evs.count, "the first stage read its input again")
            let expected = groupOracle(evs)
            let out = try await readAll(bootstrap, topic: "rd-out", atLeast: expected.count)
            var got: [String: Int] = [:]
            for r in out {
                let v = try JSONSerialization.jsonObject(with: Data(r.valueBytes!)) as! [String: Any]
                let id = "\(v["group"]!)/\(v["start"]!)"
                #expect(got[id] == nil, "window \(id) emitted twice")
                got[id] = (v["cnt"] as! NSNumber).intValue
            }
            #expect(got == expected.mapValues(\.0))
        }
    }
}

/// The same pipeline driven by hand: what the first stage writes, handed to the second twice,
/// is applied once; watermarks come from the first stage's tasks.
@Suite struct RepartitionPipelineTests {
    @Test func theSecondStageSkipsWhatItHasAppliedAndWaitsForEveryWritingTask() throws {
        let job = StreamJob(name: "rp")
        job.source(topic: "in", as: Ev.self, eventTime: { $0.ts })
            .repartition(name: "regroup") { e in Array("\(e.key % 3)".utf8) }
            .keyBy { StreamKey($0.key % 3) }
            .window(.tumbling(size: 1000), name: "w") { (a: inout Stats, e: Ev) in a.add(e.v) }
            .sink(topic: "out", key: { $0.key.bytes }) { r, w in w.field("g", r.key.int); w.field("cnt", r.value.count) }
        let stage1 = try LocalPipeline(job: job)
        let stage2 = try LocalPipeline(job: job.stages[0])
        let evs = (0..<60).map { Ev(id: Int64($0), key: Int64($0 % 10), ts: Int64($0) * 100, v: 1) }
        for e in evs { stage1.push(topic: "in", value: Array("{\"id\":\(e.id),\"key\":\(e.key),\"ts\":\(e.ts),\"v\":1}".utf8)) }
        stage1.finish()
        let written = stage1.ctx.takeOutput()
        let topic = "rp.regroup.repartition"
        #expect(written.allSatisfy { $0.topic == topic })
        func feed(_ records: [ProducerRecord]) {
            for r in records {
                stage2.push(topic: topic, value: r.value.map { Array($0.readableBytesView) }, timestamp: r.timestamp ?? 0)
            }
        }
        // The elements without the watermark records: nothing fires.
        let elements = written.filter { $0.partition == nil || $0.key != nil }
        feed(elements)
        #expect(stage2.drain().isEmpty)
        // Again (a replay), then the watermark (end of input): each window once, whole.
        feed(elements)
        feed(written.filter { $0.key == nil })
        let out = stage2.drain().filter { $0.topic == "out" }
        var counts: [Int: Int] = [:]
        for e in evs { counts[Int(e.key % 3) * 100 + Int(e.ts / 1000), default: 0] += 1 }
        #expect(out.count == counts.count)
        let total = out.reduce(0) { acc, r in
            let v = try! JSONSerialization.jsonObject(with: Data(r.value!.readableBytesView)) as! [String: Any]
            return acc + (v["cnt"] as! NSNumber).intValue
        }
        #expect(total == evs.count, "the replayed elements were skipped")
    }
}
