import NIOCore

/// DescribeTopicPartitions (key 75), v0, flexible. Paginated topic metadata (KIP-966): the
/// response stops after `responsePartitionLimit` partitions and returns `nextCursor`.
public struct DescribeTopicPartitionsRequest: KafkaRequestMessage, Equatable {
    public typealias Response = DescribeTopicPartitionsResponse
    public static let apiKey = ApiKey.describeTopicPartitions
    public static let versions: ClosedRange<Int16> = 0...0
    public static let firstFlexibleVersion: Int16 = 0

    public struct Topic: KafkaStruct, Equatable {
        public var name = ""
        public init() {}
        public init(name: String) { self.name = name }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.tags()
        }
    }

    /// Where to start (request) or resume (response's `nextCursor`). On the wire a nullable
    /// structure: an int8 marker (-1 null, 1 present) before the fields.
    public struct Cursor: KafkaStruct, Equatable {
        public var topicName = ""
        public var partitionIndex: Int32 = 0
        public init() {}
        public init(topicName: String, partitionIndex: Int32) {
            self.topicName = topicName
            self.partitionIndex = partitionIndex
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&topicName)
            try c.int32(&partitionIndex)
            try c.tags()
        }
    }

    /// Empty means all topics (the cursor then says where to start).
    public var topics: [Topic] = []
    public var responsePartitionLimit: Int32 = 2000
    public var cursor: Cursor? = nil
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.array(&topics)
        try c.int32(&responsePartitionLimit)
        try c.nullableStruct(&cursor)
        try c.tags()
    }
}

public struct DescribeTopicPartitionsResponse: KafkaStruct, Equatable {
    public typealias Cursor = DescribeTopicPartitionsRequest.Cursor

    public struct Partition: KafkaStruct, Equatable {
        public var errorCode: Int16 = 0
        public var partitionIndex: Int32 = 0
        public var leaderId: Int32 = 0
        public var leaderEpoch: Int32 = -1
        public var replicaNodes: [Int32] = []
        public var isrNodes: [Int32] = []
        public var eligibleLeaderReplicas: [Int32]? = nil
        public var lastKnownElr: [Int32]? = nil
        public var offlineReplicas: [Int32] = []
        public init() {}
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int16(&errorCode)
            try c.int32(&partitionIndex)
            try c.int32(&leaderId)
            try c.int32(&leaderEpoch)
            try c.int32Array(&replicaNodes)
            try c.int32Array(&isrNodes)
            try c.nullableInt32Array(&eligibleLeaderReplicas)
            try c.nullableInt32Array(&lastKnownElr)
            try c.int32Array(&offlineReplicas)
            try c.tags()
        }
    }

    public struct Topic: KafkaStruct, Equatable {
        public var errorCode: Int16 = 0
        public var name: String? = ""
        public var topicId = KafkaUUID.zero
        public var isInternal = false
        public var partitions: [Partition] = []
        public var topicAuthorizedOperations: Int32 = Int32.min
        public init() {}
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int16(&errorCode)
            try c.nullableString(&name)
            try c.uuid(&topicId)
            try c.bool(&isInternal)
            try c.array(&partitions)
            try c.int32(&topicAuthorizedOperations)
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    public var topics: [Topic] = []
    public var nextCursor: Cursor? = nil
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int32(&throttleTimeMs)
        try c.array(&topics)
        try c.nullableStruct(&nextCursor)
        try c.tags()
    }
}
