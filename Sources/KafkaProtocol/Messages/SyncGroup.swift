import NIOCore

/// SyncGroup (key 14), v0–5, flexible from v4. The leader sends every member's assignment;
/// each member gets its own back.
public struct SyncGroupRequest: KafkaRequestMessage, Equatable {
    public typealias Response = SyncGroupResponse
    public static let apiKey = ApiKey.syncGroup
    public static let versions: ClosedRange<Int16> = 0...5
    public static let firstFlexibleVersion: Int16 = 4

    public struct Assignment: KafkaStruct, Equatable {
        public var memberId = ""
        /// Opaque to the broker; for "consumer" groups a `ConsumerProtocolAssignment`.
        public var assignment = ByteBuffer()
        public init() {}
        public init(memberId: String, assignment: ByteBuffer) {
            self.memberId = memberId
            self.assignment = assignment
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&memberId)
            try c.bytes(&assignment)
            try c.tags()
        }
    }

    public var groupId = ""
    public var generationId: Int32 = 0
    public var memberId = ""
    /// v3+.
    public var groupInstanceId: String? = nil
    /// v5+.
    public var protocolType: String? = nil
    /// v5+.
    public var protocolName: String? = nil
    /// Empty unless sent by the leader.
    public var assignments: [Assignment] = []
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.string(&groupId)
        try c.int32(&generationId)
        try c.string(&memberId)
        if c.version >= 3 { try c.nullableString(&groupInstanceId) }
        if c.version >= 5 {
            try c.nullableString(&protocolType)
            try c.nullableString(&protocolName)
        }
        try c.array(&assignments)
        try c.tags()
    }
}

public struct SyncGroupResponse: KafkaStruct, Equatable {
    public var throttleTimeMs: Int32 = 0
    public var errorCode: Int16 = 0
    /// v5+.
    public var protocolType: String? = nil
    /// v5+.
    public var protocolName: String? = nil
    public var assignment = ByteBuffer()
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version >= 1 { try c.int32(&throttleTimeMs) }
        try c.int16(&errorCode)
        if c.version >= 5 {
            try c.nullableString(&protocolType)
            try c.nullableString(&protocolName)
        }
        try c.bytes(&assignment)
        try c.tags()
    }
}
