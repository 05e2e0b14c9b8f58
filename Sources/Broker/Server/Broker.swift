import Dispatch
import Foundation
import Logging
import NIOConcurrencyHelpers
import Prometheus
import ServiceLifecycle

/// The Riverbank broker: one process, data in a local directory.
///
/// A swift-service-lifecycle `Service`: `run()` opens the data directory, serves clients and
/// runs the background work as child tasks until graceful shutdown — the listener closes,
/// in-flight requests are answered, the logs are closed cleanly — or cancellation (the same
/// without waiting for in-flight requests). Outside a `ServiceGroup`, `start()`/`shutdown()`
/// do the same.
public final class RiverbankBroker: Service, Sendable {
    public let config: BrokerConfig
    let logger: Logger
    /// What the broker's metrics are recorded in and `GET /metrics` serves.
    let registry: PrometheusCollectorRegistry

    private enum Phase { case idle, running, finished }
    private let phase = NIOLockedValueBox(Phase.idle)
    private let listeningPort = OneShot<Int>()
    private let stopRequested = OneShot<Void>()
    private let stopped = OneShot<Void>()
    private let opened = NIOLockedValueBox<RunningBroker?>(nil)
    private let startedTask = NIOLockedValueBox<Task<Void, any Error>?>(nil)

    public struct LifecycleError: Error, CustomStringConvertible {
        public let description: String
    }

    /// `registry` receives the broker's metrics and is what `--metrics-listen` serves; the
    /// process that hosts the broker passes its own (tests pass a fresh one, or none).
    public init(config: BrokerConfig, logger: Logger, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.config = config
        self.logger = logger
        self.registry = registry
    }

    /// The port clients connect to; 0 until the broker is listening.
    public var boundPort: Int { opened.withLockedValue { $0?.port ?? 0 } }

    /// Waits until clients can connect and returns the bound port; throws the start-up error
    /// if the broker could not start.
    public func listening() async throws -> Int {
        try await listeningPort.value()
    }

    public func run() async throws {
        try claimRun()
        try await runClaimed()
    }

    /// For callers outside a `ServiceGroup`: runs `run()` in a task the broker keeps (and
    /// `shutdown()` awaits), returning once clients can connect.
    public func start() async throws {
        try claimRun()
        startedTask.withLockedValue { $0 = Task { try await self.runClaimed() } }
        _ = try await listening()
    }

    /// Graceful stop, as on a ServiceGroup's graceful shutdown; returns once the logs are closed.
    public func shutdown() async {
        stopRequested.succeed(())
        let neverRan = phase.withLockedValue { p in
            guard p == .idle else { return false }
            p = .finished
            return true
        }
        if neverRan {
            listeningPort.fulfill(.failure(LifecycleError(description: "the broker was shut down before it started")))
            stopped.succeed(())
        }
        try? await stopped.value()
    }

    private func claimRun() throws {
        try phase.withLockedValue { p in
            guard p == .idle else { throw LifecycleError(description: "a broker runs once") }
            p = .running
        }
    }

    private func runClaimed() async throws {
        defer {
            phase.withLockedValue { $0 = .finished }
            stopped.succeed(())
        }
        try await withGracefulShutdownHandler {
            try await serve()
        } onGracefulShutdown: { [stopRequested] in
            stopRequested.succeed(())
        }
    }

    private func serve() async throws {
        let t0 = DispatchTime.now()
        let broker: RunningBroker
        do {
            broker = try await RunningBroker.open(config: config, logger: logger, registry: registry)
        } catch {
            listeningPort.fulfill(.failure(error))
            throw error
        }
        opened.withLockedValue { $0 = broker }
        listeningPort.succeed(broker.port)
        logger.info("broker ready", metadata: [
            "listen": "\(config.listenHost):\(broker.port)", "advertised": "\(config.advertised.host):\(config.advertised.port)",
            "data-dir": "\(config.dataDir)", "topics": "\(broker.topics.allTopics.count)",
            "startup-ms": "\(Self.milliseconds(since: t0))",
        ])

        let retentionInterval = Duration.milliseconds(config.retentionCheckIntervalMs)
        let tickInterval = Duration.milliseconds(broker.groups.config.tickIntervalMs)
        let drainTimeout = Duration.milliseconds(config.drainTimeoutMs)
        let stopping = await withDiscardingTaskGroup { background in
            // Background work, one child task each, all ended when the broker stops. (The log
            // cleaner runs on its own thread, owned by RunningBroker: its passes block on disk.)
            background.addTask {
                await repeatEvery(retentionInterval, after: .seconds(5)) { broker.topics.enforceRetention(now: RequestDispatcher.nowMs()) }
            }
            background.addTask {
                await repeatEvery(tickInterval) { broker.groups.tick() }
            }
            let transactionTick = Duration.milliseconds(broker.transactions.config.tickIntervalMs)
            background.addTask {
                await repeatEvery(transactionTick) { broker.transactions.tick() }
            }

            // Until graceful shutdown (or shutdown()); cancellation throws here and skips the wait.
            let graceful = (try? await stopRequested.value()) != nil
            let stopping = DispatchTime.now()
            logger.info("broker stopping", metadata: ["graceful": "\(graceful)", "connections": "\(broker.connections.count)"])
            await broker.drain(within: graceful ? drainTimeout : .zero)
            background.cancelAll()
            return stopping
        }
        await broker.close()
        logger.info("broker stopped", metadata: ["shutdown-ms": "\(Self.milliseconds(since: stopping))"])
    }
}

extension RiverbankBroker {
    static func milliseconds(since t0: DispatchTime) -> String {
        String(format: "%.1f", Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e6)
    }
}

extension RiverbankBroker: CustomStringConvertible {
    public var description: String { "RiverbankBroker(\(config.listenHost):\(config.listenPort))" }
}

extension RiverbankBroker {
    /// The open broker while it runs (tests look inside).
    var running: RunningBroker? { opened.withLockedValue { $0 } }
}
