import NIOCore

/// Fetch (key 1), schema v0–17 (Riverbank serves 4–17), flexible from v12; topic ids from v13.
public struct FetchRequest: KafkaRequestMessage {
    public typealias Response = FetchResponse
    public static let apiKey = ApiKey.fetch
    public static let versions: ClosedRange<Int16> = 0...17
    public static let firstFlexibleVersion: Int16 = 12

    public struct Partition: KafkaStruct, Equatable {
        public var partition: Int32 = 0
        public var currentLeaderEpoch: Int32 = -1
        public var fetchOffset: Int64 = 0
        public var lastFetchedEpoch: Int32 = -1
        public var logStartOffset: Int64 = -1
        public var partitionMaxBytes: Int32 = 0
        public init() {}
        public init(partition: Int32, fetchOffset: Int64, partitionMaxBytes: Int32) {
            self.partition = partition
            self.fetchOffset = fetchOffset
            self.partitionMaxBytes = partitionMaxBytes
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&partition)
            if c.version >= 9 { try c.int32(&currentLeaderEpoch) }
            try c.int64(&fetchOffset)
            if c.version >= 12 { try c.int32(&lastFetchedEpoch) }
            if c.version >= 5 { try c.int64(&logStartOffset) }
            try c.int32(&partitionMaxBytes)
            try c.tags()
        }
    }

    public struct Topic: KafkaStruct, Equatable {
        public var topic = ""
        public var topicId = KafkaUUID.zero
        public var partitions: [Partition] = []
        public init() {}
        public init(topic: String, topicId: KafkaUUID = .zero, partitions: [Partition]) {
            self.topic = topic
            self.topicId = topicId
            self.partitions = partitions
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            if c.version <= 12 { try c.string(&topic) }
            if c.version >= 13 { try c.uuid(&topicId) }
            try c.array(&partitions)
            try c.tags()
        }
    }

    public struct ForgottenTopic: KafkaStruct, Equatable {
        public var topic = ""
        public var topicId = KafkaUUID.zero
        public var partitions: [Int32] = []
        public init() {}
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            if c.version <= 12 { try c.string(&topic) }
            if c.version >= 13 { try c.uuid(&topicId) }
            try c.int32Array(&partitions)
            try c.tags()
        }
    }

    public var replicaId: Int32 = -1
    public var maxWaitMs: Int32 = 500
    public var minBytes: Int32 = 1
    public var maxBytes: Int32 = Int32.max
    public var isolationLevel: Int8 = 0
    public var sessionId: Int32 = 0
    public var sessionEpoch: Int32 = -1
    public var topics: [Topic] = []
    public var forgottenTopics: [ForgottenTopic] = []
    public var rackId = ""
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version <= 14 { try c.int32(&replicaId) }
        try c.int32(&maxWaitMs)
        try c.int32(&minBytes)
        if c.version >= 3 { try c.int32(&maxBytes) }
        if c.version >= 4 { try c.int8(&isolationLevel) }
        if c.version >= 7 {
            try c.int32(&sessionId)
            try c.int32(&sessionEpoch)
        }
        try c.array(&topics)
        if c.version >= 7 { try c.array(&forgottenTopics) }
        if c.version >= 11 { try c.string(&rackId) }
        // Tags 0 (ClusterId) and 1 (ReplicaState) matter only between brokers.
        try c.tags()
    }
}

public struct FetchResponse: KafkaStruct, EncodedSizeHinting {
    public struct AbortedTransaction: KafkaStruct, Equatable {
        public var producerId: Int64 = 0
        public var firstOffset: Int64 = 0
        public init() {}
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int64(&producerId)
            try c.int64(&firstOffset)
            try c.tags()
        }
    }

    public struct Partition: KafkaStruct, Equatable {
        public var partitionIndex: Int32 = 0
        public var errorCode: Int16 = 0
        public var highWatermark: Int64 = -1
        public var lastStableOffset: Int64 = -1
        public var logStartOffset: Int64 = -1
        public var abortedTransactions: [AbortedTransaction]? = nil
        public var preferredReadReplica: Int32 = -1
        public var records: ByteBuffer? = nil
        public init() {}
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&partitionIndex)
            try c.int16(&errorCode)
            try c.int64(&highWatermark)
            if c.version >= 4 { try c.int64(&lastStableOffset) }
            if c.version >= 5 { try c.int64(&logStartOffset) }
            if c.version >= 4 { try c.nullableArray(&abortedTransactions) }
            if c.version >= 11 { try c.int32(&preferredReadReplica) }
            try c.nullableBytes(&records)
            try c.tags()
        }
    }

    public struct Topic: KafkaStruct, Equatable {
        public var topic = ""
        public var topicId = KafkaUUID.zero
        public var partitions: [Partition] = []
        public init() {}
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            if c.version <= 12 { try c.string(&topic) }
            if c.version >= 13 { try c.uuid(&topicId) }
            try c.array(&partitions)
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    public var errorCode: Int16 = 0
    public var sessionId: Int32 = 0
    public var topics: [Topic] = []
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version >= 1 { try c.int32(&throttleTimeMs) }
        if c.version >= 7 {
            try c.int16(&errorCode)
            try c.int32(&sessionId)
        }
        try c.array(&topics)
        try c.tags()
    }
}

extension FetchResponse {
    /// Bytes of record data, so the response frame is allocated once (it runs to megabytes).
    public var encodedSizeHint: Int {
        var n = 64
        for t in topics {
            n += 64 + t.topic.utf8.count
            for p in t.partitions { n += 64 + (p.records?.readableBytes ?? 0) }
        }
        return n
    }
}
