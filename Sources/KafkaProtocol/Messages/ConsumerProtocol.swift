import NIOCore

// The "consumer" embedded protocol: what consumers put in JoinGroup protocol metadata
// (subscription) and SyncGroup assignments. Each blob starts with an int16 version and is
// never flexible. Like Kafka's own reader, decoding parses versions above the newest known
// one with the newest layout and ignores trailing bytes (new versions only append fields).

/// A topic and some of its partitions (used by both embedded schemas).
public struct ConsumerProtocolTopicPartition: KafkaStruct, Equatable {
    public var topic = ""
    public var partitions: [Int32] = []
    public init() {}
    public init(topic: String, partitions: [Int32]) {
        self.topic = topic
        self.partitions = partitions
    }
    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.string(&topic)
        try c.int32Array(&partitions)
        try c.tags()
    }
}

/// JoinGroup protocol metadata of a consumer, versions 0–3: v1 adds owned partitions
/// (cooperative rebalancing), v2 the generation, v3 the rack.
public struct ConsumerProtocolSubscription: KafkaStruct, Equatable {
    public typealias TopicPartition = ConsumerProtocolTopicPartition
    public static let versions: ClosedRange<Int16> = 0...3

    public var topics: [String] = []
    public var userData: ByteBuffer? = nil
    /// v1+.
    public var ownedPartitions: [TopicPartition] = []
    /// v2+.
    public var generationId: Int32 = -1
    /// v3+.
    public var rackId: String? = nil
    public init() {}
    public init(topics: [String], userData: ByteBuffer? = nil, ownedPartitions: [TopicPartition] = [],
                generationId: Int32 = -1, rackId: String? = nil) {
        self.topics = topics
        self.userData = userData
        self.ownedPartitions = ownedPartitions
        self.generationId = generationId
        self.rackId = rackId
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.stringArray(&topics)
        try c.nullableBytes(&userData)
        if c.version >= 1 { try c.array(&ownedPartitions) }
        if c.version >= 2 { try c.int32(&generationId) }
        if c.version >= 3 { try c.nullableString(&rackId) }
        try c.tags()
    }

    /// Decodes a blob (leading int16 version included); returns the version it carried.
    public static func decodeWithVersion(from buffer: ByteBuffer) throws -> (version: Int16, value: Self) {
        try ConsumerProtocolCoding.decode(from: buffer, newest: versions.upperBound)
    }

    public static func decode(from buffer: ByteBuffer) throws -> Self {
        try decodeWithVersion(from: buffer).value
    }

    /// Encodes with the leading int16 version.
    public func encode(version: Int16 = 3, into buffer: inout ByteBuffer) throws {
        try ConsumerProtocolCoding.encode(self, version: version, supported: Self.versions, into: &buffer)
    }

    public func encoded(version: Int16 = 3) throws -> ByteBuffer {
        var b = ByteBuffer()
        try encode(version: version, into: &b)
        return b
    }
}

/// SyncGroup assignment of a consumer, versions 0–3 (all the same layout; the version follows
/// the subscription's).
public struct ConsumerProtocolAssignment: KafkaStruct, Equatable {
    public typealias TopicPartition = ConsumerProtocolTopicPartition
    public static let versions: ClosedRange<Int16> = 0...3

    public var assignedPartitions: [TopicPartition] = []
    public var userData: ByteBuffer? = nil
    public init() {}
    public init(assignedPartitions: [TopicPartition], userData: ByteBuffer? = nil) {
        self.assignedPartitions = assignedPartitions
        self.userData = userData
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.array(&assignedPartitions)
        try c.nullableBytes(&userData)
        try c.tags()
    }

    /// Decodes a blob (leading int16 version included); returns the version it carried.
    public static func decodeWithVersion(from buffer: ByteBuffer) throws -> (version: Int16, value: Self) {
        try ConsumerProtocolCoding.decode(from: buffer, newest: versions.upperBound)
    }

    public static func decode(from buffer: ByteBuffer) throws -> Self {
        try decodeWithVersion(from: buffer).value
    }

    /// Encodes with the leading int16 version.
    public func encode(version: Int16 = 3, into buffer: inout ByteBuffer) throws {
        try ConsumerProtocolCoding.encode(self, version: version, supported: Self.versions, into: &buffer)
    }

    public func encoded(version: Int16 = 3) throws -> ByteBuffer {
        var b = ByteBuffer()
        try encode(version: version, into: &b)
        return b
    }
}

enum ConsumerProtocolCoding {
    static func decode<T: KafkaStruct>(from buffer: ByteBuffer, newest: Int16) throws -> (version: Int16, value: T) {
        var buffer = buffer
        let version = try buffer.readKafkaInt(Int16.self, "consumer protocol version")
        guard version >= 0 else { throw KafkaDecodingError.invalidValue("consumer protocol version \(version)") }
        var d = KafkaDecoder(buffer: buffer, version: min(version, newest), flexible: false)
        var value = T()
        try value.code(&d)
        return (version, value)
    }

    static func encode<T: KafkaStruct>(_ value: T, version: Int16, supported: ClosedRange<Int16>, into buffer: inout ByteBuffer) throws {
        guard supported.contains(version) else { throw KafkaDecodingError.invalidValue("consumer protocol version \(version)") }
        buffer.writeInteger(version, endianness: .big)
        var e = KafkaEncoder(buffer: buffer, version: version, flexible: false)
        buffer = ByteBuffer()
        var copy = value
        try copy.code(&e)
        buffer = e.buffer
    }
}
