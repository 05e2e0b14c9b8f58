import NIOCore

/// IncrementalAlterConfigs (key 44), v0–1, flexible from v1.
public struct IncrementalAlterConfigsRequest: KafkaRequestMessage, Equatable {
    public typealias Response = IncrementalAlterConfigsResponse
    public static let apiKey = ApiKey.incrementalAlterConfigs
    public static let versions: ClosedRange<Int16> = 0...1
    public static let firstFlexibleVersion: Int16 = 1

    /// `configOperation` values.
    public enum Operation: Int8, Sendable {
        case set = 0
        case delete = 1
        case append = 2
        case subtract = 3
    }

    public struct Config: KafkaStruct, Equatable {
        public var name = ""
        public var configOperation: Int8 = 0
        public var value: String? = nil
        public init() {}
        public init(name: String, operation: Operation, value: String?) {
            self.name = name
            self.configOperation = operation.rawValue
            self.value = value
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.int8(&configOperation)
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

/// Same layout as AlterConfigsResponse.
public struct IncrementalAlterConfigsResponse: KafkaStruct, Equatable {
    public typealias Result = AlterConfigsResponse.Result

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
