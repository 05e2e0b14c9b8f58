import NIOCore

/// WriteTxnMarkers (key 27), v0–2, flexible from v1: broker to broker, the transaction
/// coordinator asks partition leaders to append the COMMIT/ABORT control record that ends a
/// transaction. v2 (Kafka 4.2, KIP-1228) adds each marker's `transactionVersion`. Kafka 4.0
/// dropped v0 (its schema now starts at v1), but v0's layout is v1's without flexibility.
public struct WriteTxnMarkersRequest: KafkaRequestMessage, Equatable {
    public typealias Response = WriteTxnMarkersResponse
    public static let apiKey = ApiKey.writeTxnMarkers
    public static let versions: ClosedRange<Int16> = 0...2
    public static let firstFlexibleVersion: Int16 = 1

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

    public struct Marker: KafkaStruct, Equatable {
        public var producerId: Int64 = 0
        public var producerEpoch: Int16 = 0
        /// The outcome to write: false = ABORT, true = COMMIT.
        public var transactionResult = false
        public var topics: [Topic] = []
        /// The epoch of the transaction state partition the coordinator hosts (fences stale
        /// coordinators).
        public var coordinatorEpoch: Int32 = 0
        /// v2+: the transaction version of the marker (0/1 legacy, 2 = TV2).
        public var transactionVersion: Int8 = 0
        public init() {}
        public init(producerId: Int64, producerEpoch: Int16, transactionResult: Bool, topics: [Topic], coordinatorEpoch: Int32,
                    transactionVersion: Int8 = 0) {
            self.producerId = producerId
            self.producerEpoch = producerEpoch
            self.transactionResult = transactionResult
            self.topics = topics
            self.coordinatorEpoch = coordinatorEpoch
            self.transactionVersion = transactionVersion
        }

        /// The control record type this marker writes.
        public var controlType: ControlRecordType { transactionResult ? .commit : .abort }

        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int64(&producerId)
            try c.int16(&producerEpoch)
            try c.bool(&transactionResult)
            try c.array(&topics)
            try c.int32(&coordinatorEpoch)
            if c.version >= 2 { try c.int8(&transactionVersion) }
            try c.tags()
        }
    }

    public var markers: [Marker] = []
    public init() {}
    public init(markers: [Marker]) { self.markers = markers }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.array(&markers)
        try c.tags()
    }
}

/// No throttle time and no top-level error: the API is broker to broker.
public struct WriteTxnMarkersResponse: KafkaStruct, Equatable {
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

    public struct MarkerResult: KafkaStruct, Equatable {
        public var producerId: Int64 = 0
        public var topics: [Topic] = []
        public init() {}
        public init(producerId: Int64, topics: [Topic]) {
            self.producerId = producerId
            self.topics = topics
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int64(&producerId)
            try c.array(&topics)
            try c.tags()
        }
    }

    public var markers: [MarkerResult] = []
    public init() {}
    public init(markers: [MarkerResult]) { self.markers = markers }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.array(&markers)
        try c.tags()
    }
}
