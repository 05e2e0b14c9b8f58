import NIOCore

/// Produce (key 0): the schema covers v0–11 so that v0–2 requests can still be answered with
/// UNSUPPORTED_VERSION in their own format (librdkafka needs v0 advertised; see ApiVersions).
public struct ProduceRequest: KafkaRequestMessage {
    public typealias Response = ProduceResponse
    public static let apiKey = ApiKey.produce
    public static let versions: ClosedRange<Int16> = 0...11
    public static let firstFlexibleVersion: Int16 = 9

    public struct Partition: KafkaStruct {
        public var index: Int32 = 0
        /// RecordBatch bytes, kept as a slice of the request frame (no copy).
        public var records: ByteBuffer? = nil
        public init() {}
        public init(index: Int32, records: ByteBuffer?) {
            self.index = index
            self.records = records
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&index)
            try c.nullableBytes(&records)
            try c.tags()
        }
    }

    public struct Topic: KafkaStruct {
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

    public var transactionalId: String? = nil
    public var acks: Int16 = -1
    public var timeoutMs: Int32 = 30000
    public var topics: [Topic] = []
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version >= 3 { try c.nullableString(&transactionalId) }
        try c.int16(&acks)
        try c.int32(&timeoutMs)
        try c.array(&topics)
        try c.tags()
    }
}

public struct ProduceResponse: KafkaStruct {
    public struct RecordError: KafkaStruct, Equatable {
        public var batchIndex: Int32 = 0
        public var message: String? = nil
        public init() {}
        public init(batchIndex: Int32, message: String?) {
            self.batchIndex = batchIndex
            self.message = message
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&batchIndex)
            try c.nullableString(&message)
            try c.tags()
        }
    }

    public struct Partition: KafkaStruct, Equatable {
        public var index: Int32 = 0
        public var errorCode: Int16 = 0
        public var baseOffset: Int64 = -1
        public var logAppendTimeMs: Int64 = -1
        public var logStartOffset: Int64 = -1
        public var recordErrors: [RecordError] = []
        public var errorMessage: String? = nil
        public init() {}
        public init(index: Int32, errorCode: ErrorCode, baseOffset: Int64 = -1, logAppendTimeMs: Int64 = -1,
                    logStartOffset: Int64 = -1, errorMessage: String? = nil) {
            self.index = index
            self.errorCode = errorCode.rawValue
            self.baseOffset = baseOffset
            self.logAppendTimeMs = logAppendTimeMs
            self.logStartOffset = logStartOffset
            self.errorMessage = errorMessage
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&index)
            try c.int16(&errorCode)
            try c.int64(&baseOffset)
            if c.version >= 2 { try c.int64(&logAppendTimeMs) }
            if c.version >= 5 { try c.int64(&logStartOffset) }
            if c.version >= 8 {
                try c.array(&recordErrors)
                try c.nullableString(&errorMessage)
            }
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
    public var throttleTimeMs: Int32 = 0
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.array(&topics)
        if c.version >= 1 { try c.int32(&throttleTimeMs) }
        try c.tags()
    }
}
