import KafkaProtocol
import LogStore

/// Kafka's transaction states (the names DescribeTransactions and ListTransactions report).
enum TransactionState: String, Sendable, CaseIterable {
    /// A producer id and epoch, no transaction yet (after InitProducerId).
    case empty = "Empty"
    /// Partitions or a group were added: the transaction is open.
    case ongoing = "Ongoing"
    /// EndTxn(commit) is durable; markers are being written.
    case prepareCommit = "PrepareCommit"
    case prepareAbort = "PrepareAbort"
    /// Every marker is written; the producer may begin the next transaction.
    case completeCommit = "CompleteCommit"
    case completeAbort = "CompleteAbort"

    var isPreparing: Bool { self == .prepareCommit || self == .prepareAbort }
    /// Whether AddPartitionsToTxn starts a new transaction from here.
    var canBegin: Bool { self == .empty || self == .completeCommit || self == .completeAbort }
}

/// What the coordinator knows about one transactional id. Persisted whole, as one record
/// keyed by the id, on every change (`TransactionRecordCodec`).
struct TransactionMetadata: Equatable, Sendable {
    var transactionalId: String
    var producerId: Int64
    var producerEpoch: Int16
    /// The id and epoch before the last bump: a producer whose transaction the coordinator
    /// aborted on timeout may still recover with them (KIP-360), and a retried
    /// InitProducerId is recognised.
    var lastProducerId: Int64 = -1
    var lastProducerEpoch: Int16 = -1
    var timeoutMs: Int32
    var state: TransactionState = .empty
    var partitions: Set<TopicPartitionKey> = []
    /// Groups added with AddOffsetsToTxn.
    var groups: Set<String> = []
    /// Offsets sent with TxnOffsetCommit, applied to the groups when the transaction commits.
    var pendingOffsets: [String: [TopicPartitionKey: CommittedOffset]] = [:]
    /// When the open transaction began (ms since the epoch), -1 when none is open.
    var startTimestamp: Int64 = -1
    var updateTimestamp: Int64

    var marker: ControlRecordType? {
        switch state {
        case .prepareCommit, .completeCommit: return .commit
        case .prepareAbort, .completeAbort: return .abort
        default: return nil
        }
    }
}

/// What finishing a transaction takes once its Prepare state is durable: a marker in each
/// partition (with `markerEpoch`, which fences any older producer there), and on commit the
/// offsets for the groups.
struct TransactionCompletion: Equatable, Sendable {
    var transactionalId: String
    var producerId: Int64
    var markerEpoch: Int16
    var marker: ControlRecordType
    var partitions: [TopicPartitionKey]
    var offsets: [String: [TopicPartitionKey: CommittedOffset]]

    init(_ m: TransactionMetadata) {
        transactionalId = m.transactionalId
        producerId = m.producerId
        markerEpoch = m.producerEpoch
        marker = m.marker ?? .abort
        partitions = m.partitions.sorted()
        offsets = marker == .commit ? m.pendingOffsets : [:]
    }
}
