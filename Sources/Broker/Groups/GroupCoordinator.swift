import Foundation
import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The broker's group coordinator: the classic group state machine and committed offsets
/// behind one lock, persisted through a `GroupRecordStore`. Calls come from any event-loop
/// thread and never block: parked JoinGroup/SyncGroup requests get their answer through
/// the completion closure later; OffsetCommit answers once its records are fsynced.
final class GroupCoordinator: @unchecked Sendable {
    private let lock = NIOLock()
    private let core: GroupCoordinatorCore
    private let store: GroupRecordStore
    let logger: Logger

    init(store: GroupRecordStore, config: GroupCoordinatorConfig = .fromEnvironment(), logger: Logger,
         clock: @escaping () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) {
        self.store = store
        self.logger = logger
        core = GroupCoordinatorCore(config: config, clock: clock)
    }

    var config: GroupCoordinatorConfig { core.config }

    /// Replays the store into memory. Until it finishes, group APIs answer COORDINATOR_LOAD_IN_PROGRESS.
    func load() throws {
        lock.withLock { core.loading = true }
        let t0 = DispatchTime.now()
        var count = 0
        var buffered: [GroupRecord] = []
        try store.replay { r in
            buffered.append(r)
            count += 1
        }
        let groups: Int = lock.withLock {
            for r in buffered { core.replay(r) }
            core.loading = false
            return core.groups.count
        }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e6
        logger.info("loaded consumer groups", metadata: ["records": "\(count)", "groups": "\(groups)", "ms": "\(String(format: "%.1f", ms))"])
    }

    func setPartitionExists(_ f: @escaping (String, Int32) -> Bool) {
        lock.withLock { core.partitionExists = f }
    }

    func shutdown() {
        withCore { $0.failAllParked(.coordinatorNotAvailable) }
        store.close()
    }

    /// Runs `body` under the lock, writes the records it produced, then runs the callbacks
    /// it queued (outside the lock). Returns the body's result and the append token.
    @discardableResult
    func withCore<T>(_ body: (GroupCoordinatorCore) -> T) -> T {
        withCorePersisting(body).0
    }

    private func withCorePersisting<T>(_ body: (GroupCoordinatorCore) -> T) -> (T, GroupAppendToken?, (any Error)?) {
        let (result, actions, token, error): (T, [() -> Void], GroupAppendToken?, (any Error)?) = lock.withLock {
            let result = body(core)
            let actions = core.actions
            core.actions.removeAll()
            var token: GroupAppendToken?
            var error: (any Error)?
            if !core.records.isEmpty {
                let records = core.records
                core.records.removeAll()
                do {
                    token = try store.append(records)
                } catch let e {
                    error = e
                    logger.error("could not write the consumer-offsets log", metadata: ["error": "\(e)"])
                }
            }
            return (result, actions, token, error)
        }
        for a in actions { a() }
        return (result, token, error)
    }

    /// Session and rebalance timers; the broker's run() calls it every `config.tickIntervalMs`.
    func tick() { withCore { $0.tick() } }

    // MARK: API entry points

    func join(_ p: JoinParams, completion: @escaping (JoinGroupResponse) -> Void) {
        withCore { $0.join(p, respond: completion) }
    }

    func sync(_ p: SyncParams, completion: @escaping (SyncGroupResponse) -> Void) {
        withCore { $0.sync(p, respond: completion) }
    }

    func heartbeat(groupId: String, memberId: String, instanceId: String?, generationId: Int32) -> ErrorCode {
        withCore { $0.heartbeat(groupId: groupId, memberId: memberId, instanceId: instanceId, generationId: generationId) }
    }

    func leave(groupId: String, members: [(memberId: String, instanceId: String?)]) -> (ErrorCode, [LeaveGroupResponse.Member]) {
        withCore { $0.leave(groupId: groupId, members: members) }
    }

    /// Answers once the commit is durable (fsynced), or with an error if it could not be written.
    func commitOffsets(groupId: String, generationId: Int32, memberId: String, instanceId: String?, version: Int16,
                       topics: [(name: String, partitions: [CommitPartition])],
                       completion: @escaping @Sendable ([OffsetCommitResponse.Topic]) -> Void) {
        let (result, token, error) = withCorePersisting {
            $0.commitOffsets(groupId: groupId, generationId: generationId, memberId: memberId, instanceId: instanceId,
                             version: version, topics: topics)
        }
        @Sendable func failed(_ r: [OffsetCommitResponse.Topic]) -> [OffsetCommitResponse.Topic] {
            r.map { t in
                var t = t
                t.partitions = t.partitions.map { p in
                    var p = p
                    if p.errorCode == ErrorCode.none.rawValue { p.errorCode = ErrorCode.kafkaStorageError.rawValue }
                    return p
                }
                return t
            }
        }
        if error != nil { return completion(failed(result)) }
        guard let token else { return completion(result) }
        store.flush(token) { [logger] err in
            if let err {
                logger.error("fsync of consumer-offsets log failed", metadata: ["error": "\(err)"])
                completion(failed(result))
            } else {
                completion(result)
            }
        }
    }

    /// The offsets of a committed transaction (TxnOffsetCommit checked the member when they
    /// were sent): applied at once; returns the token to flush, nil if nothing was written.
    func commitTransactionalOffsets(groupId: String, offsets: [TopicPartitionKey: CommittedOffset]) -> GroupAppendToken? {
        withCorePersisting { $0.applyTransactionalOffsets(groupId: groupId, offsets: offsets) }.1
    }

    /// Calls `completion` once the records up to `token` are durable.
    func flush(_ token: GroupAppendToken, completion: @escaping @Sendable ((any Error)?) -> Void) {
        store.flush(token, completion: completion)
    }

    /// KIP-447: whether a transactional producer acting for this member may commit the
    /// group's offsets (the same generation checks as OffsetCommit).
    func validateTransactionalCommit(groupId: String, generationId: Int32, memberId: String, instanceId: String?) -> ErrorCode? {
        withCore { $0.validateTransactionalCommit(groupId: groupId, generationId: generationId, memberId: memberId, instanceId: instanceId) }
    }

    func fetchOffsets(groupId: String, topics: [(name: String, partitions: [Int32])]?, memberId: String? = nil,
                      memberEpoch: Int32 = -1) -> (ErrorCode, [OffsetFetchResponse.Topic]) {
        withCore { $0.fetchOffsets(groupId: groupId, topics: topics, memberId: memberId, memberEpoch: memberEpoch) }
    }

    // MARK: KIP-848 consumer protocol

    func consumerGroupHeartbeat(_ req: ConsumerGroupHeartbeatRequest, clientId: String, clientHost: String,
                                topics: GroupTopics) -> ConsumerGroupHeartbeatResponse {
        withCore { $0.consumerGroupHeartbeat(req, clientId: clientId, clientHost: clientHost, topics: topics) }
    }

    func consumerGroupDescribe(_ ids: [String], topics: GroupTopics) -> [ConsumerGroupDescribeResponse.Group] {
        withCore { $0.consumerGroupDescribe(ids, topics: topics) }
    }

    func deleteOffsets(groupId: String, topics: [(name: String, partitions: [Int32])],
                       completion: @escaping @Sendable ((ErrorCode, [OffsetDeleteResponse.Topic])) -> Void) {
        let (result, token, _) = withCorePersisting { $0.deleteOffsets(groupId: groupId, topics: topics) }
        guard let token else { return completion(result) }
        store.flush(token) { _ in completion(result) }
    }

    func listGroups(states: [String], types: [String]) -> [ListGroupsResponse.Group] {
        withCore { $0.listGroups(states: states, types: types) }
    }

    func describe(_ ids: [String]) -> [DescribeGroupsResponse.Group] {
        withCore { core in ids.map { core.describe(groupId: $0) } }
    }

    func deleteGroups(_ ids: [String], completion: @escaping @Sendable ([DeleteGroupsResponse.Result]) -> Void) {
        let (result, token, _) = withCorePersisting { $0.deleteGroups(ids) }
        guard let token else { return completion(result) }
        store.flush(token) { _ in completion(result) }
    }

    /// Test hook: inspect the core under the lock.
    func inspect<T>(_ body: (GroupCoordinatorCore) -> T) -> T { lock.withLock { body(core) } }
}
