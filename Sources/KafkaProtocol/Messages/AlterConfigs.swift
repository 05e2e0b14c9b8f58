import NIOCore

/// AlterConfigs (key 33), v0–2, flexible from v2. Replaces a resource's whole dynamic config
/// (unlisted keys revert to their defaults); superseded by IncrementalAlterConfigs.
public struct AlterConfigsRequest: KafkaRequestMessage, Equatable {
    public typealias Response = AlterConfigsResponse
    public static let apiKey = ApiKey.alterConfigs
    public static let versions: ClosedRange<Int16> = 0...2
    public static let firstFlexibleVersion: Int16 = 2

    public struct Config: KafkaStruct, Equatable {
        public var name = ""
        public var value: String? = nil
        public init() {}
        public init(name: String, value: String?) {
            self.name = name
            self.value = value
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.nullableString(&value)
            try c.tags()
        }
    }

    public struct Resource: KafkaStruct, Equatable {
        public var resourceType: Int8 = 0
        public var resourceName = ""
        public var configs: [Config] = []
        public init() {}
        public init(resourceType: Int8, resourceName: String, configs: [Config]) {
            self.resourceType = resourceType
            self.resourceName = resourceName
            self.configs = configs
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int8(&resourceType)
            try c.string(&resourceName)
            try c.array(&configs)
            try c.tags()
        }
    }

    public var resources: [Resource] = []
    public var validateOnly = false
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.array(&resources)
        try c.bool(&validateOnly)
        try c.tags()
    }
}

public struct AlterConfigsResponse: KafkaStruct, Equatable {
    public struct Result: KafkaStruct, Equatable {
        public var errorCode: Int16 = 0
        public var errorMessage: String? = nil
        public var resourceType: Int8 = 0
        public var resourceName = ""
        public init() {}
        public init(errorCode: ErrorCode, errorMessage: String? = nil, resourceType: Int8, resourceName: String) {
            self.errorCode = errorCode.rawValue
            self.errorMessage = errorMessage
            self.resourceType = resourceType
            self.resourceName = resourceName
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int16(&errorCode)
            try c.nullableString(&errorMessage)
            try c.int8(&resourceType)
            try c.string(&resourceName)
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    public var responses: [Result] = []
    public init() {}
    public init(throttleTimeMs: Int32 = 0, responses: [Result]) {
        self.throttleTimeMs = throttleTimeMs
        self.responses = responses
    }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int32(&throttleTimeMs)
        try c.array(&responses)
        try c.tags()
    }
}
