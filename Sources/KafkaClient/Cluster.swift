import KafkaProtocol
import Logging
import CoreMetrics
import NIOCore
import NIOSSL
import NIOPosix

/// Settings shared by producer, consumer and admin client.
public struct KafkaClientConfig: Sendable {
    public var bootstrapServers: [BrokerAddress]
    public var clientID: String = "riverbank-swift"
    public var connectTimeout: Duration = .seconds(10)
    public var requestTimeout: Duration = .seconds(30)
    /// Cached metadata older than this is refreshed on next use.
    public var metadataMaxAge: Duration = .seconds(300)
    public var reconnectBackoff: Duration = .milliseconds(50)
    public var reconnectBackoffMax: Duration = .seconds(1)
    /// Event loops to run connections on (default: the shared singleton group).
    public var eventLoopGroup: (any EventLoopGroup)? = nil
    /// TLS for every broker connection (brokers' SSL listeners); nil: plaintext.
    public var tls: KafkaTLSConfig? = nil
    /// SASL authentication on every connection (SASL_PLAINTEXT, or SASL_SSL with `tls`).
    public var sasl: KafkaSASL? = nil
    /// Where the client's metrics go (`kafka_client_*`, labelled with `clientID`); nil: the
    /// process-wide `MetricsSystem` (a no-op until the application bootstraps one).
    public var metricsFactory: (any MetricsFactory)? = nil
    public var logger: Logger = Logger(label: "riverbank.kafka-client")

    public init(bootstrapServers: [BrokerAddress]) {
        self.bootstrapServers = bootstrapServers
    }

    /// "host:port[,host:port…]".
    public init(bootstrap: String) throws {
        self.bootstrapServers = try BrokerAddress.parseList(bootstrap)
    }
}

extension Duration {
    var timeAmount: TimeAmount { .nanoseconds(nanoseconds) }
    var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
    var nanoseconds: Int64 {
        let (s, atto) = components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }
}

/// What the client knows about one partition.
public struct PartitionInfo: Sendable, Equatable {
    public var partition: Int32
    public var leader: Int32
    public var leaderEpoch: Int32
    public var replicas: [Int32]
    public var isr: [Int32]
    public var errorCode: Int16
}

/// What the client knows about one topic.
public struct TopicInfo: Sendable, Equatable {
    public var name: String
    /// The topic's id (Metadata v10+; zero from older brokers).
    public var topicId: KafkaUUID = .zero
    public var errorCode: Int16
    public var isInternal: Bool
    /// Sorted by partition index.
    public var partitions: [PartitionInfo]
    public var partitionCount: Int { partitions.count }
}

/// Connections and metadata for one client: bootstrap, broker discovery, leader lookup,
/// coordinator lookup, reconnects with exponential backoff.
public actor KafkaCluster {
    public nonisolated let config: KafkaClientConfig
    nonisolated let group: any EventLoopGroup
    private var logger: Logger { config.logger }

    private var brokers: [Int32: BrokerAddress] = [:]
    private var topics: [String: TopicInfo] = [:]
    private var topicFetchedAt: [String: ContinuousClock.Instant] = [:]
    private var connections: [Int32: BrokerConnection] = [:]
    private var connecting: [Int32: Task<BrokerConnection, any Error>] = [:]
    private var failures: [Int32: (count: Int, retryAt: ContinuousClock.Instant)] = [:]
    private var coordinators: [CoordinatorKey: Int32] = [:]
    private var metadataInFlight: Task<MetadataResponse, any Error>? = nil
    /// Topics with a background refresh under way (see `invalidate`), and when each last ended.
    private var refreshing: Set<String> = []
    private var sslContext: NIOSSLContext? = nil
    private var lastRefresh: [String: ContinuousClock.Instant] = [:]
    private var metadataInFlightTopics: Set<String>? = nil
    public private(set) var clusterID: String? = nil
    private var closed = false
    private var bootstrapIndex = 0

    public init(config: KafkaClientConfig) {
        self.config = config
        self.group = config.eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
    }

    /// Node ids of the bootstrap servers (before their real ids are known) are negative.
    private static func bootstrapNodeId(_ i: Int) -> Int32 { Int32(-1000 - i) }

    private func address(of node: Int32) -> BrokerAddress? {
        if node <= -1000 {
            let i = Int(-1000 - node)
            return i < config.bootstrapServers.count ? config.bootstrapServers[i] : nil
        }
        return brokers[node]
    }

    /// A live connection to `node`, connecting (with backoff after failures) if needed.
    public func connection(node: Int32) async throws -> BrokerConnection {
        if closed { throw KafkaError.closed }
        if let c = connections[node], c.isActive { return c }
        connections[node] = nil
        if let t = connecting[node] { return try await t.value }
        guard let addr = address(of: node) else {
            throw KafkaError.connectionFailed("no address known for broker \(node)")
        }
        let delay: Duration
        if let f = failures[node] {
            let now = ContinuousClock.now
            delay = f.retryAt > now ? f.retryAt - now : .zero
        } else { delay = .zero }
        let cfg = config
        let group = self.group
        let tls = try tlsContext()
        let task = Task<BrokerConnection, any Error> {
            if delay > .zero { try await Task.sleep(for: delay) }
            return try await BrokerConnection.connect(nodeId: node, address: addr, group: group, clientId: cfg.clientID,
                                                      connectTimeout: cfg.connectTimeout.timeAmount,
                                                      requestTimeout: cfg.requestTimeout.timeAmount, tls: tls, sasl: cfg.sasl)
        }
        connecting[node] = task
        do {
            let c = try await task.value
            connecting[node] = nil
            failures[node] = nil
            if closed { await c.close(); throw KafkaError.closed }
            connections[node] = c
            return c
        } catch {
            connecting[node] = nil
            let n = (failures[node]?.count ?? 0) + 1
            var backoff = config.reconnectBackoff * (1 << min(n - 1, 10))
            if backoff > config.reconnectBackoffMax { backoff = config.reconnectBackoffMax }
            failures[node] = (n, ContinuousClock.now + backoff)
            logger.debug("connect failed", metadata: ["broker": "\(addr)", "error": "\(error)"])
            throw error
        }
    }

    /// Any live connection: a known broker, else each bootstrap server in turn.
    public func anyConnection() async throws -> BrokerConnection {
        if closed { throw KafkaError.closed }
        if let c = connections.values.first(where: { $0.isActive && $0.nodeId >= 0 }) { return c }
        var lastError: (any Error)? = nil
        var candidates = brokers.keys.sorted()
        let n = config.bootstrapServers.count
        for i in 0..<n { candidates.append(Self.bootstrapNodeId((bootstrapIndex + i) % n)) }
        for node in candidates {
            do {
                let c = try await connection(node: node)
                return c
            } catch {
                if let e = error as? KafkaError, e.kind == .authenticationFailed { throw e }  // the same everywhere
                lastError = error
            }
        }
        bootstrapIndex += 1
        throw KafkaError.connectionFailed("no broker reachable (bootstrap \(config.bootstrapServers.map(\.description).joined(separator: ","))): \(lastError.map { "\($0)" } ?? "no servers")")
    }

    /// Fetches metadata for `topics` (nil: all topics) and updates the cache.
    @discardableResult
    public func refreshMetadata(topics wanted: [String]?, allowAutoCreate: Bool = false) async throws -> MetadataResponse {
        let conn = try await anyConnection()
        var req = MetadataRequest()
        guard let v = conn.version(for: MetadataRequest.self) else { throw KafkaError.unsupportedApi("Metadata") }
        if let wanted {
            req.topics = wanted.map { var t = MetadataRequest.Topic(); t.name = $0; return t }
        } else {
            req.topics = v == 0 ? [] : nil
        }
        req.allowAutoTopicCreation = allowAutoCreate
        let resp = try await conn.send(req, version: v)
        apply(resp, requested: wanted)
        return resp
    }

    private func apply(_ resp: MetadataResponse, requested: [String]?) {
        if !resp.brokers.isEmpty {
            var b = [Int32: BrokerAddress]()
            for br in resp.brokers { b[br.nodeId] = BrokerAddress(host: br.host, port: Int(br.port)) }
            // Drop connections to brokers whose address changed.
            for (id, c) in connections where id >= 0 && b[id] != c.address {
                connections[id] = nil
                Task { await c.close() }
            }
            brokers = b
        }
        if let cid = resp.clusterId { clusterID = cid }
        let now = ContinuousClock.now
        for t in resp.topics {
            guard let name = t.name else { continue }
            let parts = t.partitions.map {
                PartitionInfo(partition: $0.partitionIndex, leader: $0.leaderId, leaderEpoch: $0.leaderEpoch,
                              replicas: $0.replicaNodes, isr: $0.isrNodes, errorCode: $0.errorCode)
            }.sorted { $0.partition < $1.partition }
            let info = TopicInfo(name: name, topicId: t.topicId, errorCode: t.errorCode, isInternal: t.isInternal, partitions: parts)
            if t.errorCode == ErrorCode.unknownTopicOrPartition.rawValue || (t.errorCode != 0 && parts.isEmpty) {
                topics[name] = nil
                topicFetchedAt[name] = nil
            } else {
                topics[name] = info
                topicFetchedAt[name] = now
            }
        }
        if requested == nil {
            let present = Set(resp.topics.compactMap(\.name))
            for k in topics.keys where !present.contains(k) { topics[k] = nil }
        }
    }

    /// Metadata of a topic, from the cache when fresh. Retries briefly while the topic has no
    /// leaders yet (just created). Throws `unknownTopic` if the broker does not know it.
    public func topic(_ name: String, allowAutoCreate: Bool = false, forceRefresh: Bool = false) async throws -> TopicInfo {
        if !forceRefresh, let t = topics[name], let at = topicFetchedAt[name], ContinuousClock.now - at < config.metadataMaxAge,
           t.partitions.allSatisfy({ $0.leader >= 0 }) {
            return t
        }
        var lastCode: Int16 = ErrorCode.unknownTopicOrPartition.rawValue
        for attempt in 0..<10 {
            let resp = try await refreshMetadata(topics: [name], allowAutoCreate: allowAutoCreate)
            if let t = resp.topics.first(where: { $0.name == name }) {
                lastCode = t.errorCode
                if t.errorCode == 0, !t.partitions.isEmpty, let info = topics[name] { return info }
                // Being created / leader election: retry; other codes are final.
                let transient: Set<Int16> = [ErrorCode.leaderNotAvailable.rawValue, 0]
                let creating = allowAutoCreate && t.errorCode == ErrorCode.unknownTopicOrPartition.rawValue
                if !transient.contains(t.errorCode) && !creating { break }
            } else if !allowAutoCreate { break }
            try await Task.sleep(for: .milliseconds(50 * (attempt + 1)))
        }
        if lastCode == ErrorCode.unknownTopicOrPartition.rawValue || lastCode == 0 { throw KafkaError.unknownTopic(name) }
        throw KafkaError.broker(code: lastCode, message: nil, context: "metadata for topic \(name)")
    }

    /// The name of a topic id, from the cache or, failing that, a refresh of `topics` (nil: all).
    public func topicName(for id: KafkaUUID, refreshing wanted: [String]?) async throws -> String? {
        if let t = topics.values.first(where: { $0.topicId == id }) { return t.name }
        try await refreshMetadata(topics: wanted)
        return topics.values.first(where: { $0.topicId == id })?.name
    }

    /// Cached metadata (no network).
    public func cachedTopic(_ name: String) -> TopicInfo? { topics[name] }

    /// Every topic (fresh request).
    public func allTopics() async throws -> [TopicInfo] {
        let resp = try await refreshMetadata(topics: nil)
        return resp.topics.compactMap { $0.name }.compactMap { topics[$0] }
    }

    /// The leader of a partition from the cache (nil if unknown or leaderless).
    public func leader(of tp: TopicPartition) -> Int32? {
        guard let t = topics[tp.topic] else { return nil }
        guard let p = t.partitions.first(where: { $0.partition == tp.partition }), p.leader >= 0 else { return nil }
        return p.leader
    }

    /// Leaders of several partitions at once (unknown ones are absent).
    public func leaders(for tps: some Sequence<TopicPartition>) -> [TopicPartition: Int32] {
        var out = [TopicPartition: Int32]()
        for tp in tps { if let l = leader(of: tp) { out[tp] = l } }
        return out
    }

    public func leaderEpoch(of tp: TopicPartition) -> Int32 {
        topics[tp.topic]?.partitions.first(where: { $0.partition == tp.partition })?.leaderEpoch ?? -1
    }

    /// The TLS context all connections share (built on first use).
    private func tlsContext() throws -> NIOSSLContext? {
        guard let tls = config.tls else { return nil }
        if let sslContext { return sslContext }
        let c = try tls.makeContext()
        sslContext = c
        return c
    }

    /// Marks a topic's metadata stale and refreshes it in the background: after a leader moves
    /// (NOT_LEADER_OR_FOLLOWER, a dropped connection) the cached leader is wrong but present, so
    /// waiting for a lookup to miss would retry the old leader forever. One refresh per topic is
    /// in flight at a time, and at most one per `refreshBackoff`.
    public func invalidate(topic: String) {
        topicFetchedAt[topic] = nil
        guard !closed, !refreshing.contains(topic) else { return }
        refreshing.insert(topic)
        let wait = lastRefresh[topic].map { max(.zero, Self.refreshBackoff - (ContinuousClock.now - $0)) } ?? .zero
        Task {
            if wait > .zero { try? await Task.sleep(for: wait) }
            do {
                try await self.refreshMetadata(topics: [topic])
            } catch {
                self.logger.debug("metadata refresh failed", metadata: ["topic": "\(topic)", "error": "\(error)"])
            }
            self.refreshing.remove(topic)
            self.lastRefresh[topic] = .now
        }
    }

    static let refreshBackoff: Duration = .milliseconds(50)

    /// Drops a (broken) connection so the next use reconnects.
    public func dropConnection(node: Int32) {
        if let c = connections.removeValue(forKey: node) { Task { await c.close() } }
    }

    /// The group coordinator's connection (FindCoordinator, cached).
    public func coordinator(group: String) async throws -> BrokerConnection {
        try await coordinator(key: group, type: .group)
    }

    /// The transaction coordinator of a transactional id.
    public func coordinator(transactionalID: String) async throws -> BrokerConnection {
        try await coordinator(key: transactionalID, type: .transaction)
    }

    private func coordinator(key group: String, type: FindCoordinatorRequest.KeyType) async throws -> BrokerConnection {
        let cacheKey = CoordinatorKey(type: type.rawValue, key: group)
        if let n = coordinators[cacheKey] {
            do { return try await connection(node: n) } catch { coordinators[cacheKey] = nil }
        }
        var lastError: (any Error)? = nil
        for attempt in 0..<20 {
            do {
                let conn = try await anyConnection()
                guard let v = conn.version(for: FindCoordinatorRequest.self) else {
                    throw KafkaError.unsupportedApi("FindCoordinator (consumer groups)")
                }
                var req = FindCoordinatorRequest()
                req.keyType = type.rawValue
                if v >= 4 { req.coordinatorKeys = [group] } else { req.key = group }
                let resp = try await conn.send(req, version: v)
                let (code, msg, node, host, port): (Int16, String?, Int32, String, Int32)
                if v >= 4 {
                    guard let c = resp.coordinators.first else { throw KafkaError.protocolError("FindCoordinator: no coordinator") }
                    (code, msg, node, host, port) = (c.errorCode, c.errorMessage, c.nodeId, c.host, c.port)
                } else {
                    (code, msg, node, host, port) = (resp.errorCode, resp.errorMessage, resp.nodeId, resp.host, resp.port)
                }
                if code != 0 {
                    let err = KafkaError.broker(code: code, message: msg, context: "FindCoordinator(\(group))")
                    if err.isRetriable { lastError = err; try await Task.sleep(for: .milliseconds(100 * min(attempt + 1, 5))); continue }
                    throw err
                }
                let addr = BrokerAddress(host: host, port: Int(port))
                if brokers[node] != addr {
                    brokers[node] = addr
                    if let old = connections.removeValue(forKey: node) { Task { await old.close() } }
                }
                coordinators[cacheKey] = node
                return try await connection(node: node)
            } catch let e as KafkaError where e.isRetriable {
                lastError = e
                try await Task.sleep(for: .milliseconds(100 * min(attempt + 1, 5)))
            }
        }
        throw lastError ?? KafkaError.connectionFailed("coordinator for \(group)")
    }

    public func invalidateCoordinator(group: String) { coordinators[CoordinatorKey(type: 0, key: group)] = nil }

    public func invalidateCoordinator(transactionalID: String) { coordinators[CoordinatorKey(type: 1, key: transactionalID)] = nil }

    struct CoordinatorKey: Hashable {
        var type: Int8
        var key: String
    }

    public func close() async {
        closed = true
        for t in connecting.values { t.cancel() }
        let conns = connections.values
        connections.removeAll()
        for c in conns { await c.close() }
    }
}
