import NIOCore

/// OffsetFetch (key 9), v0–9, flexible from v6. v0–7 ask about one group (`groupId`, `topics`);
/// v8+ batch several `groups` (KIP-709) and the response moves into `groups` as well.
/// A null topic list means "all topics with committed offsets" (v2+).
public struct OffsetFetchRequest: KafkaRequestMessage, Equatable {
    public typealias Response = OffsetFetchResponse
    public static let apiKey = ApiKey.offsetFetch
    public static let versions: ClosedRange<Int16> = 0...9
    public static let firstFlexibleVersion: Int16 = 6

    public struct Topic: KafkaStruct, Equatable {
        public var name = ""
        public var partitionIndexes: [Int32] = []
        public init() {}
        public init(name: String, partitionIndexes: [Int32]) {
            self.name = name
            self.partitionIndexes = partitionIndexes
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.int32Array(&partitionIndexes)
            try c.tags()
        }
    }

    /// v8+.
    public struct Group: KafkaStruct, Equatable {
        public var groupId = ""
        /// v9+.
        public var memberId: String? = nil
        /// v9+.
        public var memberEpoch: Int32 = -1
        /// nil means all topics.
        public var topics: [Topic]? = []
        public init() {}
        public init(groupId: String, topics: [Topic]?, memberId: String? = nil, memberEpoch: Int32 = -1) {
            self.groupId = groupId
            self.topics = topics
            self.memberId = memberId
            self.memberEpoch = memberEpoch
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&groupId)
            if c.version >= 9 {
                try c.nullableString(&memberId)
                try c.int32(&memberEpoch)
            }
            try c.nullableArray(&topics)
            try c.tags()
        }
    }

    /// v0–7.
    public var groupId = ""
    /// v0–7; nullable from v2 (nil means all topics).
    public var topics: [Topic]? = []
    /// v8+.
    public var groups: [Group] = []
    /// v7+.
    public var requireStable = false
    public init() {}

    /// The groups asked about in a request of `version` (v0–7 have exactly one).
    public func requestedGroups(version: Int16) -> [Group] {
        version >= 8 ? groups : [Group(groupId: groupId, topics: topics)]
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version <= 7 {
            try c.string(&groupId)
            try c.array(&topics, nullableFrom: 2)
        }
        if c.version >= 8 { try c.array(&groups) }
        if c.version >= 7 { try c.bool(&requireStable) }
        try c.tags()
    }
}

public struct OffsetFetchResponse: KafkaStruct, Equatable {
    public struct Partition: KafkaStruct, Equatable {
        public var partitionIndex: Int32 = 0
        /// -1 when there is no committed offset.
        public var committedOffset: Int64 = 0
        /// v5+.
        public var committedLeaderEpoch: Int32 = -1
        public var metadata: String? = nil
        public var errorCode: Int16 = 0
        public init() {}
        public init(partitionIndex: Int32, committedOffset: Int64, committedLeaderEpoch: Int32 = -1,
                    metadata: String? = nil, errorCode: ErrorCode = .none) {
            self.partitionIndex = partitionIndex
            self.committedOffset = committedOffset
            self.committedLeaderEpoch = committedLeaderEpoch
            self.metadata = metadata
            self.errorCode = errorCode.rawValue
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&partitionIndex)
            try c.int64(&committedOffset)
            // Versions 5–7 at top level, and every version of the v8+ group layout.
            if c.version >= 5 { try c.int32(&committedLeaderEpoch) }
            try c.nullableString(&metadata)
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

    /// v8+.
    public struct Group: KafkaStruct, Equatable {
        public var groupId = ""
        public var topics: [Topic] = []
        public var errorCode: Int16 = 0
        public init() {}
        public init(groupId: String, topics: [Topic], errorCode: ErrorCode = .none) {
            self.groupId = groupId
            self.topics = topics
            self.errorCode = errorCode.rawValue
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&groupId)
            try c.array(&topics)
            try c.int16(&errorCode)
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    /// v0–7.
    public var topics: [Topic] = []
    /// v2–7: group-level error (v0–1 report it in every partition).
    public var errorCode: Int16 = 0
    /// v8+.
    public var groups: [Group] = []
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version >= 3 { try c.int32(&throttleTimeMs) }
        if c.version <= 7 {
            try c.array(&topics)
            if c.version >= 2 { try c.int16(&errorCode) }
        }
        if c.version >= 8 { try c.array(&groups) }
        try c.tags()
    }
}
