import Foundation
import KafkaProtocol
import NIOCore

/// The classic group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) on the
/// coordinator core: Kafka's group state machine, the leader's assignment handed out by
/// SyncGroup, session/rebalance timeouts and static members. Same threading rules as the rest
/// of the core.
extension GroupCoordinatorCore {
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

    /// Expires what is due in classic groups: pending members, dead members, join and sync phases.
    func tickClassicGroups(now: Int64) {
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
