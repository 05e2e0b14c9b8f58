import NIOCore

/// A request message type with the versions Riverbank decodes and its response type.
/// Messages that know roughly how big they encode (large ones, so buffers are sized once).
public protocol EncodedSizeHinting {
    var encodedSizeHint: Int { get }
}

public protocol KafkaRequestMessage: KafkaStruct {
    associatedtype Response: KafkaStruct
    static var apiKey: ApiKey { get }
    /// Versions this type can code (what the schema defines).
    static var versions: ClosedRange<Int16> { get }
    /// First flexible version (KIP-482); `Int16.max` when none is.
    static var firstFlexibleVersion: Int16 { get }
}

extension KafkaRequestMessage {
    public static func isFlexible(_ version: Int16) -> Bool { version >= firstFlexibleVersion }

    /// Decodes the body of a request (after its header). Trailing bytes are an error unless
    /// `allowTrailingBytes`: Apache Kafka ignores them and some clients send them (librdkafka's
    /// Metadata v12), so the broker must too.
    public static func decode(from buffer: ByteBuffer, version: Int16, allowTrailingBytes: Bool = false) throws -> Self {
        guard versions.contains(version) else { throw KafkaDecodingError.unsupportedVersion(apiKey: apiKey.rawValue, version: version) }
        var d = KafkaDecoder(buffer: buffer, version: version, flexible: isFlexible(version))
        var m = Self()
        try m.code(&d)
        if d.buffer.readableBytes != 0 && !allowTrailingBytes { throw KafkaDecodingError.trailingBytes(d.buffer.readableBytes) }
        return m
    }

    public func encode(version: Int16, into buffer: inout ByteBuffer) throws {
        var e = KafkaEncoder(buffer: buffer, version: version, flexible: Self.isFlexible(version))
        buffer = ByteBuffer()  // drop our reference so the encoder's buffer stays uniquely owned
        var copy = self
        try copy.code(&e)
        buffer = e.buffer
    }

    public static func decodeResponse(from buffer: ByteBuffer, version: Int16) throws -> Response {
        var d = KafkaDecoder(buffer: buffer, version: version, flexible: isFlexible(version))
        var m = Response()
        try m.code(&d)
        if d.buffer.readableBytes != 0 { throw KafkaDecodingError.trailingBytes(d.buffer.readableBytes) }
        return m
    }

    public static func encodeResponse(_ response: Response, version: Int16, into buffer: inout ByteBuffer) throws {
        var e = KafkaEncoder(buffer: buffer, version: version, flexible: isFlexible(version))
        buffer = ByteBuffer()
        var copy = response
        try copy.code(&e)
        buffer = e.buffer
    }

    /// Response header flexibility: ApiVersions always uses header v0.
    public static func responseHeaderFlexible(_ version: Int16) -> Bool {
        apiKey == .apiVersions ? false : isFlexible(version)
    }
    public static func requestHeaderFlexible(_ version: Int16) -> Bool { isFlexible(version) }
}
