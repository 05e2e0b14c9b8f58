import NIOCore

/// SaslAuthenticate (key 36), v0–2, flexible from v2: one SASL token each way per round
/// (after SaslHandshake v1).
public struct SaslAuthenticateRequest: KafkaRequestMessage, Equatable {
    public typealias Response = SaslAuthenticateResponse
    public static let apiKey = ApiKey.saslAuthenticate
    public static let versions: ClosedRange<Int16> = 0...2
    public static let firstFlexibleVersion: Int16 = 2

    public var authBytes = ByteBuffer()
    public init() {}
    public init(authBytes: ByteBuffer) { self.authBytes = authBytes }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.bytes(&authBytes)
        try c.tags()
    }
}

public struct SaslAuthenticateResponse: KafkaStruct, Equatable {
    public var errorCode: Int16 = 0
    public var errorMessage: String? = nil
    public var authBytes = ByteBuffer()
    /// v1+: when the broker will close the connection unless it re-authenticates (0: never).
    public var sessionLifetimeMs: Int64 = 0
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int16(&errorCode)
        try c.nullableString(&errorMessage)
        try c.bytes(&authBytes)
        if c.version >= 1 { try c.int64(&sessionLifetimeMs) }
        try c.tags()
    }
}
