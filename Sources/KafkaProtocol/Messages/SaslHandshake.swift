import NIOCore

/// SaslHandshake (key 17), v0–1, never flexible. v0 is followed by raw SASL tokens framed
/// only by a 4-byte length; v1 by SaslAuthenticate requests.
public struct SaslHandshakeRequest: KafkaRequestMessage, Equatable {
    public typealias Response = SaslHandshakeResponse
    public static let apiKey = ApiKey.saslHandshake
    public static let versions: ClosedRange<Int16> = 0...1
    public static let firstFlexibleVersion: Int16 = Int16.max

    public var mechanism = ""
    public init() {}
    public init(mechanism: String) { self.mechanism = mechanism }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.string(&mechanism)
        try c.tags()
    }
}

public struct SaslHandshakeResponse: KafkaStruct, Equatable {
    public var errorCode: Int16 = 0
    /// The mechanisms the broker enables.
    public var mechanisms: [String] = []
    public init() {}
    public init(errorCode: ErrorCode, mechanisms: [String]) {
        self.errorCode = errorCode.rawValue
        self.mechanisms = mechanisms
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int16(&errorCode)
        try c.stringArray(&mechanisms)
        try c.tags()
    }
}
