import Atomics
import KafkaProtocol
import Logging
import NIOCore
import ServiceLifecycle

/// What to do when a partition has no committed offset (or its offset is out of range).
public enum AutoOffsetReset: String, Sendable {
    case earliest, latest
    /// Fail with an error instead.
    case none
}

public enum IsolationLevel: Int8, Sendable {
    case readUncommitted = 0
    /// Only records of committed transactions, up to the last stable offset.
    case readCommitted = 1
}

/// How a consumer takes part in its group.
public enum GroupProtocol: String, Sendable {
    case classic
    /// KIP-848 (Kafka 4.0+, Riverbank): ConsumerGroupHeartbeat with broker-side assignment.
    case consumer
}

public struct KafkaConsumerConfig: Sendable {
    public var client: KafkaClientConfig
    /// Consumer group; needed for `subscribe` and for committing offsets.
    public var groupID: String?
    /// Static membership (KIP-345).
    public var groupInstanceID: String?
    public var autoOffsetReset: AutoOffsetReset = .latest
    public var enableAutoCommit = true
    public var autoCommitInterval: Duration = .seconds(5)
    public var sessionTimeout: Duration = .seconds(45)
    public var heartbeatInterval: Duration = .seconds(3)
    /// How long the group waits for members to rejoin during a rebalance (max.poll.interval.ms).
    public var rebalanceTimeout: Duration = .seconds(300)
    /// In order of preference; the coordinator picks one every member supports (classic protocol).
    public var assignors: [KafkaAssignor] = [.range, .cooperativeSticky]
    /// The group membership protocol: `.classic` (JoinGroup/SyncGroup, works with every
    /// broker) or `.consumer` (KIP-848: the broker assigns, rebalances are incremental).
    public var groupProtocol: GroupProtocol = .classic
    /// KIP-848 only: the broker-side assignor to ask for ("uniform", "range"); nil: the broker's default.
    public var groupRemoteAssignor: String? = nil
    public var isolationLevel: IsolationLevel = .readUncommitted
    public var fetchMinBytes: Int32 = 1
    public var fetchMaxBytes: Int32 = 52_428_800
    public var maxPartitionFetchBytes: Int32 = 1_048_576
    public var fetchMaxWait: Duration = .milliseconds(500)
    /// Fetched-but-unconsumed bytes above which no new fetches are sent.
    public var maxBufferedBytes: Int = 64 << 20
    public var retryBackoff: Duration = .milliseconds(100)
    /// How often a pattern subscription looks for new matching topics.
    public var patternRefreshInterval: Duration = .seconds(10)

    public init(bootstrapServers: [BrokerAddress], groupID: String? = nil) {
        client = KafkaClientConfig(bootstrapServers: bootstrapServers)
        self.groupID = groupID
    }

    public init(bootstrap: String, groupID: String? = nil) throws {
        client = try KafkaClientConfig(bootstrap: bootstrap)
        self.groupID = groupID
    }
}

/// A consumed record.
public struct ConsumerRecord: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Milliseconds since the epoch.
    public var timestamp: Int64
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [RecordHeader]

    public init(topic: String, partition: Int32, offset: Int64, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?,
                headers: [RecordHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }

    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }
    public var keyString: String? { key.map { String(buffer: $0) } }
    public var valueString: String? { value.map { String(buffer: $0) } }
    public var keyBytes: [UInt8]? { key.map { Array($0.readableBytesView) } }
    public var valueBytes: [UInt8]? { value.map { Array($0.readableBytesView) } }
}

/// Partition assignment changes, as async callbacks (the stream engine checkpoints in
/// `onPartitionsRevoked` and restores state in `onPartitionsAssigned`).
public struct RebalanceListener: Sendable {
    public var onPartitionsRevoked: @Sendable ([TopicPartition]) async -> Void
    public var onPartitionsAssigned: @Sendable ([TopicPartition]) async -> Void
    /// Partitions lost without a chance to commit (membership expired); defaults to revoked.
    public var onPartitionsLost: (@Sendable ([TopicPartition]) async -> Void)?

    public init(onPartitionsRevoked: @escaping @Sendable ([TopicPartition]) async -> Void = { _ in },
                onPartitionsAssigned: @escaping @Sendable ([TopicPartition]) async -> Void = { _ in },
                onPartitionsLost: (@Sendable ([TopicPartition]) async -> Void)? = nil) {
        self.onPartitionsRevoked = onPartitionsRevoked
        self.onPartitionsAssigned = onPartitionsAssigned
        self.onPartitionsLost = onPartitionsLost
    }
}

/// A Kafka consumer: manual assignment or group subscription (classic protocol, range and
/// cooperative-sticky assignors), pipelined fetching, commits, seeks and time travel.
///
/// ```swift
/// let consumer = try KafkaConsumer(config: .init(bootstrap: "localhost:9092", groupID: "g"))
/// try await consumer.subscribe(topics: ["transactions"])
/// for try await record in consumer.records { … }
/// ```
public final class KafkaConsumer: Sendable, Service {
    public let config: KafkaConsumerConfig
    let core: ConsumerCore
    public var cluster: KafkaCluster { core.cluster }

    public init(config: KafkaConsumerConfig) throws {
        if config.heartbeatInterval >= config.sessionTimeout {
            throw KafkaError.invalidConfiguration("heartbeatInterval must be below sessionTimeout")
        }
        if config.assignors.isEmpty { throw KafkaError.invalidConfiguration("no assignor configured") }
        self.config = config
        self.core = ConsumerCore(config: config)
    }

    /// The records of the assigned partitions, in offset order per partition. Iteration ends
    /// when the consumer is closed. Each record's partition position advances as it is read.
    public var records: ConsumerRecords { ConsumerRecords(core: core) }

    /// Reads the partitions given, from the given offsets (nil: committed offset if a group is
    /// configured, else the reset policy). Replaces any previous assignment.
    public func assign(_ partitions: [TopicPartition: OffsetSpec?]) async throws {
        try await core.assign(partitions)
    }

    public func assign(_ partitions: [TopicPartition]) async throws {
        try await core.assign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, nil as OffsetSpec?) }))
    }

    /// Assigns partitions starting at explicit offsets.
    public func assign(offsets: [TopicPartition: Int64]) async throws {
        try await core.assign(offsets.mapValues { _ in nil as OffsetSpec? })
        for (tp, o) in offsets { try await core.seek(tp, to: o) }
    }

    /// Joins the consumer group for these topics.
    public func subscribe(topics: [String], listener: RebalanceListener? = nil) async throws {
        try await core.subscribe(.topics(Set(topics)), listener: listener)
    }

    /// Joins the consumer group for every topic whose whole name matches the regular expression.
    public func subscribe(pattern: String, listener: RebalanceListener? = nil) async throws {
        _ = try Regex(pattern)  // validate now
        try await core.subscribe(.pattern(pattern), listener: listener)
    }

    /// Current assignment.
    public func assignment() async -> [TopicPartition] { await core.assignedPartitions() }

    /// Next offset to be returned for a partition (nil while unknown).
    public func position(_ tp: TopicPartition) async -> Int64? { await core.position(tp) }

    /// Records the broker has beyond the position (high watermark − position), as of the
    /// latest fetch; nil before the first fetch answer. Zero means caught up: the stream
    /// engine's idleness detection tells a quiet partition from one it has not read yet.
    public func lag(_ tp: TopicPartition) async -> Int64? { await core.lag(tp) }

    public func seek(_ tp: TopicPartition, to offset: Int64) async throws { try await core.seek(tp, to: offset) }
    public func seekToBeginning(_ tps: [TopicPartition]) async throws { try await core.seek(tps, spec: .earliest) }
    public func seekToEnd(_ tps: [TopicPartition]) async throws { try await core.seek(tps, spec: .latest) }
    /// Time travel: moves each partition to the first record at or after `timestamp` (ms since
    /// the epoch), or to the end when there is none.
    public func seek(toTimestamp timestamp: Int64, partitions: [TopicPartition]? = nil) async throws {
        let tps: [TopicPartition]
        if let partitions { tps = partitions } else { tps = await core.assignedPartitions() }
        try await core.seek(tps, spec: .timestamp(timestamp))
    }

    public func pause(_ tps: [TopicPartition]) async { await core.pause(tps, paused: true) }
    public func resume(_ tps: [TopicPartition]) async { await core.pause(tps, paused: false) }

    /// Commits the positions of all assigned partitions (what has been read) and waits.
    public func commit() async throws { try await core.commitPositions() }
    /// Commits explicit offsets (the next offset to read, as Kafka does) and waits.
    public func commit(_ offsets: [TopicPartition: Int64]) async throws { try await core.commit(offsets) }
    /// Commits in the background; errors go to `onComplete`.
    public func commitAsync(_ offsets: [TopicPartition: Int64]? = nil, onComplete: (@Sendable ((any Error)?) -> Void)? = nil) {
        let core = self.core
        Task {
            do {
                if let offsets { try await core.commit(offsets) } else { try await core.commitPositions() }
                onComplete?(nil)
            } catch { onComplete?(error) }
        }
    }

    /// Commits offsets with metadata strings, e.g. the checkpoint a stream job's state for the
    /// partition was saved under, so whoever gets the partition next can find it.
    public func commit(_ offsets: [TopicPartition: CommittedOffset]) async throws { try await core.commit(offsets) }

    /// Committed offsets and their metadata (partitions with nothing committed are absent).
    public func committedOffsets(_ tps: [TopicPartition]) async throws -> [TopicPartition: CommittedOffset] {
        try await core.fetchCommittedDetails(tps)
    }

    /// Committed offsets of the group for these partitions (nil: none committed).
    public func committed(_ tps: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        try await core.fetchCommitted(tps)
    }

    /// Leaves the group (after committing, with auto-commit) and closes connections.
    public func close() async { await core.close() }

    /// ServiceLifecycle: runs until graceful shutdown, then closes.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}

/// A committed position: the next offset to read, and the metadata committed with it.
public struct CommittedOffset: Sendable, Equatable {
    public var offset: Int64
    public var metadata: String?
    public init(offset: Int64, metadata: String? = nil) {
        self.offset = offset
        self.metadata = metadata
    }
}

/// The consumer's records as an `AsyncSequence`.
public struct ConsumerRecords: AsyncSequence, Sendable {
    public typealias Element = ConsumerRecord
    let core: ConsumerCore

    public struct AsyncIterator: AsyncIteratorProtocol {
        let core: ConsumerCore
        var chunk: [ConsumerRecord] = []
        var index = 0

        public mutating func next() async throws -> ConsumerRecord? {
            if index < chunk.count {
                index += 1
                core.handed.store(index, ordering: .relaxed)
                return chunk[index - 1]
            }
            chunk = []
            guard let c = try await core.nextChunk() else { return nil }
            chunk = c
            index = 1
            core.handed.store(1, ordering: .relaxed)
            return c[0]
        }

        /// The rest of the current chunk, or the next chunk: records of one partition, in
        /// offset order, all counted as handed out. For processors that work in batches (the
        /// stream engine): one call per fetch instead of one per record.
        /// With a deadline, returns an empty array when nothing came by then.
        public mutating func nextChunk(until deadline: ContinuousClock.Instant? = nil) async throws -> [ConsumerRecord]? {
            if index < chunk.count {
                let rest = index == 0 ? chunk : Array(chunk[index...])
                index = chunk.count
                core.handed.store(index, ordering: .relaxed)
                return rest
            }
            chunk = []
            index = 0
            guard let c = try await core.nextChunk(until: deadline) else { return nil }
            if c.isEmpty { return c }
            chunk = c
            index = c.count
            core.handed.store(c.count, ordering: .relaxed)
            return c
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(core: core) }
}
