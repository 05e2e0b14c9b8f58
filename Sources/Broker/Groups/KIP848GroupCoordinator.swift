import Foundation
import KafkaProtocol

/// The KIP-848 consumer group protocol (ConsumerGroupHeartbeat, ConsumerGroupDescribe) on
/// the coordinator core: broker-side assignment, group and member epochs, and incremental
/// reconciliation (a partition moves only once its previous owner has acknowledged the
/// revocation by heartbeating without it). Same threading rules as the rest of the core.
extension GroupCoordinatorCore {
    static let leaveEpoch: Int32 = -1
    static let staticLeaveEpoch: Int32 = -2

    struct KIP848HeartbeatFailure: Error {
        var code: ErrorCode
        var message: String
        init(_ code: ErrorCode, _ message: String) {
            self.code = code
            self.message = message
        }
    }

    private func failure(_ f: KIP848HeartbeatFailure) -> ConsumerGroupHeartbeatResponse {
        var r = ConsumerGroupHeartbeatResponse()
        r.errorCode = f.code.rawValue
        r.errorMessage = f.message
        return r
    }

    // MARK: ConsumerGroupHeartbeat

    func consumerGroupHeartbeat(_ req: ConsumerGroupHeartbeatRequest, clientId: String, clientHost: String,
                                topics: GroupTopics) -> ConsumerGroupHeartbeatResponse {
        if loading { return failure(.init(.coordinatorLoadInProgress, "the coordinator is loading")) }
        do {
            try validateHeartbeat(req)
            if req.memberEpoch == Self.leaveEpoch || req.memberEpoch == Self.staticLeaveEpoch {
                return try kip848Leave(req, topics: topics)
            }
            return try kip848Heartbeat(req, clientId: clientId, clientHost: clientHost, topics: topics)
        } catch let f as KIP848HeartbeatFailure {
            return failure(f)
        } catch {
            return failure(.init(.unknownServerError, "\(error)"))
        }
    }

    private func validateHeartbeat(_ req: ConsumerGroupHeartbeatRequest) throws {
        if req.groupId.isEmpty { throw KIP848HeartbeatFailure(.invalidRequest, "GroupId can't be empty.") }
        if req.instanceId == "" { throw KIP848HeartbeatFailure(.invalidRequest, "InstanceId can't be empty.") }
        if req.rackId == "" { throw KIP848HeartbeatFailure(.invalidRequest, "RackId can't be empty.") }
        switch req.memberEpoch {
        case 0:
            if req.rebalanceTimeoutMs == -1 { throw KIP848HeartbeatFailure(.invalidRequest, "RebalanceTimeoutMs must be provided in first request.") }
            if req.topicPartitions == nil || req.topicPartitions?.isEmpty == false {
                throw KIP848HeartbeatFailure(.invalidRequest, "TopicPartitions must be empty when (re-)joining.")
            }
            let hasNames = !(req.subscribedTopicNames ?? []).isEmpty
            let hasRegex = !(req.subscribedTopicRegex ?? "").isEmpty
            if !hasNames && !hasRegex {
                throw KIP848HeartbeatFailure(.invalidRequest, "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.")
            }
        case Self.staticLeaveEpoch:
            if req.memberId.isEmpty { throw KIP848HeartbeatFailure(.invalidRequest, "MemberId can't be empty.") }
            if req.instanceId == nil { throw KIP848HeartbeatFailure(.invalidRequest, "InstanceId can't be null.") }
        case let e where e > 0 || e == Self.leaveEpoch:
            if req.memberId.isEmpty { throw KIP848HeartbeatFailure(.invalidRequest, "MemberId can't be empty.") }
        default:
            throw KIP848HeartbeatFailure(.invalidRequest, "MemberEpoch is invalid.")
        }
        if let a = req.serverAssignor, KIP848Assignors.named(a) == nil {
            throw KIP848HeartbeatFailure(.unsupportedAssignor, "ServerAssignor \(a) is not supported. Supported assignors: "
                + KIP848Assignors.all.keys.sorted().joined(separator: ", ") + ".")
        }
        if let re = req.subscribedTopicRegex, !re.isEmpty, (try? Regex(re)) == nil {
            throw KIP848HeartbeatFailure(.invalidRegularExpression, "SubscribedTopicRegex \(re) is not a valid regular expression.")
        }
    }

    /// The KIP-848 group for `id`; creates it (or converts an empty classic group) when joining.
    private func kip848Group(_ id: String, create: Bool) throws -> (Group, KIP848Group) {
        if let g = groups[id], g.state != .dead {
            if let c = g.kip848 { return (g, c) }
            // A classic group: only an empty one may become a consumer group (keeping its offsets).
            guard create, g.state == .empty, g.members.isEmpty, g.pendingMembers.isEmpty else {
                throw KIP848HeartbeatFailure(.groupIdNotFound, "Group \(id) is not a consumer group.")
            }
            let c = KIP848Group(groupEpoch: max(g.generationId, 0))
            g.kip848 = c
            g.protocolType = nil
            g.protocolName = nil
            g.leaderId = nil
            return (g, c)
        }
        guard create else { throw KIP848HeartbeatFailure(.groupIdNotFound, "Consumer group \(id) not found.") }
        let g = Group(groupId: id)
        g.stateTimestamp = clock()
        let c = KIP848Group()
        g.kip848 = c
        groups[id] = g
        return (g, c)
    }

    private func checkEpoch(_ m: KIP848Member, _ received: Int32, owned: [ConsumerGroupHeartbeatRequest.TopicPartitions]?) throws {
        if received > m.memberEpoch {
            throw KIP848HeartbeatFailure(.fencedMemberEpoch, "The member epoch \(received) is greater than the coordinator's (\(m.memberEpoch)). "
                + "The member must abandon all its partitions and rejoin.")
        }
        if received < m.memberEpoch {
            // The response with the bumped epoch may have been lost: accept the previous epoch
            // if the member owns nothing beyond its current assignment.
            guard received == m.previousMemberEpoch, let owned, Self.ownedPartitions(owned).allSatisfy({ t, ps in
                ps.isSubset(of: m.assigned[t] ?? [])
            }) else {
                throw KIP848HeartbeatFailure(.fencedMemberEpoch, "The member epoch \(received) is smaller than the coordinator's (\(m.memberEpoch)). "
                    + "The member must abandon all its partitions and rejoin.")
            }
        }
    }

    static func ownedPartitions(_ owned: [ConsumerGroupHeartbeatRequest.TopicPartitions]) -> PartitionSet {
        var out: PartitionSet = [:]
        for t in owned { out[t.topicId, default: []].formUnion(t.partitions) }
        return out.normalized
    }

    private func kip848Heartbeat(_ req: ConsumerGroupHeartbeatRequest, clientId: String, clientHost: String,
                                   topics: GroupTopics) throws -> ConsumerGroupHeartbeatResponse {
        let now = clock()
        let joining = req.memberEpoch == 0
        let (g, c) = try kip848Group(req.groupId, create: joining)
        let memberId = req.memberId.isEmpty ? UUID().uuidString.lowercased() : req.memberId
        if c.members.count >= config.consumerMaxGroupSize && c.member(memberId) == nil
            && (req.instanceId.flatMap { c.staticMember($0) } == nil) {
            throw KIP848HeartbeatFailure(.groupMaxSizeReached, "The consumer group has reached its maximum capacity of \(config.consumerMaxGroupSize) members.")
        }

        // The member: new, rejoining, a static member's new incarnation, or an existing one.
        var bump = false
        let m: KIP848Member
        let previousAssigned: PartitionSet?
        if joining {
            if let instance = req.instanceId, let old = c.staticMember(instance), old.memberId != memberId || old.memberEpoch == Self.staticLeaveEpoch {
                if old.memberEpoch != Self.staticLeaveEpoch {
                    throw KIP848HeartbeatFailure(.unreleasedInstanceId, "Static member \(memberId) with instance id \(instance) cannot join the group "
                        + "because the instance id is owned by member \(old.memberId).")
                }
                // Takes over the departed incarnation's place and assignment, without a rebalance.
                m = old.copy(as: memberId)
                m.memberEpoch = 0
                m.previousMemberEpoch = 0
                let target = c.targetAssignment[old.memberId]
                c.remove(old.memberId)
                c.targetAssignment[memberId] = target
                c.put(m)
                previousAssigned = nil
            } else if let existing = c.member(memberId) {
                // Rejoining with epoch 0 (e.g. after being fenced, or a lost first response): it owns nothing now.
                if existing.memberEpoch != 0 || !existing.assigned.isEmpty {
                    c.update(existing, epoch: 0, state: .stable, assigned: [:], pendingRevocation: [:])
                    existing.previousMemberEpoch = 0
                    bump = true
                }
                m = existing
                previousAssigned = nil
            } else {
                m = KIP848Member(memberId: memberId)
                m.instanceId = req.instanceId
                c.put(m)
                bump = true
                previousAssigned = nil
            }
        } else {
            if let instance = req.instanceId {
                guard let s = c.staticMember(instance) else { throw KIP848HeartbeatFailure(.unknownMemberId, "Instance id \(instance) is unknown.") }
                if s.memberId != memberId { throw KIP848HeartbeatFailure(.fencedInstanceId, "Static member \(memberId) with instance id \(instance) was fenced by member \(s.memberId).") }
                m = s
            } else {
                guard let existing = c.member(memberId) else { throw KIP848HeartbeatFailure(.unknownMemberId, "Member \(memberId) is not a member of group \(req.groupId).") }
                m = existing
            }
            try checkEpoch(m, req.memberEpoch, owned: req.topicPartitions)
            previousAssigned = m.assigned
        }

        // Update what the member told us; a subscription change bumps the group epoch.
        if let r = req.rackId { m.rackId = r }
        if req.rebalanceTimeoutMs != -1 { m.rebalanceTimeoutMs = req.rebalanceTimeoutMs }
        if let a = req.serverAssignor, a != m.serverAssignor { m.serverAssignor = a; bump = true }
        if let names = req.subscribedTopicNames, names.sorted() != m.subscribedTopicNames {
            m.subscribedTopicNames = names.sorted()
            bump = true
        }
        if let re = req.subscribedTopicRegex {
            let value: String? = re.isEmpty ? nil : re
            if value != m.subscribedTopicRegex { m.subscribedTopicRegex = value; bump = true }
        }
        m.clientId = clientId
        m.clientHost = clientHost

        // Topics (partitions added, topics created) can change what the group subscribes to.
        let metadata = subscriptionMetadata(c, topics)
        if metadata != c.subscriptionMetadata {
            c.subscriptionMetadata = metadata
            bump = true
        }
        if bump { bumpGroupEpoch(g, c) }
        computeTargetAssignmentIfNeeded(c, topics)

        reconcile(c, m, owned: req.topicPartitions, now: now)
        m.sessionDeadline = now + Int64(config.consumerSessionTimeoutMs)
        g.emptySince = nil

        var r = ConsumerGroupHeartbeatResponse()
        r.memberId = m.memberId
        r.memberEpoch = m.memberEpoch
        r.heartbeatIntervalMs = config.consumerHeartbeatIntervalMs
        let isFull = joining || (req.rebalanceTimeoutMs != -1 && (req.subscribedTopicNames != nil || req.subscribedTopicRegex != nil)
            && req.topicPartitions != nil)
        if isFull || previousAssigned != m.assigned {
            r.assignment = .init(topicPartitions: Self.topicPartitions(m.assigned))
        }
        return r
    }

    static func topicPartitions(_ set: PartitionSet) -> [ConsumerGroupHeartbeatRequest.TopicPartitions] {
        set.normalized.sorted { ($0.key.high, $0.key.low) < ($1.key.high, $1.key.low) }.map {
            .init(topicId: $0.key, partitions: $0.value.sorted())
        }
    }

    private func bumpGroupEpoch(_ g: Group, _ c: KIP848Group) {
        c.groupEpoch &+= 1
        records.append(.consumerGroup(id: g.groupId, value: ConsumerGroupMetadataValue(groupEpoch: c.groupEpoch)))
    }

    /// The topics a member subscribes to: its names plus the regex matches (existing topics only).
    private func memberTopics(_ m: KIP848Member, _ metadata: [String: GroupTopicInfo], regexMatches: [String: [String]]) -> Set<String> {
        var names = Set(m.subscribedTopicNames.filter { metadata[$0] != nil })
        if let re = m.subscribedTopicRegex { names.formUnion(regexMatches[re] ?? []) }
        return names
    }

    private func regexMatches(_ c: KIP848Group, _ topics: GroupTopics) -> [String: [String]] {
        let patterns = Set(c.members.values.compactMap(\.subscribedTopicRegex))
        guard !patterns.isEmpty else { return [:] }
        let all = topics.all().filter { !$0.isInternal && !$0.name.hasPrefix("__") }
        var out: [String: [String]] = [:]
        for p in patterns {
            guard let re = try? Regex(p) else { continue }
            out[p] = all.filter { (try? re.wholeMatch(in: $0.name)) != nil }.map(\.name)
        }
        return out
    }

    /// Every existing topic some member subscribes to, with its id and partition count.
    func subscriptionMetadata(_ c: KIP848Group, _ topics: GroupTopics) -> [String: GroupTopicInfo] {
        var out: [String: GroupTopicInfo] = [:]
        for m in c.members.values {
            for n in m.subscribedTopicNames where out[n] == nil {
                if let t = topics.byName(n) { out[n] = t }
            }
        }
        for names in regexMatches(c, topics).values {
            for n in names where out[n] == nil { if let t = topics.byName(n) { out[n] = t } }
        }
        return out
    }

    /// Runs the assignor when the group epoch moved past the target assignment's epoch.
    func computeTargetAssignmentIfNeeded(_ c: KIP848Group, _ topics: GroupTopics) {
        guard c.groupEpoch > c.assignmentEpoch else { return }
        let metadata = c.subscriptionMetadata
        let matches = regexMatches(c, topics)
        let assignor = KIP848Assignors.named(c.preferredAssignor()) ?? UniformAssignor()
        let spec = AssignmentSpec(
            members: c.sortedMembers.map { m in
                AssignmentSpec.Member(memberId: m.memberId, rackId: m.rackId,
                                      topics: Set(memberTopics(m, metadata, regexMatches: matches).compactMap { metadata[$0]?.id }),
                                      current: c.targetAssignment[m.memberId] ?? [:])
            },
            topics: Dictionary(metadata.values.map { ($0.id, $0.partitions) }, uniquingKeysWith: { a, _ in a }))
        let result = assignor.assign(spec)
        c.targetAssignment = Dictionary(uniqueKeysWithValues: c.members.keys.map { ($0, (result[$0] ?? [:]).normalized) })
        c.assignmentEpoch = c.groupEpoch
        c.assignorName = assignor.name
    }

    /// Moves the member one step towards its target (Kafka's CurrentAssignmentBuilder).
    func reconcile(_ c: KIP848Group, _ m: KIP848Member, owned: [ConsumerGroupHeartbeatRequest.TopicPartitions]?, now: Int64) {
        let targetEpoch = c.assignmentEpoch
        if m.isReconciled(to: targetEpoch) || m.memberEpoch == Self.staticLeaveEpoch { return }
        let ownedSet = owned.map(Self.ownedPartitions)
        func ownsAny(_ set: PartitionSet) -> Bool {
            guard let ownedSet else { return true }  // unknown: assume it still owns them
            return set.contains { t, ps in !(ownedSet[t] ?? []).isDisjoint(with: ps) }
        }
        let before = (m.memberEpoch, m.state, m.assigned, m.pendingRevocation)
        switch m.state {
        case .stable:
            if m.memberEpoch != targetEpoch { computeNext(c, m, epoch: m.memberEpoch, ownsAny: ownsAny) }
        case .unrevokedPartitions:
            if !ownsAny(m.pendingRevocation) { computeNext(c, m, epoch: m.memberEpoch + 1, ownsAny: ownsAny) }
        case .unreleasedPartitions:
            computeNext(c, m, epoch: m.memberEpoch, ownsAny: ownsAny)
        }
        if before != (m.memberEpoch, m.state, m.assigned, m.pendingRevocation) {
            m.rebalanceDeadline = m.state == .unrevokedPartitions ? now + Int64(m.rebalanceTimeoutMs) : nil
        }
    }

    private func computeNext(_ c: KIP848Group, _ m: KIP848Member, epoch: Int32, ownsAny: (PartitionSet) -> Bool) {
        let target = c.targetAssignment[m.memberId] ?? [:]
        let targetEpoch = c.assignmentEpoch
        var assigned: PartitionSet = [:]
        var revoking: PartitionSet = [:]
        var adding: PartitionSet = [:]
        var unreleased = false
        for t in Set(target.keys).union(m.assigned.keys) {
            let want = target[t] ?? []
            let have = m.assigned[t] ?? []
            let keep = have.intersection(want)
            assigned[t] = keep
            revoking[t] = have.subtracting(keep)
            var pending = want.subtracting(keep)
            let blocked = pending.filter { c.currentPartitionEpoch(t, $0) != -1 }
            if !blocked.isEmpty { unreleased = true }
            pending.subtract(blocked)
            adding[t] = pending
        }
        revoking = revoking.normalized
        adding = adding.normalized
        if !revoking.isEmpty && ownsAny(revoking) {
            c.update(m, epoch: epoch, state: .unrevokedPartitions, assigned: assigned, pendingRevocation: revoking)
        } else if !adding.isEmpty {
            for (t, ps) in adding { assigned[t, default: []].formUnion(ps) }
            c.update(m, epoch: targetEpoch, state: unreleased ? .unreleasedPartitions : .stable, assigned: assigned, pendingRevocation: [:])
        } else {
            c.update(m, epoch: targetEpoch, state: unreleased ? .unreleasedPartitions : .stable, assigned: assigned, pendingRevocation: [:])
        }
    }

    // MARK: leaving, fencing, timers

    private func kip848Leave(_ req: ConsumerGroupHeartbeatRequest, topics: GroupTopics) throws -> ConsumerGroupHeartbeatResponse {
        guard let g = groups[req.groupId], let c = g.kip848 else {
            throw KIP848HeartbeatFailure(.groupIdNotFound, "Consumer group \(req.groupId) not found.")
        }
        let m: KIP848Member
        if let instance = req.instanceId {
            guard let s = c.staticMember(instance) else { throw KIP848HeartbeatFailure(.unknownMemberId, "Instance id \(instance) is unknown.") }
            if s.memberId != req.memberId { throw KIP848HeartbeatFailure(.fencedInstanceId, "Static member \(req.memberId) with instance id \(instance) was fenced by member \(s.memberId).") }
            m = s
        } else {
            guard let existing = c.member(req.memberId) else { throw KIP848HeartbeatFailure(.unknownMemberId, "Member \(req.memberId) is not a member of group \(req.groupId).") }
            m = existing
        }
        if req.memberEpoch == Self.staticLeaveEpoch {
            // A static member leaving temporarily keeps its assignment (until its session times out),
            // so its next incarnation takes over without a rebalance.
            c.update(m, epoch: Self.staticLeaveEpoch, state: m.state == .unrevokedPartitions ? .stable : m.state,
                     assigned: m.assigned, pendingRevocation: [:])
            m.rebalanceDeadline = nil
        } else {
            fenceMember(g, c, m, topics: topics)
        }
        var r = ConsumerGroupHeartbeatResponse()
        r.memberId = m.memberId
        r.memberEpoch = req.memberEpoch
        return r
    }

    /// Removes a member (leave, session or rebalance timeout) and starts a new group epoch.
    func fenceMember(_ g: Group, _ c: KIP848Group, _ m: KIP848Member, topics: GroupTopics?) {
        c.remove(m.memberId)
        if let topics { c.subscriptionMetadata = subscriptionMetadata(c, topics) }
        bumpGroupEpoch(g, c)
        if c.isEmpty { g.emptySince = clock() }
        computeTargetAssignmentIfNeeded(c, topics ?? .none)
    }

    /// Session and rebalance (revocation) timeouts of KIP-848 members.
    func tickKIP848Groups(now: Int64) {
        for g in groups.values {
            guard let c = g.kip848 else { continue }
            for m in c.sortedMembers {
                if m.sessionDeadline <= now {
                    fenceMember(g, c, m, topics: nil)
                } else if let d = m.rebalanceDeadline, d <= now, m.state == .unrevokedPartitions {
                    fenceMember(g, c, m, topics: nil)
                }
            }
        }
    }

    // MARK: ConsumerGroupDescribe

    func consumerGroupDescribe(_ ids: [String], topics: GroupTopics) -> [ConsumerGroupDescribeResponse.Group] {
        ids.map { id in
            var r = ConsumerGroupDescribeResponse.Group()
            r.groupId = id
            if loading {
                r.errorCode = ErrorCode.coordinatorLoadInProgress.rawValue
                return r
            }
            guard let g = groups[id], g.state != .dead, let c = g.kip848 else {
                r.errorCode = ErrorCode.groupIdNotFound.rawValue
                r.errorMessage = groups[id] == nil ? "Group \(id) not found." : "Group \(id) is not a consumer group."
                return r
            }
            func described(_ set: PartitionSet) -> ConsumerGroupDescribeResponse.Assignment {
                .init(topicPartitions: Self.topicPartitions(set).map {
                    .init(topicId: $0.topicId, topicName: topics.byId($0.topicId)?.name ?? "", partitions: $0.partitions)
                })
            }
            r.groupState = c.state.rawValue
            r.groupEpoch = c.groupEpoch
            r.assignmentEpoch = c.assignmentEpoch
            r.assignorName = c.members.isEmpty ? c.preferredAssignor() : c.assignorName
            r.members = c.sortedMembers.map { m in
                var d = ConsumerGroupDescribeResponse.Member()
                d.memberId = m.memberId
                d.instanceId = m.instanceId
                d.rackId = m.rackId
                d.memberEpoch = m.memberEpoch
                d.clientId = m.clientId
                d.clientHost = m.clientHost
                d.subscribedTopicNames = m.subscribedTopicNames
                d.subscribedTopicRegex = m.subscribedTopicRegex
                d.assignment = described(m.assigned)
                d.targetAssignment = described(c.targetAssignment[m.memberId] ?? [:])
                return d
            }
            return r
        }
    }

    /// Topics the KIP-848 members subscribe to (OffsetDelete refuses those).
    func kip848SubscribedTopics(_ c: KIP848Group) -> Set<String> {
        Set(c.subscriptionMetadata.keys).union(c.members.values.flatMap(\.subscribedTopicNames))
    }
}
