import NIOCore

/// ListOffsets (key 2), schema v0–10 (served 1–10), flexible from v6. Timestamps -1 (latest),
/// -2 (earliest), -3 (max timestamp) and any real timestamp (time travel).
public struct ListOffsetsRequest: KafkaRequestMessage {
    public typealias Response = ListOffsetsResponse
    public static let apiKey = ApiKey.listOffsets
    public static let versions: ClosedRange<Int16> = 0...10
    public static let firstFlexibleVersion: Int16 = 6

    public static let latestTimestamp: Int64 = -1
    public static let earliestTimestamp: Int64 = -2
    public static let maxTimestamp: Int64 = -3

    public struct Partition: KafkaStruct, Equatable {
        public var partitionIndex: Int32 = 0
        public var currentLeaderEpoch: Int32 = -1
        public var timestamp: Int64 = -1
        public var maxNumOffsets: Int32 = 1
        public init() {}
        public init(partitionIndex: Int32, timestamp: Int64) {
            self.partitionIndex = partitionIndex
            self.timestamp = timestamp
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&partitionIndex)
            if c.version >= 4 { try c.int32(&currentLeaderEpoch) }
            try c.int64(&timestamp)
            if c.version == 0 { try c.int32(&maxNumOffsets) }
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

    public var replicaId: Int32 = -1
    public var isolationLevel: Int8 = 0
    public var topics: [Topic] = []
    public var timeoutMs: Int32 = 0
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int32(&replicaId)
        if c.version >= 2 { try c.int8(&isolationLevel) }
        try c.array(&topics)
        if c.version >= 10 { try c.int32(&timeoutMs) }
        try c.tags()
    }
}

public struct ListOffsetsResponse: KafkaStruct {
    public struct Partition: KafkaStruct, Equatable {
        public var partitionIndex: Int32 = 0
        public var errorCode: Int16 = 0
        public var oldStyleOffsets: [Int64] = []
        public var timestamp: Int64 = -1
        public var offset: Int64 = -1
        public var leaderEpoch: Int32 = -1
        public init() {}
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&partitionIndex)
            try c.int16(&errorCode)
            if c.version == 0 { try c.int64Array(&oldStyleOffsets) }
            if c.version >= 1 {
                try c.int64(&timestamp)
                try c.int64(&offset)
            }
            if c.version >= 4 { try c.int32(&leaderEpoch) }
            try c.tags()
        }
    }

    public struct Topic: KafkaStruct, Equatable {
        public var name = ""
        public var partitions: [Partition] = []
        public init() {}
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.array(&partitions)
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    public var topics: [Topic] = []
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version >= 2 { try c.int32(&throttleTimeMs) }
        try c.array(&topics)
        try c.tags()
    }
}
