import NIOCore

/// CreatePartitions (key 37), v0–3, flexible from v2.
public struct CreatePartitionsRequest: KafkaRequestMessage, Equatable {
    public typealias Response = CreatePartitionsResponse
    public static let apiKey = ApiKey.createPartitions
    public static let versions: ClosedRange<Int16> = 0...3
    public static let firstFlexibleVersion: Int16 = 2

    /// Replicas of one new partition.
    public struct Assignment: KafkaStruct, Equatable {
        public var brokerIds: [Int32] = []
        public init() {}
        public init(brokerIds: [Int32]) { self.brokerIds = brokerIds }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32Array(&brokerIds)
            try c.tags()
        }
    }

    public struct Topic: KafkaStruct, Equatable {
        public var name = ""
        /// The new total partition count.
        public var count: Int32 = 0
        /// One entry per new partition, or nil to let the broker place them.
        public var assignments: [Assignment]? = []
        public init() {}
        public init(name: String, count: Int32, assignments: [Assignment]? = nil) {
            self.name = name
            self.count = count
            self.assignments = assignments
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.int32(&count)
            try c.nullableArray(&assignments)
            try c.tags()
        }
    }

    public var topics: [Topic] = []
    public var timeoutMs: Int32 = 0
    public var validateOnly = false
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.array(&topics)
        try c.int32(&timeoutMs)
        try c.bool(&validateOnly)
        try c.tags()
    }
}

public struct CreatePartitionsResponse: KafkaStruct, Equatable {
    public struct Result: KafkaStruct, Equatable {
        public var name = ""
        public var errorCode: Int16 = 0
        public var errorMessage: String? = nil
        public init() {}
        public init(name: String, errorCode: ErrorCode, errorMessage: String? = nil) {
            self.name = name
            self.errorCode = errorCode.rawValue
            self.errorMessage = errorMessage
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.int16(&errorCode)
            try c.nullableString(&errorMessage)
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    public var results: [Result] = []
    public init() {}
    public init(throttleTimeMs: Int32 = 0, results: [Result]) {
        self.throttleTimeMs = throttleTimeMs
        self.results = results
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int32(&throttleTimeMs)
        try c.array(&results)
        try c.tags()
    }
}
