import Foundation
import KafkaProtocol
import Logging
import LogStore
import NIOConcurrencyHelpers
import NIOCore

/// The broker's transaction coordinator: `TransactionCoordinatorCore` behind one lock, its
/// records in the compacted internal log `__cluster/transaction-state/`, and the I/O of
/// ending a transaction. Calls come from event-loop threads and never block on the disk:
/// answers go to completion closures once what they report is durable.
///
/// Ending a transaction (Kafka's two-phase commit, on one node):
/// 1. PrepareCommit/PrepareAbort is written and fsynced — from here the outcome is decided
///    and survives kill -9;
/// 2. the marker is appended to every partition of the transaction (under the lock, so no
///    produce of the transaction can slip in after it) and, on commit, the offsets are
///    committed to the groups; all of it fsynced;
/// 3. the producer is answered and CompleteCommit/CompleteAbort written (not waited for).
/// A restart finds transactions left in step 1 or 2 and finishes them (markers written twice
/// are harmless: the second finds no open transaction).
///
/// Lock order: this lock, then a partition log's, then the group coordinator's. Nothing
/// calls into this coordinator while holding the group coordinator's lock.
final class TransactionCoordinator: @unchecked Sendable {
    private let lock = NIOLock()
    private var core: TransactionCoordinatorCore
    private var loading = true
    /// Completions being carried out (ids), so the timer does not start a second one.
    private var inFlight: Set<String> = []
    private let store: InternalStateLog
    private let topics: TopicManager
    private let groups: GroupCoordinator?
    private let producerIds: ProducerIdManager
    let logger: Logger
    let clock: @Sendable () -> Int64
    let metrics: TransactionMetrics

    init(store: InternalStateLog, topics: TopicManager, groups: GroupCoordinator?, producerIds: ProducerIdManager,
         config: TransactionCoordinatorConfig = .fromEnvironment(), logger: Logger, metrics: TransactionMetrics = TransactionMetrics(),
         clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) {
        self.metrics = metrics
        self.store = store
        self.topics = topics
        self.groups = groups
        self.producerIds = producerIds
        self.logger = logger
        self.clock = clock
        core = TransactionCoordinatorCore(config: config)
    }

    var config: TransactionCoordinatorConfig { lock.withLock { core.config } }

    /// Replays the transaction log, then finishes what a crash interrupted. Until it is loaded
    /// every transactional request answers COORDINATOR_LOAD_IN_PROGRESS.
    func load() throws {
        let t0 = DispatchTime.now()
        var replayed: [(String, TransactionMetadata?)] = []
        let count = try store.replay { key, value in
            do {
                replayed.append(try TransactionRecordCodec.decode(key: key, value: value))
            } catch {
                logger.error("skipping an unreadable transaction-state record", metadata: ["error": "\(error)"])
            }
        }
        let unfinished: [TransactionCompletion] = lock.withLock {
            for (id, m) in replayed { core.replay(id, m) }
            loading = false
            return core.unfinished
        }
        logger.info("loaded transactions", metadata: [
            "records": "\(count)", "transactional-ids": "\(lock.withLock { core.transactions.count })",
            "unfinished": "\(unfinished.count)", "ms": "\(RiverbankBroker.milliseconds(since: t0))",
        ])
        for c in unfinished {
            logger.info("finishing a transaction interrupted by the last stop",
                        metadata: ["transactional.id": "\(c.transactionalId)", "outcome": "\(c.marker)"])
            finish(c, afterFlushOf: nil, by: .restart) { _ in }
        }
    }

    func shutdown() {
        store.close()
    }

    // MARK: persistence

    /// Runs `body` on the core under the lock and appends the records it produced; returns
    /// its result and the offset to flush up to (nil: nothing written, or the write failed —
    /// then `failed` is set).
    private func locked<T>(_ body: (inout TransactionCoordinatorCore) throws -> T) rethrows -> (T, Int64?, failed: Bool) {
        try lock.withLock {
            let result = try body(&core)
            let (offset, failed) = appendRecordsLocked()
            return (result, offset, failed)
        }
    }

    private func appendRecordsLocked() -> (Int64?, Bool) {
        guard !core.records.isEmpty else { return (nil, false) }
        defer { core.records.removeAll() }
        do {
            let records = try core.records.map { id, m in try m.map(TransactionRecordCodec.encode) ?? TransactionRecordCodec.tombstone(id) }
            return (try store.append(records), false)
        } catch {
            logger.error("could not write the transaction-state log", metadata: ["error": "\(error)"])
            return (nil, true)
        }
    }

    /// Calls `done` once everything up to `offset` of the transaction log is durable.
    private func whenDurable(_ offset: Int64?, _ done: @escaping @Sendable (Bool) -> Void) {
        guard let offset else { return done(true) }
        store.flush(upTo: offset) { [logger] error in
            if let error { logger.error("fsync of the transaction-state log failed", metadata: ["error": "\(error)"]) }
            done(error == nil)
        }
    }

    // MARK: requests

    /// InitProducerId with a transactional id: (error, producer id, epoch).
    func initProducerId(_ id: String, timeoutMs: Int32, producerId: Int64, epoch: Int16,
                        completion: @escaping @Sendable (ErrorCode, Int64, Int16) -> Void) {
        if lock.withLock({ loading }) { return completion(.coordinatorLoadInProgress, -1, -1) }
        let now = clock()
        let outcome: TransactionCoordinatorCore.InitOutcome
        let offset: Int64?
        let failed: Bool
        do {
            (outcome, offset, failed) = try locked { core in
                try core.initProducerId(id, timeoutMs: timeoutMs, producerId: producerId, epoch: epoch, now: now,
                                        newProducerId: producerIds.nextProducerId)
            }
        } catch {
            logger.error("could not allocate a producer id", metadata: ["error": "\(error)"])
            return completion(.kafkaStorageError, -1, -1)
        }
        if failed { return completion(.coordinatorNotAvailable, -1, -1) }
        switch outcome {
        case .failed(let e):
            completion(e, -1, -1)
        case .ready(let pid, let epoch):
            whenDurable(offset) { ok in completion(ok ? .none : .coordinatorNotAvailable, pid, epoch) }
        case .abortFirst(let c, let pid, let epoch):
            logger.info("fencing the previous producer of a transactional id and aborting its open transaction",
                        metadata: ["transactional.id": "\(id)", "epoch": "\(epoch)"])
            finish(c, afterFlushOf: offset, by: .fencing) { e in completion(e, e == .none ? pid : -1, e == .none ? epoch : -1) }
        }
    }

    func addPartitions(_ id: String, producerId: Int64, epoch: Int16, partitions: [TopicPartitionKey],
                       completion: @escaping @Sendable ([TopicPartitionKey: ErrorCode]) -> Void) {
        if lock.withLock({ loading }) { return completion(Dictionary(partitions.map { ($0, .coordinatorLoadInProgress) }, uniquingKeysWith: { a, _ in a })) }
        let now = clock()
        let topics = self.topics
        let (result, offset, failed) = locked { core in
            core.addPartitions(id, producerId: producerId, epoch: epoch, partitions: partitions, now: now) { tp in
                topics.topic(named: tp.topic)?.partition(tp.partition) != nil
            }
        }
        if failed { return completion(result.mapValues { _ in .coordinatorNotAvailable }) }
        whenDurable(offset) { ok in completion(ok ? result : result.mapValues { _ in .coordinatorNotAvailable }) }
    }

    func addOffsets(_ id: String, producerId: Int64, epoch: Int16, groupId: String,
                    completion: @escaping @Sendable (ErrorCode) -> Void) {
        if lock.withLock({ loading }) { return completion(.coordinatorLoadInProgress) }
        let now = clock()
        let (result, offset, failed) = locked { $0.addOffsets(id, producerId: producerId, epoch: epoch, groupId: groupId, now: now) }
        if failed { return completion(.coordinatorNotAvailable) }
        whenDurable(offset) { ok in completion(ok ? result : .coordinatorNotAvailable) }
    }

    /// TxnOffsetCommit: `memberCheck` has already validated the group member (KIP-447).
    func commitOffsets(_ id: String, producerId: Int64, epoch: Int16, groupId: String, offsets: [TopicPartitionKey: CommittedOffset],
                       completion: @escaping @Sendable (ErrorCode) -> Void) {
        if lock.withLock({ loading }) { return completion(.coordinatorLoadInProgress) }
        let now = clock()
        let (result, offset, failed) = locked {
            $0.commitOffsets(id, producerId: producerId, epoch: epoch, groupId: groupId, offsets: offsets, now: now)
        }
        if failed { return completion(.coordinatorNotAvailable) }
        whenDurable(offset) { ok in completion(ok ? result : .coordinatorNotAvailable) }
    }

    func endTransaction(_ id: String, producerId: Int64, epoch: Int16, commit: Bool,
                        completion: @escaping @Sendable (ErrorCode) -> Void) {
        if lock.withLock({ loading }) { return completion(.coordinatorLoadInProgress) }
        let now = clock()
        let (outcome, offset, failed) = locked { $0.endTransaction(id, producerId: producerId, epoch: epoch, commit: commit, now: now) }
        if failed { return completion(.coordinatorNotAvailable) }
        switch outcome {
        case .failed(let e): completion(e)
        case .done: completion(.none)
        case .complete(let c): finish(c, afterFlushOf: offset, completion)
        }
    }

    /// Runs `body` (the produce's appends) while no transaction can end: `verify` answers
    /// whether a transactional batch of `partition` may be written now.
    func whileVerifying<T>(_ id: String,
                           _ body: (_ verify: (_ producerId: Int64, _ epoch: Int16, _ partition: TopicPartitionKey) -> ErrorCode?) -> T) -> T {
        lock.withLock {
            if loading { return body { _, _, _ in .coordinatorLoadInProgress } }
            return body { pid, epoch, tp in core.verifyProduce(id, producerId: pid, epoch: epoch, partition: tp) }
        }
    }

    func pendingOffsetPartitions(groupId: String) -> Set<TopicPartitionKey> {
        lock.withLock { core.pendingOffsetPartitions(groupId: groupId) }
    }

    /// Transaction timeouts and id expiry, and a retry of completions that failed; the
    /// broker calls it every `config.tickIntervalMs`.
    func tick() {
        let now = clock()
        let (work, offset, _): ([TransactionCompletion], Int64?, Bool)
        var timedOut = Set<String>()
        do {
            (work, offset, _) = try locked { core -> [TransactionCompletion] in
                if loading { return [] }
                let aborts = try core.tick(now: now, newProducerId: producerIds.nextProducerId)
                for c in aborts {
                    logger.info("aborting a transaction past its timeout", metadata: [
                        "transactional.id": "\(c.transactionalId)", "fenced-epoch": "\(c.markerEpoch - 1)",
                    ])
                }
                timedOut = Set(aborts.map(\.transactionalId))
                let retries = core.unfinished.filter { c in !inFlight.contains(c.transactionalId) && !aborts.contains(c) }
                return aborts + retries
            }
        } catch {
            logger.error("could not allocate a producer id", metadata: ["error": "\(error)"])
            return
        }
        for c in work { finish(c, afterFlushOf: offset, by: timedOut.contains(c.transactionalId) ? .timeout : .restart) { _ in } }
    }

    // MARK: completing a transaction

    /// Steps 2 and 3 of ending a transaction, once its Prepare record (at `offset`) is durable.
    /// Who ended a transaction (for the metrics).
    enum Ender { case client, timeout, fencing, restart }

    private func finish(_ c: TransactionCompletion, afterFlushOf offset: Int64?, by ender: Ender = .client,
                        _ completion: @escaping @Sendable (ErrorCode) -> Void) {
        let t0 = DispatchTime.now()
        let started = lock.withLock { inFlight.insert(c.transactionalId).inserted }
        guard started else { return completion(.concurrentTransactions) }
        whenDurable(offset) { [self] ok in
            guard ok else {
                lock.withLock { _ = inFlight.remove(c.transactionalId) }
                return completion(.coordinatorNotAvailable)
            }
            FaultInjection.crashPoint("txn-after-prepare")
            writeMarkers(c) { [self] ok in
                guard ok else {
                    // Left in Prepare: the timer tries again.
                    lock.withLock { _ = inFlight.remove(c.transactionalId) }
                    return completion(.coordinatorNotAvailable)
                }
                FaultInjection.crashPoint("txn-after-markers")
                let now = clock()
                let (open, offset, failed) = locked { core -> Int in
                    core.completed(c, now: now)
                    inFlight.remove(c.transactionalId)
                    return core.transactions.values.reduce(0) { $0 + ($1.state == .ongoing || $1.state.isPreparing ? 1 : 0) }
                }
                metrics.endDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds))
                metrics.open.record(open)
                switch (c.marker, ender) {
                case (.commit, _): metrics.committed.increment()
                case (.abort, .timeout): metrics.abortedOnTimeout.increment()
                case (.abort, .fencing): metrics.abortedOnFencing.increment()
                case (.abort, _): metrics.abortedByClient.increment()
                }
                if failed { return completion(.coordinatorNotAvailable) }
                // The outcome is decided and every marker durable: answer now. Complete is not
                // waited for — lost in a crash, it leaves Prepare behind, and the restart writes
                // the markers again (a marker that finds no open transaction changes nothing).
                completion(.none)
                whenDurable(offset) { _ in FaultInjection.crashPoint("txn-after-complete") }
            }
        }
    }

    /// Appends the markers (and applies the offsets) under the lock, then waits for them to be
    /// durable. `done(false)` if any could not be written.
    private func writeMarkers(_ c: TransactionCompletion, done: @escaping @Sendable (Bool) -> Void) {
        var written: [(PartitionState, Int64)] = []
        var ok = true
        var groupTokens: [GroupAppendToken] = []
        lock.withLock {
            for tp in c.partitions {
                guard let partition = topics.topic(named: tp.topic)?.partition(tp.partition) else {
                    logger.warning("a partition of the transaction is gone; no marker written",
                                   metadata: ["transactional.id": "\(c.transactionalId)", "partition": "\(tp.topic)-\(tp.partition)"])
                    continue
                }
                do {
                    let offset = try partition.log.appendMarker(producerId: c.producerId, producerEpoch: c.markerEpoch, marker: c.marker)
                    written.append((partition, offset))
                    // A crash between two partitions' markers: the restart writes the rest.
                    if written.count == 1 && c.partitions.count > 1 { FaultInjection.crashPoint("txn-mid-markers") }
                } catch {
                    logger.error("could not write a transaction marker", metadata: [
                        "transactional.id": "\(c.transactionalId)", "partition": "\(tp.topic)-\(tp.partition)", "error": "\(error)",
                    ])
                    ok = false
                }
            }
            if ok, let groups {
                for (group, offsets) in c.offsets.sorted(by: { $0.key < $1.key }) {
                    if let token = groups.commitTransactionalOffsets(groupId: group, offsets: offsets) { groupTokens.append(token) }
                }
            }
        }
        for (p, _) in written { p.notifyAppended() }
        guard ok else { return done(false) }
        let waits = written.count + groupTokens.count
        guard waits > 0 else { return done(true) }
        let remaining = NIOLockedValueBox((left: waits, ok: true))
        let one: @Sendable ((any Error)?) -> Void = { error in
            let finished: Bool? = remaining.withLockedValue { r in
                r.left -= 1
                if error != nil { r.ok = false }
                return r.left == 0 ? r.ok : nil
            }
            if let finished { done(finished) }
        }
        for (p, offset) in written { p.log.flush(upTo: offset, completion: one) }
        for t in groupTokens { groups?.flush(t, completion: one) }
    }

    // MARK: admin

    func describe(_ id: String) -> TransactionMetadata? { lock.withLock { core.metadata(id) } }

    var all: [TransactionMetadata] { lock.withLock { core.transactions.values.sorted { $0.transactionalId < $1.transactionalId } } }

    var isLoading: Bool { lock.withLock { loading } }
}
