import NIOCore

/// CreateTopics (key 19), v0–7, flexible from v5. Topic ids in the response from v7.
public struct CreateTopicsRequest: KafkaRequestMessage, Equatable {
    public typealias Response = CreateTopicsResponse
    public static let apiKey = ApiKey.createTopics
    public static let versions: ClosedRange<Int16> = 0...7
    public static let firstFlexibleVersion: Int16 = 5

    /// Manual placement of one partition's replicas.
    public struct Assignment: KafkaStruct, Equatable {
        public var partitionIndex: Int32 = 0
        public var brokerIds: [Int32] = []
        public init() {}
        public init(partitionIndex: Int32, brokerIds: [Int32]) {
            self.partitionIndex = partitionIndex
            self.brokerIds = brokerIds
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&partitionIndex)
            try c.int32Array(&brokerIds)
            try c.tags()
        }
    }

    public struct Config: KafkaStruct, Equatable {
        public var name = ""
        public var value: String? = nil
        public init() {}
        public init(name: String, value: String?) {
            self.name = name
            self.value = value
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.nullableString(&value)
            try c.tags()
        }
    }

    public struct Topic: KafkaStruct, Equatable {
        public var name = ""
        /// -1 means the broker default (v4+ clients; also used when `assignments` is given).
        public var numPartitions: Int32 = 0
        /// -1 means the broker default.
        public var replicationFactor: Int16 = 0
        public var assignments: [Assignment] = []
        public var configs: [Config] = []
        public init() {}
        public init(name: String, numPartitions: Int32, replicationFactor: Int16,
                    assignments: [Assignment] = [], configs: [Config] = []) {
            self.name = name
            self.numPartitions = numPartitions
            self.replicationFactor = replicationFactor
            self.assignments = assignments
            self.configs = configs
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.int32(&numPartitions)
            try c.int16(&replicationFactor)
            try c.array(&assignments)
            try c.array(&configs)
            try c.tags()
        }
    }

    public var topics: [Topic] = []
    public var timeoutMs: Int32 = 60000
    public var validateOnly = false
    public init() {}
    public init(topics: [Topic], timeoutMs: Int32 = 60000, validateOnly: Bool = false) {
        self.topics = topics
        self.timeoutMs = timeoutMs
        self.validateOnly = validateOnly
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.array(&topics)
        try c.int32(&timeoutMs)
        if c.version >= 1 { try c.bool(&validateOnly) }
        try c.tags()
    }
}

public struct CreateTopicsResponse: KafkaStruct, Equatable {
    public struct Config: KafkaStruct, Equatable {
        public var name = ""
        public var value: String? = nil
        public var readOnly = false
        public var configSource: Int8 = -1
        public var isSensitive = false
        public init() {}
        public init(name: String, value: String?, readOnly: Bool = false, configSource: Int8 = -1, isSensitive: Bool = false) {
            self.name = name
            self.value = value
            self.readOnly = readOnly
            self.configSource = configSource
            self.isSensitive = isSensitive
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.nullableString(&value)
            try c.bool(&readOnly)
            try c.int8(&configSource)
            try c.bool(&isSensitive)
            try c.tags()
        }
    }

    public struct Topic: KafkaStruct, Equatable {
        public var name = ""
        public var topicId = KafkaUUID.zero
        public var errorCode: Int16 = 0
        public var errorMessage: String? = nil
        /// Tagged field 0 (v5+): error describing the topic's configs; written only when non-zero.
        public var topicConfigErrorCode: Int16 = 0
        public var numPartitions: Int32 = -1
        public var replicationFactor: Int16 = -1
        public var configs: [Config]? = []
        public init() {}
        public init(name: String, topicId: KafkaUUID = .zero, errorCode: ErrorCode, errorMessage: String? = nil,
                    numPartitions: Int32 = -1, replicationFactor: Int16 = -1, configs: [Config]? = []) {
            self.name = name
            self.topicId = topicId
            self.errorCode = errorCode.rawValue
            self.errorMessage = errorMessage
            self.numPartitions = numPartitions
            self.replicationFactor = replicationFactor
            self.configs = configs
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            if c.version >= 7 { try c.uuid(&topicId) }
            try c.int16(&errorCode)
            if c.version >= 1 { try c.nullableString(&errorMessage) }
            if c.version >= 5 {
                try c.int32(&numPartitions)
                try c.int16(&replicationFactor)
                try c.nullableArray(&configs)
            }
            if c.flexible {
                var tagged = TaggedFields()
                if !c.isDecoding && topicConfigErrorCode != 0 {
                    var b = ByteBuffer()
                    b.writeInteger(topicConfigErrorCode, endianness: .big)
                    tagged.fields.append((tag: 0, data: b))
                }
                try c.taggedFields(&tagged)
                if c.isDecoding, var b = tagged.value(for: 0) {
                    topicConfigErrorCode = try b.readKafkaInt(Int16.self, "TopicConfigErrorCode")
                }
            }
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
        if c.version >= 2 { try c.int32(&throttleTimeMs) }
        try c.array(&topics)
        try c.tags()
    }
}
