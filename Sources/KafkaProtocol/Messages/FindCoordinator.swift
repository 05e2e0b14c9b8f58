import NIOCore

/// FindCoordinator (key 10), v0–6, flexible from v3. v0–3 look up one `key`; v4+ batch
/// `coordinatorKeys` and answer with one `Coordinator` entry per key (KIP-699).
public struct FindCoordinatorRequest: KafkaRequestMessage, Equatable {
    public typealias Response = FindCoordinatorResponse
    public static let apiKey = ApiKey.findCoordinator
    public static let versions: ClosedRange<Int16> = 0...6
    public static let firstFlexibleVersion: Int16 = 3

    /// `keyType` values.
    public enum KeyType: Int8, Sendable {
        case group = 0
        case transaction = 1
        case share = 2
    }

    /// v0–3.
    public var key = ""
    /// v1+ (v0 is always a group).
    public var keyType: Int8 = 0
    /// v4+.
    public var coordinatorKeys: [String] = []
    public init() {}

    /// The keys looked up in a request of `version`.
    public func keys(version: Int16) -> [String] { version >= 4 ? coordinatorKeys : [key] }

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version <= 3 { try c.string(&key) }
        if c.version >= 1 { try c.int8(&keyType) }
        if c.version >= 4 { try c.stringArray(&coordinatorKeys) }
        try c.tags()
    }
}

public struct FindCoordinatorResponse: KafkaStruct, Equatable {
    /// v4+.
    public struct Coordinator: KafkaStruct, Equatable {
        public var key = ""
        public var nodeId: Int32 = 0
        public var host = ""
        public var port: Int32 = 0
        public var errorCode: Int16 = 0
        public var errorMessage: String? = nil
        public init() {}
        public init(key: String, nodeId: Int32, host: String, port: Int32, errorCode: ErrorCode = .none, errorMessage: String? = nil) {
            self.key = key
            self.nodeId = nodeId
            self.host = host
            self.port = port
            self.errorCode = errorCode.rawValue
            self.errorMessage = errorMessage
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&key)
            try c.int32(&nodeId)
            try c.string(&host)
            try c.int32(&port)
            try c.int16(&errorCode)
            try c.nullableString(&errorMessage)
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    /// v0–3.
    public var errorCode: Int16 = 0
    /// v1–3.
    public var errorMessage: String? = nil
    /// v0–3.
    public var nodeId: Int32 = 0
    /// v0–3.
    public var host = ""
    /// v0–3.
    public var port: Int32 = 0
    /// v4+.
    public var coordinators: [Coordinator] = []
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        if c.version >= 1 { try c.int32(&throttleTimeMs) }
        if c.version <= 3 {
            try c.int16(&errorCode)
            if c.version >= 1 { try c.nullableString(&errorMessage) }
            try c.int32(&nodeId)
            try c.string(&host)
            try c.int32(&port)
        }
        if c.version >= 4 { try c.array(&coordinators) }
        try c.tags()
    }
}
