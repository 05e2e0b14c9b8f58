import NIOCore

/// DescribeTransactions (key 65), v0 only, flexible: the state of transactional ids as their
/// transaction coordinator holds it (KIP-664).
public struct DescribeTransactionsRequest: KafkaRequestMessage, Equatable {
    public typealias Response = DescribeTransactionsResponse
    public static let apiKey = ApiKey.describeTransactions
    public static let versions: ClosedRange<Int16> = 0...0
    public static let firstFlexibleVersion: Int16 = 0

    /// Empty asks for nothing (not for every transaction).
    public var transactionalIds: [String] = []
    public init() {}
    public init(transactionalIds: [String]) { self.transactionalIds = transactionalIds }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.stringArray(&transactionalIds)
        try c.tags()
    }
}

public struct DescribeTransactionsResponse: KafkaStruct, Equatable {
    public struct Topic: KafkaStruct, Equatable {
        public var topic = ""
        public var partitions: [Int32] = []
        public init() {}
        public init(topic: String, partitions: [Int32]) {
            self.topic = topic
            self.partitions = partitions
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&topic)
            try c.int32Array(&partitions)
            try c.tags()
        }
    }

    public struct TransactionState: KafkaStruct, Equatable {
        public var errorCode: Int16 = 0
        public var transactionalId = ""
        /// Kafka's state name: "Empty", "Ongoing", "PrepareCommit", "PrepareAbort",
        /// "CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence".
        public var transactionState = ""
        public var transactionTimeoutMs: Int32 = 0
        /// When the ongoing transaction started (ms); Kafka sends -1 when none is.
        public var transactionStartTimeMs: Int64 = 0
        public var producerId: Int64 = 0
        public var producerEpoch: Int16 = 0
        /// The partitions in the transaction (while it completes: those still without a marker).
        public var topics: [Topic] = []
        public init() {}
        public init(errorCode: ErrorCode = .none, transactionalId: String, transactionState: String, transactionTimeoutMs: Int32 = 0,
                    transactionStartTimeMs: Int64 = -1, producerId: Int64, producerEpoch: Int16, topics: [Topic] = []) {
            self.errorCode = errorCode.rawValue
            self.transactionalId = transactionalId
            self.transactionState = transactionState
            self.transactionTimeoutMs = transactionTimeoutMs
            self.transactionStartTimeMs = transactionStartTimeMs
            self.producerId = producerId
            self.producerEpoch = producerEpoch
            self.topics = topics
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int16(&errorCode)
            try c.string(&transactionalId)
            try c.string(&transactionState)
            try c.int32(&transactionTimeoutMs)
            try c.int64(&transactionStartTimeMs)
            try c.int64(&producerId)
            try c.int16(&producerEpoch)
            try c.array(&topics)
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    public var transactionStates: [TransactionState] = []
    public init() {}
    public init(throttleTimeMs: Int32 = 0, transactionStates: [TransactionState]) {
        self.throttleTimeMs = throttleTimeMs
        self.transactionStates = transactionStates
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int32(&throttleTimeMs)
        try c.array(&transactionStates)
        try c.tags()
    }
}
