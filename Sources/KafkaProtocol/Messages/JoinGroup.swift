import NIOCore

/// JoinGroup (key 11), v0–9, flexible from v6. From v4 a member joining with an empty member
/// id gets MEMBER_ID_REQUIRED and a generated id, and must join again with it (KIP-394).
public struct JoinGroupRequest: KafkaRequestMessage, Equatable {
    public typealias Response = JoinGroupResponse
    public static let apiKey = ApiKey.joinGroup
    public static let versions: ClosedRange<Int16> = 0...9
    public static let firstFlexibleVersion: Int16 = 6

    public struct GroupProtocol: KafkaStruct, Equatable {
        public var name = ""
        /// Opaque to the broker; for "consumer" groups a `ConsumerProtocolSubscription`.
        public var metadata = ByteBuffer()
        public init() {}
        public init(name: String, metadata: ByteBuffer) {
            self.name = name
            self.metadata = metadata
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.bytes(&metadata)
            try c.tags()
        }
    }

    public var groupId = ""
    public var sessionTimeoutMs: Int32 = 0
    /// v1+; v0 clients use the session timeout for rebalances too.
    public var rebalanceTimeoutMs: Int32 = -1
    public var memberId = ""
    /// v5+ (static membership).
    public var groupInstanceId: String? = nil
    public var protocolType = ""
    public var protocols: [GroupProtocol] = []
    /// v8+.
    public var reason: String? = nil
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.string(&groupId)
        try c.int32(&sessionTimeoutMs)
        if c.version >= 1 { try c.int32(&rebalanceTimeoutMs) }
        try c.string(&memberId)
        if c.version >= 5 { try c.nullableString(&groupInstanceId) }
        try c.string(&protocolType)
        try c.array(&protocols)
        if c.version >= 8 { try c.nullableString(&reason) }
        try c.tags()
    }
}

public struct JoinGroupResponse: KafkaStruct, Equatable {
    public struct Member: KafkaStruct, Equatable {
        public var memberId = ""
        public var groupInstanceId: String? = nil
        public var metadata = ByteBuffer()
        public init() {}
        public init(memberId: String, groupInstanceId: String? = nil, metadata: ByteBuffer) {
            self.memberId = memberId
            self.groupInstanceId = groupInstanceId
            self.metadata = metadata
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&memberId)
            if c.version >= 5 { try c.nullableString(&groupInstanceId) }
            try c.bytes(&metadata)
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    public var errorCode: Int16 = 0
    public var generationId: Int32 = -1
    /// v7+.
    public var protocolType: String? = nil
    /// Nullable from v7 (earlier versions write "" for nil).
    public var protocolName: String? = ""
    public var leader = ""
    /// v9+.
    public var skipAssignment = false
    public var memberId = ""
    /// Filled for the leader only.
    public var members: [Member] = []
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version >= 2 { try c.int32(&throttleTimeMs) }
        try c.int16(&errorCode)
        try c.int32(&generationId)
        if c.version >= 7 { try c.nullableString(&protocolType) }
        try c.string(&protocolName, nullableFrom: 7)
        try c.string(&leader)
        if c.version >= 9 { try c.bool(&skipAssignment) }
        try c.string(&memberId)
        try c.array(&members)
        try c.tags()
    }
}
