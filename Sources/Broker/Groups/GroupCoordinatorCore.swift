import Foundation
import KafkaProtocol
import NIOCore

/// Settings of the group coordinator (Kafka's names in the comments). Overridable with
/// RIVERBANK_GROUP_* environment variables.
struct GroupCoordinatorConfig: Sendable {
    /// group.min.session.timeout.ms
    var minSessionTimeoutMs: Int32 = 6000
    /// group.max.session.timeout.ms
    var maxSessionTimeoutMs: Int32 = 1_800_000
    /// group.initial.rebalance.delay.ms (Kafka: 3000; shorter here so a lone consumer starts at once)
    var initialRebalanceDelayMs: Int64 = 300
    /// How long a new member's parked JoinGroup may wait (Kafka: 5 minutes).
    var newMemberJoinTimeoutMs: Int64 = 300_000
    /// offset.metadata.max.bytes
    var maxMetadataBytes = 4096
    /// group.max.size
    var maxGroupSize = Int.max
    /// How often timers are checked in the running broker.
    var tickIntervalMs: Int64 = 50
    /// group.kip848.session.timeout.ms (KIP-848 members; the broker decides it)
    var consumerSessionTimeoutMs: Int32 = 45_000
    /// group.kip848.heartbeat.interval.ms
    var consumerHeartbeatIntervalMs: Int32 = 5_000
    /// group.kip848.max.size
    var consumerMaxGroupSize = Int.max
    /// offsets.retention.minutes (Kafka: 7 days): offsets of a group that has been empty
    /// this long are deleted, then the group itself.
    var offsetsRetentionMs: Int64 = 7 * 24 * 3_600_000
    /// offsets.retention.check.interval.ms
    var offsetsRetentionCheckIntervalMs: Int64 = 600_000

    static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> GroupCoordinatorConfig {
        var c = GroupCoordinatorConfig()
        if let v = env["RIVERBANK_GROUP_MIN_SESSION_TIMEOUT_MS"].flatMap({ Int32($0) }) { c.minSessionTimeoutMs = v }
        if let v = env["RIVERBANK_GROUP_MAX_SESSION_TIMEOUT_MS"].flatMap({ Int32($0) }) { c.maxSessionTimeoutMs = v }
        if let v = env["RIVERBANK_GROUP_INITIAL_REBALANCE_DELAY_MS"].flatMap({ Int64($0) }) { c.initialRebalanceDelayMs = max(0, v) }
        if let v = env["RIVERBANK_GROUP_MAX_SIZE"].flatMap({ Int($0) }), v > 0 { c.maxGroupSize = v; c.consumerMaxGroupSize = v }
        if let v = env["RIVERBANK_OFFSETS_RETENTION_MINUTES"].flatMap({ Int64($0) }), v > 0 { c.offsetsRetentionMs = v * 60_000 }
        if let v = env["RIVERBANK_OFFSETS_RETENTION_MS"].flatMap({ Int64($0) }), v > 0 { c.offsetsRetentionMs = v }
        if let v = env["RIVERBANK_OFFSETS_RETENTION_CHECK_INTERVAL_MS"].flatMap({ Int64($0) }), v > 0 { c.offsetsRetentionCheckIntervalMs = v }
        if let v = env["RIVERBANK_GROUP_CONSUMER_SESSION_TIMEOUT_MS"].flatMap({ Int32($0) }), v > 0 { c.consumerSessionTimeoutMs = v }
        if let v = env["RIVERBANK_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS"].flatMap({ Int32($0) }), v > 0 { c.consumerHeartbeatIntervalMs = v }
        return c
    }
}

/// The inputs of a JoinGroup.
struct JoinParams {
    var groupId: String
    var memberId: String
    var groupInstanceId: String?
    var clientId: String
    var clientHost: String
    var sessionTimeoutMs: Int32
    var rebalanceTimeoutMs: Int32
    var protocolType: String
    var protocols: [(name: String, metadata: ByteBuffer)]
    /// v4+: an unknown member first gets MEMBER_ID_REQUIRED.
    var requireKnownMemberId: Bool
    /// v9+.
    var supportsSkipAssignment: Bool = false
}

struct SyncParams {
    var groupId: String
    var memberId: String
    var groupInstanceId: String?
    var generationId: Int32
    var protocolType: String?
    var protocolName: String?
    var assignments: [(memberId: String, assignment: ByteBuffer)]
}

struct CommitPartition {
    var partition: Int32
    var offset: Int64
    var leaderEpoch: Int32
    var metadata: String?
}

/// The group coordinator as a plain state machine: the groups, committed offsets, admin APIs
/// and persistence here, the classic protocol in ClassicGroupCoordinator.swift and KIP-848 in
/// KIP848GroupCoordinator.swift. Not thread-safe (the `GroupCoordinator` wrapper serializes
/// calls), no I/O, time from an injected clock. Callbacks and records to persist are queued
/// in `actions`/`records` for the caller to run/write once it has released its lock.
final class GroupCoordinatorCore {
    let config: GroupCoordinatorConfig
    let clock: () -> Int64
    var groups: [String: Group] = [:]
    /// While the log is replayed every group API answers COORDINATOR_LOAD_IN_PROGRESS.
    var loading = false
    /// Records to append to the group log, in order.
    var records: [GroupRecord] = []
    /// Response callbacks to run outside the lock.
    var actions: [() -> Void] = []
    /// When offset expiry runs next.
    var nextOffsetExpiryCheck: Int64 = 0
    /// Whether a topic partition exists (OffsetCommit answers UNKNOWN_TOPIC_OR_PARTITION otherwise).
    var partitionExists: (String, Int32) -> Bool = { _, _ in true }

    init(config: GroupCoordinatorConfig = GroupCoordinatorConfig(), clock: @escaping () -> Int64) {
        self.config = config
        self.clock = clock
    }

    func group(_ id: String) -> Group? { groups[id] }

    func respond<T>(_ cb: ((T) -> Void)?, _ value: T) {
        guard let cb else { return }
        actions.append { cb(value) }
    }

    // MARK: timers

    /// Expires whatever is due in either protocol, and committed offsets past retention.
    func tick() {
        let now = clock()
        tickKIP848Groups(now: now)
        if now >= nextOffsetExpiryCheck {
            if nextOffsetExpiryCheck != 0 { expireOffsets(now: now) }
            nextOffsetExpiryCheck = now + config.offsetsRetentionCheckIntervalMs
        }
        tickClassicGroups(now: now)
    }

    /// The earliest deadline of any group (for scheduling; nil if none).
    var hasTimers: Bool { groups.values.contains { !$0.members.isEmpty || !$0.pendingMembers.isEmpty } }

    // MARK: offsets

    func commitOffsets(groupId: String, generationId: Int32, memberId: String, instanceId: String?, version: Int16,
                       topics: [(name: String, partitions: [CommitPartition])]) -> [OffsetCommitResponse.Topic] {
        func all(_ e: ErrorCode) -> [OffsetCommitResponse.Topic] {
            topics.map { t in OffsetCommitResponse.Topic(name: t.name, partitions: t.partitions.map { .init(partitionIndex: $0.partition, errorCode: e) }) }
        }
        if loading { return all(.coordinatorLoadInProgress) }
        if groupId.isEmpty { return all(.invalidGroupId) }
        let now = clock()
        let g: Group
        if let existing = groups[groupId] {
            g = existing
            if let c = g.kip848 {
                if let e = validateKIP848Commit(c, generationId: generationId, memberId: memberId, version: version) { return all(e) }
            } else if let e = validateCommit(g, generationId: generationId, memberId: memberId, instanceId: instanceId) {
                return all(e)
            }
        } else {
            guard generationId < 0 else { return all(version >= 9 ? .groupIdNotFound : .illegalGeneration) }
            // A simple (standalone) consumer's commit creates an empty group holding its offsets.
            g = Group(groupId: groupId)
            g.stateTimestamp = now
            g.protocolType = nil
            groups[groupId] = g
        }
        var out: [OffsetCommitResponse.Topic] = []
        for t in topics {
            var rt = OffsetCommitResponse.Topic(name: t.name, partitions: [])
            for p in t.partitions {
                var e = ErrorCode.none
                if (p.metadata?.utf8.count ?? 0) > config.maxMetadataBytes {
                    e = .offsetMetadataTooLarge
                } else if !partitionExists(t.name, p.partition) {
                    e = .unknownTopicOrPartition
                } else {
                    let tp = TopicPartitionKey(topic: t.name, partition: p.partition)
                    let v = CommittedOffset(offset: p.offset, leaderEpoch: p.leaderEpoch, metadata: p.metadata ?? "", commitTimestamp: now)
                    g.offsets[tp] = v
                    records.append(.offset(group: groupId, partition: tp, value: v))
                }
                rt.partitions.append(.init(partitionIndex: p.partition, errorCode: e))
            }
            out.append(rt)
        }
        return out
    }

    /// Offsets of a committed transaction: stored without member checks (done when sent).
    func applyTransactionalOffsets(groupId: String, offsets: [TopicPartitionKey: CommittedOffset]) {
        guard !offsets.isEmpty else { return }
        let g = groups[groupId] ?? {
            let n = Group(groupId: groupId)
            n.stateTimestamp = clock()
            n.protocolType = nil
            groups[groupId] = n
            return n
        }()
        let now = clock()
        for tp in offsets.keys.sorted() {
            var v = offsets[tp]!
            v.commitTimestamp = now
            g.offsets[tp] = v
            records.append(.offset(group: groupId, partition: tp, value: v))
        }
    }

    /// TxnOffsetCommit v3+ names the member the producer acts for: the group must know it in
    /// that generation (a producer of an old generation is a zombie). A negative generation
    /// (older clients, or no group membership) is not checked, as in Kafka.
    func validateTransactionalCommit(groupId: String, generationId: Int32, memberId: String, instanceId: String?) -> ErrorCode? {
        if loading { return .coordinatorLoadInProgress }
        guard generationId >= 0 else { return nil }
        guard let g = groups[groupId] else { return .illegalGeneration }
        if let c = g.kip848 {
            guard let m = c.member(memberId) else { return .unknownMemberId }
            return generationId == m.memberEpoch ? nil : .illegalGeneration
        }
        if let e = validateMember(g, memberId: memberId, instanceId: instanceId) { return e }
        return generationId == g.generationId ? nil : .illegalGeneration
    }

    /// Kafka's ConsumerGroup.validateOffsetCommit: the member epoch is the generation.
    private func validateKIP848Commit(_ c: KIP848Group, generationId: Int32, memberId: String, version: Int16) -> ErrorCode? {
        if generationId < 0 && c.isEmpty { return nil }
        guard let m = c.member(memberId) else { return .unknownMemberId }
        if version < 9 { return .unsupportedVersion }
        if generationId != m.memberEpoch { return .staleMemberEpoch }
        return nil
    }

    private func validateCommit(_ g: Group, generationId: Int32, memberId: String, instanceId: String?) -> ErrorCode? {
        if g.state == .dead { return .coordinatorNotAvailable }
        if generationId < 0 && g.state == .empty { return nil }
        if generationId >= 0 || !memberId.isEmpty || instanceId != nil {
            if let e = validateMember(g, memberId: memberId, instanceId: instanceId) { return e }
            if generationId != g.generationId { return .illegalGeneration }
        } else if g.state != .empty {
            return .unknownMemberId
        }
        if g.state == .completingRebalance { return .rebalanceInProgress }
        return nil
    }

    /// Committed offsets of a group: the requested partitions, or every one when `topics` is nil.
    func fetchOffsets(groupId: String, topics: [(name: String, partitions: [Int32])]?, memberId: String? = nil,
                      memberEpoch: Int32 = -1) -> (ErrorCode, [OffsetFetchResponse.Topic]) {
        if loading { return (.coordinatorLoadInProgress, []) }
        if let c = groups[groupId]?.kip848, memberEpoch >= 0 || !(memberId ?? "").isEmpty {
            // A member of a KIP-848 group fetches with its member epoch (OffsetFetch v9+).
            if !(memberEpoch < 0 && c.isEmpty) {
                guard let m = c.member(memberId ?? "") else { return (.unknownMemberId, []) }
                if m.memberEpoch != memberEpoch { return (.staleMemberEpoch, []) }
            }
        }
        let offsets = groups[groupId]?.offsets ?? [:]
        func partition(_ tp: TopicPartitionKey) -> OffsetFetchResponse.Partition {
            if let o = offsets[tp] {
                return .init(partitionIndex: tp.partition, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata)
            }
            return .init(partitionIndex: tp.partition, committedOffset: -1, committedLeaderEpoch: -1, metadata: "")
        }
        if let topics {
            return (.none, topics.map { t in
                OffsetFetchResponse.Topic(name: t.name, partitions: t.partitions.map { partition(TopicPartitionKey(topic: t.name, partition: $0)) })
            })
        }
        var byTopic: [String: [OffsetFetchResponse.Partition]] = [:]
        for tp in offsets.keys.sorted() { byTopic[tp.topic, default: []].append(partition(tp)) }
        return (.none, byTopic.keys.sorted().map { OffsetFetchResponse.Topic(name: $0, partitions: byTopic[$0]!) })
    }

    /// OffsetDelete: only for partitions of topics no member is subscribed to.
    func deleteOffsets(groupId: String, topics: [(name: String, partitions: [Int32])]) -> (ErrorCode, [OffsetDeleteResponse.Topic]) {
        if loading { return (.coordinatorLoadInProgress, []) }
        guard let g = groups[groupId], g.state != .dead else { return (.groupIdNotFound, []) }
        var subscribed = Set<String>()
        if let c = g.kip848 {
            if !c.isEmpty { subscribed = kip848SubscribedTopics(c) }
        } else if g.state != .empty {
            guard let s = g.subscribedTopics() else { return (.nonEmptyGroup, []) }
            subscribed = s
        }
        var out: [OffsetDeleteResponse.Topic] = []
        for t in topics {
            var rt = OffsetDeleteResponse.Topic(name: t.name, partitions: [])
            for p in t.partitions {
                if subscribed.contains(t.name) {
                    rt.partitions.append(.init(partitionIndex: p, errorCode: .groupSubscribedToTopic))
                    continue
                }
                let tp = TopicPartitionKey(topic: t.name, partition: p)
                if g.offsets.removeValue(forKey: tp) != nil {
                    records.append(.offset(group: groupId, partition: tp, value: nil))
                }
                rt.partitions.append(.init(partitionIndex: p, errorCode: .none))
            }
            out.append(rt)
        }
        return (.none, out)
    }

    // MARK: admin

    func listGroups(states: [String], types: [String]) -> [ListGroupsResponse.Group] {
        let stateFilter = Set(states.map { $0.lowercased() })
        let typeFilter = Set(types.map { $0.lowercased() })
        return groups.values.filter { $0.state != .dead }.sorted { $0.groupId < $1.groupId }.compactMap { g in
            if let c = g.kip848 {
                let state = c.state.rawValue
                if !stateFilter.isEmpty && !stateFilter.contains(state.lowercased()) { return nil }
                if !typeFilter.isEmpty && !typeFilter.contains("consumer") { return nil }
                return ListGroupsResponse.Group(groupId: g.groupId, protocolType: "consumer", groupState: state, groupType: "consumer")
            }
            if !stateFilter.isEmpty && !stateFilter.contains(g.state.rawValue.lowercased()) { return nil }
            if !typeFilter.isEmpty && !typeFilter.contains("classic") { return nil }
            return ListGroupsResponse.Group(groupId: g.groupId, protocolType: g.protocolType ?? "", groupState: g.state.rawValue, groupType: "classic")
        }
    }

    func describe(groupId: String) -> DescribeGroupsResponse.Group {
        var r = DescribeGroupsResponse.Group()
        r.groupId = groupId
        if loading {
            r.errorCode = ErrorCode.coordinatorLoadInProgress.rawValue
            return r
        }
        guard let g = groups[groupId], g.kip848 == nil else {
            // Unknown, or not a classic group (DescribeGroups up to v5 answers Dead, like Kafka).
            r.groupState = ClassicGroupState.dead.rawValue
            return r
        }
        r.groupState = g.state.rawValue
        r.protocolType = g.protocolType ?? ""
        let stable = g.state == .stable
        r.protocolData = stable ? (g.protocolName ?? "") : ""
        r.members = g.orderedMembers.map { m in
            DescribeGroupsResponse.Member(memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
                                          memberMetadata: stable ? m.metadata(for: g.protocolName) : ByteBuffer(),
                                          memberAssignment: stable ? m.assignment : ByteBuffer())
        }
        return r
    }

    func deleteGroups(_ ids: [String]) -> [DeleteGroupsResponse.Result] {
        ids.map { id in
            if loading { return .init(groupId: id, errorCode: .coordinatorLoadInProgress) }
            guard let g = groups[id], g.state != .dead else { return .init(groupId: id, errorCode: .groupIdNotFound) }
            guard g.state == .empty, g.members.isEmpty, g.kip848?.isEmpty ?? true else { return .init(groupId: id, errorCode: .nonEmptyGroup) }
            for tp in g.offsets.keys.sorted() { records.append(.offset(group: id, partition: tp, value: nil)) }
            if g.kip848 != nil { records.append(.consumerGroup(id: id, value: nil)) }
            records.append(.group(id: id, value: nil))
            g.pendingMembers.removeAll()
            g.transition(to: .dead, now: clock())
            groups[id] = nil
            return .init(groupId: id, errorCode: .none)
        }
    }

    // MARK: persistence

    func groupValue(_ g: Group) -> GroupMetadataValue {
        var v = GroupMetadataValue()
        v.protocolType = g.protocolType ?? ""
        v.generationId = g.generationId
        v.protocolName = g.protocolName
        v.leader = g.leaderId
        v.stateTimestamp = g.stateTimestamp
        if g.state == .stable {
            v.members = g.orderedMembers.map { m in
                var mv = GroupMetadataValue.Member()
                mv.memberId = m.memberId
                mv.groupInstanceId = m.groupInstanceId
                mv.clientId = m.clientId
                mv.clientHost = m.clientHost
                mv.rebalanceTimeoutMs = m.rebalanceTimeoutMs
                mv.sessionTimeoutMs = m.sessionTimeoutMs
                mv.subscription = m.metadata(for: g.protocolName)
                mv.assignment = m.assignment
                return mv
            }
        }
        return v
    }

    func persistGroup(_ g: Group) {
        records.append(.group(id: g.groupId, value: groupValue(g)))
    }

    /// Applies one replayed record.
    func replay(_ r: GroupRecord) {
        let now = clock()
        switch r {
        case .offset(let id, let tp, let value):
            if let value {
                let g = groups[id] ?? {
                    let n = Group(groupId: id)
                    groups[id] = n
                    return n
                }()
                g.offsets[tp] = value
            } else if let g = groups[id] {
                g.offsets[tp] = nil
            }
        case .group(let id, let value):
            guard let value else {
                groups[id] = nil
                return
            }
            let old = groups[id]
            let g = Group(groupId: id)
            g.offsets = old?.offsets ?? [:]
            g.generationId = value.generationId
            g.protocolType = value.protocolType.isEmpty ? nil : value.protocolType
            g.protocolName = value.protocolName
            for mv in value.members {
                let m = ClassicGroupMember(memberId: mv.memberId, groupInstanceId: mv.groupInstanceId, clientId: mv.clientId, clientHost: mv.clientHost,
                                      sessionTimeoutMs: mv.sessionTimeoutMs, rebalanceTimeoutMs: mv.rebalanceTimeoutMs,
                                      protocolType: value.protocolType, protocols: [(value.protocolName ?? "", mv.subscription)])
                m.assignment = mv.assignment
                m.heartbeatDeadline = now + Int64(mv.sessionTimeoutMs)
                g.add(m)
            }
            g.leaderId = value.leader.flatMap { g.members[$0] != nil ? $0 : nil } ?? g.memberOrder.first
            g.restore(state: g.members.isEmpty ? .empty : .stable, now: value.stateTimestamp)
            groups[id] = g
        case .consumerGroup(let id, let value):
            if let value {
                let g = groups[id] ?? {
                    let n = Group(groupId: id)
                    groups[id] = n
                    return n
                }()
                if g.kip848 == nil {
                    g.kip848 = KIP848Group(groupEpoch: value.groupEpoch)
                    g.emptySince = now
                } else {
                    g.kip848!.groupEpoch = value.groupEpoch
                    g.kip848!.assignmentEpoch = value.groupEpoch
                }
            } else {
                groups[id]?.kip848 = nil
            }
        }
    }
}
