import NIOCore

/// OffsetDelete (key 47), v0 only, never flexible. Note the response puts the error code
/// before the throttle time.
public struct OffsetDeleteRequest: KafkaRequestMessage, Equatable {
    public typealias Response = OffsetDeleteResponse
    public static let apiKey = ApiKey.offsetDelete
    public static let versions: ClosedRange<Int16> = 0...0
    public static let firstFlexibleVersion: Int16 = Int16.max

    public struct Partition: KafkaStruct, Equatable {
        public var partitionIndex: Int32 = 0
        public init() {}
        public init(partitionIndex: Int32) { self.partitionIndex = partitionIndex }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&partitionIndex)
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
    public var topics: [Topic] = []
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.string(&groupId)
        try c.array(&topics)
        try c.tags()
    }
}

public struct OffsetDeleteResponse: KafkaStruct, Equatable {
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

    public var errorCode: Int16 = 0
    public var throttleTimeMs: Int32 = 0
    public var topics: [Topic] = []
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int16(&errorCode)
        try c.int32(&throttleTimeMs)
        try c.array(&topics)
        try c.tags()
    }
}
