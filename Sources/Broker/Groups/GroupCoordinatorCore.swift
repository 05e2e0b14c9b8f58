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

/// The classic group protocol and offset bookkeeping as a plain state machine: not
/// thread-safe (the `GroupCoordinator` wrapper serializes calls), no I/O, time from an
/// injected clock. Callbacks and records to persist are queued in `actions`/`records` for
/// the caller to run/write once it has released its lock.
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

    private static func joinError(_ e: ErrorCode, memberId: String = "") -> JoinGroupResponse {
        var r = JoinGroupResponse()
        r.errorCode = e.rawValue
        r.memberId = memberId
        r.protocolName = nil
        r.generationId = -1
        return r
    }

    private static func syncError(_ e: ErrorCode) -> SyncGroupResponse {
        var r = SyncGroupResponse()
        r.errorCode = e.rawValue
        return r
    }

    private func newMemberId(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.lowercased())" }

    // MARK: JoinGroup

    func join(_ p: JoinParams, respond cb: @escaping (JoinGroupResponse) -> Void) {
        if loading { return respond(cb, Self.joinError(.coordinatorLoadInProgress, memberId: p.memberId)) }
        if p.groupId.isEmpty { return respond(cb, Self.joinError(.invalidGroupId, memberId: p.memberId)) }
        if p.sessionTimeoutMs < config.minSessionTimeoutMs || p.sessionTimeoutMs > config.maxSessionTimeoutMs {
            return respond(cb, Self.joinError(.invalidSessionTimeout, memberId: p.memberId))
        }
        let isUnknown = p.memberId.isEmpty
        let g: Group
        if let existing = groups[p.groupId] {
            g = existing
        } else {
            if !isUnknown { return respond(cb, Self.joinError(.unknownMemberId, memberId: p.memberId)) }
            g = Group(groupId: p.groupId)
            g.stateTimestamp = clock()
            groups[p.groupId] = g
        }
        if let c = g.kip848 {
            // A KIP-848 group: classic members may not join it while it has members.
            guard c.isEmpty else { return respond(cb, Self.joinError(.inconsistentGroupProtocol, memberId: p.memberId)) }
            if !isUnknown { return respond(cb, Self.joinError(.unknownMemberId, memberId: p.memberId)) }
            g.kip848 = nil
            records.append(.consumerGroup(id: g.groupId, value: nil))
        }
        if g.members[p.memberId] == nil && g.pendingMembers[p.memberId] == nil && g.members.count >= config.maxGroupSize {
            return respond(cb, Self.joinError(.groupMaxSizeReached))
        }
        if g.state == .dead { return respond(cb, Self.joinError(.coordinatorNotAvailable, memberId: p.memberId)) }
        if !g.supportsProtocols(type: p.protocolType, names: p.protocols.map(\.name)) {
            return respond(cb, Self.joinError(.inconsistentGroupProtocol, memberId: p.memberId))
        }
        if isUnknown {
            joinNewMember(g, p, cb)
        } else {
            joinExistingMember(g, p, cb)
        }
    }

    private func joinNewMember(_ g: Group, _ p: JoinParams, _ cb: @escaping (JoinGroupResponse) -> Void) {
        if let instance = p.groupInstanceId {
            let newId = newMemberId(instance)
            if let existing = g.staticMemberId(instance) {
                updateStaticMemberThenRebalance(g, p, oldId: existing, newId: newId, cb)
            } else {
                addMemberThenRebalance(g, p, memberId: newId, cb)
            }
        } else if p.requireKnownMemberId {
            let newId = newMemberId(p.clientId)
            g.pendingMembers[newId] = clock() + Int64(p.sessionTimeoutMs)
            respond(cb, Self.joinError(.memberIdRequired, memberId: newId))
        } else {
            addMemberThenRebalance(g, p, memberId: newMemberId(p.clientId), cb)
        }
    }

    private func currentGenerationResponse(_ g: Group, memberId: String, leaderView: Bool, leader: String? = nil,
                                           skipAssignment: Bool = false) -> JoinGroupResponse {
        var r = JoinGroupResponse()
        r.memberId = memberId
        r.generationId = g.generationId
        r.protocolType = g.protocolType
        r.protocolName = g.protocolName
        r.leader = leader ?? g.leaderId ?? ""
        r.members = leaderView ? g.joinMembers() : []
        r.skipAssignment = skipAssignment
        return r
    }

    private func joinExistingMember(_ g: Group, _ p: JoinParams, _ cb: @escaping (JoinGroupResponse) -> Void) {
        if g.pendingMembers[p.memberId] != nil {
            g.pendingMembers[p.memberId] = nil
            return addMemberThenRebalance(g, p, memberId: p.memberId, cb)
        }
        if let e = validateMember(g, memberId: p.memberId, instanceId: p.groupInstanceId) {
            return respond(cb, Self.joinError(e, memberId: p.memberId))
        }
        let m = g.members[p.memberId]!
        switch g.state {
        case .preparingRebalance:
            updateMemberThenRebalance(g, m, p, cb)
        case .completingRebalance:
            if m.matches(p.protocols) {
                // Lost its JoinGroup response: answer again with the current generation.
                respond(cb, currentGenerationResponse(g, memberId: m.memberId, leaderView: g.isLeader(m.memberId)))
            } else {
                updateMemberThenRebalance(g, m, p, cb)
            }
        case .stable:
            if g.isLeader(m.memberId) || !m.matches(p.protocols) {
                updateMemberThenRebalance(g, m, p, cb)
            } else {
                respond(cb, currentGenerationResponse(g, memberId: m.memberId, leaderView: false))
            }
        case .empty, .dead:
            respond(cb, Self.joinError(.unknownMemberId, memberId: p.memberId))
        }
    }

    /// UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID checks shared by join, sync, heartbeat, commit.
    func validateMember(_ g: Group, memberId: String, instanceId: String?) -> ErrorCode? {
        if let instanceId {
            guard let existing = g.staticMemberId(instanceId) else { return .unknownMemberId }
            if existing != memberId { return .fencedInstanceId }
        }
        return g.members[memberId] == nil ? .unknownMemberId : nil
    }

    private func addMemberThenRebalance(_ g: Group, _ p: JoinParams, memberId: String, _ cb: @escaping (JoinGroupResponse) -> Void) {
        let m = ClassicGroupMember(memberId: memberId, groupInstanceId: p.groupInstanceId, clientId: p.clientId, clientHost: p.clientHost,
                              sessionTimeoutMs: p.sessionTimeoutMs, rebalanceTimeoutMs: p.rebalanceTimeoutMs,
                              protocolType: p.protocolType, protocols: p.protocols)
        m.isNew = true
        m.awaitingJoin = cb
        m.heartbeatDeadline = clock() + config.newMemberJoinTimeoutMs
        if g.state == .preparingRebalance && g.previousState == .empty { g.newMemberAdded = true }
        g.add(m)
        maybePrepareRebalanceOrCompleteJoin(g)
    }

    private func updateMember(_ m: ClassicGroupMember, _ p: JoinParams, _ cb: @escaping (JoinGroupResponse) -> Void) {
        m.protocols = p.protocols
        m.sessionTimeoutMs = p.sessionTimeoutMs
        m.rebalanceTimeoutMs = p.rebalanceTimeoutMs
        m.clientId = p.clientId
        m.clientHost = p.clientHost
        if let old = m.awaitingJoin {
            // A duplicate JoinGroup replaces the parked one; the old request still gets an answer.
            respond(old, Self.joinError(.rebalanceInProgress, memberId: m.memberId))
        }
        m.awaitingJoin = cb
    }

    private func updateMemberThenRebalance(_ g: Group, _ m: ClassicGroupMember, _ p: JoinParams, _ cb: @escaping (JoinGroupResponse) -> Void) {
        updateMember(m, p, cb)
        maybePrepareRebalanceOrCompleteJoin(g)
    }

    private func updateStaticMemberThenRebalance(_ g: Group, _ p: JoinParams, oldId: String, newId: String,
                                                 _ cb: @escaping (JoinGroupResponse) -> Void) {
        let currentLeader = g.leaderId
        // The old incarnation's parked requests are fenced.
        if let old = g.members[oldId] {
            if let j = old.awaitingJoin { respond(j, Self.joinError(.fencedInstanceId, memberId: oldId)); old.awaitingJoin = nil }
            if let s = old.awaitingSync { respond(s, Self.syncError(.fencedInstanceId)); old.awaitingSync = nil }
        }
        guard let m = g.replaceStaticMember(instanceId: p.groupInstanceId!, oldId: oldId, newId: newId) else {
            return respond(cb, Self.joinError(.unknownMemberId))
        }
        m.heartbeatDeadline = clock() + Int64(p.sessionTimeoutMs)
        updateMember(m, p, cb)
        switch g.state {
        case .stable:
            if g.selectProtocol() == g.protocolName {
                // Same protocol: no rebalance, the member keeps its assignment.
                persistGroup(g)
                m.awaitingJoin = nil
                if p.supportsSkipAssignment {
                    let isLeader = g.isLeader(newId)
                    respond(cb, currentGenerationResponse(g, memberId: newId, leaderView: isLeader, skipAssignment: isLeader))
                } else {
                    respond(cb, currentGenerationResponse(g, memberId: newId, leaderView: false, leader: currentLeader))
                }
            } else {
                maybePrepareRebalanceOrCompleteJoin(g)
            }
        case .completingRebalance:
            prepareRebalance(g)
        case .preparingRebalance:
            maybeCompleteJoinPhase(g)
        case .empty, .dead:
            maybePrepareRebalanceOrCompleteJoin(g)
        }
    }

    // MARK: rebalance phases

    private func maybePrepareRebalanceOrCompleteJoin(_ g: Group) {
        if g.canRebalance { prepareRebalance(g) } else { maybeCompleteJoinPhase(g) }
    }

    private func maybeCompleteJoinPhase(_ g: Group) {
        guard g.state == .preparingRebalance, g.previousState != .empty, g.hasAllMembersJoined else { return }
        completeJoin(g)
    }

    func prepareRebalance(_ g: Group) {
        let now = clock()
        if g.state == .completingRebalance { resetAndPropagateAssignment(g, error: .rebalanceInProgress) }
        g.syncDeadline = nil
        g.pendingSync.removeAll()
        let initial = g.state == .empty
        g.transition(to: .preparingRebalance, now: now)
        if initial {
            let delay = config.initialRebalanceDelayMs
            g.initialRebalance = (delay, max(g.rebalanceTimeoutMs - delay, 0))
            g.newMemberAdded = false
            g.joinDeadline = now + delay
        } else {
            g.initialRebalance = nil
            if g.hasAllMembersJoined {
                completeJoin(g)
            } else {
                g.joinDeadline = now + g.rebalanceTimeoutMs
            }
        }
    }

    private func resetAndPropagateAssignment(_ g: Group, error: ErrorCode) {
        for m in g.orderedMembers {
            m.assignment = ByteBuffer()
            if let s = m.awaitingSync {
                m.awaitingSync = nil
                respond(s, Self.syncError(error))
            }
        }
    }

    /// Ends the join phase: drops dynamic members that did not rejoin, starts the next
    /// generation and answers every parked JoinGroup (the leader gets the member list).
    func completeJoin(_ g: Group) {
        let now = clock()
        g.joinDeadline = nil
        g.initialRebalance = nil
        for m in g.orderedMembers where !m.isAwaitingJoin && !m.isStatic {
            if let s = m.awaitingSync { respond(s, Self.syncError(.rebalanceInProgress)); m.awaitingSync = nil }
            g.remove(m.memberId)
        }
        if g.state == .dead { return }
        if !g.maybeElectNewJoinedLeader() && !g.members.isEmpty {
            // Nobody rejoined: wait for session timeouts to clear the members.
            g.joinDeadline = now + g.rebalanceTimeoutMs
            return
        }
        g.generationId &+= 1
        if g.members.isEmpty {
            g.protocolName = nil
            g.leaderId = nil
            g.transition(to: .empty, now: now)
            persistGroup(g)
            return
        }
        g.protocolName = g.selectProtocol()
        g.transition(to: .completingRebalance, now: now)
        let leaderMembers = g.joinMembers()
        for m in g.orderedMembers {
            var r = JoinGroupResponse()
            r.memberId = m.memberId
            r.generationId = g.generationId
            r.protocolType = g.protocolType
            r.protocolName = g.protocolName
            r.leader = g.leaderId ?? ""
            r.members = g.isLeader(m.memberId) ? leaderMembers : []
            if let cb = m.awaitingJoin {
                m.awaitingJoin = nil
                respond(cb, r)
            }
            m.heartbeatDeadline = now + Int64(m.sessionTimeoutMs)
            m.isNew = false
            g.pendingSync.insert(m.memberId)
        }
        g.syncDeadline = now + g.rebalanceTimeoutMs
    }

    private func removeMemberAndUpdateGroup(_ g: Group, _ m: ClassicGroupMember, error: ErrorCode = .unknownMemberId) {
        if let j = m.awaitingJoin { respond(j, Self.joinError(error)); m.awaitingJoin = nil }
        if let s = m.awaitingSync { respond(s, Self.syncError(error)); m.awaitingSync = nil }
        g.remove(m.memberId)
        switch g.state {
        case .stable, .completingRebalance: prepareRebalance(g)
        case .preparingRebalance: if g.hasAllMembersJoined { completeJoin(g) }
        default: break
        }
    }

    // MARK: SyncGroup

    func sync(_ p: SyncParams, respond cb: @escaping (SyncGroupResponse) -> Void) {
        if loading { return respond(cb, Self.syncError(.coordinatorLoadInProgress)) }
        guard let g = groups[p.groupId], !g.members.isEmpty else { return respond(cb, Self.syncError(.unknownMemberId)) }
        if g.state == .dead { return respond(cb, Self.syncError(.coordinatorNotAvailable)) }
        if let e = validateMember(g, memberId: p.memberId, instanceId: p.groupInstanceId) { return respond(cb, Self.syncError(e)) }
        if p.generationId != g.generationId { return respond(cb, Self.syncError(.illegalGeneration)) }
        if let t = p.protocolType, t != g.protocolType { return respond(cb, Self.syncError(.inconsistentGroupProtocol)) }
        if let n = p.protocolName, n != g.protocolName { return respond(cb, Self.syncError(.inconsistentGroupProtocol)) }
        let m = g.members[p.memberId]!
        switch g.state {
        case .preparingRebalance:
            respond(cb, Self.syncError(.rebalanceInProgress))
        case .completingRebalance:
            if let old = m.awaitingSync { respond(old, Self.syncError(.rebalanceInProgress)) }
            m.awaitingSync = cb
            removePendingSync(g, m.memberId)
            if g.isLeader(m.memberId) {
                var assignment: [String: ByteBuffer] = [:]
                for a in p.assignments { assignment[a.memberId] = a.assignment }
                let now = clock()
                for member in g.orderedMembers {
                    member.assignment = assignment[member.memberId] ?? ByteBuffer()
                    if let s = member.awaitingSync {
                        member.awaitingSync = nil
                        var r = SyncGroupResponse()
                        r.protocolType = g.protocolType
                        r.protocolName = g.protocolName
                        r.assignment = member.assignment
                        respond(s, r)
                    }
                    member.heartbeatDeadline = now + Int64(member.sessionTimeoutMs)
                }
                g.transition(to: .stable, now: now)
                persistGroup(g)
            }
        case .stable:
            removePendingSync(g, m.memberId)
            var r = SyncGroupResponse()
            r.protocolType = g.protocolType
            r.protocolName = g.protocolName
            r.assignment = m.assignment
            m.heartbeatDeadline = clock() + Int64(m.sessionTimeoutMs)
            respond(cb, r)
        case .empty, .dead:
            respond(cb, Self.syncError(.unknownMemberId))
        }
    }

    private func removePendingSync(_ g: Group, _ id: String) {
        g.pendingSync.remove(id)
        if g.pendingSync.isEmpty { g.syncDeadline = nil }
    }

    // MARK: Heartbeat, LeaveGroup

    func heartbeat(groupId: String, memberId: String, instanceId: String?, generationId: Int32) -> ErrorCode {
        if loading { return .coordinatorLoadInProgress }
        guard let g = groups[groupId] else { return .unknownMemberId }
        if g.state == .dead { return .coordinatorNotAvailable }
        if let e = validateMember(g, memberId: memberId, instanceId: instanceId) { return e }
        if generationId != g.generationId { return .illegalGeneration }
        let m = g.members[memberId]!
        switch g.state {
        case .empty, .dead:
            return .unknownMemberId
        case .preparingRebalance:
            m.heartbeatDeadline = clock() + Int64(m.sessionTimeoutMs)
            return .rebalanceInProgress
        case .completingRebalance, .stable:
            m.heartbeatDeadline = clock() + Int64(m.sessionTimeoutMs)
            return .none
        }
    }

    /// Returns the group-level error and one result per leaving member.
    func leave(groupId: String, members: [(memberId: String, instanceId: String?)]) -> (ErrorCode, [LeaveGroupResponse.Member]) {
        if loading { return (.coordinatorLoadInProgress, []) }
        guard let g = groups[groupId] else { return (.unknownMemberId, []) }
        if g.state == .dead { return (.coordinatorNotAvailable, []) }
        var results: [LeaveGroupResponse.Member] = []
        var removed: [ClassicGroupMember] = []
        var pendingRemoved = false
        for l in members {
            var error = ErrorCode.none
            if let instance = l.instanceId {
                if let existing = g.staticMemberId(instance) {
                    if !l.memberId.isEmpty && existing != l.memberId {
                        error = .fencedInstanceId
                    } else if let m = g.members[existing] {
                        removed.append(m)
                        g.remove(existing)
                    }
                } else {
                    error = .unknownMemberId
                }
            } else if let m = g.members[l.memberId] {
                removed.append(m)
                g.remove(l.memberId)
            } else if g.pendingMembers.removeValue(forKey: l.memberId) != nil {
                pendingRemoved = true
            } else {
                error = .unknownMemberId
            }
            results.append(LeaveGroupResponse.Member(memberId: l.memberId, groupInstanceId: l.instanceId, errorCode: error))
        }
        for m in removed {
            if let j = m.awaitingJoin { respond(j, Self.joinError(.unknownMemberId)); m.awaitingJoin = nil }
            if let s = m.awaitingSync { respond(s, Self.syncError(.unknownMemberId)); m.awaitingSync = nil }
        }
        if !removed.isEmpty {
            maybePrepareRebalanceOrCompleteJoin(g)
        } else if pendingRemoved {
            maybeCompleteJoinPhase(g)
        }
        return (.none, results)
    }

    // MARK: timers

    /// Expires whatever is due: pending members, dead members, join and sync phases.
    func tick() {
        let now = clock()
        tickKIP848Groups(now: now)
        if now >= nextOffsetExpiryCheck {
            if nextOffsetExpiryCheck != 0 { expireOffsets(now: now) }
            nextOffsetExpiryCheck = now + config.offsetsRetentionCheckIntervalMs
        }
        for g in Array(groups.values) where g.state != .dead {
            for (id, deadline) in g.pendingMembers where deadline <= now {
                g.pendingMembers[id] = nil
                if g.state == .preparingRebalance && g.hasAllMembersJoined && g.previousState != .empty { completeJoin(g) }
            }
            for m in g.orderedMembers where m.heartbeatDeadline <= now && !m.hasSatisfiedHeartbeat {
                if g.members[m.memberId] === m { removeMemberAndUpdateGroup(g, m) }
            }
            if g.state == .preparingRebalance, let d = g.joinDeadline, d <= now {
                if let initial = g.initialRebalance, g.newMemberAdded && initial.remainingMs != 0 {
                    // A member joined during the initial delay: wait a bit longer (bounded by the rebalance timeout).
                    g.newMemberAdded = false
                    let next = min(config.initialRebalanceDelayMs, initial.remainingMs)
                    g.initialRebalance = (next, max(initial.remainingMs - initial.delayMs, 0))
                    g.joinDeadline = now + next
                } else {
                    completeJoin(g)
                }
            }
            if let d = g.syncDeadline, d <= now {
                g.syncDeadline = nil
                if (g.state == .completingRebalance || g.state == .stable) && !g.pendingSync.isEmpty {
                    for id in g.pendingSync {
                        if let m = g.members[id] {
                            if let s = m.awaitingSync { respond(s, Self.syncError(.unknownMemberId)) }
                            m.awaitingSync = nil
                            g.remove(id)
                        }
                    }
                    g.pendingSync.removeAll()
                    prepareRebalance(g)
                }
            }
        }
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

    private func persistGroup(_ g: Group) {
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

    /// Records that recreate the current state (for log compaction).
    func snapshotRecords() -> [GroupRecord] {
        var out: [GroupRecord] = []
        for g in groups.values.sorted(by: { $0.groupId < $1.groupId }) where g.state != .dead {
            if let c = g.kip848 {
                out.append(.consumerGroup(id: g.groupId, value: ConsumerGroupMetadataValue(groupEpoch: c.groupEpoch)))
            } else if g.protocolType != nil || g.generationId > 0 {
                out.append(.group(id: g.groupId, value: groupValue(g)))
            }
            for tp in g.offsets.keys.sorted() { out.append(.offset(group: g.groupId, partition: tp, value: g.offsets[tp])) }
        }
        return out
    }

    var liveRecordCount: Int { groups.values.reduce(0) { $0 + 1 + $1.offsets.count } }

    /// Answers every parked request (shutdown).
    func failAllParked(_ e: ErrorCode) {
        for g in groups.values {
            for m in g.members.values {
                if let j = m.awaitingJoin { respond(j, Self.joinError(e, memberId: m.memberId)); m.awaitingJoin = nil }
                if let s = m.awaitingSync { respond(s, Self.syncError(e)); m.awaitingSync = nil }
            }
        }
    }
}
