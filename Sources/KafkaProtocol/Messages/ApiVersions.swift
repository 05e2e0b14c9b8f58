import NIOCore

/// ApiVersions (key 18), v0–4, flexible from v3.
public struct ApiVersionsRequest: KafkaRequestMessage {
    public typealias Response = ApiVersionsResponse
    public static let apiKey = ApiKey.apiVersions
    public static let versions: ClosedRange<Int16> = 0...4
    public static let firstFlexibleVersion: Int16 = 3

    public var clientSoftwareName = ""
    public var clientSoftwareVersion = ""
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version >= 3 {
            try c.string(&clientSoftwareName)
            try c.string(&clientSoftwareVersion)
        }
        try c.tags()
    }
}

public struct ApiVersionsResponse: KafkaStruct {
    public struct ApiVersion: KafkaStruct, Equatable {
        public var apiKey: Int16 = 0
        public var minVersion: Int16 = 0
        public var maxVersion: Int16 = 0
        public init() {}
        public init(apiKey: Int16, minVersion: Int16, maxVersion: Int16) {
            self.apiKey = apiKey
            self.minVersion = minVersion
            self.maxVersion = maxVersion
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int16(&apiKey)
            try c.int16(&minVersion)
            try c.int16(&maxVersion)
            try c.tags()
        }
    }

    public var errorCode: Int16 = 0
    public var apiKeys: [ApiVersion] = []
    public var throttleTimeMs: Int32 = 0
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int16(&errorCode)
        try c.array(&apiKeys)
        if c.version >= 1 { try c.int32(&throttleTimeMs) }
        try c.tags()
    }
}
