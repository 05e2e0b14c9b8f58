import NIOCore

/// DeleteRecords (key 21), v0–2, flexible from v2. Moves a partition's log start offset
/// (offset -1 means the high watermark).
public struct DeleteRecordsRequest: KafkaRequestMessage, Equatable {
    public typealias Response = DeleteRecordsResponse
    public static let apiKey = ApiKey.deleteRecords
    public static let versions: ClosedRange<Int16> = 0...2
    public static let firstFlexibleVersion: Int16 = 2

    public struct Partition: KafkaStruct, Equatable {
        public var partitionIndex: Int32 = 0
        public var offset: Int64 = 0
        public init() {}
        public init(partitionIndex: Int32, offset: Int64) {
            self.partitionIndex = partitionIndex
            self.offset = offset
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&partitionIndex)
            try c.int64(&offset)
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

    public var topics: [Topic] = []
    public var timeoutMs: Int32 = 0
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.array(&topics)
        try c.int32(&timeoutMs)
        try c.tags()
    }
}

public struct DeleteRecordsResponse: KafkaStruct, Equatable {
    public struct Partition: KafkaStruct, Equatable {
        public var partitionIndex: Int32 = 0
        public var lowWatermark: Int64 = 0
        public var errorCode: Int16 = 0
        public init() {}
        public init(partitionIndex: Int32, lowWatermark: Int64, errorCode: ErrorCode = .none) {
            self.partitionIndex = partitionIndex
            self.lowWatermark = lowWatermark
            self.errorCode = errorCode.rawValue
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&partitionIndex)
            try c.int64(&lowWatermark)
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
