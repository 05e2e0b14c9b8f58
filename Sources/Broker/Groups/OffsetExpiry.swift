import KafkaProtocol

/// offsets.retention.minutes: the committed offsets of a group that has no members expire
/// `offsetsRetentionMs` after the later of their commit and the moment the group became
/// empty (Kafka's rule since KIP-211; a standalone consumer's offsets count from their
/// commit). A group left with no offsets and no members is deleted. Groups with members
/// keep their offsets.
extension GroupCoordinatorCore {
    /// Returns how many offsets expired.
    @discardableResult
    func expireOffsets(now: Int64) -> Int {
        if loading { return 0 }
        var expired = 0
        for g in groups.values.sorted(by: { $0.groupId < $1.groupId }) where g.state != .dead {
            let hasMembers = !g.members.isEmpty || !g.pendingMembers.isEmpty || !(g.kip848?.isEmpty ?? true)
            guard g.state == .empty, !hasMembers else { continue }
            let emptySince: Int64 = g.kip848 != nil ? (g.emptySince ?? g.stateTimestamp) : g.stateTimestamp
            for (tp, o) in g.offsets where max(o.commitTimestamp, emptySince) + config.offsetsRetentionMs <= now {
                g.offsets[tp] = nil
                records.append(.offset(group: g.groupId, partition: tp, value: nil))
                expired += 1
            }
            if g.offsets.isEmpty && emptySince + config.offsetsRetentionMs <= now {
                // Nothing left: the group goes too (as Kafka deletes empty groups without offsets).
                if g.kip848 != nil { records.append(.consumerGroup(id: g.groupId, value: nil)) }
                records.append(.group(id: g.groupId, value: nil))
                g.transition(to: .dead, now: now)
                groups[g.groupId] = nil
            }
        }
        return expired
    }
}
