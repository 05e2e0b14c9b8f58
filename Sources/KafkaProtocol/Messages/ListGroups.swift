import NIOCore

/// ListGroups (key 16), v0–5, flexible from v3. v4 adds a state filter, v5 a type filter
/// ("classic", "consumer"); empty filters match everything.
public struct ListGroupsRequest: KafkaRequestMessage, Equatable {
    public typealias Response = ListGroupsResponse
    public static let apiKey = ApiKey.listGroups
    public static let versions: ClosedRange<Int16> = 0...5
    public static let firstFlexibleVersion: Int16 = 3

    /// v4+.
    public var statesFilter: [String] = []
    /// v5+.
    public var typesFilter: [String] = []
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version >= 4 { try c.stringArray(&statesFilter) }
        if c.version >= 5 { try c.stringArray(&typesFilter) }
        try c.tags()
    }
}

public struct ListGroupsResponse: KafkaStruct, Equatable {
    public struct Group: KafkaStruct, Equatable {
        public var groupId = ""
        public var protocolType = ""
        /// v4+.
        public var groupState = ""
        /// v5+.
        public var groupType = ""
        public init() {}
        public init(groupId: String, protocolType: String, groupState: String = "", groupType: String = "") {
            self.groupId = groupId
            self.protocolType = protocolType
            self.groupState = groupState
            self.groupType = groupType
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&groupId)
            try c.string(&protocolType)
            if c.version >= 4 { try c.string(&groupState) }
            if c.version >= 5 { try c.string(&groupType) }
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    public var errorCode: Int16 = 0
    public var groups: [Group] = []
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version >= 1 { try c.int32(&throttleTimeMs) }
        try c.int16(&errorCode)
        try c.array(&groups)
        try c.tags()
    }
}
