import NIOCore

/// DeleteTopics (key 20), v0–6, flexible from v4. v0–5 name topics in `topicNames`; v6 uses
/// `topics`, where each entry carries a name or a topic id (the name may then be null).
public struct DeleteTopicsRequest: KafkaRequestMessage, Equatable {
    public typealias Response = DeleteTopicsResponse
    public static let apiKey = ApiKey.deleteTopics
    public static let versions: ClosedRange<Int16> = 0...6
    public static let firstFlexibleVersion: Int16 = 4

    public struct Topic: KafkaStruct, Equatable {
        public var name: String? = nil
        public var topicId = KafkaUUID.zero
        public init() {}
        public init(name: String?, topicId: KafkaUUID = .zero) {
            self.name = name
            self.topicId = topicId
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.nullableString(&name)
            try c.uuid(&topicId)
            try c.tags()
        }
    }

    /// v6+.
    public var topics: [Topic] = []
    /// v0–5.
    public var topicNames: [String] = []
    public var timeoutMs: Int32 = 0
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version >= 6 { try c.array(&topics) }
        if c.version <= 5 { try c.stringArray(&topicNames) }
        try c.int32(&timeoutMs)
        try c.tags()
    }
}

public struct DeleteTopicsResponse: KafkaStruct, Equatable {
    public struct Result: KafkaStruct, Equatable {
        /// Nullable from v6 (a topic deleted by id that does not exist has no name).
        public var name: String? = ""
        public var topicId = KafkaUUID.zero
        public var errorCode: Int16 = 0
        public var errorMessage: String? = nil
        public init() {}
        public init(name: String?, topicId: KafkaUUID = .zero, errorCode: ErrorCode, errorMessage: String? = nil) {
            self.name = name
            self.topicId = topicId
            self.errorCode = errorCode.rawValue
            self.errorMessage = errorMessage
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&name, nullableFrom: 6)
            if c.version >= 6 { try c.uuid(&topicId) }
            try c.int16(&errorCode)
            if c.version >= 5 { try c.nullableString(&errorMessage) }
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
        if c.version >= 1 { try c.int32(&throttleTimeMs) }
        try c.array(&responses)
        try c.tags()
    }
}
