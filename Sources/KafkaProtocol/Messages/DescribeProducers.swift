import NIOCore

/// DescribeProducers (key 61), v0 only, flexible: the active idempotent/transactional producers
/// of partitions, as their leader tracks them (KIP-664, for finding hanging transactions).
public struct DescribeProducersRequest: KafkaRequestMessage, Equatable {
    public typealias Response = DescribeProducersResponse
    public static let apiKey = ApiKey.describeProducers
    public static let versions: ClosedRange<Int16> = 0...0
    public static let firstFlexibleVersion: Int16 = 0

    public struct Topic: KafkaStruct, Equatable {
        public var name = ""
        public var partitionIndexes: [Int32] = []
        public init() {}
        public init(name: String, partitionIndexes: [Int32]) {
            self.name = name
            self.partitionIndexes = partitionIndexes
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.int32Array(&partitionIndexes)
            try c.tags()
        }
    }

    public var topics: [Topic] = []
    public init() {}
    public init(topics: [Topic]) { self.topics = topics }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.array(&topics)
        try c.tags()
    }
}

public struct DescribeProducersResponse: KafkaStruct, Equatable {
    public struct ProducerState: KafkaStruct, Equatable {
        public var producerId: Int64 = 0
        /// An int32 here, unlike everywhere else a producer epoch appears.
        public var producerEpoch: Int32 = 0
        public var lastSequence: Int32 = -1
        public var lastTimestamp: Int64 = -1
        /// Coordinator epoch of the producer's last transaction marker.
        public var coordinatorEpoch: Int32 = 0
        /// First offset of the producer's open transaction; -1 when none is open.
        public var currentTxnStartOffset: Int64 = -1
        public init() {}
        public init(producerId: Int64, producerEpoch: Int32, lastSequence: Int32 = -1, lastTimestamp: Int64 = -1,
                    coordinatorEpoch: Int32 = 0, currentTxnStartOffset: Int64 = -1) {
            self.producerId = producerId
            self.producerEpoch = producerEpoch
            self.lastSequence = lastSequence
            self.lastTimestamp = lastTimestamp
            self.coordinatorEpoch = coordinatorEpoch
            self.currentTxnStartOffset = currentTxnStartOffset
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int64(&producerId)
            try c.int32(&producerEpoch)
            try c.int32(&lastSequence)
            try c.int64(&lastTimestamp)
            try c.int32(&coordinatorEpoch)
            try c.int64(&currentTxnStartOffset)
            try c.tags()
        }
    }

    public struct Partition: KafkaStruct, Equatable {
        public var partitionIndex: Int32 = 0
        public var errorCode: Int16 = 0
        public var errorMessage: String? = nil
        public var activeProducers: [ProducerState] = []
        public init() {}
        public init(partitionIndex: Int32, errorCode: ErrorCode = .none, errorMessage: String? = nil, activeProducers: [ProducerState] = []) {
            self.partitionIndex = partitionIndex
            self.errorCode = errorCode.rawValue
            self.errorMessage = errorMessage
            self.activeProducers = activeProducers
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&partitionIndex)
            try c.int16(&errorCode)
            try c.nullableString(&errorMessage)
            try c.array(&activeProducers)
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
