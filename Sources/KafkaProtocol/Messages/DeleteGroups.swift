import NIOCore

/// DeleteGroups (key 42), v0–2, flexible from v2.
public struct DeleteGroupsRequest: KafkaRequestMessage, Equatable {
    public typealias Response = DeleteGroupsResponse
    public static let apiKey = ApiKey.deleteGroups
    public static let versions: ClosedRange<Int16> = 0...2
    public static let firstFlexibleVersion: Int16 = 2

    public var groupsNames: [String] = []
    public init() {}
    public init(groupsNames: [String]) { self.groupsNames = groupsNames }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.stringArray(&groupsNames)
        try c.tags()
    }
}

public struct DeleteGroupsResponse: KafkaStruct, Equatable {
    public struct Result: KafkaStruct, Equatable {
        public var groupId = ""
        public var errorCode: Int16 = 0
        public init() {}
        public init(groupId: String, errorCode: ErrorCode) {
            self.groupId = groupId
            self.errorCode = errorCode.rawValue
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&groupId)
            try c.int16(&errorCode)
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    public var results: [Result] = []
    public init() {}
    public init(throttleTimeMs: Int32 = 0, results: [Result]) {
        self.throttleTimeMs = throttleTimeMs
        self.results = results
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int32(&throttleTimeMs)
        try c.array(&results)
        try c.tags()
    }
}
