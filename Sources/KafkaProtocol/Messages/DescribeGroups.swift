import NIOCore

/// DescribeGroups (key 15), v0–5, flexible from v5 (classic groups).
public struct DescribeGroupsRequest: KafkaRequestMessage, Equatable {
    public typealias Response = DescribeGroupsResponse
    public static let apiKey = ApiKey.describeGroups
    public static let versions: ClosedRange<Int16> = 0...5
    public static let firstFlexibleVersion: Int16 = 5

    public var groups: [String] = []
    /// v3+.
    public var includeAuthorizedOperations = false
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.stringArray(&groups)
        if c.version >= 3 { try c.bool(&includeAuthorizedOperations) }
        try c.tags()
    }
}

public struct DescribeGroupsResponse: KafkaStruct, Equatable {
    public struct Member: KafkaStruct, Equatable {
        public var memberId = ""
        /// v4+.
        public var groupInstanceId: String? = nil
        public var clientId = ""
        public var clientHost = ""
        public var memberMetadata = ByteBuffer()
        public var memberAssignment = ByteBuffer()
        public init() {}
        public init(memberId: String, groupInstanceId: String? = nil, clientId: String, clientHost: String,
                    memberMetadata: ByteBuffer = ByteBuffer(), memberAssignment: ByteBuffer = ByteBuffer()) {
            self.memberId = memberId
            self.groupInstanceId = groupInstanceId
            self.clientId = clientId
            self.clientHost = clientHost
            self.memberMetadata = memberMetadata
            self.memberAssignment = memberAssignment
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&memberId)
            if c.version >= 4 { try c.nullableString(&groupInstanceId) }
            try c.string(&clientId)
            try c.string(&clientHost)
            try c.bytes(&memberMetadata)
            try c.bytes(&memberAssignment)
            try c.tags()
        }
    }

    public struct Group: KafkaStruct, Equatable {
        public var errorCode: Int16 = 0
        public var groupId = ""
        /// "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead" (or "" if unknown).
        public var groupState = ""
        public var protocolType = ""
        /// The selected protocol (assignor name), filled when Stable.
        public var protocolData = ""
        public var members: [Member] = []
        /// v3+.
        public var authorizedOperations: Int32 = Int32.min
        public init() {}
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int16(&errorCode)
            try c.string(&groupId)
            try c.string(&groupState)
            try c.string(&protocolType)
            try c.string(&protocolData)
            try c.array(&members)
            if c.version >= 3 { try c.int32(&authorizedOperations) }
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    public var groups: [Group] = []
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version >= 1 { try c.int32(&throttleTimeMs) }
        try c.array(&groups)
        try c.tags()
    }
}
