import KafkaProtocol

/// Partitions by topic id (the KIP-848 protocol names topics by id).
typealias PartitionSet = [KafkaUUID: Set<Int32>]

extension Dictionary where Key == KafkaUUID, Value == Set<Int32> {
    var partitionCount: Int { values.reduce(0) { $0 + $1.count } }

    /// Drops empty topic entries so that equal assignments compare equal.
    var normalized: PartitionSet { filter { !$0.value.isEmpty } }

    func contains(_ topic: KafkaUUID, _ partition: Int32) -> Bool { self[topic]?.contains(partition) ?? false }
}

/// What the group coordinator needs to know about topics (names, ids, partition counts).
struct GroupTopicInfo: Equatable, Sendable {
    var name: String
    var id: KafkaUUID
    var partitions: Int32
    var isInternal = false
}

/// A view of the broker's topics for the KIP-848 protocol (built per call from the topic manager).
struct GroupTopics {
    var byName: (String) -> GroupTopicInfo?
    var byId: (KafkaUUID) -> GroupTopicInfo?
    var all: () -> [GroupTopicInfo]

    static var none: GroupTopics { GroupTopics(byName: { _ in nil }, byId: { _ in nil }, all: { [] }) }

    /// A fixed set of topics (tests).
    static func fixed(_ topics: [GroupTopicInfo]) -> GroupTopics {
        GroupTopics(byName: { n in topics.first { $0.name == n } }, byId: { id in topics.first { $0.id == id } }, all: { topics })
    }
}

/// Reconciliation state of a KIP-848 member (Kafka's MemberState).
enum KIP848MemberState: String, Sendable {
    /// Owns exactly what it was given for its epoch.
    case stable = "STABLE"
    /// Must first give up `pendingRevocation` (acknowledged by heartbeating without them).
    case unrevokedPartitions = "UNREVOKED_PARTITIONS"
    /// Waits for partitions that other members have not released yet.
    case unreleasedPartitions = "UNRELEASED_PARTITIONS"
}

/// A member of a KIP-848 consumer group.
final class KIP848Member {
    var memberId: String
    var instanceId: String?
    var rackId: String?
    var clientId = ""
    var clientHost = ""
    var rebalanceTimeoutMs: Int32 = 300_000
    var subscribedTopicNames: [String] = []
    var subscribedTopicRegex: String?
    var serverAssignor: String?
    var memberEpoch: Int32 = 0
    var previousMemberEpoch: Int32 = 0
    var state: KIP848MemberState = .stable
    /// Partitions the member may own now.
    var assigned: PartitionSet = [:]
    /// Partitions the member must give up before it advances.
    var pendingRevocation: PartitionSet = [:]
    /// Removed without a heartbeat by then.
    var sessionDeadline: Int64 = .max
    /// Fenced if it still holds revoked partitions by then (UNREVOKED_PARTITIONS only).
    var rebalanceDeadline: Int64?

    init(memberId: String) { self.memberId = memberId }

    /// A copy under a new member id (a static member's new incarnation).
    func copy(as newId: String) -> KIP848Member {
        let m = KIP848Member(memberId: newId)
        m.instanceId = instanceId
        m.rackId = rackId
        m.clientId = clientId
        m.clientHost = clientHost
        m.rebalanceTimeoutMs = rebalanceTimeoutMs
        m.subscribedTopicNames = subscribedTopicNames
        m.subscribedTopicRegex = subscribedTopicRegex
        m.serverAssignor = serverAssignor
        m.state = state
        m.assigned = assigned
        m.pendingRevocation = pendingRevocation
        return m
    }

    func isReconciled(to epoch: Int32) -> Bool { state == .stable && memberEpoch == epoch }
}

/// Group-level state of a KIP-848 consumer group (names as ConsumerGroupDescribe/ListGroups report them).
enum KIP848GroupState: String {
    case empty = "Empty"
    case assigning = "Assigning"
    case reconciling = "Reconciling"
    case stable = "Stable"
}

/// The KIP-848 part of a group: members, epochs, target assignment and which
/// member currently owns which partition (with the epoch it owns it at).
final class KIP848Group {
    var groupEpoch: Int32 = 0
    /// The epoch of `targetAssignment`.
    var assignmentEpoch: Int32 = 0
    private(set) var members: [String: KIP848Member] = [:]
    private(set) var staticMembers: [String: String] = [:]
    /// The desired assignment by member id, computed by the assignor at `assignmentEpoch`.
    var targetAssignment: [String: PartitionSet] = [:]
    /// topic id → partition → epoch of the member owning it (assigned or pending revocation).
    private(set) var partitionEpochs: [KafkaUUID: [Int32: Int32]] = [:]
    /// The topics the group subscribes to, as last resolved (a change bumps the group epoch).
    var subscriptionMetadata: [String: GroupTopicInfo] = [:]
    /// The assignor of the last target assignment.
    var assignorName = KIP848Assignors.defaultName

    init(groupEpoch: Int32 = 0) {
        self.groupEpoch = groupEpoch
        assignmentEpoch = groupEpoch
    }

    var isEmpty: Bool { members.isEmpty }
    var sortedMembers: [KIP848Member] { members.values.sorted { $0.memberId < $1.memberId } }

    func member(_ id: String) -> KIP848Member? { members[id] }
    func staticMember(_ instanceId: String) -> KIP848Member? { staticMembers[instanceId].flatMap { members[$0] } }

    var state: KIP848GroupState {
        if members.isEmpty { return .empty }
        if groupEpoch > assignmentEpoch { return .assigning }
        return members.values.allSatisfy { $0.isReconciled(to: assignmentEpoch) } ? .stable : .reconciling
    }

    func currentPartitionEpoch(_ topic: KafkaUUID, _ partition: Int32) -> Int32 { partitionEpochs[topic]?[partition] ?? -1 }

    private func addEpochs(_ set: PartitionSet, _ epoch: Int32) {
        for (t, ps) in set { for p in ps { partitionEpochs[t, default: [:]][p] = epoch } }
    }

    private func removeEpochs(_ set: PartitionSet) {
        for (t, ps) in set {
            for p in ps { partitionEpochs[t]?[p] = nil }
            if partitionEpochs[t]?.isEmpty == true { partitionEpochs[t] = nil }
        }
    }

    /// Adds or replaces a member, keeping the partition-epoch map in step.
    func put(_ m: KIP848Member) {
        if let old = members[m.memberId] {
            removeEpochs(old.assigned)
            removeEpochs(old.pendingRevocation)
        }
        members[m.memberId] = m
        if let i = m.instanceId { staticMembers[i] = m.memberId }
        addEpochs(m.assigned, m.memberEpoch)
        addEpochs(m.pendingRevocation, m.memberEpoch)
    }

    /// Changes a member's assignment state (partition epochs follow).
    func update(_ m: KIP848Member, epoch: Int32, state: KIP848MemberState, assigned: PartitionSet, pendingRevocation: PartitionSet) {
        removeEpochs(m.assigned)
        removeEpochs(m.pendingRevocation)
        if epoch != m.memberEpoch {
            m.previousMemberEpoch = m.memberEpoch
            m.memberEpoch = epoch
        }
        m.state = state
        m.assigned = assigned.normalized
        m.pendingRevocation = pendingRevocation.normalized
        addEpochs(m.assigned, m.memberEpoch)
        addEpochs(m.pendingRevocation, m.memberEpoch)
    }

    func remove(_ memberId: String) {
        guard let m = members.removeValue(forKey: memberId) else { return }
        removeEpochs(m.assigned)
        removeEpochs(m.pendingRevocation)
        if let i = m.instanceId, staticMembers[i] == memberId { staticMembers[i] = nil }
        targetAssignment[memberId] = nil
    }

    /// The assignor the members prefer most (ties: alphabetical), else the default.
    func preferredAssignor() -> String {
        var votes: [String: Int] = [:]
        for m in members.values { if let a = m.serverAssignor { votes[a, default: 0] += 1 } }
        guard let best = votes.values.max() else { return KIP848Assignors.defaultName }
        return votes.filter { $0.value == best }.keys.sorted().first!
    }
}

// MARK: assignors

/// The input of a server-side assignor.
struct AssignmentSpec {
    struct Member {
        var memberId: String
        var rackId: String?
        /// Ids of the (existing) topics the member subscribes to.
        var topics: Set<KafkaUUID>
        /// The member's current target (for stickiness).
        var current: PartitionSet
    }
    var members: [Member]
    /// Partition counts of the subscribed topics.
    var topics: [KafkaUUID: Int32]
}

protocol KIP848Assignor: Sendable {
    var name: String { get }
    func assign(_ spec: AssignmentSpec) -> [String: PartitionSet]
}

enum KIP848Assignors {
    static let defaultName = "uniform"
    static let all: [String: any KIP848Assignor] = ["uniform": UniformAssignor(), "range": RangeAssignor()]
    static func named(_ n: String) -> (any KIP848Assignor)? { all[n] }
}

/// Spreads partitions as evenly as possible over the members subscribed to them and keeps
/// every partition where it already is whenever balance allows (like Kafka's uniform assignor).
struct UniformAssignor: KIP848Assignor {
    var name: String { "uniform" }

    struct TP: Hashable, Comparable {
        var topic: KafkaUUID
        var partition: Int32
        static func < (a: TP, b: TP) -> Bool {
            (a.topic.high, a.topic.low, a.partition) < (b.topic.high, b.topic.low, b.partition)
        }
    }

    func assign(_ spec: AssignmentSpec) -> [String: PartitionSet] {
        let members = spec.members.sorted { $0.memberId < $1.memberId }
        var out: [String: Set<TP>] = [:]
        for m in members { out[m.memberId] = [] }
        var owner: [TP: String] = [:]
        let subscribers: [KafkaUUID: [String]] = spec.topics.keys.reduce(into: [:]) { acc, t in
            acc[t] = members.filter { $0.topics.contains(t) }.map(\.memberId)
        }
        // Partitions per member if subscriptions were all the same: the cap for sticky keeps.
        let all = spec.topics.flatMap { t, n in (0..<max(n, 0)).map { TP(topic: t, partition: $0) } }.sorted()
        let homogeneous = Set(members.map(\.topics)).count <= 1
        let cap = members.isEmpty ? 0 : (all.count + members.count - 1) / members.count
        // 1. Sticky: keep current partitions still valid for the member (up to the cap when homogeneous).
        for m in members {
            for (t, ps) in m.current where m.topics.contains(t) {
                let n = spec.topics[t] ?? 0
                for p in ps.sorted() where p < n {
                    let tp = TP(topic: t, partition: p)
                    if owner[tp] != nil { continue }
                    if homogeneous && out[m.memberId]!.count >= cap { break }
                    owner[tp] = m.memberId
                    out[m.memberId]!.insert(tp)
                }
            }
        }
        // 2. Unassigned partitions go to the least loaded eligible member.
        for tp in all where owner[tp] == nil {
            guard let candidates = subscribers[tp.topic], !candidates.isEmpty else { continue }
            let target = candidates.min { (out[$0]!.count, $0) < (out[$1]!.count, $1) }!
            owner[tp] = target
            out[target]!.insert(tp)
        }
        // 3. Balance: move partitions from members with more than one extra partition to eligible lighter ones.
        var moved = true
        var rounds = 0
        while moved && rounds < all.count + 1 {
            moved = false
            rounds += 1
            for a in members.sorted(by: { out[$0.memberId]!.count > out[$1.memberId]!.count }) {
                for tp in out[a.memberId]!.sorted().reversed() {
                    guard let candidates = subscribers[tp.topic] else { continue }
                    let b = candidates.min { (out[$0]!.count, $0) < (out[$1]!.count, $1) }!
                    if out[a.memberId]!.count > out[b]!.count + 1 {
                        out[a.memberId]!.remove(tp)
                        out[b]!.insert(tp)
                        owner[tp] = b
                        moved = true
                    }
                }
            }
        }
        return out.mapValues { set in set.reduce(into: PartitionSet()) { $0[$1.topic, default: []].insert($1.partition) } }
    }
}

/// Per topic, contiguous ranges of partitions to the subscribed members in member-id order
/// (the first `partitions % members` members get one more), like the classic range assignor.
struct RangeAssignor: KIP848Assignor {
    var name: String { "range" }

    func assign(_ spec: AssignmentSpec) -> [String: PartitionSet] {
        var out: [String: PartitionSet] = [:]
        for m in spec.members { out[m.memberId] = [:] }
        for (t, n) in spec.topics where n > 0 {
            let subs = spec.members.filter { $0.topics.contains(t) }.map(\.memberId).sorted()
            guard !subs.isEmpty else { continue }
            let per = Int(n) / subs.count
            let extra = Int(n) % subs.count
            var next: Int32 = 0
            for (i, id) in subs.enumerated() {
                let count = per + (i < extra ? 1 : 0)
                if count == 0 { continue }
                out[id]![t] = Set(next..<(next + Int32(count)))
                next += Int32(count)
            }
        }
        return out
    }
}
