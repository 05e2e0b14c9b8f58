import KafkaProtocol
import NIOCore

/// The group a consume-transform-produce loop commits its input offsets for, as the
/// consumer knows it (KIP-447: the coordinator refuses a producer acting for a member of an
/// older generation, so a zombie cannot commit).
public struct ConsumerGroupMetadata: Sendable, Equatable {
    public var groupID: String
    public var generationID: Int32
    public var memberID: String
    public var groupInstanceID: String?

    public init(groupID: String, generationID: Int32 = -1, memberID: String = "", groupInstanceID: String? = nil) {
        self.groupID = groupID
        self.generationID = generationID
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
    }
}

/// Where a transactional producer stands (a simplified Kafka TransactionManager).
struct TransactionState {
    enum Phase: Equatable {
        /// Before `initTransactions`.
        case uninitialized
        /// Between transactions.
        case ready
        case inTransaction
        /// Commit or abort under way.
        case ending
        /// Fenced (or otherwise unusable): only closing is left.
        case fatal
    }

    var phase = Phase.uninitialized
    /// Partitions added to the open transaction.
    var partitions: Set<TopicPartition> = []
    /// Partitions with data waiting to be added (AddPartitionsToTxn) before it is sent.
    var unadded: Set<TopicPartition> = []
    /// AddOffsetsToTxn was sent for these groups in the open transaction.
    var groups: Set<String> = []
    /// Why the open transaction can only be aborted (a send failed), or why the producer is fatal.
    var error: KafkaError?

    func checkCanSend() throws {
        switch phase {
        case .inTransaction:
            if let error { throw KafkaError.transactionAbortable(error) }
        case .fatal: throw error ?? KafkaError.invalidState("the transactional producer failed")
        case .uninitialized: throw KafkaError.invalidState("call initTransactions() before sending")
        case .ready: throw KafkaError.invalidState("records of a transactional producer are sent inside beginTransaction() … commitTransaction()")
        case .ending: throw KafkaError.invalidState("the transaction is being committed or aborted")
        }
    }

    mutating func failed(_ e: KafkaError) {
        if e.kind == .fenced {
            phase = .fatal
            error = e
        } else if error == nil && (phase == .inTransaction || phase == .ending) {
            error = e
        }
    }

    mutating func reset() {
        partitions = []
        unadded = []
        groups = []
        error = nil
    }
}

extension KafkaError {
    /// Another producer with the same transactional id took over (or the coordinator aborted
    /// this one's transaction on timeout): this producer can only be closed.
    static func fenced(_ s: String) -> KafkaError { KafkaError(.fenced, "producer fenced: \(s)") }

    /// The open transaction failed (`underlying` says why) and can only be aborted.
    static func transactionAbortable(_ underlying: KafkaError) -> KafkaError {
        KafkaError(.transactionAbortable, code: underlying.code, "the transaction must be aborted: \(underlying.message)")
    }

    /// Codes that mean this producer instance is no longer the transactional id's owner.
    static func isFencing(_ code: Int16) -> Bool {
        code == ErrorCode.producerFenced.rawValue || code == ErrorCode.invalidProducerEpoch.rawValue
            || code == ErrorCode.transactionCoordinatorFenced.rawValue
    }
}

/// Transactions (Kafka's transactional producer): `initTransactions` once, then per
/// transaction `beginTransaction`, sends, optionally `sendOffsetsToTransaction`, and
/// `commitTransaction` or `abortTransaction`.
///
/// ```swift
/// var config = try KafkaProducerConfig(bootstrap: "localhost:9092")
/// config.transactionalID = "scorer-0"
/// let producer = try KafkaProducer(config: config)
/// try await producer.initTransactions()
/// try producer.beginTransaction()
/// try await producer.produce(ProducerRecord(topic: "out", key: "k", value: "v"))
/// try await producer.sendOffsetsToTransaction([TopicPartition("in", 0): 42], group: try await consumer.groupMetadata())
/// try await producer.commitTransaction()
/// ```
extension KafkaProducer {
    var transactionalID: String {
        get throws {
            guard let id = config.transactionalID else { throw KafkaError.invalidState("the producer has no transactionalID") }
            return id
        }
    }

    /// Registers the transactional id with its coordinator, fencing any older producer with
    /// the same id and aborting what it left open. Call once, before the first transaction.
    public func initTransactions() async throws {
        let id = try transactionalID
        let phase = state.withLock { $0.transaction.phase }
        guard phase == .uninitialized else { throw KafkaError.invalidState("initTransactions() was already called") }
        let req = InitProducerIdRequest(transactionalId: id, transactionTimeoutMs: Int32(clamping: config.transactionTimeout.milliseconds))
        let resp = try await coordinatorRequest(req) { $0.errorCode }
        state.withLock { s in
            s.producerId = resp.producerId
            s.producerEpoch = resp.producerEpoch
            s.transaction.phase = .ready
            for q in s.queues.values { q.nextSequence = 0 }
        }
        logger.debug("transactional producer ready", metadata: [
            "transactional.id": "\(id)", "producer-id": "\(resp.producerId)", "epoch": "\(resp.producerEpoch)",
        ])
        wakeup.signal()
    }

    /// Opens a transaction: what is sent until it ends is committed or aborted together.
    public func beginTransaction() throws {
        _ = try transactionalID
        try state.withLock { s in
            switch s.transaction.phase {
            case .ready:
                s.transaction.reset()
                s.transaction.phase = .inTransaction
            case .inTransaction: throw KafkaError.invalidState("a transaction is already open")
            default: try s.transaction.checkCanSend()
            }
        }
    }

    /// Commits the consumer's offsets (the next offset to read per partition) with the open
    /// transaction: they move only if it commits. `group` comes from the consumer
    /// (`KafkaConsumer.groupMetadata()`).
    public func sendOffsetsToTransaction(_ offsets: [TopicPartition: Int64], group: ConsumerGroupMetadata) async throws {
        let id = try transactionalID
        try state.withLock { s in
            guard s.transaction.phase == .inTransaction else { throw KafkaError.invalidState("no transaction is open") }
            if let e = s.transaction.error { throw KafkaError.transactionAbortable(e) }
        }
        let (pid, epoch) = state.withLock { ($0.producerId, $0.producerEpoch) }
        if !state.withLock({ $0.transaction.groups.contains(group.groupID) }) {
            let req = AddOffsetsToTxnRequest(transactionalId: id, producerId: pid, producerEpoch: epoch, groupId: group.groupID)
            _ = try await coordinatorRequest(req) { $0.errorCode }
            state.withLock { _ = $0.transaction.groups.insert(group.groupID) }
        }
        guard !offsets.isEmpty else { return }
        var req = TxnOffsetCommitRequest()
        req.transactionalId = id
        req.groupId = group.groupID
        req.producerId = pid
        req.producerEpoch = epoch
        req.generationId = group.generationID
        req.memberId = group.memberID
        req.groupInstanceId = group.groupInstanceID
        req.topics = Dictionary(grouping: offsets.keys, by: \.topic).sorted { $0.key < $1.key }.map { topic, tps in
            var t = TxnOffsetCommitRequest.Topic()
            t.name = topic
            t.partitions = tps.sorted { $0.partition < $1.partition }.map { tp in
                var p = TxnOffsetCommitRequest.Partition()
                p.partitionIndex = tp.partition
                p.committedOffset = offsets[tp]!
                return p
            }
            return t
        }
        var attempt = 0
        while true {
            attempt += 1
            let resp: TxnOffsetCommitResponse
            do {
                resp = try await cluster.coordinator(group: group.groupID).send(req)
            } catch let e as KafkaError where e.isRetriable && attempt < 50 {
                await cluster.invalidateCoordinator(group: group.groupID)
                try await Task.sleep(for: config.retryBackoff)
                continue
            }
            guard let code = resp.topics.flatMap(\.partitions).map(\.errorCode).first(where: { $0 != 0 }) else { return }
            if KafkaError.isFencing(code) {
                let e = KafkaError.fenced("TxnOffsetCommit answered \(KafkaError.name(of: code))")
                state.withLock { $0.transaction.failed(e) }
                throw e
            }
            let e = KafkaError.broker(code: code, message: nil, context: "TxnOffsetCommit(\(group.groupID))")
            if e.isRetriable && attempt < 50 {
                if code == ErrorCode.notCoordinator.rawValue || code == ErrorCode.coordinatorNotAvailable.rawValue {
                    await cluster.invalidateCoordinator(group: group.groupID)
                }
                try await Task.sleep(for: config.retryBackoff)
                continue
            }
            state.withLock { $0.transaction.failed(e) }
            throw KafkaError.transactionAbortable(e)
        }
    }

    /// Sends what is queued, then commits the transaction. If a send of the transaction failed
    /// it throws `transactionAbortable` instead: call `abortTransaction()`.
    public func commitTransaction() async throws {
        try await endTransaction(commit: true)
    }

    /// Aborts the open transaction: nothing it sent becomes visible to read_committed consumers.
    public func abortTransaction() async throws {
        try await endTransaction(commit: false)
    }

    private func endTransaction(commit: Bool) async throws {
        let id = try transactionalID
        try state.withLock { s in
            guard s.transaction.phase == .inTransaction else {
                if s.transaction.phase == .fatal { throw s.transaction.error ?? KafkaError.invalidState("the producer failed") }
                throw KafkaError.invalidState("no transaction is open")
            }
            if commit, let e = s.transaction.error { throw KafkaError.transactionAbortable(e) }
            s.transaction.phase = .ending
        }
        // Every record of the transaction must have its answer before the end marker.
        await flush()
        let (failure, touched, pid, epoch) = state.withLock { s in
            (s.transaction.error, !s.transaction.partitions.isEmpty || !s.transaction.groups.isEmpty, s.producerId, s.producerEpoch)
        }
        if commit, let failure {
            state.withLock { $0.transaction.phase = $0.transaction.phase == .fatal ? .fatal : .inTransaction }
            throw KafkaError.transactionAbortable(failure)
        }
        if touched {
            let req = EndTxnRequest(transactionalId: id, producerId: pid, producerEpoch: epoch, committed: commit)
            do {
                _ = try await coordinatorRequest(req) { $0.errorCode }
            } catch {
                state.withLock { s in if s.transaction.phase != .fatal { s.transaction.phase = .inTransaction } }
                throw error
            }
        }
        state.withLock { s in
            s.transaction.reset()
            s.transaction.phase = .ready
        }
    }

    /// Adds the partitions the sender found data for to the open transaction (the sender
    /// loop calls it; their batches wait until it is done).
    func addPartitionsToTransaction() async {
        guard let id = config.transactionalID else { return }
        let (tps, pid, epoch) = state.withLock { s in (s.transaction.unadded, s.producerId, s.producerEpoch) }
        guard !tps.isEmpty else { return }
        let topics = Dictionary(grouping: tps, by: \.topic).sorted { $0.key < $1.key }.map { topic, tps in
            AddPartitionsToTxnRequest.Topic(name: topic, partitions: tps.map(\.partition).sorted())
        }
        let req = AddPartitionsToTxnRequest(transactionalId: id, producerId: pid, producerEpoch: epoch, topics: topics)
        do {
            _ = try await coordinatorRequest(req, maxVersion: 3) { r in
                r.resultsByTopic.flatMap(\.resultsByPartition).map(\.partitionErrorCode).first { $0 != 0 } ?? 0
            }
            state.withLock { s in
                s.transaction.partitions.formUnion(tps)
                s.transaction.unadded.subtract(tps)
            }
        } catch let e as KafkaError {
            let refused = state.withLock { s -> [ProducerBatch] in
                s.transaction.failed(e)
                s.transaction.unadded.subtract(tps)
                var out: [ProducerBatch] = []
                for tp in tps {
                    guard let q = s.queues[tp] else { continue }
                    out.append(contentsOf: q.batches)
                    q.batches.removeAll()
                }
                return out
            }
            for b in refused { finish(b, error: e) }
        } catch {
            state.withLock { $0.transaction.failed(.invalidState("AddPartitionsToTxn: \(error)")) }
        }
        wakeup.signal()
    }

    /// A request to the transaction coordinator, retried while the coordinator moves, loads or
    /// is busy ending the previous transaction; fencing makes the producer fatal.
    func coordinatorRequest<R: KafkaRequestMessage>(_ req: R, maxVersion: Int16? = nil,
                                                    _ errorCode: (R.Response) -> Int16) async throws -> R.Response {
        let id = try transactionalID
        var attempt = 0
        while true {
            attempt += 1
            let resp: R.Response
            do {
                let conn = try await cluster.coordinator(transactionalID: id)
                guard let v = conn.version(for: R.self) else { throw KafkaError.unsupportedApi("\(R.apiKey) (transactions)") }
                resp = try await conn.send(req, version: maxVersion.map { min($0, v) } ?? v)
            } catch let e as KafkaError where e.isRetriable && attempt < 100 {
                await cluster.invalidateCoordinator(transactionalID: id)
                try await Task.sleep(for: config.retryBackoff)
                continue
            }
            let code = errorCode(resp)
            if code == 0 { return resp }
            if KafkaError.isFencing(code) {
                let e = KafkaError.fenced("\(R.apiKey) answered \(KafkaError.name(of: code))")
                state.withLock { $0.transaction.failed(e) }
                throw e
            }
            let e = KafkaError.broker(code: code, message: nil, context: "\(R.apiKey)(\(id))")
            if (e.isRetriable || code == ErrorCode.concurrentTransactions.rawValue) && attempt < 100 {
                if code == ErrorCode.notCoordinator.rawValue || code == ErrorCode.coordinatorNotAvailable.rawValue {
                    await cluster.invalidateCoordinator(transactionalID: id)
                }
                // CONCURRENT_TRANSACTIONS: the previous transaction's markers are still being written.
                try await Task.sleep(for: code == ErrorCode.concurrentTransactions.rawValue ? .milliseconds(20) : config.retryBackoff)
                continue
            }
            throw e
        }
    }
}

extension KafkaConsumer {
    /// The consumer's group, generation and member id, for `sendOffsetsToTransaction`.
    public func groupMetadata() async throws -> ConsumerGroupMetadata {
        try await core.groupMetadata()
    }
}

extension ConsumerCore {
    func groupMetadata() throws -> ConsumerGroupMetadata {
        guard let group = config.groupID else { throw KafkaError.invalidState("the consumer has no groupID") }
        let inGroup = subscription != nil
        return ConsumerGroupMetadata(groupID: group, generationID: inGroup ? generationID : -1, memberID: inGroup ? memberID : "",
                                     groupInstanceID: inGroup ? config.groupInstanceID : nil)
    }
}
