/// Client-side partition assignors of the classic consumer group protocol. The group leader
/// runs the one the coordinator picked for every member.
public enum KafkaAssignor: String, Sendable, CaseIterable {
    /// Java's RangeAssignor ("range"): per topic, contiguous ranges; eager rebalancing.
    case range = "range"
    /// Java's CooperativeStickyAssignor ("cooperative-sticky"): balanced, keeps partitions
    /// where they are, incremental (cooperative) rebalancing.
    case cooperativeSticky = "cooperative-sticky"

    public var isCooperative: Bool { self == .cooperativeSticky }
}

/// One member as the assignor sees it.
public struct AssignorMember: Sendable, Equatable {
    public var memberID: String
    public var topics: Set<String>
    /// Partitions the member owned in `generation` (cooperative protocol).
    public var owned: [TopicPartition]
    public var generation: Int32
    public init(memberID: String, topics: Set<String>, owned: [TopicPartition] = [], generation: Int32 = -1) {
        self.memberID = memberID
        self.topics = topics
        self.owned = owned
        self.generation = generation
    }
}

public enum Assignors {
    /// Runs `assignor` over `members` given each topic's partition count; returns member → partitions.
    public static func assign(_ assignor: KafkaAssignor, members: [AssignorMember], partitionCounts: [String: Int]) -> [String: [TopicPartition]] {
        switch assignor {
        case .range: return range(members: members, partitionCounts: partitionCounts)
        case .cooperativeSticky: return cooperativeSticky(members: members, partitionCounts: partitionCounts)
        }
    }

    /// Kafka's RangeAssignor: for each topic, the members subscribed to it (sorted by member id)
    /// get contiguous ranges; the first `n % m` members get one extra partition.
    public static func range(members: [AssignorMember], partitionCounts: [String: Int]) -> [String: [TopicPartition]] {
        var out = [String: [TopicPartition]]()
        for m in members { out[m.memberID] = [] }
        for topic in partitionCounts.keys.sorted() {
            let n = partitionCounts[topic]!
            let subs = members.filter { $0.topics.contains(topic) }.map(\.memberID).sorted()
            guard !subs.isEmpty, n > 0 else { continue }
            let per = n / subs.count
            let extra = n % subs.count
            for (i, m) in subs.enumerated() {
                let start = per * i + min(i, extra)
                let len = per + (i < extra ? 1 : 0)
                for p in start..<(start + len) { out[m, default: []].append(TopicPartition(topic, Int32(p))) }
            }
        }
        return out
    }

    /// Sticky, balanced assignment; then, for cooperative rebalancing, partitions that move
    /// away from a member that still owns them are held back this round (the owner revokes
    /// them first and a follow-up rebalance hands them out).
    public static func cooperativeSticky(members: [AssignorMember], partitionCounts: [String: Int]) -> [String: [TopicPartition]] {
        let sticky = stickyAssignment(members: members, partitionCounts: partitionCounts)
        var owner = [TopicPartition: String]()
        for m in validOwnership(members: members, partitionCounts: partitionCounts) {
            for tp in m.value { owner[tp] = m.key }
        }
        var out = [String: [TopicPartition]]()
        for (member, tps) in sticky {
            out[member] = tps.filter { tp in
                guard let o = owner[tp] else { return true }
                return o == member
            }
        }
        return out
    }

    /// Ownership claims that stand: existing partitions of subscribed topics; if two members
    /// claim one partition, the higher generation wins.
    static func validOwnership(members: [AssignorMember], partitionCounts: [String: Int]) -> [String: [TopicPartition]] {
        var best = [TopicPartition: (member: String, generation: Int32)]()
        for m in members.sorted(by: { $0.memberID < $1.memberID }) {
            for tp in m.owned {
                guard m.topics.contains(tp.topic), let n = partitionCounts[tp.topic], tp.partition >= 0, Int(tp.partition) < n else { continue }
                if let b = best[tp], b.generation >= m.generation { continue }
                best[tp] = (m.memberID, m.generation)
            }
        }
        var out = [String: [TopicPartition]]()
        for (tp, o) in best { out[o.member, default: []].append(tp) }
        return out
    }

    /// A balanced assignment that keeps as many owned partitions in place as balance allows.
    public static func stickyAssignment(members: [AssignorMember], partitionCounts: [String: Int]) -> [String: [TopicPartition]] {
        let ids = members.map(\.memberID).sorted()
        let subs = Dictionary(uniqueKeysWithValues: members.map { ($0.memberID, $0.topics) })
        var assignment = [String: [TopicPartition]]()
        for id in ids { assignment[id] = [] }
        var all = [TopicPartition]()
        for t in partitionCounts.keys.sorted() {
            for p in 0..<partitionCounts[t]! { all.append(TopicPartition(t, Int32(p))) }
        }
        let eligible = { (tp: TopicPartition) in ids.filter { subs[$0]?.contains(tp.topic) ?? false } }
        // Quota: with everyone able to take everything this is ceil/floor of the average.
        let assignable = all.filter { !eligible($0).isEmpty }
        let maxQuota = ids.isEmpty ? 0 : (assignable.count + ids.count - 1) / ids.count
        var assigned = Set<TopicPartition>()
        // 1. Keep owned partitions, up to the quota.
        for (member, owned) in validOwnership(members: members, partitionCounts: partitionCounts).sorted(by: { $0.key < $1.key }) {
            for tp in owned.sorted() where assignment[member]!.count < maxQuota {
                assignment[member]!.append(tp)
                assigned.insert(tp)
            }
        }
        // 2. Hand out the rest to the least loaded eligible member.
        for tp in assignable where !assigned.contains(tp) {
            let cands = eligible(tp)
            let target = cands.min { (assignment[$0]!.count, $0) < (assignment[$1]!.count, $1) }!
            assignment[target]!.append(tp)
            assigned.insert(tp)
        }
        // 3. Rebalance: move from the most to the least loaded while it helps.
        var moved = true
        var guardCount = 0
        while moved && guardCount < 10_000 {
            moved = false
            guardCount += 1
            let sorted = ids.sorted { (assignment[$0]!.count, $0) < (assignment[$1]!.count, $1) }
            guard let low = sorted.first, let high = sorted.last, assignment[high]!.count - assignment[low]!.count > 1 else { break }
            if let i = assignment[high]!.lastIndex(where: { subs[low]?.contains($0.topic) ?? false }) {
                let tp = assignment[high]!.remove(at: i)
                assignment[low]!.append(tp)
                moved = true
            }
        }
        for id in ids { assignment[id]!.sort() }
        return assignment
    }
}
