import NIOCore

/// AddPartitionsToTxn (key 24), v0–5, flexible from v3. Two forms: v0–3 are the client's
/// (one transaction: transactional id, producer id/epoch and its topics); v4+ the broker's
/// batched form (KIP-890), several transactions each with `verifyOnly`, sent by a partition
/// leader to check that a produce belongs to an ongoing transaction. v5 only adds the
/// TRANSACTION_ABORTABLE error.
public struct AddPartitionsToTxnRequest: KafkaRequestMessage, Equatable {
    public typealias Response = AddPartitionsToTxnResponse
    public static let apiKey = ApiKey.addPartitionsToTxn
    public static let versions: ClosedRange<Int16> = 0...5
    public static let firstFlexibleVersion: Int16 = 3

    public struct Topic: KafkaStruct, Equatable {
        public var name = ""
        public var partitions: [Int32] = []
        public init() {}
        public init(name: String, partitions: [Int32]) {
            self.name = name
            self.partitions = partitions
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.int32Array(&partitions)
            try c.tags()
        }
    }

    /// v4+: one transaction of the batched form.
    public struct Transaction: KafkaStruct, Equatable {
        public var transactionalId = ""
        public var producerId: Int64 = 0
        public var producerEpoch: Int16 = 0
        /// Only check that the partitions are already in the transaction, do not add them.
        public var verifyOnly = false
        public var topics: [Topic] = []
        public init() {}
        public init(transactionalId: String, producerId: Int64, producerEpoch: Int16, verifyOnly: Bool = false, topics: [Topic]) {
            self.transactionalId = transactionalId
            self.producerId = producerId
            self.producerEpoch = producerEpoch
            self.verifyOnly = verifyOnly
            self.topics = topics
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&transactionalId)
            try c.int64(&producerId)
            try c.int16(&producerEpoch)
            try c.bool(&verifyOnly)
            try c.array(&topics)
            try c.tags()
        }
    }

    /// v4+.
    public var transactions: [Transaction] = []
    /// v0–3 (Kafka's `V3AndBelowTransactionalId`).
    public var transactionalId = ""
    /// v0–3.
    public var producerId: Int64 = 0
    /// v0–3.
    public var producerEpoch: Int16 = 0
    /// v0–3: the partitions to add to the transaction.
    public var topics: [Topic] = []
    public init() {}
    /// The client form (v0–3).
    public init(transactionalId: String, producerId: Int64, producerEpoch: Int16, topics: [Topic]) {
        self.transactionalId = transactionalId
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.topics = topics
    }
    /// The batched form (v4+).
    public init(transactions: [Transaction]) { self.transactions = transactions }

    /// The transactions of a request of `version`: the v0–3 fields as one transaction that adds
    /// its partitions (`verifyOnly` false), or the v4+ batch.
    public func requestedTransactions(version: Int16) -> [Transaction] {
        version >= 4 ? transactions
            : [Transaction(transactionalId: transactionalId, producerId: producerId, producerEpoch: producerEpoch, topics: topics)]
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version >= 4 {
            try c.array(&transactions)
        } else {
            try c.string(&transactionalId)
            try c.int64(&producerId)
            try c.int16(&producerEpoch)
            try c.array(&topics)
        }
        try c.tags()
    }
}

public struct AddPartitionsToTxnResponse: KafkaStruct, Equatable {
    public struct PartitionResult: KafkaStruct, Equatable {
        public var partitionIndex: Int32 = 0
        public var partitionErrorCode: Int16 = 0
        public init() {}
        public init(partitionIndex: Int32, errorCode: ErrorCode) {
            self.partitionIndex = partitionIndex
            self.partitionErrorCode = errorCode.rawValue
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&partitionIndex)
            try c.int16(&partitionErrorCode)
            try c.tags()
        }
    }

    public struct TopicResult: KafkaStruct, Equatable {
        public var name = ""
        public var resultsByPartition: [PartitionResult] = []
        public init() {}
        public init(name: String, resultsByPartition: [PartitionResult]) {
            self.name = name
            self.resultsByPartition = resultsByPartition
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.array(&resultsByPartition)
            try c.tags()
        }
    }

    /// v4+: the results of one transaction of the batch.
    public struct TransactionResult: KafkaStruct, Equatable {
        public var transactionalId = ""
        public var topicResults: [TopicResult] = []
        public init() {}
        public init(transactionalId: String, topicResults: [TopicResult]) {
            self.transactionalId = transactionalId
            self.topicResults = topicResults
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&transactionalId)
            try c.array(&topicResults)
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    /// v4+: the top-level error (the per-partition codes are then not meaningful).
    public var errorCode: Int16 = 0
    /// v4+.
    public var resultsByTransaction: [TransactionResult] = []
    /// v0–3 (Kafka's `ResultsByTopicV3AndBelow`).
    public var resultsByTopic: [TopicResult] = []
    public init() {}
    /// The client form (v0–3).
    public init(throttleTimeMs: Int32 = 0, resultsByTopic: [TopicResult]) {
        self.throttleTimeMs = throttleTimeMs
        self.resultsByTopic = resultsByTopic
    }
    /// The batched form (v4+).
    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, resultsByTransaction: [TransactionResult]) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode.rawValue
        self.resultsByTransaction = resultsByTransaction
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int32(&throttleTimeMs)
        if c.version >= 4 {
            try c.int16(&errorCode)
            try c.array(&resultsByTransaction)
        } else {
            try c.array(&resultsByTopic)
        }
        try c.tags()
    }
}
