import NIOCore

/// InitProducerId (key 22), v0–5, flexible from v2. v3+ lets a producer pass its current
/// id/epoch to bump the epoch instead of getting a fresh id.
public struct InitProducerIdRequest: KafkaRequestMessage, Equatable {
    public typealias Response = InitProducerIdResponse
    public static let apiKey = ApiKey.initProducerId
    public static let versions: ClosedRange<Int16> = 0...5
    public static let firstFlexibleVersion: Int16 = 2

    /// nil for an idempotent (non-transactional) producer.
    public var transactionalId: String? = nil
    public var transactionTimeoutMs: Int32 = 0
    public var producerId: Int64 = -1
    public var producerEpoch: Int16 = -1
    public init() {}
    public init(transactionalId: String?, transactionTimeoutMs: Int32, producerId: Int64 = -1, producerEpoch: Int16 = -1) {
        self.transactionalId = transactionalId
        self.transactionTimeoutMs = transactionTimeoutMs
        self.producerId = producerId
        self.producerEpoch = producerEpoch
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.nullableString(&transactionalId)
        try c.int32(&transactionTimeoutMs)
        if c.version >= 3 {
            try c.int64(&producerId)
            try c.int16(&producerEpoch)
        }
        try c.tags()
    }
}

public struct InitProducerIdResponse: KafkaStruct, Equatable {
    public var throttleTimeMs: Int32 = 0
    public var errorCode: Int16 = 0
    public var producerId: Int64 = -1
    public var producerEpoch: Int16 = 0
    public init() {}
    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, producerId: Int64, producerEpoch: Int16) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode.rawValue
        self.producerId = producerId
        self.producerEpoch = producerEpoch
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int32(&throttleTimeMs)
        try c.int16(&errorCode)
        try c.int64(&producerId)
        try c.int16(&producerEpoch)
        try c.tags()
    }
}
