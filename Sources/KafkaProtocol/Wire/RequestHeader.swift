import NIOCore

/// Request header v1/v2. The client id is a classic (non-compact) nullable string even in v2:
/// Kafka kept it that way so the header's prefix can be read before the version is known.
public struct RequestHeader: Sendable, Equatable {
    public var apiKey: Int16
    public var apiVersion: Int16
    public var correlationId: Int32
    public var clientId: String?

    public init(apiKey: Int16, apiVersion: Int16, correlationId: Int32, clientId: String?) {
        self.apiKey = apiKey
        self.apiVersion = apiVersion
        self.correlationId = correlationId
        self.clientId = clientId
    }

    /// Reads the fixed prefix (key, version, correlation id, client id) common to every header version.
    public static func readPrefix(from buffer: inout ByteBuffer) throws -> RequestHeader {
        let key = try buffer.readKafkaInt(Int16.self, "api key")
        let version = try buffer.readKafkaInt(Int16.self, "api version")
        let correlation = try buffer.readKafkaInt(Int32.self, "correlation id")
        let len = Int(try buffer.readKafkaInt(Int16.self, "client id"))
        let client: String? = len < 0 ? nil : try buffer.readKafkaString(length: len, "client id")
        return RequestHeader(apiKey: key, apiVersion: version, correlationId: correlation, clientId: client)
    }

    /// Skips the header's tagged fields (header v2, used by flexible request versions).
    public static func skipTaggedFields(in buffer: inout ByteBuffer) throws {
        var d = KafkaDecoder(buffer: buffer, version: 0, flexible: true)
        var t = TaggedFields()
        try d.taggedFields(&t)
        buffer = d.buffer
    }

    /// Encodes the header, as a client does (v2 when `flexible`).
    public func write(to buffer: inout ByteBuffer, flexible: Bool) {
        buffer.writeInteger(apiKey, endianness: .big)
        buffer.writeInteger(apiVersion, endianness: .big)
        buffer.writeInteger(correlationId, endianness: .big)
        if let clientId {
            buffer.writeInteger(Int16(clientId.utf8.count), endianness: .big)
            buffer.writeString(clientId)
        } else {
            buffer.writeInteger(Int16(-1), endianness: .big)
        }
        if flexible { buffer.writeUnsignedVarint(0) }
    }
}

/// Response header v0 (correlation id) or v1 (plus tagged fields, for flexible versions;
/// ApiVersions always answers with v0 so that a client of any age can read it).
public enum ResponseHeader {
    public static func write(correlationId: Int32, flexible: Bool, to buffer: inout ByteBuffer) {
        buffer.writeInteger(correlationId, endianness: .big)
        if flexible { buffer.writeUnsignedVarint(0) }
    }
}
