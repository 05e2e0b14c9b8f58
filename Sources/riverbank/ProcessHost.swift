import ArgumentParser
import Broker
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// What every long-running command shares: logs to stderr at the configured level, one
/// Prometheus registry behind swift-metrics for the whole process (the libraries take it as
/// a parameter; only the executable bootstraps), and one ServiceGroup whose SIGINT/SIGTERM
/// handling shuts every service down gracefully, in reverse order of the list.
struct ProcessHost {
    let registry = PrometheusCollectorRegistry()

    init(logLevel: String) {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    func logger(label: String) -> Logger { Logger(label: label) }

    /// Runs `services` until a signal or a failure, printing the line tests and scripts wait
    /// for once `broker` is listening. Failures are logged and exit non-zero.
    func run(_ services: [any Service], readyWhen broker: RiverbankBroker) async throws {
        let logger = Logger(label: "riverbank")
        var config = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // A shutdown stuck past the broker's own drain bound becomes a cancellation, which
        // still closes the logs but waits for nothing.
        config.maximumGracefulShutdownDuration = .milliseconds(broker.config.drainTimeoutMs) + .seconds(10)
        let group = ServiceGroup(configuration: config)
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                // The group traps the signals before it starts any service, so a SIGTERM sent
                // the moment the ready line appears is never lost.
                tasks.addTask { try await group.run() }
                tasks.addTask {
                    let port = try await broker.listening()
                    print("riverbank broker listening on \(broker.config.listenHost):\(port)")
                    fflush(nil)  // every stream: tests wait for this line
                }
                try await tasks.waitForAll()
            }
        } catch {
            let what = broker.boundPort == 0 ? "broker failed to start" : "riverbank stopped on an error"
            logger.critical("\(what)", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}
