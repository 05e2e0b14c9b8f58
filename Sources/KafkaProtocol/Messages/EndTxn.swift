import NIOCore

/// EndTxn (key 26), v0–5, flexible from v3: commit or abort the producer's ongoing transaction.
/// v2 adds the PRODUCER_FENCED error, v4 TRANSACTION_ABORTABLE; v5 (KIP-890 part 2, transaction
/// version 2) bumps the epoch on every transaction, so the response carries the producer id and
/// epoch to use next.
public struct EndTxnRequest: KafkaRequestMessage, Equatable {
    public typealias Response = EndTxnResponse
    public static let apiKey = ApiKey.endTxn
    public static let versions: ClosedRange<Int16> = 0...5
    public static let firstFlexibleVersion: Int16 = 3

    public var transactionalId = ""
    public var producerId: Int64 = 0
    public var producerEpoch: Int16 = 0
    /// true to commit, false to abort.
    public var committed = false
    public init() {}
    public init(transactionalId: String, producerId: Int64, producerEpoch: Int16, committed: Bool) {
        self.transactionalId = transactionalId
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.committed = committed
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.string(&transactionalId)
        try c.int64(&producerId)
        try c.int16(&producerEpoch)
        try c.bool(&committed)
        try c.tags()
    }
}

public struct EndTxnResponse: KafkaStruct, Equatable {
    public var throttleTimeMs: Int32 = 0
    public var errorCode: Int16 = 0
    /// v5+: the producer id for the next transaction (a new one when the epoch ran out).
    public var producerId: Int64 = -1
    /// v5+: the (bumped) epoch for the next transaction.
    public var producerEpoch: Int16 = -1
    public init() {}
    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode, producerId: Int64 = -1, producerEpoch: Int16 = -1) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode.rawValue
        self.producerId = producerId
        self.producerEpoch = producerEpoch
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int32(&throttleTimeMs)
        try c.int16(&errorCode)
        if c.version >= 5 {
            try c.int64(&producerId)
            try c.int16(&producerEpoch)
        }
        try c.tags()
    }
}
