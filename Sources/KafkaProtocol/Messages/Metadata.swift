import NIOCore

/// Metadata (key 3), v0–12, flexible from v9.
public struct MetadataRequest: KafkaRequestMessage {
    public typealias Response = MetadataResponse
    public static let apiKey = ApiKey.metadata
    public static let versions: ClosedRange<Int16> = 0...12
    public static let firstFlexibleVersion: Int16 = 9

    public struct Topic: KafkaStruct, Equatable {
        public var topicId = KafkaUUID.zero
        public var name: String? = nil
        public init() {}
        public init(name: String?, topicId: KafkaUUID = .zero) {
            self.name = name
            self.topicId = topicId
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            if c.version >= 10 { try c.uuid(&topicId) }
            if c.version >= 10 {
                try c.nullableString(&name)
            } else {
                var n = name ?? ""
                try c.string(&n)
                name = n
            }
            try c.tags()
        }
    }

    /// nil means "all topics" (v1+); in v0 an empty list means all topics.
    public var topics: [Topic]? = []
    public var allowAutoTopicCreation = true
    public var includeClusterAuthorizedOperations = false
    public var includeTopicAuthorizedOperations = false
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version >= 1 {
            try c.nullableArray(&topics)
        } else {
            var t = topics ?? []
            try c.array(&t)
            topics = t
        }
        if c.version >= 4 { try c.bool(&allowAutoTopicCreation) }
        if c.version >= 8 && c.version <= 10 { try c.bool(&includeClusterAuthorizedOperations) }
        if c.version >= 8 { try c.bool(&includeTopicAuthorizedOperations) }
        try c.tags()
    }
}

public struct MetadataResponse: KafkaStruct {
    public struct Broker: KafkaStruct, Equatable {
        public var nodeId: Int32 = 0
        public var host = ""
        public var port: Int32 = 0
        public var rack: String? = nil
        public init() {}
        public init(nodeId: Int32, host: String, port: Int32, rack: String? = nil) {
            self.nodeId = nodeId
            self.host = host
            self.port = port
            self.rack = rack
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&nodeId)
            try c.string(&host)
            try c.int32(&port)
            if c.version >= 1 { try c.nullableString(&rack) }
            try c.tags()
        }
    }

    public struct Partition: KafkaStruct, Equatable {
        public var errorCode: Int16 = 0
        public var partitionIndex: Int32 = 0
        public var leaderId: Int32 = 0
        public var leaderEpoch: Int32 = -1
        public var replicaNodes: [Int32] = []
        public var isrNodes: [Int32] = []
        public var offlineReplicas: [Int32] = []
        public init() {}
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int16(&errorCode)
            try c.int32(&partitionIndex)
            try c.int32(&leaderId)
            if c.version >= 7 { try c.int32(&leaderEpoch) }
            try c.int32Array(&replicaNodes)
            try c.int32Array(&isrNodes)
            if c.version >= 5 { try c.int32Array(&offlineReplicas) }
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
            if c.version >= 12 {
                try c.nullableString(&name)
            } else {
                var n = name ?? ""
                try c.string(&n)
                name = n
            }
            if c.version >= 10 { try c.uuid(&topicId) }
            if c.version >= 1 { try c.bool(&isInternal) }
            try c.array(&partitions)
            if c.version >= 8 { try c.int32(&topicAuthorizedOperations) }
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    public var brokers: [Broker] = []
    public var clusterId: String? = nil
    public var controllerId: Int32 = -1
    public var topics: [Topic] = []
    public var clusterAuthorizedOperations: Int32 = Int32.min
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version >= 3 { try c.int32(&throttleTimeMs) }
        try c.array(&brokers)
        if c.version >= 2 { try c.nullableString(&clusterId) }
        if c.version >= 1 { try c.int32(&controllerId) }
        try c.array(&topics)
        if c.version >= 8 && c.version <= 10 { try c.int32(&clusterAuthorizedOperations) }
        try c.tags()
    }
}
