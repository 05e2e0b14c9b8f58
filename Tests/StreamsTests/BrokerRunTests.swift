import Broker
import Foundation
import KafkaClient
import Logging
import MetricsTestKit
import NIOCore
import NIOPosix
import ServiceLifecycle
@testable import Streams
import Testing

/// Jobs against a real broker (in-process, real sockets and logs): the consumer and producer
/// paths, bounded runs over several partitions and workers, and idleness.
@Suite(.serialized, .timeLimit(.minutes(2))) struct BrokerRunTests {
    let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func freePort() throws -> Int {
        let s = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? s.close().wait() }
        return s.localAddress?.port ?? 0
    }

    /// Runs `body` with a broker listening on a fresh port.
    func withBroker(_ body: (String) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rb-streams-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = BrokerConfig()
        c.dataDir = dir.path
        c.listenPort = try freePort()
        let broker = RiverbankBroker(config: c, logger: quiet)
        let group = ServiceGroup(services: [broker], logger: quiet)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try await broker.listening()
            try await body("127.0.0.1:\(port)")
            await group.triggerGracefulShutdown()
            try await tasks.next()
        }
    }

    func produce(_ bootstrap: String, topic: String, partitions: Int32, _ events: [(Ev, Int32)]) async throws {
        let admin = try KafkaAdmin(bootstrap: bootstrap)
        _ = try await admin.createTopics([NewTopic(name: topic, partitions: partitions, replicationFactor: 1)])
        await admin.close()
        var pc = try KafkaProducerConfig(bootstrap: bootstrap)
        pc.client.logger = quiet
        let p = try KafkaProducer(config: pc)
        for (e, part) in events {
            try await p.produce(ProducerRecord(topic: topic, key: String(e.key), value: e.json, partition: part, timestamp: e.ts))
        }
        await p.flush()
        await p.close()
    }

    func readAll(_ bootstrap: String, topic: String, atLeast n: Int, within: Duration = .seconds(20)) async throws -> [ConsumerRecord] {
        var cc = try KafkaConsumerConfig(bootstrap: bootstrap)
        cc.autoOffsetReset = .earliest
        cc.client.logger = quiet
        let c = try KafkaConsumer(config: cc)
        let admin = try KafkaAdmin(bootstrap: bootstrap)
        // The job creates its output topics when it starts: wait for them.
        var parts = 0
        let until = ContinuousClock.now + .seconds(10)
        while parts == 0 {
            do { parts = try await admin.describeTopic(topic).partitionCount } catch {
                if ContinuousClock.now > until { throw error }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        await admin.close()
        try await c.assign((0..<parts).map { TopicPartition(topic, Int32($0)) })
        var out: [ConsumerRecord] = []
        var it = c.records.makeAsyncIterator()
        let deadline = ContinuousClock.now + within
        while out.count < n && ContinuousClock.now < deadline {
            if let chunk = try await it.nextChunk(until: min(deadline, .now + .milliseconds(200))) { out += chunk }
        }
        await c.close()
        return out
    }

    func tumblingJob(input: String, output: String, idle: Duration? = nil) -> StreamJob {
        let job = StreamJob(name: "it-\(output)")
        job.source(topic: input, as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .seconds(2), idleTimeout: idle)
            .keyBy { StreamKey($0.key) }
            .window(.tumbling(size: 60_000)) { (a: inout Stats, e: Ev) in a.add(e.v) }
            .sink(topic: output, key: { $0.key.bytes }) { r, w in
                w.field("key", r.key.int); w.field("start", r.start); w.field("cnt", r.value.count); w.field("sum", r.value.sum)
            }
        return job
    }

    @Test func boundedRunOverFourPartitionsAndTwoWorkersMatchesTheOracle() async throws {
        try await withBroker { bootstrap in
            // Keys stay in one partition (key % 4), as a keyed producer does.
            let evs = makeEvents(seed: 5, count: 20_000, keys: 200, step: 50, jitter: 2000)
            try await produce(bootstrap, topic: "tx", partitions: 4, evs.map { ($0, Int32($0.key % 4)) })
            var config = try StreamJobConfig(bootstrap: bootstrap)
            config.parallelism = 2
            config.bounded = true
            config.client.logger = quiet
            let metrics = TestMetrics()
            config.metricsFactory = metrics
            let report = try await StreamJobRunner(job: tumblingJob(input: "tx", output: "out"), config: config, logger: quiet).execute()
            #expect(report.recordsIn == evs.count)
            #expect(report.late == 0 && report.deadLettered == 0)
            // Per task and per operator, through swift-metrics.
            var inTotal: Int64 = 0, windowIn: Int64 = 0
            for p in 0..<4 {
                let d = [("job", "it-out"), ("partition", "\(p)")]
                inTotal += try metrics.expectCounter("riverbank_streams_records_in_total", d).totalValue
                windowIn += try metrics.expectCounter("riverbank_streams_operator_records_in_total", d + [("operator", "window-1")]).totalValue
                #expect(try metrics.expectGauge("riverbank_streams_state_entries", d).lastValue == 0, "every window fired and dropped")
            }
            #expect(inTotal == Int64(evs.count))
            #expect(windowIn == Int64(evs.count))

            var expected: [String: (Int, Double)] = [:]
            for e in evs {
                let id = "\(e.key)/\(floorDivT(e.ts, 60_000) * 60_000)"
                let x = expected[id, default: (0, 0)]
                expected[id] = (x.0 + 1, x.1 + e.v)
            }
            let out = try await readAll(bootstrap, topic: "out", atLeast: expected.count)
            #expect(out.count == expected.count)
            #expect(report.recordsOut == expected.count)
            for r in out {
                let v = try JSONSerialization.jsonObject(with: Data(r.valueBytes!)) as! [String: Any]
                let id = "\(v["key"]!)/\(v["start"]!)"
                guard let x = expected[id] else { Issue.record("unexpected window \(id)"); continue }
                #expect((v["cnt"] as! NSNumber).intValue == x.0)
                #expect(close((v["sum"] as! NSNumber).doubleValue, x.1))
                #expect(r.keyString == "\(v["key"]!)")
            }
        }
    }

    /// Output the broker refuses for its content (here: no key for a compacted topic) goes to
    /// the dead-letter topic with the reason; its batch neighbours are sent again; the job
    /// goes on and its report counts the dead letters.
    @Test func refusedOutputGoesToTheDeadLetterTopicAndTheJobGoesOn() async throws {
        try await withBroker { bootstrap in
            let evs = makeEvents(seed: 9, count: 3000, keys: 50, step: 20, jitter: 500)
            try await produce(bootstrap, topic: "rtx", partitions: 2, evs.map { ($0, Int32($0.key % 2)) })
            let admin = try KafkaAdmin(bootstrap: bootstrap)
            _ = try await admin.createTopics([NewTopic(name: "rout", partitions: 1, replicationFactor: 1, configs: ["cleanup.policy": "compact"])])
            await admin.close()
            let job = StreamJob(name: "it-refused")
            job.source(topic: "rtx", as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .seconds(1))
                .sink(topic: "rout", key: { $0.key % 10 == 0 ? nil : Array("k\($0.key)".utf8) }) { e, w in w.field("id", e.id) }
            var config = try StreamJobConfig(bootstrap: bootstrap)
            config.bounded = true
            config.client.logger = quiet
            let report = try await StreamJobRunner(job: job, config: config, logger: quiet).execute()
            let keyless = evs.filter { $0.key % 10 == 0 }
            #expect(report.recordsIn == evs.count)
            #expect(report.deadLettered == keyless.count)
            let out = try await readAll(bootstrap, topic: "rout", atLeast: evs.count - keyless.count, within: .seconds(10))
            func id(_ r: ConsumerRecord) -> Int64 { ((try! JSONSerialization.jsonObject(with: Data(r.valueBytes!)) as! [String: Any])["id"] as! NSNumber).int64Value }
            #expect(out.map(id).sorted() == evs.filter { $0.key % 10 != 0 }.map(\.id).sorted(), "every keyed row once")
            let dead = try await readAll(bootstrap, topic: "it-refused.dead-letter", atLeast: keyless.count, within: .seconds(10))
            #expect(dead.map(id).sorted() == keyless.map(\.id).sorted(), "every keyless row dead-lettered")
            if let d = dead.first {
                let reason = d.headers.first { $0.key == "riverbank.dead-letter.reason" }?.value.map { String(buffer: $0) } ?? ""
                #expect(reason.contains("rout") && reason.contains("no key"), "reason: \(reason)")
                #expect(d.headers.contains { $0.key == "riverbank.dead-letter.operator" && $0.value.map { String(buffer: $0) } == "sink rout" })
            }
        }
    }

    @Test func aQuietPartitionStopsHoldingTimeBackAfterTheIdleTimeout() async throws {
        try await withBroker { bootstrap in
            // All data in partition 0; partition 1 never gets any.
            let evs = (0..<300).map { Ev(id: Int64($0), key: 1, ts: 1_767_225_600_000 + Int64($0) * 1000, v: 1) }
            try await produce(bootstrap, topic: "quiet", partitions: 2, evs.map { ($0, 0) })

            for idle in [nil, Duration.milliseconds(300)] {
                let output = idle == nil ? "held" : "released"
                var config = try StreamJobConfig(bootstrap: bootstrap)
                config.client.logger = quiet
                config.tick = .milliseconds(50)
                let runner = StreamJobRunner(job: tumblingJob(input: "quiet", output: output, idle: idle), config: config, logger: quiet)
                try await withThrowingTaskGroup(of: Void.self) { g in
                    g.addTask { _ = try await runner.execute() }
                    // 300 s of data: windows of minutes 0–3 can close once time may pass them.
                    let out = try await readAll(bootstrap, topic: output, atLeast: 4, within: .seconds(idle == nil ? 3 : 15))
                    if idle == nil {
                        #expect(out.isEmpty, "without an idle timeout the empty partition holds every window open")
                    } else {
                        let starts = out.map { (try! JSONSerialization.jsonObject(with: Data($0.valueBytes!)) as! [String: Any])["start"] as! NSNumber }
                        #expect(starts.map(\.int64Value) == [0, 1, 2, 3].map { 1_767_225_600_000 + $0 * 60_000 })
                    }
                    runner.stop()
                    try await g.waitForAll()
                }
            }
        }
    }

    @Test func stopWritesACheckpointAndANewVersionContinuesFromIt() async throws {
        try await withBroker { bootstrap in
            let evs = makeEvents(seed: 8, count: 6000, keys: 40, step: 100, jitter: 1000)
            try await produce(bootstrap, topic: "up", partitions: 2, evs.map { ($0, Int32($0.key % 2)) })
            func job(version: String, extraFilter: Bool = false, window: WindowSpec = .tumbling(size: 60_000)) -> StreamJob {
                let j = StreamJob(name: "upgrade", version: version)
                var s = j.source(topic: "up", as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .seconds(2))
                if extraFilter { s = s.filter(name: "new-filter") { _ in true } }
                s.keyBy { StreamKey($0.key) }
                    .window(window, name: "spend") { (a: inout Stats, e: Ev) in a.add(e.v) }
                    .sink(topic: "up-out", key: { $0.key.bytes }) { r, w in
                        w.field("key", r.key.int); w.field("start", r.start); w.field("cnt", r.value.count)
                    }
                return j
            }
            var config = try StreamJobConfig(bootstrap: bootstrap)
            config.client.logger = quiet
            config.checkpointInterval = .seconds(60)  // only the stop writes one
            config.tick = .milliseconds(20)
            // Version 1 reads everything there is, then is stopped: its open windows go into
            // the checkpoint (not to the sink).
            let v1 = StreamJobRunner(job: job(version: "1"), config: config, logger: quiet)
            try await withThrowingTaskGroup(of: JobReport.self) { g in
                g.addTask { try await v1.execute() }
                let deadline = ContinuousClock.now + .seconds(20)
                while v1.progress.snapshot.recordsIn < evs.count && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                v1.stop()
                let r = try await g.next()!
                #expect(r.recordsIn == evs.count)
                #expect(r.checkpoints >= 1)
            }
            // An incompatible version (the operator keeps another kind of state under the same
            // name) is refused before it reads anything.
            let bad = StreamJobRunner(job: job(version: "3", window: .hopping(size: 60_000, slide: 30_000)), config: config, logger: quiet)
            await #expect(throws: StreamsError.self) { _ = try await bad.execute() }
            #expect(bad.progress.snapshot.recordsIn == 0)
            // Version 2 adds an operator; it restores "spend" and, bounded, finishes the windows.
            config.bounded = true
            let v2 = try await StreamJobRunner(job: job(version: "2", extraFilter: true), config: config, logger: quiet).execute()
            #expect(v2.restoredTasks == 2)
            #expect(v2.recordsIn == 0, "nothing is read twice")
            var expected: [String: Int] = [:]
            for e in evs { expected["\(e.key)/\(floorDivT(e.ts, 60_000) * 60_000)", default: 0] += 1 }
            let out = try await readAll(bootstrap, topic: "up-out", atLeast: expected.count)
            var got: [String: Int] = [:]
            for r in out {
                let v = try JSONSerialization.jsonObject(with: Data(r.valueBytes!)) as! [String: Any]
                let id = "\(v["key"]!)/\(v["start"]!)"
                #expect(got[id] == nil, "window \(id) emitted twice")
                got[id] = (v["cnt"] as! NSNumber).intValue
            }
            #expect(got == expected)
        }
    }

    /// The checkpoint store against a broker: restore from the topic alone (chunks fetched by
    /// the manifest's offsets, several chunks per task), from a matching local copy, not from
    /// a stale one; a crash between chunks and manifest leaves chunks that the next checkpoint
    /// tombstones; a checkpoint topic from before the split gets its chunk partition.
    @Test func checkpointStoreRestoresFromEitherCopyAndCleansUpAfterACrash() async throws {
        try await withBroker { bootstrap in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rb-ckpt-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var client = try KafkaClientConfig(bootstrap: bootstrap)
            client.logger = quiet
            let admin = KafkaAdmin(config: client)
            // An old single-partition topic: the chunk partition is added.
            _ = try await admin.createTopics([NewTopic(name: "ck.checkpoints", partitions: 1, replicationFactor: 1)])
            try await CheckpointStore.createTopic(job: "ck", admin: admin)
            #expect(try await admin.describeTopic("ck.checkpoints").partitions.count == 2)
            func snap(_ task: Int32, _ id: Int64, size: Int) -> TaskSnapshot {
                var rng = SplitMix(seed: UInt64(id) * 10 + UInt64(task))
                let state = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
                return TaskSnapshot(job: "ck", version: "1", checkpointID: id, partition: task, watermark: id * 1000,
                                    inputs: [.init(topic: "in", partition: task, nextOffset: id * 10, maxEventTime: id)],
                                    operators: [(name: "op", kind: "k", state: state[...])])
            }
            let big = CheckpointStore.chunkBytes * 2 + 1000  // three chunks
            let a = try CheckpointStore(job: "ck", client: client, localDirectory: dir, logger: quiet)
            try await a.save([snap(0, 1, size: big), snap(1, 1, size: 100)])
            try await a.save([snap(0, 2, size: big), snap(1, 2, size: 100)])
            // A crash after the chunks of checkpoint 3, before its manifest.
            try await a.producer.produce(ProducerRecord(topic: a.topic, key: Array("task/0/writing".utf8),
                                                        value: CheckpointIntent(checkpointID: 3, chunks: 3).encode(), partition: 0))
            for i in 0..<3 {
                try await a.producer.produce(ProducerRecord(topic: a.topic, key: Array(CheckpointStore.chunkKey(0, 3, i).utf8), value: [1, 2, 3], partition: 1))
            }
            await a.producer.flush()
            await a.close()

            // A fresh machine: the topic alone.
            let b = try CheckpointStore(job: "ck", client: client, localDirectory: nil, logger: quiet)
            let (fromTopic, local0) = try await b.load()
            #expect(local0 == 0)
            #expect(fromTopic[0] == snap(0, 2, size: big) && fromTopic[1] == snap(1, 2, size: 100))
            let garbage = b.garbage.withLock { $0 }
            // The crashed checkpoint's chunks, and what checkpoint 2 replaced (tombstoned again:
            // harmless), never what checkpoint 2 needs.
            #expect(garbage.isSuperset(of: (0..<3).map { CheckpointStore.Place(partition: 1, key: CheckpointStore.chunkKey(0, 3, $0)) }))
            #expect(garbage.allSatisfy { !$0.key.contains("/chunk/2/") })
            await b.close()

            // The same machine: the local copies; a stale one is passed over for the topic.
            try CheckpointStore.writeAtomically([snap(1, 1, size: 100).encode()[...], [0]], to: "\(dir)/ck/task-1.ckpt")
            let c = try CheckpointStore(job: "ck", client: client, localDirectory: dir, logger: quiet)
            let (restored, local) = try await c.load()
            #expect(local == 1)
            #expect(restored[0] == snap(0, 2, size: big) && restored[1] == snap(1, 2, size: 100))
            // A kill after checkpoint 4's manifests, before its tombstones: the next start
            // still knows what 4 replaced (2's chunks, 3's crashed ones) and tombstones them.
            try await c.save([snap(0, 4, size: 100), snap(1, 4, size: 100)], crashAfterManifests: true)
            await c.close()
            let d = try CheckpointStore(job: "ck", client: client, localDirectory: dir, logger: quiet)
            let (after, _) = try await d.load()
            #expect(after[0] == snap(0, 4, size: 100))
            try await d.save([snap(0, 5, size: 100), snap(1, 5, size: 100)])
            await d.close()
            var latest: [String: Bool] = [:]
            for r in try await readAll(bootstrap, topic: "ck.checkpoints", atLeast: 100_000, within: .seconds(3)) {
                if let k = r.keyString { latest[k] = r.value != nil }
            }
            let live = latest.filter { $0.key.contains("/chunk/") && $0.value }.keys.sorted()
            #expect(live == [CheckpointStore.chunkKey(0, 5, 0), CheckpointStore.chunkKey(1, 5, 0)])
            await admin.close()
        }
    }
}
