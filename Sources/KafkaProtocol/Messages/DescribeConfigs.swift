import NIOCore

/// DescribeConfigs (key 32), v0–4, flexible from v4. Resource types: 2 topic, 4 broker,
/// 8 broker logger (see `ConfigResourceType`).
public struct DescribeConfigsRequest: KafkaRequestMessage, Equatable {
    public typealias Response = DescribeConfigsResponse
    public static let apiKey = ApiKey.describeConfigs
    public static let versions: ClosedRange<Int16> = 0...4
    public static let firstFlexibleVersion: Int16 = 4

    public struct Resource: KafkaStruct, Equatable {
        public var resourceType: Int8 = 0
        public var resourceName = ""
        /// nil means all configuration keys.
        public var configurationKeys: [String]? = []
        public init() {}
        public init(resourceType: Int8, resourceName: String, configurationKeys: [String]? = nil) {
            self.resourceType = resourceType
            self.resourceName = resourceName
            self.configurationKeys = configurationKeys
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int8(&resourceType)
            try c.string(&resourceName)
            try c.nullableStringArray(&configurationKeys)
            try c.tags()
        }
    }

    public var resources: [Resource] = []
    public var includeSynonyms = false
    public var includeDocumentation = false
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.array(&resources)
        if c.version >= 1 { try c.bool(&includeSynonyms) }
        if c.version >= 3 { try c.bool(&includeDocumentation) }
        try c.tags()
    }
}

/// Config resource types shared by the config APIs.
public enum ConfigResourceType: Int8, Sendable {
    case unknown = 0
    case topic = 2
    case broker = 4
    case brokerLogger = 8
    case clientMetrics = 16
    case group = 32
}

public struct DescribeConfigsResponse: KafkaStruct, Equatable {
    /// Where a config value comes from (v1+ `configSource`, synonym `source`).
    public enum ConfigSource: Int8, Sendable {
        case unknown = 0
        case dynamicTopicConfig = 1
        case dynamicBrokerConfig = 2
        case dynamicDefaultBrokerConfig = 3
        case staticBrokerConfig = 4
        case defaultConfig = 5
        case dynamicBrokerLoggerConfig = 6
        case clientMetricsConfig = 7
        case groupConfig = 8
    }

    public struct Synonym: KafkaStruct, Equatable {
        public var name = ""
        public var value: String? = nil
        public var source: Int8 = 0
        public init() {}
        public init(name: String, value: String?, source: Int8) {
            self.name = name
            self.value = value
            self.source = source
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.nullableString(&value)
            try c.int8(&source)
            try c.tags()
        }
    }

    public struct Config: KafkaStruct, Equatable {
        public var name = ""
        public var value: String? = nil
        public var readOnly = false
        /// v0 only (v1+ clients derive it from `configSource`).
        public var isDefault = false
        /// v1+.
        public var configSource: Int8 = -1
        public var isSensitive = false
        /// v1+.
        public var synonyms: [Synonym] = []
        /// v3+: 0 unknown, 1 boolean, 2 string, 3 int, 4 short, 5 long, 6 double, 7 list, 8 class, 9 password.
        public var configType: Int8 = 0
        /// v3+.
        public var documentation: String? = nil
        public init() {}
        public init(name: String, value: String?, readOnly: Bool = false, isDefault: Bool = false,
                    configSource: Int8 = -1, isSensitive: Bool = false, synonyms: [Synonym] = [],
                    configType: Int8 = 0, documentation: String? = nil) {
            self.name = name
            self.value = value
            self.readOnly = readOnly
            self.isDefault = isDefault
            self.configSource = configSource
            self.isSensitive = isSensitive
            self.synonyms = synonyms
            self.configType = configType
            self.documentation = documentation
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name)
            try c.nullableString(&value)
            try c.bool(&readOnly)
            if c.version == 0 { try c.bool(&isDefault) }
            if c.version >= 1 { try c.int8(&configSource) }
            try c.bool(&isSensitive)
            if c.version >= 1 { try c.array(&synonyms) }
            if c.version >= 3 {
                try c.int8(&configType)
                try c.nullableString(&documentation)
            }
            try c.tags()
        }
    }

    public struct Result: KafkaStruct, Equatable {
        public var errorCode: Int16 = 0
        public var errorMessage: String? = nil
        public var resourceType: Int8 = 0
        public var resourceName = ""
        public var configs: [Config] = []
        public init() {}
        public init(errorCode: ErrorCode = .none, errorMessage: String? = nil, resourceType: Int8,
                    resourceName: String, configs: [Config]) {
            self.errorCode = errorCode.rawValue
            self.errorMessage = errorMessage
            self.resourceType = resourceType
            self.resourceName = resourceName
            self.configs = configs
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int16(&errorCode)
            try c.nullableString(&errorMessage)
            try c.int8(&resourceType)
            try c.string(&resourceName)
            try c.array(&configs)
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
