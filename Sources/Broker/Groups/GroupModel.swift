import KafkaProtocol

/// A partition of a topic, as offsets are keyed.
struct TopicPartitionKey: Hashable, Sendable, Comparable {
    var topic: String
    var partition: Int32
    static func < (a: Self, b: Self) -> Bool { (a.topic, a.partition) < (b.topic, b.partition) }
}

/// One committed offset.
struct CommittedOffset: Equatable, Sendable {
    var offset: Int64
    var leaderEpoch: Int32 = -1
    var metadata: String = ""
    var commitTimestamp: Int64 = 0
}

/// A group id's state: the classic protocol's membership and state machine (members in
/// ClassicGroupModel.swift), which stays Empty while the group uses KIP-848 (`kip848`), and
/// the committed offsets both protocols share.
final class Group {
    let groupId: String
    private(set) var state: ClassicGroupState = .empty
    private(set) var previousState: ClassicGroupState = .empty
    var generationId: Int32 = 0
    var protocolType: String?
    var protocolName: String?
    var leaderId: String?
    /// Members by id, and their join order (the first is the leader candidate).
    private(set) var members: [String: ClassicGroupMember] = [:]
    private(set) var memberOrder: [String] = []
    /// group.instance.id → member id.
    private(set) var staticMembers: [String: String] = [:]
    /// Members that got MEMBER_ID_REQUIRED and have not joined yet, with their expiry.
    var pendingMembers: [String: Int64] = [:]
    /// Members that must still send SyncGroup for the current generation.
    var pendingSync: Set<String> = []
    var syncDeadline: Int64?
    /// When the join phase completes (PreparingRebalance).
    var joinDeadline: Int64?
    /// Initial-rebalance delay bookkeeping (Kafka's group.initial.rebalance.delay.ms).
    var initialRebalance: (delayMs: Int64, remainingMs: Int64)?
    var newMemberAdded = false
    var stateTimestamp: Int64 = 0
    var offsets: [TopicPartitionKey: CommittedOffset] = [:]
    /// Set when the group is a KIP-848 group (then the classic part stays
    /// Empty with no members): a group id is one or the other, as in Kafka.
    var kip848: KIP848Group?
    /// When the group last became empty (offset expiry counts from there; ms since the epoch).
    var emptySince: Int64?

    init(groupId: String) { self.groupId = groupId }

    var isKIP848: Bool { kip848 != nil }

    func transition(to next: ClassicGroupState, now: Int64) {
        precondition(state.canTransition(to: next), "group \(groupId): illegal transition \(state) → \(next)")
        previousState = state
        state = next
        stateTimestamp = now
    }

    /// Used when loading from the log.
    func restore(state: ClassicGroupState, now: Int64) {
        previousState = .empty
        self.state = state
        stateTimestamp = now
    }

    var isEmptyOfMembers: Bool { members.isEmpty }
    var orderedMembers: [ClassicGroupMember] { memberOrder.compactMap { members[$0] } }
    var numAwaitingJoin: Int { members.values.reduce(0) { $0 + ($1.isAwaitingJoin ? 1 : 0) } }
    var hasAllMembersJoined: Bool { members.count == numAwaitingJoin && pendingMembers.isEmpty }
    var rebalanceTimeoutMs: Int64 { Int64(members.values.map(\.rebalanceTimeoutMs).max() ?? 0) }
    var canRebalance: Bool { state == .stable || state == .completingRebalance || state == .empty }

    func member(_ id: String) -> ClassicGroupMember? { members[id] }
    func isLeader(_ id: String) -> Bool { leaderId == id }

    func add(_ member: ClassicGroupMember) {
        if members.isEmpty { protocolType = member.protocolType }
        members[member.memberId] = member
        memberOrder.append(member.memberId)
        if let instance = member.groupInstanceId { staticMembers[instance] = member.memberId }
        if leaderId == nil { leaderId = member.memberId }
    }

    func remove(_ memberId: String) {
        pendingMembers[memberId] = nil
        pendingSync.remove(memberId)
        guard let m = members.removeValue(forKey: memberId) else { return }
        memberOrder.removeAll { $0 == memberId }
        if let instance = m.groupInstanceId, staticMembers[instance] == memberId { staticMembers[instance] = nil }
        if leaderId == memberId { leaderId = memberOrder.first }
    }

    /// A static member rejoining with a new member id takes over the old one's place.
    func replaceStaticMember(instanceId: String, oldId: String, newId: String) -> ClassicGroupMember? {
        guard let m = members.removeValue(forKey: oldId) else { return nil }
        m.memberId = newId
        members[newId] = m
        if let i = memberOrder.firstIndex(of: oldId) { memberOrder[i] = newId }
        staticMembers[instanceId] = newId
        if leaderId == oldId { leaderId = newId }
        if pendingSync.remove(oldId) != nil { pendingSync.insert(newId) }
        return m
    }

    func staticMemberId(_ instanceId: String) -> String? { staticMembers[instanceId] }

    /// Protocols every member supports.
    func candidateProtocols() -> Set<String> {
        var counts: [String: Int] = [:]
        for m in members.values {
            for p in Set(m.protocols.map(\.name)) { counts[p, default: 0] += 1 }
        }
        return Set(counts.filter { $0.value == members.count }.keys)
    }

    /// Whether a member with these protocols could join.
    func supportsProtocols(type: String, names: [String]) -> Bool {
        if members.isEmpty { return !type.isEmpty && !names.isEmpty }
        guard protocolType == type else { return false }
        let candidates = candidateProtocols()
        return names.contains { candidates.contains($0) }
    }

    /// The protocol for the next generation: supported by all, most votes (ties go to the
    /// one the longest-standing member prefers).
    func selectProtocol() -> String? {
        let candidates = candidateProtocols()
        var votes: [String: Int] = [:]
        for m in members.values { if let v = m.vote(candidates) { votes[v, default: 0] += 1 } }
        let best = votes.values.max() ?? 0
        let tied = Set(votes.filter { $0.value == best }.keys)
        for m in orderedMembers { if let p = m.protocols.first(where: { tied.contains($0.name) }) { return p.name } }
        return nil
    }

    /// If the leader has not rejoined, hand leadership to a member that has. False when
    /// members exist but none rejoined.
    func maybeElectNewJoinedLeader() -> Bool {
        guard let leaderId, let leader = members[leaderId] else {
            if let first = orderedMembers.first(where: \.isAwaitingJoin) { self.leaderId = first.memberId; return true }
            return members.isEmpty
        }
        if leader.isAwaitingJoin { return true }
        if let other = orderedMembers.first(where: \.isAwaitingJoin) {
            self.leaderId = other.memberId
            return true
        }
        return false
    }

    /// The member list the leader gets in its JoinGroup response.
    func joinMembers() -> [JoinGroupResponse.Member] {
        orderedMembers.map { JoinGroupResponse.Member(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId, metadata: $0.metadata(for: protocolName)) }
    }

    /// Topics the members subscribe to (consumer protocol only; nil if unknown).
    func subscribedTopics() -> Set<String>? {
        guard protocolType == "consumer" else { return nil }
        var topics = Set<String>()
        for m in members.values {
            let meta = m.metadata(for: protocolName ?? m.protocols.first?.name)
            guard let sub = try? ConsumerProtocolSubscription.decode(from: meta) else { return nil }
            topics.formUnion(sub.topics)
        }
        return topics
    }
}
