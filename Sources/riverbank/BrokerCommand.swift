import ArgumentParser
import Broker
import Dispatch
import Foundation
import Logging
import Metrics
import Prometheus

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
        // Only the executable bootstraps swift-metrics: one registry for the process, which the
        // broker records in and serves.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "riverbank.broker")
        // Signal handling is in place before anyone can learn we are up, so a SIGTERM sent the
        // moment the ready line appears is never lost.
        let termination = TerminationSignal()
        let broker: RiverbankBroker
        do {
            broker = try RiverbankBroker(config: config, logger: logger, registry: registry)
            try await broker.start()
        } catch {
            logger.critical("broker failed to start", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        print("riverbank broker listening on \(config.listenHost):\(broker.boundPort)")
        fflush(nil)  // flush every stream: tests wait for this line
        await termination.wait()
        logger.info("shutting down")
        await broker.shutdown()
    }
}

/// SIGINT/SIGTERM, turned from process signals into something async code can await.
final class TerminationSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var fired = false
    private var waiter: CheckedContinuation<Void, Never>?
    private var sources: [any DispatchSourceSignal] = []

    init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)  // delivered through the dispatch source instead
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler { [weak self] in self?.fire() }
            src.resume()
            sources.append(src)
        }
    }

    private func fire() {
        lock.lock()
        fired = true
        let w = waiter
        waiter = nil
        lock.unlock()
        w?.resume()
    }

    func wait() async {
        await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
            lock.lock()
            if fired {
                lock.unlock()
                cont.resume()
            } else {
                waiter = cont
                lock.unlock()
            }
        }
    }
}
