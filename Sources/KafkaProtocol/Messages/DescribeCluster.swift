import NIOCore

/// DescribeCluster (key 60), v0–1, flexible in every version. v1 adds the endpoint type
/// (1 broker, 2 controller; KIP-919).
public struct DescribeClusterRequest: KafkaRequestMessage, Equatable {
    public typealias Response = DescribeClusterResponse
    public static let apiKey = ApiKey.describeCluster
    public static let versions: ClosedRange<Int16> = 0...1
    public static let firstFlexibleVersion: Int16 = 0

    public var includeClusterAuthorizedOperations = false
    public var endpointType: Int8 = 1
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.bool(&includeClusterAuthorizedOperations)
        if c.version >= 1 { try c.int8(&endpointType) }
        try c.tags()
    }
}

public struct DescribeClusterResponse: KafkaStruct, Equatable {
    public struct Broker: KafkaStruct, Equatable {
        public var brokerId: Int32 = 0
        public var host = ""
        public var port: Int32 = 0
        public var rack: String? = nil
        public init() {}
        public init(brokerId: Int32, host: String, port: Int32, rack: String? = nil) {
            self.brokerId = brokerId
            self.host = host
            self.port = port
            self.rack = rack
        }
        public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int32(&brokerId)
            try c.string(&host)
            try c.int32(&port)
            try c.nullableString(&rack)
            try c.tags()
        }
    }

    public var throttleTimeMs: Int32 = 0
    public var errorCode: Int16 = 0
    public var errorMessage: String? = nil
    public var endpointType: Int8 = 1
    public var clusterId = ""
    public var controllerId: Int32 = -1
    public var brokers: [Broker] = []
    public var clusterAuthorizedOperations: Int32 = Int32.min
    public init() {}

    public mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int32(&throttleTimeMs)
        try c.int16(&errorCode)
        try c.nullableString(&errorMessage)
        if c.version >= 1 { try c.int8(&endpointType) }
        try c.string(&clusterId)
        try c.int32(&controllerId)
        try c.array(&brokers)
        try c.int32(&clusterAuthorizedOperations)
        try c.tags()
    }
}
