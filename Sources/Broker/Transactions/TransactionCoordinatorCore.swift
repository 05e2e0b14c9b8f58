import Foundation
import KafkaProtocol
import LogStore

/// Settings of the transaction coordinator (Kafka's names in the comments).
struct TransactionCoordinatorConfig: Sendable {
    /// transaction.max.timeout.ms: the longest transaction.timeout.ms a producer may ask for.
    var maxTimeoutMs: Int32 = 900_000
    /// transactional.id.expiration.ms: an id idle (no transaction open) this long is forgotten.
    var idExpirationMs: Int64 = 7 * 24 * 3_600_000
    /// How often timers are checked in the running broker.
    var tickIntervalMs: Int64 = 100

    static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> TransactionCoordinatorConfig {
        var c = TransactionCoordinatorConfig()
        if let v = env["RIVERBANK_TRANSACTION_MAX_TIMEOUT_MS"].flatMap({ Int32($0) }), v > 0 { c.maxTimeoutMs = v }
        if let v = env["RIVERBANK_TRANSACTIONAL_ID_EXPIRATION_MS"].flatMap({ Int64($0) }), v > 0 { c.idExpirationMs = v }
        return c
    }
}

/// The transaction coordinator as a value: every transactional id's metadata, and the rules
/// of Kafka's TransactionCoordinator for each request. No I/O and no clock of its own: each
/// event takes the time, mutates the state and says what the caller must do — persist the
/// changed metadata (`records`), and for a transaction that is ending, carry out its
/// `TransactionCompletion` and then call `completed`.
///
/// Fencing: the epoch is bumped whenever a transaction is aborted by someone other than its
/// producer (a new InitProducerId for the id, or the timeout), and the abort markers carry
/// the bumped epoch, so the old producer's late writes and requests are refused everywhere.
struct TransactionCoordinatorCore: Sendable {
    var config: TransactionCoordinatorConfig
    private(set) var transactions: [String: TransactionMetadata] = [:]
    /// Metadata to persist, in order (a nil metadata is a tombstone for that id).
    var records: [(String, TransactionMetadata?)] = []

    init(config: TransactionCoordinatorConfig = TransactionCoordinatorConfig()) {
        self.config = config
    }

    func metadata(_ id: String) -> TransactionMetadata? { transactions[id] }

    private mutating func save(_ m: TransactionMetadata) {
        transactions[m.transactionalId] = m
        records.append((m.transactionalId, m))
    }

    /// Applies one record read back from the log.
    mutating func replay(_ id: String, _ m: TransactionMetadata?) {
        transactions[id] = m
    }

    /// Transactions whose Prepare state was durable but whose markers may not all be written
    /// (after a restart): to be completed before anything else.
    var unfinished: [TransactionCompletion] {
        transactions.values.filter { $0.state.isPreparing }.sorted { $0.transactionalId < $1.transactionalId }.map(TransactionCompletion.init)
    }

    // MARK: InitProducerId

    enum InitOutcome: Equatable {
        case failed(ErrorCode)
        /// Answer with this id and epoch once the records are durable.
        case ready(producerId: Int64, epoch: Int16)
        /// The id's open transaction must be aborted first (fencing its old producer); then
        /// answer with this id and epoch.
        case abortFirst(TransactionCompletion, producerId: Int64, epoch: Int16)
    }

    /// InitProducerId with a transactional id. `producerId`/`epoch` are the caller's current
    /// ones (KIP-360, v3+), -1 when it has none; `newProducerId` allocates a fresh id.
    mutating func initProducerId(_ id: String, timeoutMs: Int32, producerId: Int64, epoch: Int16, now: Int64,
                                 newProducerId: () throws -> Int64) rethrows -> InitOutcome {
        guard timeoutMs > 0, timeoutMs <= config.maxTimeoutMs else { return .failed(.invalidTransactionTimeout) }
        guard var m = transactions[id] else {
            let pid = try newProducerId()
            save(TransactionMetadata(transactionalId: id, producerId: pid, producerEpoch: 0, timeoutMs: timeoutMs, updateTimestamp: now))
            return .ready(producerId: pid, epoch: 0)
        }
        if m.state.isPreparing { return .failed(.concurrentTransactions) }
        if producerId >= 0 {
            // KIP-360: the caller's id must be the current one, or the previous one when its
            // epoch ran out (a retry after the id was rotated).
            guard producerId == m.producerId || (producerId == m.lastProducerId && epoch >= Int16.max - 1) else {
                return .failed(.producerFenced)
            }
            if m.state != .ongoing && epoch != m.producerEpoch {
                // A retry of an InitProducerId that already bumped the epoch gets the same answer.
                guard epoch == m.lastProducerEpoch else { return .failed(.producerFenced) }
                return .ready(producerId: m.producerId, epoch: m.producerEpoch)
            }
        }
        m.timeoutMs = timeoutMs
        m.updateTimestamp = now
        if m.state == .ongoing {
            // A new producer instance for the id (or the same one recovering): abort what was
            // left open, with a bumped epoch so that the old one is fenced in every partition.
            try bump(&m, newProducerId: newProducerId)
            m.state = .prepareAbort
            save(m)
            return .abortFirst(TransactionCompletion(m), producerId: m.producerId, epoch: m.producerEpoch)
        }
        try bump(&m, newProducerId: newProducerId)
        if producerId < 0 { m.lastProducerEpoch = -1 }
        m.state = .empty
        m.partitions = []
        m.groups = []
        m.pendingOffsets = [:]
        m.startTimestamp = -1
        save(m)
        return .ready(producerId: m.producerId, epoch: m.producerEpoch)
    }

    /// The next epoch, or a fresh producer id once the epoch is exhausted.
    private func bump(_ m: inout TransactionMetadata, newProducerId: () throws -> Int64) rethrows {
        m.lastProducerId = m.producerId
        m.lastProducerEpoch = m.producerEpoch
        if m.producerEpoch >= Int16.max - 1 {
            m.producerId = try newProducerId()
            m.producerEpoch = 0
        } else {
            m.producerEpoch += 1
        }
    }

    // MARK: the open transaction

    /// The checks every request of an open transaction shares.
    private func validate(_ id: String, producerId: Int64, epoch: Int16) -> Result<TransactionMetadata, ErrorCode> {
        guard let m = transactions[id], m.producerId == producerId else { return .failure(.invalidProducerIdMapping) }
        if epoch < m.producerEpoch { return .failure(.producerFenced) }
        if epoch > m.producerEpoch { return .failure(.invalidProducerEpoch) }
        return .success(m)
    }

    private mutating func begin(_ m: inout TransactionMetadata, now: Int64) -> ErrorCode? {
        if m.state.isPreparing { return .concurrentTransactions }
        if m.state.canBegin {
            m.state = .ongoing
            m.startTimestamp = now
            m.partitions = []
            m.groups = []
            m.pendingOffsets = [:]
        }
        return nil
    }

    /// AddPartitionsToTxn: the partitions join the open transaction (one is begun if none is).
    /// `exists` says whether a partition exists. Returns an error per partition; nothing is
    /// added unless every one is fine (the rest answer OPERATION_NOT_ATTEMPTED, as in Kafka).
    mutating func addPartitions(_ id: String, producerId: Int64, epoch: Int16, partitions: [TopicPartitionKey], now: Int64,
                                exists: (TopicPartitionKey) -> Bool) -> [TopicPartitionKey: ErrorCode] {
        func all(_ e: ErrorCode) -> [TopicPartitionKey: ErrorCode] { Dictionary(partitions.map { ($0, e) }, uniquingKeysWith: { a, _ in a }) }
        var m: TransactionMetadata
        switch validate(id, producerId: producerId, epoch: epoch) {
        case .failure(let e): return all(e)
        case .success(let v): m = v
        }
        let missing = partitions.filter { !exists($0) }
        if !missing.isEmpty {
            var out = all(.operationNotAttempted)
            for tp in missing { out[tp] = .unknownTopicOrPartition }
            return out
        }
        if let e = begin(&m, now: now) { return all(e) }
        let before = m.partitions.count
        m.partitions.formUnion(partitions)
        if m.partitions.count != before || transactions[id]?.state != .ongoing {
            m.updateTimestamp = now
            save(m)
        }
        return all(.none)
    }

    /// AddOffsetsToTxn: the group's offsets will be committed with the transaction.
    mutating func addOffsets(_ id: String, producerId: Int64, epoch: Int16, groupId: String, now: Int64) -> ErrorCode {
        var m: TransactionMetadata
        switch validate(id, producerId: producerId, epoch: epoch) {
        case .failure(let e): return e
        case .success(let v): m = v
        }
        if groupId.isEmpty { return .invalidGroupId }
        if let e = begin(&m, now: now) { return e }
        if m.groups.insert(groupId).inserted || transactions[id]?.state != .ongoing {
            m.updateTimestamp = now
            save(m)
        }
        return .none
    }

    /// TxnOffsetCommit: offsets held with the transaction until it ends (applied on commit,
    /// dropped on abort). The group must have been added with AddOffsetsToTxn.
    mutating func commitOffsets(_ id: String, producerId: Int64, epoch: Int16, groupId: String,
                                offsets: [TopicPartitionKey: CommittedOffset], now: Int64) -> ErrorCode {
        var m: TransactionMetadata
        switch validate(id, producerId: producerId, epoch: epoch) {
        case .failure(let e): return e
        case .success(let v): m = v
        }
        guard m.state == .ongoing, m.groups.contains(groupId) else { return .invalidTxnState }
        m.pendingOffsets[groupId, default: [:]].merge(offsets) { _, new in new }
        m.updateTimestamp = now
        save(m)
        return .none
    }

    /// Whether a transactional produce of `partition` may land: the producer is the id's
    /// current one and the partition is in its open transaction (KIP-890's verification —
    /// a late write can never open a transaction the coordinator does not know about).
    func verifyProduce(_ id: String, producerId: Int64, epoch: Int16, partition: TopicPartitionKey) -> ErrorCode? {
        guard let m = transactions[id], m.producerId == producerId else { return .invalidProducerIdMapping }
        if epoch != m.producerEpoch { return .invalidProducerEpoch }
        guard m.state == .ongoing, m.partitions.contains(partition) else { return .invalidTxnState }
        return nil
    }

    /// Offsets that an open transaction holds for `groupId` (OffsetFetch with require_stable
    /// answers UNSTABLE_OFFSET_COMMIT for them).
    func pendingOffsetPartitions(groupId: String) -> Set<TopicPartitionKey> {
        var out = Set<TopicPartitionKey>()
        for m in transactions.values where m.state == .ongoing || m.state == .prepareCommit {
            if let o = m.pendingOffsets[groupId] { out.formUnion(o.keys) }
        }
        return out
    }

    // MARK: ending

    enum EndOutcome: Equatable {
        case failed(ErrorCode)
        /// Already ended that way (a retried EndTxn): answer at once.
        case done
        /// Persist, then carry out the completion, then `completed`, then answer.
        case complete(TransactionCompletion)
    }

    /// EndTxn.
    mutating func endTransaction(_ id: String, producerId: Int64, epoch: Int16, commit: Bool, now: Int64) -> EndOutcome {
        var m: TransactionMetadata
        switch validate(id, producerId: producerId, epoch: epoch) {
        case .failure(let e): return .failed(e)
        case .success(let v): m = v
        }
        switch m.state {
        case .ongoing:
            m.state = commit ? .prepareCommit : .prepareAbort
            m.updateTimestamp = now
            save(m)
            return .complete(TransactionCompletion(m))
        case .completeCommit: return commit ? .done : .failed(.invalidTxnState)
        case .completeAbort: return commit ? .failed(.invalidTxnState) : .done
        case .prepareCommit: return commit ? .failed(.concurrentTransactions) : .failed(.invalidTxnState)
        case .prepareAbort: return commit ? .failed(.invalidTxnState) : .failed(.concurrentTransactions)
        case .empty: return .failed(.invalidTxnState)
        }
    }

    /// Every marker of `completion` is written (and the offsets applied): the transaction is over.
    mutating func completed(_ completion: TransactionCompletion, now: Int64) {
        guard var m = transactions[completion.transactionalId], m.state.isPreparing,
              m.producerId == completion.producerId, m.producerEpoch == completion.markerEpoch else { return }
        m.state = m.state == .prepareCommit ? .completeCommit : .completeAbort
        m.partitions = []
        m.groups = []
        m.pendingOffsets = [:]
        m.startTimestamp = -1
        m.updateTimestamp = now
        save(m)
    }

    // MARK: timers

    /// Aborts transactions open longer than their timeout (bumping the epoch, which fences
    /// their producer) and forgets ids idle past `idExpirationMs`. Returns the aborts to carry out.
    mutating func tick(now: Int64, newProducerId: () throws -> Int64) rethrows -> [TransactionCompletion] {
        var aborts: [TransactionCompletion] = []
        for id in transactions.keys.sorted() {
            guard var m = transactions[id] else { continue }
            if m.state == .ongoing, m.startTimestamp >= 0, now - m.startTimestamp > Int64(m.timeoutMs) {
                try bump(&m, newProducerId: newProducerId)
                m.state = .prepareAbort
                m.updateTimestamp = now
                save(m)
                aborts.append(TransactionCompletion(m))
            } else if m.state != .ongoing, !m.state.isPreparing, now - m.updateTimestamp > config.idExpirationMs {
                transactions[id] = nil
                records.append((id, nil))
            }
        }
        return aborts
    }
}
