import NIOCore

/// AddOffsetsToTxn (key 25), v0–4, flexible from v3: a transactional producer tells its
/// transaction coordinator that the transaction will commit offsets for `groupId` (the
/// coordinator adds that group's `__consumer_offsets` partition). v2 adds the PRODUCER_FENCED
/// error, v4 TRANSACTION_ABORTABLE; the layout is the same throughout.
public struct AddOffsetsToTxnRequest: KafkaRequestMessage, Equatable {
    public typealias Response = AddOffsetsToTxnResponse
    public static let apiKey = ApiKey.addOffsetsToTxn
    public static let versions: ClosedRange<Int16> = 0...4
    public static let firstFlexibleVersion: Int16 = 3

    public var transactionalId = ""
    public var producerId: Int64 = 0
    public var producerEpoch: Int16 = 0
    public var groupId = ""
    public init() {}
    public init(transactionalId: String, producerId: Int64, producerEpoch: Int16, groupId: String) {
        self.transactionalId = transactionalId
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.groupId = groupId
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.string(&transactionalId)
        try c.int64(&producerId)
        try c.int16(&producerEpoch)
        try c.string(&groupId)
        try c.tags()
    }
}

public struct AddOffsetsToTxnResponse: KafkaStruct, Equatable {
    public var throttleTimeMs: Int32 = 0
    public var errorCode: Int16 = 0
    public init() {}
    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode.rawValue
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int32(&throttleTimeMs)
        try c.int16(&errorCode)
        try c.tags()
    }
}
