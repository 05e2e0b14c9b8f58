import Definitions
import Foundation
import Logging
import LogStore
import NIOCore
import NIOPosix
import Prometheus

/// Everything a broker holds open while it runs: the data directory lock, the logs and their
/// flusher, the group coordinator, event loops, the listeners and the client connections.
/// Each opening step records how it is undone; a failed `open` and `close()` run that same
/// list backwards, so the order of closing lives in one place.
final class RunningBroker: Sendable {
    let logger: Logger
    let topics: TopicManager
    let groups: GroupCoordinator
    let transactions: TransactionCoordinator
    let flusher: LogFlusher
    let connections: ConnectionTracker
    let dispatcher: RequestDispatcher
    let server: any Channel
    /// The bound port (the configured one, or the one the OS chose for port 0).
    let port: Int
    private let teardown: [@Sendable () async -> Void]

    private init(logger: Logger, topics: TopicManager, groups: GroupCoordinator, transactions: TransactionCoordinator, flusher: LogFlusher,
                 connections: ConnectionTracker, dispatcher: RequestDispatcher, server: any Channel, port: Int,
                 teardown: [@Sendable () async -> Void]) {
        self.dispatcher = dispatcher
        self.logger = logger
        self.topics = topics
        self.groups = groups
        self.transactions = transactions
        self.flusher = flusher
        self.connections = connections
        self.server = server
        self.port = port
        self.teardown = teardown
    }

    /// Loads topics and groups, applies topic definitions, binds the listeners. Returns once
    /// clients can connect.
    static func open(config: BrokerConfig, logger: Logger, registry: PrometheusCollectorRegistry) async throws -> RunningBroker {
        // Definitions first: a bad file stops start-up before anything is opened or half-applied.
        let definitions = try config.topicsDir.map { try TopicDefinition.load(directory: $0) }
        var teardown: [@Sendable () async -> Void] = []
        do {
            // First up, last down: acks=all answers and parked requests completed while the
            // logs close still need their event loops.
            let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: max(1, System.coreCount))
            teardown.append { try? await eventLoops.shutdownGracefully() }
            // Disk reads that would stall an event loop run here; it outlives the connections.
            let ioThreads: NIOThreadPool? = config.ioThreads > 0 ? NIOThreadPool(numberOfThreads: config.ioThreads) : nil
            if let ioThreads {
                ioThreads.start()
                teardown.append { try? await ioThreads.shutdownGracefully() }
            }
            let dataDir = try DataDirectory(path: config.dataDir)
            teardown.append { dataDir.unlock() }
            let clusterId = try dataDir.clusterId(configured: config.clusterId)
            let flusher = LogFlusher(logger: logger)
            teardown.append { flusher.shutdown() }  // after the logs: it serves their last flushes
            let topics = try TopicManager(dataDir: dataDir.url, defaultConfig: config.defaultTopicConfig, flusher: flusher, logger: logger)
            teardown.append { topics.closeAll() }  // writes each partition's .clean-shutdown marker
            try topics.loadAll()
            let offsets = try OffsetsLogStore(directory: dataDir.url.appendingPathComponent("__cluster/consumer-offsets"),
                                              flusher: flusher, logger: logger)
            let groups = GroupCoordinator(store: offsets, logger: logger)
            teardown.append { groups.shutdown() }
            try groups.load()
            groups.setPartitionExists { name, p in topics.topic(named: name)?.partition(p) != nil }
            if let definitions { topics.apply(definitions) }
            let producerIds = try ProducerIdManager(dataDir: dataDir.url)
            let transactionLog = try InternalStateLog(directory: dataDir.url.appendingPathComponent("__cluster/transaction-state"),
                                                      flusher: flusher, logger: logger)
            let transactions = TransactionCoordinator(store: transactionLog, topics: topics, groups: groups, producerIds: producerIds,
                                                      logger: logger, metrics: TransactionMetrics(factory: PrometheusMetricsFactory(registry: registry)))
            teardown.append { transactions.shutdown() }
            // After the topics and groups: finishing an interrupted transaction writes to both.
            try transactions.load()
            // Compaction on its own thread; stopped before the logs close (a pass in progress
            // stops between batches and is redone next time).
            let factory = PrometheusMetricsFactory(registry: registry)
            let cleaner = LogCleaner(config: config.cleaner, logger: logger)
            cleaner.addSource { topics.allLogs }
            cleaner.addSource { [offsets.log, transactionLog.log] }
            let cleanerMetrics = CleanerMetrics(factory: factory)
            cleaner.onCleaned { cleanerMetrics.record($0) }
            cleaner.start()
            teardown.append { cleaner.shutdown() }
            let dispatcher = RequestDispatcher(config: config, topics: topics, producerIds: producerIds,
                                               metrics: BrokerMetrics(factory: factory), clusterId: clusterId, logger: logger,
                                               groups: groups, transactions: transactions, ioThreads: ioThreads)

            let connections = ConnectionTracker()
            let server = try await listen(config: config, eventLoops: eventLoops, dispatcher: dispatcher, connections: connections, logger: logger)
            teardown.append { try? await server.close() }
            if let m = config.metricsListen {
                let (h, p) = try BrokerConfig.parseHostPort(m)
                let metrics = try await MetricsServer.start(host: h, port: p, registry: registry, group: eventLoops)
                teardown.append { try? await metrics.close() }
            }
            return RunningBroker(logger: logger, topics: topics, groups: groups, transactions: transactions, flusher: flusher, connections: connections,
                                 dispatcher: dispatcher, server: server, port: server.localAddress?.port ?? config.listenPort, teardown: teardown)
        } catch {
            for step in teardown.reversed() { await step() }
            throw error
        }
    }

    private static func listen(config: BrokerConfig, eventLoops: MultiThreadedEventLoopGroup, dispatcher: RequestDispatcher,
                               connections: ConnectionTracker, logger: Logger) async throws -> any Channel {
        let maxFrame = config.maxRequestBytes
        var bootstrap = ServerBootstrap(group: eventLoops)
        if config.socketSendBufferBytes > 0 {
            bootstrap = bootstrap.childChannelOption(ChannelOptions.socketOption(.so_sndbuf), value: SocketOptionValue(config.socketSendBufferBytes))
        }
        return try await bootstrap
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 64 * 1024, maximum: 1024 * 1024))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    connections.add(channel)
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: maxFrame)))
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(broker: dispatcher, logger: logger))
                }
            }
            .bind(host: config.listenHost, port: config.listenPort).get()
    }

    /// The graceful part of a stop. No new connections; every connection answers what it has
    /// read — an acks=all produce once fsynced, a parked fetch when data or its max wait
    /// comes, a parked JoinGroup/SyncGroup now (COORDINATOR_NOT_AVAILABLE, so the client
    /// looks for the coordinator again) — and closes. Those still busy after `timeout` are closed.
    func drain(within timeout: Duration) async {
        try? await server.close()
        connections.drain()
        dispatcher.beginDraining()
        groups.withCore { $0.failAllParked(.coordinatorNotAvailable) }
        if await connections.closed(within: timeout) { return }
        if timeout > .zero {
            logger.warning("closing connections with requests still in flight",
                           metadata: ["connections": "\(connections.count)", "waited": "\(timeout)"])
        }
        connections.closeAll()
    }

    /// Closes the logs cleanly (the next start needs no recovery) and releases the rest.
    func close() async {
        for step in teardown.reversed() { await step() }
    }
}
