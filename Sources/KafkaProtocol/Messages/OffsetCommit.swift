import NIOCore

/// OffsetCommit (key 8), v0–9, flexible from v8. v1 only carries a per-partition commit
/// timestamp; v2–4 a group-wide retention time; v5+ neither (the broker's retention applies).
/// v9+ may come from consumers of the new group protocol (member epoch instead of generation).
public struct OffsetCommitRequest: KafkaRequestMessage, Equatable {
    public typealias Response = OffsetCommitResponse
    public static let apiKey = ApiKey.offsetCommit
    public static let versions: ClosedRange<Int16> = 0...9
    public static let firstFlexibleVersion: Int16 = 8

    public struct Partition: KafkaStruct, Equatable {
        public var partitionIndex: Int32 = 0
        public var committedOffset: Int64 = 0
        /// v6+.
        public var committedLeaderEpoch: Int32 = -1
        /// v1 only.
        public var commitTimestamp: Int64 = -1
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
            if c.version >= 6 { try c.int32(&committedLeaderEpoch) }
            if c.version == 1 { try c.int64(&commitTimestamp) }
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

    public var groupId = ""
    /// v1+: the generation (classic groups) or member epoch (consumer groups, v9+); -1 for
    /// commits from outside any group (simple consumers / admin).
    public var generationIdOrMemberEpoch: Int32 = -1
    /// v1+.
    public var memberId = ""
    /// v7+.
    public var groupInstanceId: String? = nil
    /// v2–4; -1 means the broker default.
    public var retentionTimeMs: Int64 = -1
    public var topics: [Topic] = []
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.string(&groupId)
        if c.version >= 1 {
            try c.int32(&generationIdOrMemberEpoch)
            try c.string(&memberId)
        }
        if c.version >= 7 { try c.nullableString(&groupInstanceId) }
        if c.version >= 2 && c.version <= 4 { try c.int64(&retentionTimeMs) }
        try c.array(&topics)
        try c.tags()
    }
}

public struct OffsetCommitResponse: KafkaStruct, Equatable {
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
        if c.version >= 3 { try c.int32(&throttleTimeMs) }
        try c.array(&topics)
        try c.tags()
    }
}
