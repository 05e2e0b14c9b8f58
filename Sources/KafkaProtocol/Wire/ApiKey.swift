/// Kafka API keys (the subset Riverbank knows about; unknown keys are answered by closing the
/// connection, as Kafka does).
public enum ApiKey: Int16, Sendable, CaseIterable, CustomStringConvertible {
    case produce = 0
    case fetch = 1
    case listOffsets = 2
    case metadata = 3
    case offsetCommit = 8
    case offsetFetch = 9
    case findCoordinator = 10
    case joinGroup = 11
    case heartbeat = 12
    case leaveGroup = 13
    case syncGroup = 14
    case describeGroups = 15
    case listGroups = 16
    case saslHandshake = 17
    case apiVersions = 18
    case createTopics = 19
    case deleteTopics = 20
    case deleteRecords = 21
    case initProducerId = 22
    case offsetForLeaderEpoch = 23
    case addPartitionsToTxn = 24
    case addOffsetsToTxn = 25
    case endTxn = 26
    case writeTxnMarkers = 27
    case txnOffsetCommit = 28
    case describeAcls = 29
    case describeConfigs = 32
    case alterConfigs = 33
    case describeLogDirs = 35
    case saslAuthenticate = 36
    case createPartitions = 37
    case deleteGroups = 42
    case incrementalAlterConfigs = 44
    case offsetDelete = 47
    case describeCluster = 60
    case describeProducers = 61
    case describeTransactions = 65
    case listTransactions = 66
    case consumerGroupHeartbeat = 68
    case consumerGroupDescribe = 69
    case describeTopicPartitions = 75

    /// Kafka's name for the API, e.g. "ListOffsets".
    public var description: String {
        switch self {
        case .produce: return "Produce"
        case .fetch: return "Fetch"
        case .listOffsets: return "ListOffsets"
        case .metadata: return "Metadata"
        case .offsetCommit: return "OffsetCommit"
        case .offsetFetch: return "OffsetFetch"
        case .findCoordinator: return "FindCoordinator"
        case .joinGroup: return "JoinGroup"
        case .heartbeat: return "Heartbeat"
        case .leaveGroup: return "LeaveGroup"
        case .syncGroup: return "SyncGroup"
        case .describeGroups: return "DescribeGroups"
        case .listGroups: return "ListGroups"
        case .saslHandshake: return "SaslHandshake"
        case .apiVersions: return "ApiVersions"
        case .createTopics: return "CreateTopics"
        case .deleteTopics: return "DeleteTopics"
        case .deleteRecords: return "DeleteRecords"
        case .initProducerId: return "InitProducerId"
        case .offsetForLeaderEpoch: return "OffsetForLeaderEpoch"
        case .addPartitionsToTxn: return "AddPartitionsToTxn"
        case .addOffsetsToTxn: return "AddOffsetsToTxn"
        case .endTxn: return "EndTxn"
        case .writeTxnMarkers: return "WriteTxnMarkers"
        case .txnOffsetCommit: return "TxnOffsetCommit"
        case .describeAcls: return "DescribeAcls"
        case .describeConfigs: return "DescribeConfigs"
        case .alterConfigs: return "AlterConfigs"
        case .describeLogDirs: return "DescribeLogDirs"
        case .saslAuthenticate: return "SaslAuthenticate"
        case .createPartitions: return "CreatePartitions"
        case .deleteGroups: return "DeleteGroups"
        case .incrementalAlterConfigs: return "IncrementalAlterConfigs"
        case .offsetDelete: return "OffsetDelete"
        case .describeCluster: return "DescribeCluster"
        case .describeProducers: return "DescribeProducers"
        case .describeTransactions: return "DescribeTransactions"
        case .listTransactions: return "ListTransactions"
        case .consumerGroupHeartbeat: return "ConsumerGroupHeartbeat"
        case .consumerGroupDescribe: return "ConsumerGroupDescribe"
        case .describeTopicPartitions: return "DescribeTopicPartitions"
        }
    }
}
