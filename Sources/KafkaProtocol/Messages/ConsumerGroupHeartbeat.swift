import NIOCore

/// ConsumerGroupHeartbeat (key 68), v0–1, flexible in every version: the KIP-848 consumer
/// group protocol. v1 adds `subscribedTopicRegex` (the schema marks v1 unstable in this
/// Kafka version). Null fields mean "unchanged since the last heartbeat".
public struct ConsumerGroupHeartbeatRequest: KafkaRequestMessage, Equatable {
    public typealias Response = ConsumerGroupHeartbeatResponse
    public static let apiKey = ApiKey.consumerGroupHeartbeat
    public static let versions: ClosedRange<Int16> = 0...1
    public static let firstFlexibleVersion: Int16 = 0

    public struct TopicPartitions: KafkaStruct, Equatable {
        public var topicId = KafkaUUID.zero
        public var partitions: [Int32] = []
        public init() {}
        public init(topicId: KafkaUUID, partitions: [Int32]) {
            self.topicId = topicId
            self.partitions = partitions
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.uuid(&topicId)
            try c.int32Array(&partitions)
            try c.tags()
        }
    }

    public var groupId = ""
    /// Empty when joining with epoch 0 (the coordinator assigns one; newer clients generate a UUID).
    public var memberId = ""
    /// 0 to join, -1 to leave, -2 to leave as a static member, otherwise the current epoch.
    public var memberEpoch: Int32 = 0
    public var instanceId: String? = nil
    public var rackId: String? = nil
    public var rebalanceTimeoutMs: Int32 = -1
    public var subscribedTopicNames: [String]? = nil
    /// v1+.
    public var subscribedTopicRegex: String? = nil
    public var serverAssignor: String? = nil
    /// The partitions the member currently owns.
    public var topicPartitions: [TopicPartitions]? = nil
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.string(&groupId)
        try c.string(&memberId)
        try c.int32(&memberEpoch)
        try c.nullableString(&instanceId)
        try c.nullableString(&rackId)
        try c.int32(&rebalanceTimeoutMs)
        try c.nullableStringArray(&subscribedTopicNames)
        if c.version >= 1 { try c.nullableString(&subscribedTopicRegex) }
        try c.nullableString(&serverAssignor)
        try c.nullableArray(&topicPartitions)
        try c.tags()
    }
}

public struct ConsumerGroupHeartbeatResponse: KafkaStruct, Equatable {
    public typealias TopicPartitions = ConsumerGroupHeartbeatRequest.TopicPartitions

    /// The member's target assignment; sent only when it changed.
    public struct Assignment: KafkaStruct, Equatable {
        public var topicPartitions: [TopicPartitions] = []
        public init() {}
        public init(topicPartitions: [TopicPartitions]) { self.topicPartitions = topicPartitions }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.array(&topicPartitions)
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    public var errorCode: Int16 = 0
    public var errorMessage: String? = nil
    public var memberId: String? = nil
    public var memberEpoch: Int32 = 0
    public var heartbeatIntervalMs: Int32 = 0
    /// A nullable structure: int8 marker (-1 null, 1 present) before the fields.
    public var assignment: Assignment? = nil
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int32(&throttleTimeMs)
        try c.int16(&errorCode)
        try c.nullableString(&errorMessage)
        try c.nullableString(&memberId)
        try c.int32(&memberEpoch)
        try c.int32(&heartbeatIntervalMs)
        try c.nullableStruct(&assignment)
        try c.tags()
    }
}
