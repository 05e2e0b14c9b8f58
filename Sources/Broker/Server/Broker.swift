import Definitions
import Foundation
import KafkaProtocol
import Logging
import LogStore
import NIOCore
import NIOPosix
import Prometheus
#if canImport(Glibc)
import Glibc
#endif

/// The Riverbank broker: one process, data in a local directory.
public final class RiverbankBroker: @unchecked Sendable {
    public let config: BrokerConfig
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    let flusher: LogFlusher
    let topics: TopicManager
    let dispatcher: RequestDispatcher
    let groups: GroupCoordinator
    private var serverChannel: (any Channel)?
    private var metricsChannel: (any Channel)?
    private var retentionTask: RepeatedTask?
    private var lockFD: Int32 = -1
    public private(set) var boundPort: Int = 0

    /// What the broker's metrics are recorded in and `GET /metrics` serves.
    let registry: PrometheusCollectorRegistry

    public struct StartupError: Error, CustomStringConvertible {
        public let description: String
    }

    /// `registry` receives the broker's metrics and is what `--metrics-listen` serves; the
    /// process that hosts the broker passes its own (tests pass a fresh one, or none).
    public init(config: BrokerConfig, logger: Logger, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) throws {
        self.registry = registry
        self.config = config
        self.logger = logger
        let dataDir = URL(fileURLWithPath: config.dataDir, isDirectory: true).standardizedFileURL
        try FileManager.default.createDirectory(at: dataDir.appendingPathComponent("__cluster"), withIntermediateDirectories: true)
        lockFD = try Self.lockDataDir(dataDir)
        let clusterId = try Self.loadClusterId(dataDir: dataDir, configured: config.clusterId)
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, System.coreCount))
        flusher = LogFlusher(logger: logger)
        topics = try TopicManager(dataDir: dataDir, defaultConfig: config.defaultTopicConfig, flusher: flusher, logger: logger)
        let producerIds = try ProducerIdManager(dataDir: dataDir)
        groups = GroupCoordinator(store: try OffsetsLogStore(directory: dataDir.appendingPathComponent("__cluster/consumer-offsets"),
                                                             flusher: flusher, logger: logger), logger: logger)
        dispatcher = RequestDispatcher(config: config, topics: topics, producerIds: producerIds, metrics: BrokerMetrics(factory: PrometheusMetricsFactory(registry: registry)),
                                       clusterId: clusterId, logger: logger, groups: groups)
    }

    /// Two brokers on one data directory would corrupt it: take an exclusive lock.
    static func lockDataDir(_ dir: URL) throws -> Int32 {
        let path = dir.appendingPathComponent("__cluster/.lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StartupError(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw StartupError(description: "data directory \(dir.path) is in use by another broker")
        }
        return fd
    }

    static func loadClusterId(dataDir: URL, configured: String?) throws -> String {
        let file = dataDir.appendingPathComponent("__cluster/cluster.id")
        if let existing = try? String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !existing.isEmpty {
            return existing
        }
        let id = configured ?? KafkaUUID.random().description
        try DurableFile.writeAtomically(Data("\(id)\n".utf8), to: file)
        return id
    }

    /// Loads topics, applies definitions, binds the listener. Returns once clients can connect.
    public func start() async throws {
        let t0 = DispatchTime.now()
        try topics.loadAll()
        try groups.load()
        let topicsForGroups = topics
        groups.setPartitionExists { name, p in topicsForGroups.topic(named: name)?.partition(p) != nil }
        groups.start(on: group.next())
        if let dir = config.topicsDir {
            topics.apply(try TopicDefinition.load(directory: dir))
        }
        let dispatcher = self.dispatcher
        let logger = self.logger
        let maxFrame = config.maxRequestBytes
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 64 * 1024, maximum: 1024 * 1024))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: maxFrame)))
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(broker: dispatcher, logger: logger))
                }
            }
            .bind(host: config.listenHost, port: config.listenPort).get()
        serverChannel = channel
        boundPort = channel.localAddress?.port ?? config.listenPort

        if let m = config.metricsListen {
            let (h, p) = try BrokerConfig.parseHostPort(m)
            metricsChannel = try await MetricsServer.start(host: h, port: p, registry: registry, group: group)
        }
        let topics = self.topics
        retentionTask = group.next().scheduleRepeatedTask(initialDelay: .seconds(5), delay: .milliseconds(config.retentionCheckIntervalMs)) { _ in
            topics.enforceRetention(now: RequestDispatcher.nowMs())
        }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e6
        logger.info("broker ready", metadata: [
            "listen": "\(config.listenHost):\(boundPort)", "advertised": "\(config.advertised.host):\(config.advertised.port)",
            "data-dir": "\(config.dataDir)", "topics": "\(topics.allTopics.count)", "startup-ms": "\(String(format: "%.1f", ms))",
        ])
    }

    /// Closes the listener, then every log cleanly (so the next start needs no recovery).
    public func shutdown() async {
        retentionTask?.cancel()
        try? await serverChannel?.close()
        try? await metricsChannel?.close()
        groups.shutdown()
        topics.closeAll()
        flusher.shutdown()
        try? await group.shutdownGracefully()
        if lockFD >= 0 {
            close(lockFD)
            lockFD = -1
        }
        logger.info("broker stopped")
    }
}
