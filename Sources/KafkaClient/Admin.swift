import KafkaProtocol
import NIOCore

/// A topic to create.
public struct NewTopic: Sendable {
    public var name: String
    public var partitions: Int32
    public var replicationFactor: Int16
    public var configs: [String: String]
    public init(name: String, partitions: Int32 = 1, replicationFactor: Int16 = 1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// Config resources (DescribeConfigs / AlterConfigs).
public enum ConfigResource: Sendable, Hashable {
    case topic(String)
    case broker(Int32)

    var type: Int8 { if case .topic = self { return 2 } else { return 4 } }
    var name: String {
        switch self {
        case .topic(let t): return t
        case .broker(let id): return String(id)
        }
    }
}

public struct ConfigEntry: Sendable, Equatable {
    public var name: String
    public var value: String?
    public var readOnly: Bool
    public var isDefault: Bool
    public var isSensitive: Bool
}

/// A consumer group as DescribeGroups reports it.
public struct GroupDescription: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var memberID: String
        public var groupInstanceID: String?
        public var clientID: String
        public var clientHost: String
        /// Decoded consumer-protocol assignment (empty if not a consumer group).
        public var assignment: [TopicPartition]
    }
    public var groupID: String
    public var state: String
    public var protocolType: String
    public var protocolName: String
    public var members: [Member]
}

/// Administrative operations: topics, configs, offsets, groups.
public final class KafkaAdmin: Sendable {
    public let cluster: KafkaCluster

    public init(config: KafkaClientConfig) {
        cluster = KafkaCluster(config: config)
    }

    public convenience init(bootstrap: String) throws {
        self.init(config: try KafkaClientConfig(bootstrap: bootstrap))
    }

    public func close() async { await cluster.close() }

    /// Topic metadata, fresh from the broker.
    public func listTopics() async throws -> [TopicInfo] {
        try await cluster.allTopics().filter { !$0.isInternal }.sorted { $0.name < $1.name }
    }

    public func describeTopic(_ name: String) async throws -> TopicInfo {
        try await cluster.topic(name, forceRefresh: true)
    }

    /// Creates topics; returns the error (if any) per topic. `ifNotExists` ignores
    /// TOPIC_ALREADY_EXISTS.
    @discardableResult
    public func createTopics(_ topics: [NewTopic], ifNotExists: Bool = false, timeout: Duration = .seconds(30)) async throws -> [String: KafkaError] {
        let conn = try await controllerConnection()
        var req = CreateTopicsRequest()
        req.timeoutMs = Int32(clamping: timeout.milliseconds)
        req.topics = topics.map { t in
            var x = CreateTopicsRequest.Topic()
            x.name = t.name
            x.numPartitions = t.partitions
            x.replicationFactor = t.replicationFactor
            x.configs = t.configs.sorted { $0.key < $1.key }.map { var c = CreateTopicsRequest.Config(); c.name = $0.key; c.value = $0.value; return c }
            return x
        }
        let resp = try await conn.send(req, timeout: (timeout + .seconds(5)).timeAmount)
        var errors = [String: KafkaError]()
        for t in resp.topics where t.errorCode != 0 {
            if ifNotExists && t.errorCode == ErrorCode.topicAlreadyExists.rawValue { continue }
            errors[t.name] = .broker(code: t.errorCode, message: t.errorMessage, context: "CreateTopics(\(t.name))")
        }
        // Wait until the new topics have leaders so producers can use them at once.
        for t in topics where errors[t.name] == nil {
            for attempt in 0..<50 {
                if let info = try? await cluster.topic(t.name, forceRefresh: true), info.partitions.allSatisfy({ $0.leader >= 0 }) { break }
                try await Task.sleep(for: .milliseconds(20 * min(attempt + 1, 10)))
            }
        }
        return errors
    }

    /// Creates one topic, throwing on error.
    public func createTopic(_ name: String, partitions: Int32 = 1, replicationFactor: Int16 = 1,
                            configs: [String: String] = [:], ifNotExists: Bool = false) async throws {
        let errors = try await createTopics([NewTopic(name: name, partitions: partitions, replicationFactor: replicationFactor, configs: configs)],
                                            ifNotExists: ifNotExists)
        if let e = errors[name] { throw e }
    }

    @discardableResult
    public func deleteTopics(_ names: [String], timeout: Duration = .seconds(30)) async throws -> [String: KafkaError] {
        let conn = try await controllerConnection()
        guard let v = conn.version(for: DeleteTopicsRequest.self) else { throw KafkaError.unsupportedApi("DeleteTopics") }
        var req = DeleteTopicsRequest()
        req.timeoutMs = Int32(clamping: timeout.milliseconds)
        if v >= 6 {
            req.topics = names.map { var t = DeleteTopicsRequest.Topic(); t.name = $0; return t }
        } else {
            req.topicNames = names
        }
        let resp = try await conn.send(req, version: v, timeout: (timeout + .seconds(5)).timeAmount)
        var errors = [String: KafkaError]()
        for r in resp.responses where r.errorCode != 0 {
            let n = r.name ?? "?"
            errors[n] = .broker(code: r.errorCode, message: r.errorMessage, context: "DeleteTopics(\(n))")
        }
        for n in names { await cluster.invalidate(topic: n) }
        return errors
    }

    public func describeConfigs(_ resource: ConfigResource, keys: [String]? = nil) async throws -> [ConfigEntry] {
        let conn = try await connection(for: resource)
        var req = DescribeConfigsRequest()
        var r = DescribeConfigsRequest.Resource()
        r.resourceType = resource.type
        r.resourceName = resource.name
        r.configurationKeys = keys
        req.resources = [r]
        let resp = try await conn.send(req)
        guard let res = resp.results.first else { throw KafkaError.protocolError("DescribeConfigs: empty result") }
        try KafkaError.check(res.errorCode, res.errorMessage, "DescribeConfigs(\(resource.name))")
        return res.configs.map {
            ConfigEntry(name: $0.name, value: $0.value, readOnly: $0.readOnly,
                        isDefault: $0.isDefault || $0.configSource == 5, isSensitive: $0.isSensitive)
        }
    }

    /// AlterConfigs: replaces the resource's dynamic configs with `configs` (Kafka semantics).
    public func alterConfigs(_ resource: ConfigResource, _ configs: [String: String], validateOnly: Bool = false) async throws {
        let conn = try await connection(for: resource)
        var req = AlterConfigsRequest()
        var r = AlterConfigsRequest.Resource()
        r.resourceType = resource.type
        r.resourceName = resource.name
        r.configs = configs.sorted { $0.key < $1.key }.map { var c = AlterConfigsRequest.Config(); c.name = $0.key; c.value = $0.value; return c }
        req.resources = [r]
        req.validateOnly = validateOnly
        let resp = try await conn.send(req)
        for res in resp.responses { try KafkaError.check(res.errorCode, res.errorMessage, "AlterConfigs(\(resource.name))") }
    }

    /// Raises topics' partition counts (Kafka cannot lower them); errors per topic.
    @discardableResult
    public func createPartitions(_ counts: [String: Int32], validateOnly: Bool = false,
                                 timeout: Duration = .seconds(30)) async throws -> [String: KafkaError] {
        let conn = try await controllerConnection()
        guard conn.version(for: CreatePartitionsRequest.self) != nil else { throw KafkaError.unsupportedApi("CreatePartitions") }
        var req = CreatePartitionsRequest()
        req.timeoutMs = Int32(clamping: timeout.milliseconds)
        req.validateOnly = validateOnly
        req.topics = counts.sorted { $0.key < $1.key }.map { var t = CreatePartitionsRequest.Topic(); t.name = $0.key; t.count = $0.value; t.assignments = nil; return t }
        let resp = try await conn.send(req, timeout: (timeout + .seconds(5)).timeAmount)
        var errors = [String: KafkaError]()
        for r in resp.results where r.errorCode != 0 {
            errors[r.name] = .broker(code: r.errorCode, message: r.errorMessage, context: "CreatePartitions(\(r.name))")
        }
        for name in counts.keys { await cluster.invalidate(topic: name) }
        return errors
    }

    /// What `incrementalAlterConfigs` does to one key.
    public enum ConfigChange: Sendable, Equatable {
        case set(String)
        /// Back to the default.
        case delete
    }

    /// IncrementalAlterConfigs: changes only the keys given (unlike `alterConfigs`).
    public func incrementalAlterConfigs(_ resource: ConfigResource, _ changes: [String: ConfigChange],
                                        validateOnly: Bool = false) async throws {
        let conn = try await connection(for: resource)
        guard conn.version(for: IncrementalAlterConfigsRequest.self) != nil else {
            throw KafkaError.unsupportedApi("IncrementalAlterConfigs")
        }
        var req = IncrementalAlterConfigsRequest()
        var r = IncrementalAlterConfigsRequest.Resource()
        r.resourceType = resource.type
        r.resourceName = resource.name
        r.configs = changes.sorted { $0.key < $1.key }.map { key, change in
            var c = IncrementalAlterConfigsRequest.Config()
            c.name = key
            switch change {
            case .set(let v): c.configOperation = 0; c.value = v
            case .delete: c.configOperation = 1; c.value = nil
            }
            return c
        }
        req.resources = [r]
        req.validateOnly = validateOnly
        let resp = try await conn.send(req)
        for res in resp.responses { try KafkaError.check(res.errorCode, res.errorMessage, "IncrementalAlterConfigs(\(resource.name))") }
    }

    /// ListOffsets (earliest / latest / by timestamp).
    public func listOffsets(_ specs: [TopicPartition: OffsetSpec], isolationLevel: IsolationLevel = .readUncommitted) async throws -> [TopicPartition: ListedOffset] {
        try await cluster.listOffsets(specs, isolationLevel: isolationLevel.rawValue)
    }

    public func describeGroups(_ groups: [String]) async throws -> [GroupDescription] {
        var out = [GroupDescription]()
        for g in groups {
            let conn = try await cluster.coordinator(group: g)
            var req = DescribeGroupsRequest()
            req.groups = [g]
            let resp = try await conn.send(req)
            for d in resp.groups {
                try KafkaError.check(d.errorCode, nil, "DescribeGroups(\(d.groupId))")
                out.append(GroupDescription(
                    groupID: d.groupId, state: d.groupState, protocolType: d.protocolType, protocolName: d.protocolData,
                    members: d.members.map { m in
                        var tps = [TopicPartition]()
                        if d.protocolType == "consumer", m.memberAssignment.readableBytes > 0,
                           let a = try? ConsumerProtocolAssignment.decode(from: m.memberAssignment) {
                            for t in a.assignedPartitions { for p in t.partitions { tps.append(TopicPartition(t.topic, p)) } }
                        }
                        return GroupDescription.Member(memberID: m.memberId, groupInstanceID: m.groupInstanceId, clientID: m.clientId,
                                                       clientHost: m.clientHost, assignment: tps.sorted())
                    }))
            }
        }
        return out
    }

    /// A transactional id as its coordinator knows it (DescribeTransactions).
    public struct TransactionDescription: Sendable, Equatable {
        public var transactionalID: String
        /// Kafka's names: Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort.
        public var state: String
        public var producerID: Int64
        public var producerEpoch: Int16
        public var timeoutMs: Int32
        /// When the open transaction began (ms since the epoch), -1 when none is open.
        public var startTimeMs: Int64
        public var partitions: [TopicPartition]
    }

    /// Transactional ids and their state (ListTransactions), optionally only in these states,
    /// of these producer ids, open longer than `openLongerThan`.
    public func listTransactions(states: [String] = [], producerIDs: [Int64] = [],
                                 openLongerThan: Duration? = nil) async throws -> [(transactionalID: String, producerID: Int64, state: String)] {
        let conn = try await cluster.anyConnection()
        var req = ListTransactionsRequest()
        req.stateFilters = states
        req.producerIdFilters = producerIDs
        if let d = openLongerThan { req.durationFilter = Int64(d.milliseconds) }
        let resp = try await conn.send(req)
        try KafkaError.check(resp.errorCode, nil, "ListTransactions")
        if !resp.unknownStateFilters.isEmpty {
            throw KafkaError.invalidState("unknown transaction states: \(resp.unknownStateFilters.joined(separator: ", "))")
        }
        return resp.transactionStates.map { ($0.transactionalId, $0.producerId, $0.transactionState) }
    }

    public func describeTransactions(_ ids: [String]) async throws -> [TransactionDescription] {
        var out: [TransactionDescription] = []
        for id in ids {
            let conn = try await cluster.coordinator(transactionalID: id)
            var req = DescribeTransactionsRequest()
            req.transactionalIds = [id]
            for t in try await conn.send(req).transactionStates {
                try KafkaError.check(t.errorCode, nil, "DescribeTransactions(\(t.transactionalId))")
                out.append(TransactionDescription(transactionalID: t.transactionalId, state: t.transactionState, producerID: t.producerId,
                                                  producerEpoch: t.producerEpoch, timeoutMs: t.transactionTimeoutMs,
                                                  startTimeMs: t.transactionStartTimeMs,
                                                  partitions: t.topics.flatMap { tp in tp.partitions.map { TopicPartition(tp.topic, $0) } }))
            }
        }
        return out
    }

    /// Committed offsets of a group.
    public func listGroupOffsets(_ group: String, partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        var cfg = KafkaConsumerConfig(bootstrapServers: cluster.config.bootstrapServers, groupID: group)
        cfg.client = cluster.config
        let core = ConsumerCore(config: cfg)
        defer { Task { await core.close() } }
        return try await core.fetchCommitted(partitions)
    }

    private func controllerConnection() async throws -> BrokerConnection {
        let resp = try await cluster.refreshMetadata(topics: [])
        if resp.controllerId >= 0, let c = try? await cluster.connection(node: resp.controllerId) { return c }
        return try await cluster.anyConnection()
    }

    private func connection(for resource: ConfigResource) async throws -> BrokerConnection {
        if case .broker(let id) = resource { return try await cluster.connection(node: id) }
        return try await cluster.anyConnection()
    }
}
