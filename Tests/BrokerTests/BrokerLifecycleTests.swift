@testable import Broker
import Foundation
import KafkaClient
import Logging
@testable import LogStore
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle
import Testing

/// The broker as a swift-service-lifecycle Service, in-process: a real listener, a real
/// client, real logs in a temporary directory.
@Suite struct BrokerLifecycleTests {
    let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func makeConfig(_ dir: URL) throws -> BrokerConfig {
        var c = BrokerConfig()
        c.dataDir = dir.path
        c.listenPort = try freePort()  // not 0: Metadata advertises the configured port
        c.drainTimeoutMs = 20_000  // far above what a drain should take: the tests show it is not what ends it
        return c
    }

    func freePort() throws -> Int {
        let s = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? s.close().wait() }
        return s.localAddress?.port ?? 0
    }

    func tempDir() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("rb-lifecycle-\(UUID().uuidString)")
    }

    func producer(port: Int) throws -> KafkaProducer {
        var pc = try KafkaProducerConfig(bootstrap: "127.0.0.1:\(port)")
        pc.linger = .zero
        pc.deliveryTimeout = .seconds(15)
        pc.client.logger = quiet
        return try KafkaProducer(config: pc)
    }

    /// Partition directories (not the cluster metadata) and whether each was closed cleanly.
    func partitionDirs(_ dir: URL) throws -> [String: Bool] {
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix("__") }
        return Dictionary(uniqueKeysWithValues: names.map {
            ($0, FileManager.default.fileExists(atPath: dir.appendingPathComponent("\($0)/\(LogRecovery.cleanShutdownFile)").path))
        })
    }

    func accepts(port: Int) async -> Bool {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }

    func eventually(_ what: String, within: Duration = .seconds(10), _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + within
        while !(await condition()) {
            if ContinuousClock.now > deadline { throw TestFailure(description: "timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    struct TestFailure: Error, CustomStringConvertible { let description: String }

    @Test func gracefulShutdownAnswersAnInFlightAcksAllProduceThenClosesLogsCleanly() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let registry = PrometheusCollectorRegistry()
        let broker = RiverbankBroker(config: try makeConfig(dir), logger: quiet, registry: registry)
        let group = ServiceGroup(services: [broker], logger: quiet)
        let stopped = OneShot<Void>()

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                try await group.run()
                stopped.succeed(())
            }
            let port = try await broker.listening()
            let producer = try producer(port: port)
            let first = try await producer.send(ProducerRecord(topic: "orders", key: "c-1", value: "before"))

            // Hold fsyncs back, so the next acks=all produce is in flight when shutdown begins.
            let flusher = try #require(broker.running).flusher
            flusher.pause()
            let second = Task { try await producer.send(ProducerRecord(topic: "orders", key: "c-1", value: "in flight")) }
            try await eventually("the produce to wait for its fsync") { flusher.pendingCount > 0 }
            let t0 = ContinuousClock.now
            await group.triggerGracefulShutdown()

            try await eventually("the listener to close") { await !accepts(port: port) }
            try await Task.sleep(for: .milliseconds(200))
            #expect(!stopped.isFulfilled, "the broker stopped with an acks=all produce unanswered")

            flusher.resume()
            let answered = try await second.value
            #expect(answered.partition == first.partition && answered.offset == first.offset + 1)
            try await tasks.next()
            #expect(ContinuousClock.now - t0 < .seconds(10), "the drain waited for its timeout instead of the connection")
            await producer.close()
        }

        let dirs = try partitionDirs(dir)
        #expect(!dirs.isEmpty)
        #expect(dirs.values.allSatisfy { $0 }, "partitions without .clean-shutdown: \(dirs.filter { !$0.value }.keys.sorted())")
        var text = [UInt8]()
        registry.emit(into: &text)
        #expect(String(decoding: text, as: UTF8.self).contains("riverbank_produced_records_total 2"))

        // Reopened: both records are there (and the data directory lock was released).
        let again = RiverbankBroker(config: try makeConfig(dir), logger: quiet)
        try await again.start()
        let log = try #require(again.running?.topics.topic(named: "orders")?.partition(0)?.log)
        #expect(log.logEndOffset == 2)
        await again.shutdown()
    }

    @Test func startAndShutdownOutsideAServiceGroup() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try makeConfig(dir)
        let broker = RiverbankBroker(config: config, logger: quiet)
        try await broker.start()
        #expect(broker.boundPort > 0)
        let producer = try producer(port: broker.boundPort)
        _ = try await producer.send(ProducerRecord(topic: "payments", key: "k", value: "v"))
        await producer.close()

        // A second broker on the same directory is refused while the first holds it.
        let rival = RiverbankBroker(config: config, logger: quiet)
        await #expect(throws: DataDirectory.InUse.self) { try await rival.start() }

        await broker.shutdown()
        #expect(try partitionDirs(dir) == ["payments-0": true])
        await #expect(throws: RiverbankBroker.LifecycleError.self) { try await broker.start() }
    }

    @Test func cancellationStillClosesLogsCleanly() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let broker = RiverbankBroker(config: try makeConfig(dir), logger: quiet)
        let run = Task { try await broker.run() }
        let port = try await broker.listening()
        let producer = try producer(port: port)
        _ = try await producer.send(ProducerRecord(topic: "alerts", key: "k", value: "v"))
        run.cancel()
        try await run.value
        #expect(try partitionDirs(dir) == ["alerts-0": true])
        await producer.close()
    }

    @Test func aStartUpFailureIsReportedAndReleasesTheDirectory() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try makeConfig(dir)
        let taken = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: config.listenPort).get()
        let broker = RiverbankBroker(config: config, logger: quiet)
        await #expect(throws: (any Error).self) { try await broker.run() }
        await #expect(throws: (any Error).self) { _ = try await broker.listening() }
        try await taken.close()

        let next = RiverbankBroker(config: config, logger: quiet)
        try await next.start()
        await next.shutdown()
    }
}
