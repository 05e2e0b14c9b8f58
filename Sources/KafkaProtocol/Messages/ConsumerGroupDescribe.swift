import NIOCore

/// ConsumerGroupDescribe (key 69), v0, flexible (KIP-848 consumer groups).
public struct ConsumerGroupDescribeRequest: KafkaRequestMessage, Equatable {
    public typealias Response = ConsumerGroupDescribeResponse
    public static let apiKey = ApiKey.consumerGroupDescribe
    public static let versions: ClosedRange<Int16> = 0...0
    public static let firstFlexibleVersion: Int16 = 0

    public var groupIds: [String] = []
    public var includeAuthorizedOperations = false
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.stringArray(&groupIds)
        try c.bool(&includeAuthorizedOperations)
        try c.tags()
    }
}

public struct ConsumerGroupDescribeResponse: KafkaStruct, Equatable {
    public struct TopicPartitions: KafkaStruct, Equatable {
        public var topicId = KafkaUUID.zero
        public var topicName = ""
        public var partitions: [Int32] = []
        public init() {}
        public init(topicId: KafkaUUID, topicName: String, partitions: [Int32]) {
            self.topicId = topicId
            self.topicName = topicName
            self.partitions = partitions
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.uuid(&topicId)
            try c.string(&topicName)
            try c.int32Array(&partitions)
            try c.tags()
        }
    }

    /// A non-nullable nested structure (no presence marker).
    public struct Assignment: KafkaStruct, Equatable {
        public var topicPartitions: [TopicPartitions] = []
        public init() {}
        public init(topicPartitions: [TopicPartitions]) { self.topicPartitions = topicPartitions }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.array(&topicPartitions)
            try c.tags()
        }
    }

    public struct Member: KafkaStruct, Equatable {
        public var memberId = ""
        public var instanceId: String? = nil
        public var rackId: String? = nil
        public var memberEpoch: Int32 = 0
        public var clientId = ""
        public var clientHost = ""
        public var subscribedTopicNames: [String] = []
        public var subscribedTopicRegex: String? = nil
        public var assignment = Assignment()
        public var targetAssignment = Assignment()
        public init() {}
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&memberId)
            try c.nullableString(&instanceId)
            try c.nullableString(&rackId)
            try c.int32(&memberEpoch)
            try c.string(&clientId)
            try c.string(&clientHost)
            try c.stringArray(&subscribedTopicNames)
            try c.nullableString(&subscribedTopicRegex)
            try c.struct(&assignment)
            try c.struct(&targetAssignment)
            try c.tags()
        }
    }

    public struct Group: KafkaStruct, Equatable {
        public var errorCode: Int16 = 0
        public var errorMessage: String? = nil
        public var groupId = ""
        /// "Empty", "Assigning", "Reconciling", "Stable" or "Dead".
        public var groupState = ""
        public var groupEpoch: Int32 = 0
        public var assignmentEpoch: Int32 = 0
        public var assignorName = ""
        public var members: [Member] = []
        public var authorizedOperations: Int32 = Int32.min
        public init() {}
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int16(&errorCode)
            try c.nullableString(&errorMessage)
            try c.string(&groupId)
            try c.string(&groupState)
            try c.int32(&groupEpoch)
            try c.int32(&assignmentEpoch)
            try c.string(&assignorName)
            try c.array(&members)
            try c.int32(&authorizedOperations)
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    public var groups: [Group] = []
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int32(&throttleTimeMs)
        try c.array(&groups)
        try c.tags()
    }
}
