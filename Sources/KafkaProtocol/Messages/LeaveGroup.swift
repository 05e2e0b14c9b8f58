import NIOCore

/// LeaveGroup (key 13), v0–5, flexible from v4. v0–2 name one `memberId`; v3+ batch `members`
/// (KIP-345) and the response gains a per-member result.
public struct LeaveGroupRequest: KafkaRequestMessage, Equatable {
    public typealias Response = LeaveGroupResponse
    public static let apiKey = ApiKey.leaveGroup
    public static let versions: ClosedRange<Int16> = 0...5
    public static let firstFlexibleVersion: Int16 = 4

    public struct Member: KafkaStruct, Equatable {
        public var memberId = ""
        public var groupInstanceId: String? = nil
        /// v5+.
        public var reason: String? = nil
        public init() {}
        public init(memberId: String, groupInstanceId: String? = nil, reason: String? = nil) {
            self.memberId = memberId
            self.groupInstanceId = groupInstanceId
            self.reason = reason
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&memberId)
            try c.nullableString(&groupInstanceId)
            if c.version >= 5 { try c.nullableString(&reason) }
            try c.tags()
        }
    }

    public var groupId = ""
    /// v0–2.
    public var memberId = ""
    /// v3+.
    public var members: [Member] = []
    public init() {}

    /// The members leaving in a request of `version`.
    public func leavingMembers(version: Int16) -> [Member] { version >= 3 ? members : [Member(memberId: memberId)] }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.string(&groupId)
        if c.version <= 2 { try c.string(&memberId) }
        if c.version >= 3 { try c.array(&members) }
        try c.tags()
    }
}

public struct LeaveGroupResponse: KafkaStruct, Equatable {
    public struct Member: KafkaStruct, Equatable {
        public var memberId = ""
        public var groupInstanceId: String? = nil
        public var errorCode: Int16 = 0
        public init() {}
        public init(memberId: String, groupInstanceId: String? = nil, errorCode: ErrorCode) {
            self.memberId = memberId
            self.groupInstanceId = groupInstanceId
            self.errorCode = errorCode.rawValue
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&memberId)
            try c.nullableString(&groupInstanceId)
            try c.int16(&errorCode)
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    public var errorCode: Int16 = 0
    /// v3+.
    public var members: [Member] = []
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version >= 1 { try c.int32(&throttleTimeMs) }
        try c.int16(&errorCode)
        if c.version >= 3 { try c.array(&members) }
        try c.tags()
    }
}
