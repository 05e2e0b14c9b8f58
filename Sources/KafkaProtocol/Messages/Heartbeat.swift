import NIOCore

/// Heartbeat (key 12), v0–4, flexible from v4 (classic group protocol).
public struct HeartbeatRequest: KafkaRequestMessage, Equatable {
    public typealias Response = HeartbeatResponse
    public static let apiKey = ApiKey.heartbeat
    public static let versions: ClosedRange<Int16> = 0...4
    public static let firstFlexibleVersion: Int16 = 4

    public var groupId = ""
    public var generationId: Int32 = 0
    public var memberId = ""
    /// v3+.
    public var groupInstanceId: String? = nil
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.string(&groupId)
        try c.int32(&generationId)
        try c.string(&memberId)
        if c.version >= 3 { try c.nullableString(&groupInstanceId) }
        try c.tags()
    }
}

public struct HeartbeatResponse: KafkaStruct, Equatable {
    public var throttleTimeMs: Int32 = 0
    public var errorCode: Int16 = 0
    public init() {}
    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode.rawValue
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version >= 1 { try c.int32(&throttleTimeMs) }
        try c.int16(&errorCode)
        try c.tags()
    }
}
