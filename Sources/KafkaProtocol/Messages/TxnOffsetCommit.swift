import NIOCore

/// TxnOffsetCommit (key 28), v0–5, flexible from v3: offsets committed as part of a
/// transaction, sent to the group coordinator and made visible when the transaction commits.
/// v2 adds the committed leader epoch, v3 the group membership (generation, member id,
/// instance id; KIP-447), v4 the TRANSACTION_ABORTABLE error. v5 has v4's layout: under
/// transaction version 2 (KIP-890 part 2) it also adds the group's offsets partition to the
/// transaction, replacing AddOffsetsToTxn.
public struct TxnOffsetCommitRequest: KafkaRequestMessage, Equatable {
    public typealias Response = TxnOffsetCommitResponse
    public static let apiKey = ApiKey.txnOffsetCommit
    public static let versions: ClosedRange<Int16> = 0...5
    public static let firstFlexibleVersion: Int16 = 3

    public struct Partition: KafkaStruct, Equatable {
        public var partitionIndex: Int32 = 0
        public var committedOffset: Int64 = 0
        /// v2+.
        public var committedLeaderEpoch: Int32 = -1
        public var committedMetadata: String? = nil
        public init() {}
        public init(partitionIndex: Int32, committedOffset: Int64, committedLeaderEpoch: Int32 = -1, committedMetadata: String? = nil) {
            self.partitionIndex = partitionIndex
            self.committedOffset = committedOffset
            self.committedLeaderEpoch = committedLeaderEpoch
            self.committedMetadata = committedMetadata
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&partitionIndex)
            try c.int64(&committedOffset)
            if c.version >= 2 { try c.int32(&committedLeaderEpoch) }
            try c.nullableString(&committedMetadata)
            try c.tags()
        }
    }

    public struct Topic: KafkaStruct, Equatable {
        public var name = ""
        public var partitions: [Partition] = []
        public init() {}
        public init(name: String, partitions: [Partition]) {
            self.name = name
            self.partitions = partitions
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.array(&partitions)
            try c.tags()
        }
    }

    public var transactionalId = ""
    public var groupId = ""
    public var producerId: Int64 = 0
    public var producerEpoch: Int16 = 0
    /// v3+: the consumer's generation; -1 when not checked.
    public var generationId: Int32 = -1
    /// v3+: "" when not checked.
    public var memberId = ""
    /// v3+.
    public var groupInstanceId: String? = nil
    public var topics: [Topic] = []
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.string(&transactionalId)
        try c.string(&groupId)
        try c.int64(&producerId)
        try c.int16(&producerEpoch)
        if c.version >= 3 {
            try c.int32(&generationId)
            try c.string(&memberId)
            try c.nullableString(&groupInstanceId)
        }
        try c.array(&topics)
        try c.tags()
    }
}

public struct TxnOffsetCommitResponse: KafkaStruct, Equatable {
    public struct Partition: KafkaStruct, Equatable {
        public var partitionIndex: Int32 = 0
        public var errorCode: Int16 = 0
        public init() {}
        public init(partitionIndex: Int32, errorCode: ErrorCode) {
            self.partitionIndex = partitionIndex
            self.errorCode = errorCode.rawValue
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&partitionIndex)
            try c.int16(&errorCode)
            try c.tags()
        }
    }

    public struct Topic: KafkaStruct, Equatable {
        public var name = ""
        public var partitions: [Partition] = []
        public init() {}
        public init(name: String, partitions: [Partition]) {
            self.name = name
            self.partitions = partitions
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.array(&partitions)
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    public var topics: [Topic] = []
    public init() {}
    public init(throttleTimeMs: Int32 = 0, topics: [Topic]) {
        self.throttleTimeMs = throttleTimeMs
        self.topics = topics
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int32(&throttleTimeMs)
        try c.array(&topics)
        try c.tags()
    }
}
