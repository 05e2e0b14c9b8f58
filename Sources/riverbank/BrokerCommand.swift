import ArgumentParser
import Broker
import Dispatch
import Foundation
import Logging

struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run the Kafka-compatible broker.",
        discussion: """
        Settings come from flags, then RIVERBANK_* environment variables (RIVERBANK_DATA_DIR, RIVERBANK_LISTEN, \
        RIVERBANK_ADVERTISED, RIVERBANK_METRICS_LISTEN, RIVERBANK_TOPICS_DIR, …), then the --config YAML file.
        """
    )

    @Option(help: "YAML config file (keys as the flags: data-dir, listen, advertised, …).") var config: String?
    @Option(help: "Directory holding the partition logs.") var dataDir: String?
    @Option(help: "Address to listen on, host:port.") var listen: String?
    @Option(help: "Address given to clients in Metadata, host:port (default: the listen address).") var advertised: String?
    @Option(help: "Prometheus endpoint address host:port ('off' to disable).") var metricsListen: String?
    @Option(help: "Folder of topic definitions applied at start-up.") var topicsDir: String?
    @Option(help: "Largest request frame accepted, in bytes.") var maxRequestBytes: Int?
    @Option(help: "Partitions of auto-created topics.") var defaultPartitions: Int?
    @Option(help: "trace, debug, info, notice, warning, error, critical.") var logLevel: String?

    func resolvedConfig() throws -> BrokerConfig {
        var c = BrokerConfig()
        if let config { try c.apply(yaml: String(contentsOfFile: config, encoding: .utf8)) }
        try c.apply(environment: ProcessInfo.processInfo.environment)
        let flags: [(String, String?)] = [
            ("data-dir", dataDir), ("listen", listen), ("advertised", advertised), ("metrics-listen", metricsListen),
            ("topics-dir", topicsDir), ("max-request-bytes", maxRequestBytes.map(String.init)),
            ("default-partitions", defaultPartitions.map(String.init)), ("log-level", logLevel),
        ]
        for (k, v) in flags { if let v { try c.apply(key: k, value: v) } }
        return c
    }

    func run() async throws {
        let config = try resolvedConfig()
        let level = Logger.Level(rawValue: config.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "riverbank.broker")
        let broker: RiverbankBroker
        do {
            broker = try RiverbankBroker(config: config, logger: logger)
            try await broker.start()
        } catch {
            logger.critical("broker failed to start", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        print("riverbank broker listening on \(config.listenHost):\(broker.boundPort)")
        fflush(nil)  // flush every stream: tests wait for this line
        await waitForTermination()
        logger.info("shutting down")
        await broker.shutdown()
    }
}

/// Suspends until SIGINT or SIGTERM.
func waitForTermination() async {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
        let once = Once()
        for sig in [SIGINT, SIGTERM] {
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler { if once.fire() { cont.resume() } }
            src.resume()
            Signals.keep(src)
        }
    }
}

final class Once: @unchecked Sendable {
    private let lock = NSLock()
    private var fired = false
    func fire() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if fired { return false }
        fired = true
        return true
    }
}

enum Signals {
    nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []
    static func keep(_ s: any DispatchSourceSignal) { sources.append(s) }
}
