import NIOCore

/// ListTransactions (key 66), v0–2, flexible in every version: the transactions a transaction
/// coordinator knows, filtered (KIP-664). v1 adds `durationFilter` (KIP-994), v2
/// `transactionalIdPattern` (KIP-1152, which may answer INVALID_REGULAR_EXPRESSION); the
/// response is the same in every version.
public struct ListTransactionsRequest: KafkaRequestMessage, Equatable {
    public typealias Response = ListTransactionsResponse
    public static let apiKey = ApiKey.listTransactions
    public static let versions: ClosedRange<Int16> = 0...2
    public static let firstFlexibleVersion: Int16 = 0

    /// States to list (Kafka's state names); empty lists every state.
    public var stateFilters: [String] = []
    /// Producer ids to list; empty lists every producer.
    public var producerIdFilters: [Int64] = []
    /// v1+: only transactions running longer than this many milliseconds; negative for all.
    public var durationFilter: Int64 = -1
    /// v2+: a regular expression (RE2 syntax) the transactional id must match; nil or "" for all.
    public var transactionalIdPattern: String? = nil
    public init() {}
    public init(stateFilters: [String] = [], producerIdFilters: [Int64] = [], durationFilter: Int64 = -1,
                transactionalIdPattern: String? = nil) {
        self.stateFilters = stateFilters
        self.producerIdFilters = producerIdFilters
        self.durationFilter = durationFilter
        self.transactionalIdPattern = transactionalIdPattern
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.stringArray(&stateFilters)
        try c.int64Array(&producerIdFilters)
        if c.version >= 1 { try c.int64(&durationFilter) }
        if c.version >= 2 { try c.nullableString(&transactionalIdPattern) }
        try c.tags()
    }
}

public struct ListTransactionsResponse: KafkaStruct, Equatable {
    public struct TransactionState: KafkaStruct, Equatable {
        public var transactionalId = ""
        public var producerId: Int64 = 0
        /// Kafka's state name, e.g. "Ongoing".
        public var transactionState = ""
        public init() {}
        public init(transactionalId: String, producerId: Int64, transactionState: String) {
            self.transactionalId = transactionalId
            self.producerId = producerId
            self.transactionState = transactionState
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&transactionalId)
            try c.int64(&producerId)
            try c.string(&transactionState)
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    public var errorCode: Int16 = 0
    /// The requested state filters the coordinator does not know.
    public var unknownStateFilters: [String] = []
    public var transactionStates: [TransactionState] = []
    public init() {}
    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, unknownStateFilters: [String] = [],
                transactionStates: [TransactionState]) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode.rawValue
        self.unknownStateFilters = unknownStateFilters
        self.transactionStates = transactionStates
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int32(&throttleTimeMs)
        try c.int16(&errorCode)
        try c.stringArray(&unknownStateFilters)
        try c.array(&transactionStates)
        try c.tags()
    }
}
