@testable import Broker
import Foundation
import KafkaProtocol
import NIOCore
import Testing

/// The KIP-848 protocol on the coordinator core, with a fake clock and fixed topics.
final class KIP848Harness {
    let clock = FakeClock()
    let core: GroupCoordinatorCore
    var topicList: [GroupTopicInfo]
    static let t6 = KafkaUUID(high: 0x4000_0000_0000_0001, low: 0x8000_0000_0000_0001)
    static let u2 = KafkaUUID(high: 0x4000_0000_0000_0002, low: 0x8000_0000_0000_0002)

    init(session: Int32 = 45_000, heartbeat: Int32 = 5_000) {
        var config = GroupCoordinatorConfig()
        config.consumerSessionTimeoutMs = session
        config.consumerHeartbeatIntervalMs = heartbeat
        let clock = self.clock
        core = GroupCoordinatorCore(config: config, clock: { clock.now })
        topicList = [GroupTopicInfo(name: "t", id: Self.t6, partitions: 6), GroupTopicInfo(name: "u", id: Self.u2, partitions: 2)]
    }

    var topics: GroupTopics { GroupTopics.fixed(topicList) }

    func advance(_ ms: Int64) {
        clock.advance(ms)
        core.tick()
    }

    @discardableResult
    func hb(_ group: String = "g", member: String, epoch: Int32, instance: String? = nil, topics subscribed: [String]? = nil,
            regex: String? = nil, assignor: String? = nil, owned: PartitionSet? = nil, rebalanceTimeout: Int32 = -1) -> ConsumerGroupHeartbeatResponse {
        var r = ConsumerGroupHeartbeatRequest()
        r.groupId = group
        r.memberId = member
        r.memberEpoch = epoch
        r.instanceId = instance
        r.subscribedTopicNames = subscribed
        r.subscribedTopicRegex = regex
        r.serverAssignor = assignor
        r.rebalanceTimeoutMs = rebalanceTimeout
        r.topicPartitions = owned.map(GroupCoordinatorCore.topicPartitions)
        return core.consumerGroupHeartbeat(r, clientId: "client-\(member)", clientHost: "/127.0.0.1", topics: topics)
    }

    /// Joins with epoch 0 (a full request).
    @discardableResult
    func join(_ member: String, group: String = "g", instance: String? = nil, topics subscribed: [String] = ["t"], assignor: String? = nil,
              regex: String? = nil) -> ConsumerGroupHeartbeatResponse {
        hb(group, member: member, epoch: 0, instance: instance, topics: regex == nil ? subscribed : nil, regex: regex,
           assignor: assignor, owned: [:], rebalanceTimeout: 30_000)
    }

    func group(_ id: String = "g") -> KIP848Group { core.group(id)!.kip848! }
}

/// A simulated client: owns what the coordinator last gave it and heartbeats with that.
final class SimMember {
    let id: String
    let h: KIP848Harness
    var epoch: Int32 = 0
    var owned: PartitionSet = [:]
    var lastError: Int16 = 0

    init(_ id: String, _ h: KIP848Harness) {
        self.id = id
        self.h = h
    }

    func apply(_ r: ConsumerGroupHeartbeatResponse) {
        lastError = r.errorCode
        guard r.errorCode == 0 else { return }
        epoch = r.memberEpoch
        if let a = r.assignment { owned = GroupCoordinatorCore.ownedPartitions(a.topicPartitions) }
    }

    func join(_ topics: [String] = ["t"], assignor: String? = nil) { apply(h.join(id, topics: topics, assignor: assignor)) }
    func beat() { apply(h.hb(member: id, epoch: epoch, owned: owned)) }
    var count: Int { owned.partitionCount }
}

/// Beats every member until nothing changes; returns the rounds it took.
@discardableResult
func settle(_ members: [SimMember], maxRounds: Int = 20) -> Int {
    for round in 1...maxRounds {
        let before = members.map { ($0.epoch, $0.owned) }
        for m in members { m.beat() }
        let after = members.map { ($0.epoch, $0.owned) }
        if !zip(before, after).contains(where: { $0.0 != $1.0 || $0.1 != $1.1 }) { return round }
    }
    return maxRounds
}

func assertDisjointCover(_ members: [SimMember], topic: KafkaUUID, partitions: Int32) {
    var seen: [Int32: String] = [:]
    for m in members {
        for p in m.owned[topic] ?? [] {
            #expect(seen[p] == nil, "partition \(p) owned by \(seen[p] ?? "") and \(m.id)")
            seen[p] = m.id
        }
    }
    #expect(Set(seen.keys) == Set(0..<partitions))
}

@Suite struct KIP848GroupCoordinatorTests {
    @Test func firstMemberGetsEverything() {
        let h = KIP848Harness()
        let r = h.join("a")
        #expect(r.errorCode == 0)
        #expect(r.memberId == "a")
        #expect(r.memberEpoch == 1)
        #expect(r.heartbeatIntervalMs == 5_000)
        #expect(GroupCoordinatorCore.ownedPartitions(r.assignment!.topicPartitions) == [KIP848Harness.t6: Set(0..<6)])
        #expect(h.group().state == .stable)
        #expect(h.core.listGroups(states: [], types: []).first?.groupType == "consumer")
    }

    @Test func emptyMemberIdIsGenerated() {
        let h = KIP848Harness()
        let r = h.join("")
        #expect(r.errorCode == 0)
        #expect(!(r.memberId ?? "").isEmpty)
    }

    @Test func threeMembersGetDisjointFullCoverageAfterRevocation() {
        let h = KIP848Harness()
        let a = SimMember("a", h), b = SimMember("b", h), c = SimMember("c", h)
        a.join()
        #expect(a.count == 6)
        b.join()
        // b cannot get anything yet: a still owns every partition.
        #expect(b.count == 0)
        #expect(h.group().member("b")!.state == .unreleasedPartitions)
        a.beat()
        // a is asked to revoke 3 partitions, stays at its epoch until it acknowledges.
        #expect(a.count == 3)
        #expect(h.group().member("a")!.state == .unrevokedPartitions)
        #expect(a.epoch == 1)
        a.beat()  // acknowledges (owned no longer has them)
        #expect(h.group().member("a")!.state == .stable)
        #expect(a.epoch == 2)
        b.beat()
        #expect(b.count == 3)
        c.join()
        settle([a, b, c])
        assertDisjointCover([a, b, c], topic: KIP848Harness.t6, partitions: 6)
        #expect([a.count, b.count, c.count] == [Int](repeating: 2, count: 3))
        #expect(h.group().state == .stable)
        #expect(h.group().groupEpoch == 3)
    }

    @Test func partitionNeverOwnedTwiceDuringRebalance() {
        let h = KIP848Harness()
        let ms = (0..<4).map { SimMember("m\($0)", h) }
        for m in ms {
            m.join()
            // After every single heartbeat, no partition is owned by two members.
            for _ in 0..<6 {
                for x in ms where x.epoch > 0 || x === m {
                    x.beat()
                    var seen = Set<Int32>()
                    for y in ms { for p in y.owned[KIP848Harness.t6] ?? [] { #expect(seen.insert(p).inserted) } }
                }
            }
        }
        assertDisjointCover(ms, topic: KIP848Harness.t6, partitions: 6)
        #expect(ms.map(\.count).sorted() == [1, 1, 2, 2])
    }

    @Test func leaveHandsPartitionsOver() {
        let h = KIP848Harness()
        let a = SimMember("a", h), b = SimMember("b", h), c = SimMember("c", h)
        a.join(); b.join(); c.join()
        settle([a, b, c])
        let r = h.hb(member: "c", epoch: -1)
        #expect(r.errorCode == 0)
        #expect(r.memberEpoch == -1)
        #expect(h.group().member("c") == nil)
        settle([a, b])
        assertDisjointCover([a, b], topic: KIP848Harness.t6, partitions: 6)
        // Sticky: a and b keep what they had.
        #expect(a.count == 3 && b.count == 3)
    }

    @Test func sessionTimeoutFencesAndReassigns() {
        let h = KIP848Harness(session: 10_000)
        let a = SimMember("a", h), b = SimMember("b", h)
        a.join(); b.join()
        settle([a, b])
        for _ in 0..<3 {
            h.advance(4_000)
            a.beat()
        }
        #expect(h.group().member("b") == nil)
        a.beat()
        #expect(a.count == 6)
        b.beat()
        #expect(b.lastError == ErrorCode.unknownMemberId.rawValue)
    }

    @Test func rebalanceTimeoutFencesMemberThatKeepsRevokedPartitions() {
        let h = KIP848Harness()
        let a = SimMember("a", h), b = SimMember("b", h)
        a.join()
        b.join()
        // a heartbeats but keeps claiming every partition (never revokes).
        let stubborn = a.owned
        a.apply(h.hb(member: "a", epoch: a.epoch, owned: stubborn))
        #expect(h.group().member("a")!.state == .unrevokedPartitions)
        h.advance(10_000)
        a.apply(h.hb(member: "a", epoch: a.epoch, owned: stubborn))
        #expect(h.group().member("a") != nil)
        h.advance(21_000)  // past the 30 s rebalance timeout
        #expect(h.group().member("a") == nil)
        b.beat()
        #expect(b.count == 6)
    }

    @Test func epochFencing() {
        let h = KIP848Harness()
        let a = SimMember("a", h)
        a.join()
        #expect(h.hb(member: "a", epoch: 5, owned: [:]).errorCode == ErrorCode.fencedMemberEpoch.rawValue)
        #expect(h.hb(member: "zz", epoch: 1, owned: [:]).errorCode == ErrorCode.unknownMemberId.rawValue)
        #expect(h.hb("nogroup", member: "a", epoch: 1).errorCode == ErrorCode.groupIdNotFound.rawValue)
        // Previous epoch with a subset of the assignment is accepted (lost response).
        let b = SimMember("b", h)
        b.join()
        settle([a, b])
        let ma = h.group().member("a")!
        #expect(h.hb(member: "a", epoch: ma.previousMemberEpoch, owned: ma.assigned).errorCode == 0)
        #expect(h.hb(member: "a", epoch: ma.previousMemberEpoch, owned: [KIP848Harness.t6: Set(0..<6)]).errorCode
            == ErrorCode.fencedMemberEpoch.rawValue)
    }

    @Test func invalidRequests() {
        let h = KIP848Harness()
        #expect(h.hb(member: "a", epoch: 0, topics: ["t"], owned: [:]).errorCode == ErrorCode.invalidRequest.rawValue)  // no rebalance timeout
        #expect(h.hb(member: "a", epoch: 0, topics: nil, owned: [:], rebalanceTimeout: 1000).errorCode == ErrorCode.invalidRequest.rawValue)
        #expect(h.hb(member: "", epoch: 3).errorCode == ErrorCode.invalidRequest.rawValue)
        #expect(h.hb(member: "a", epoch: -2).errorCode == ErrorCode.invalidRequest.rawValue)  // static leave without instance id
        #expect(h.hb(member: "a", epoch: -7).errorCode == ErrorCode.invalidRequest.rawValue)
        #expect(h.join("a", assignor: "sticky-magic").errorCode == ErrorCode.unsupportedAssignor.rawValue)
        #expect(h.join("a", regex: "([").errorCode == ErrorCode.invalidRegularExpression.rawValue)
    }

    @Test func staticMemberLeavesAndReturnsWithoutRebalance() {
        let h = KIP848Harness()
        let a = SimMember("a1", h), b = SimMember("b", h)
        a.apply(h.join("a1", instance: "inst-a"))
        b.join()
        for _ in 0..<5 {
            a.apply(h.hb(member: "a1", epoch: a.epoch, instance: "inst-a", owned: a.owned))
            b.beat()
        }
        let epochBefore = h.group().groupEpoch
        let ownedBefore = a.owned
        // A second instance with the same id while the first is alive.
        #expect(h.join("a2", instance: "inst-a").errorCode == ErrorCode.unreleasedInstanceId.rawValue)
        let leave = h.hb(member: "a1", epoch: -2, instance: "inst-a")
        #expect(leave.errorCode == 0 && leave.memberEpoch == -2)
        #expect(h.group().member("a1")!.memberEpoch == -2)
        // Its partitions are not handed to b.
        b.beat()
        #expect(b.count == 3)
        let back = h.join("a2", instance: "inst-a")
        #expect(back.errorCode == 0)
        #expect(h.group().groupEpoch == epochBefore)
        #expect(GroupCoordinatorCore.ownedPartitions(back.assignment!.topicPartitions) == ownedBefore)
        #expect(h.group().member("a1") == nil)
        // The old incarnation is fenced.
        #expect(h.hb(member: "a1", epoch: a.epoch, instance: "inst-a", owned: a.owned).errorCode == ErrorCode.fencedInstanceId.rawValue)
    }

    @Test func staticMemberThatNeverReturnsExpires() {
        let h = KIP848Harness(session: 10_000)
        let b = SimMember("b", h)
        _ = h.join("a1", instance: "i")
        b.join()
        _ = h.hb(member: "a1", epoch: -2, instance: "i")
        for _ in 0..<4 { h.advance(3_000); b.beat() }
        #expect(h.group().member("a1") == nil)
        settle([b])
        #expect(b.count == 6)
    }

    @Test func rangeAndUniformAssignors() {
        let spec = AssignmentSpec(members: [
            .init(memberId: "a", topics: [KIP848Harness.t6, KIP848Harness.u2], current: [:]),
            .init(memberId: "b", topics: [KIP848Harness.t6, KIP848Harness.u2], current: [:]),
            .init(memberId: "c", topics: [KIP848Harness.t6], current: [:]),
        ], topics: [KIP848Harness.t6: 6, KIP848Harness.u2: 2])
        let range = RangeAssignor().assign(spec)
        #expect(range["a"]![KIP848Harness.t6] == [0, 1])
        #expect(range["c"]![KIP848Harness.t6] == [4, 5])
        #expect(range["a"]![KIP848Harness.u2] == [0])
        #expect(range["b"]![KIP848Harness.u2] == [1])
        let uniform = UniformAssignor().assign(spec)
        #expect(uniform.values.map(\.partitionCount).sorted() == [2, 3, 3])
        let total = uniform.values.reduce(0) { $0 + $1.partitionCount }
        #expect(total == 8)
        #expect(uniform["c"]![KIP848Harness.u2] == nil)
        // Sticky: adding a member moves only what balance requires.
        let before = UniformAssignor().assign(AssignmentSpec(members: [
            .init(memberId: "a", topics: [KIP848Harness.t6], current: [:]),
            .init(memberId: "b", topics: [KIP848Harness.t6], current: [:]),
        ], topics: [KIP848Harness.t6: 6]))
        let after = UniformAssignor().assign(AssignmentSpec(members: [
            .init(memberId: "a", topics: [KIP848Harness.t6], current: before["a"]!),
            .init(memberId: "b", topics: [KIP848Harness.t6], current: before["b"]!),
            .init(memberId: "c", topics: [KIP848Harness.t6], current: [:]),
        ], topics: [KIP848Harness.t6: 6]))
        #expect(after["a"]![KIP848Harness.t6]!.isSubset(of: before["a"]![KIP848Harness.t6]!))
        #expect(after["b"]![KIP848Harness.t6]!.isSubset(of: before["b"]![KIP848Harness.t6]!))
        #expect(after.values.map(\.partitionCount) == [Int](repeating: 2, count: 3))
    }

    @Test func memberChoosesRangeAssignor() {
        let h = KIP848Harness()
        let a = SimMember("a", h), b = SimMember("b", h)
        a.join(assignor: "range")
        b.join(assignor: "range")
        settle([a, b])
        #expect(a.owned[KIP848Harness.t6] == [0, 1, 2])
        #expect(b.owned[KIP848Harness.t6] == [3, 4, 5])
        let d = h.core.consumerGroupDescribe(["g"], topics: h.topics)[0]
        #expect(d.assignorName == "range")
        #expect(d.groupState == "Stable")
        #expect(d.members.count == 2)
        #expect(d.members[0].assignment.topicPartitions[0].topicName == "t")
    }

    @Test func addedPartitionsTriggerNewTargetAssignment() {
        let h = KIP848Harness()
        let a = SimMember("a", h), b = SimMember("b", h)
        a.join(); b.join()
        settle([a, b])
        let epoch = h.group().groupEpoch
        h.topicList[0].partitions = 8
        settle([a, b])
        #expect(h.group().groupEpoch == epoch + 1)
        assertDisjointCover([a, b], topic: KIP848Harness.t6, partitions: 8)
    }

    @Test func regexSubscription() {
        let h = KIP848Harness()
        let a = SimMember("a", h)
        a.apply(h.join("a", regex: "[tu]"))
        #expect(a.owned == [KIP848Harness.t6: Set(0..<6), KIP848Harness.u2: [0, 1]])
        // A new matching topic shows up.
        let v = KafkaUUID(high: 0x4000_0000_0000_0003, low: 0x8000_0000_0000_0003)
        h.topicList.append(GroupTopicInfo(name: "v", id: v, partitions: 1))
        h.topicList.append(GroupTopicInfo(name: "vv", id: KafkaUUID(high: 0x4000_0000_0000_0004, low: 0x8000_0000_0000_0004), partitions: 1))
        a.apply(h.hb(member: "a", epoch: a.epoch, regex: "[tuv]", owned: a.owned))
        settle([a])
        #expect(a.owned[v] == [0])
        #expect(a.owned.count == 3)  // "vv" does not match the whole name
    }

    @Test func offsetsCommittedWithMemberEpoch() {
        let h = KIP848Harness()
        let a = SimMember("a", h)
        a.join()
        let tp = [(name: "t", partitions: [CommitPartition(partition: 0, offset: 42, leaderEpoch: -1, metadata: "m")])]
        func commit(_ member: String, _ epoch: Int32, version: Int16 = 9) -> Int16 {
            h.core.commitOffsets(groupId: "g", generationId: epoch, memberId: member, instanceId: nil, version: version, topics: tp)[0].partitions[0].errorCode
        }
        #expect(commit("a", a.epoch) == 0)
        #expect(commit("a", a.epoch + 1) == ErrorCode.staleMemberEpoch.rawValue)
        #expect(commit("nobody", a.epoch) == ErrorCode.unknownMemberId.rawValue)
        #expect(commit("a", a.epoch, version: 8) == ErrorCode.unsupportedVersion.rawValue)
        #expect(commit("", -1) == ErrorCode.unknownMemberId.rawValue)  // group not empty
        let (e, topics) = h.core.fetchOffsets(groupId: "g", topics: nil)
        #expect(e == .none && topics[0].partitions[0].committedOffset == 42)
        #expect(h.core.fetchOffsets(groupId: "g", topics: nil, memberId: "a", memberEpoch: a.epoch + 3).0 == .staleMemberEpoch)
        #expect(h.core.fetchOffsets(groupId: "g", topics: nil, memberId: "a", memberEpoch: a.epoch).0 == .none)
        _ = h.hb(member: "a", epoch: -1)
        #expect(commit("", -1) == 0)  // empty group: admin commits are fine
    }

    @Test func classicAndConsumerGroupsStaySeparate() {
        let h = KIP848Harness()
        h.join("a")
        // A classic JoinGroup on a consumer group with members.
        var joinError: Int16 = -1
        let p = JoinParams(groupId: "g", memberId: "", groupInstanceId: nil, clientId: "c", clientHost: "", sessionTimeoutMs: 10_000,
                           rebalanceTimeoutMs: 10_000, protocolType: "consumer", protocols: [("range", ByteBuffer())],
                           requireKnownMemberId: true)
        h.core.join(p) { joinError = $0.errorCode }
        h.core.actions.forEach { $0() }
        h.core.actions.removeAll()
        #expect(joinError == ErrorCode.inconsistentGroupProtocol.rawValue)
        #expect(h.core.describe(groupId: "g").groupState == "Dead")
        #expect(h.core.deleteGroups(["g"])[0].errorCode == ErrorCode.nonEmptyGroup.rawValue)
        // A consumer heartbeat on a classic group with members.
        h.core.join(JoinParams(groupId: "classic", memberId: "", groupInstanceId: nil, clientId: "c", clientHost: "", sessionTimeoutMs: 10_000,
                               rebalanceTimeoutMs: 10_000, protocolType: "consumer", protocols: [("range", ByteBuffer())],
                               requireKnownMemberId: false)) { _ in }
        #expect(h.join("x", group: "classic").errorCode == ErrorCode.groupIdNotFound.rawValue)
        #expect(h.core.consumerGroupDescribe(["classic"], topics: h.topics)[0].errorCode == ErrorCode.groupIdNotFound.rawValue)
        // Once empty, the consumer group may become classic again (offsets kept).
        _ = h.core.commitOffsets(groupId: "g", generationId: 1, memberId: "a", instanceId: nil, version: 9,
                                 topics: [(name: "t", partitions: [CommitPartition(partition: 1, offset: 7, leaderEpoch: -1, metadata: nil)])])
        _ = h.hb(member: "a", epoch: -1)
        var second: Int16 = -1
        h.core.join(p) { second = $0.errorCode }
        h.core.actions.forEach { $0() }
        #expect(second == ErrorCode.memberIdRequired.rawValue)
        #expect(h.core.group("g")!.kip848 == nil)
        #expect(h.core.group("g")!.offsets[TopicPartitionKey(topic: "t", partition: 1)]?.offset == 7)
    }

    @Test func consumerGroupSurvivesReplayAsEmptyWithItsEpoch() throws {
        let store = MemoryGroupStore()
        let clock = FakeClock()
        var config = GroupCoordinatorConfig()
        config.consumerHeartbeatIntervalMs = 100
        let coord = GroupCoordinator(store: store, config: config, logger: GroupHarness.logger, clock: { clock.now })
        let topics = GroupTopics.fixed([GroupTopicInfo(name: "t", id: KIP848Harness.t6, partitions: 6)])
        var req = ConsumerGroupHeartbeatRequest()
        req.groupId = "g"
        req.memberId = "a"
        req.memberEpoch = 0
        req.rebalanceTimeoutMs = 1000
        req.subscribedTopicNames = ["t"]
        req.topicPartitions = []
        let r = coord.consumerGroupHeartbeat(req, clientId: "c", clientHost: "", topics: topics)
        #expect(r.memberEpoch == 1)
        let done = Box<Bool>()
        coord.commitOffsets(groupId: "g", generationId: 1, memberId: "a", instanceId: nil, version: 9,
                            topics: [(name: "t", partitions: [CommitPartition(partition: 2, offset: 99, leaderEpoch: -1, metadata: nil)])]) { _ in done.value = true }
        #expect(done.value == true)
        // Round trip through the codec too.
        for rec in store.stored {
            let (k, v) = try GroupRecordCodec.encode(rec)
            #expect(try GroupRecordCodec.decode(key: k, value: v) == rec)
        }
        let again = GroupCoordinator(store: store, config: config, logger: GroupHarness.logger, clock: { clock.now })
        try again.load()
        let rejoin = again.consumerGroupHeartbeat(req, clientId: "c", clientHost: "", topics: topics)
        #expect(rejoin.memberEpoch == 2)  // epochs keep increasing across restarts
        #expect(again.fetchOffsets(groupId: "g", topics: nil).1.first?.partitions.first?.committedOffset == 99)
        // A member from before the restart is unknown and must rejoin.
        var old = req
        old.memberId = "b"
        old.memberEpoch = 1
        old.topicPartitions = nil
        #expect(again.consumerGroupHeartbeat(old, clientId: "c", clientHost: "", topics: topics).errorCode == ErrorCode.unknownMemberId.rawValue)
    }
}

@Suite struct GroupOffsetExpiryTests {
    func core(_ clock: FakeClock) -> GroupCoordinatorCore {
        var config = GroupCoordinatorConfig()
        config.offsetsRetentionMs = 60_000
        config.offsetsRetentionCheckIntervalMs = 1_000
        return GroupCoordinatorCore(config: config, clock: { clock.now })
    }

    func commit(_ c: GroupCoordinatorCore, _ group: String, _ p: Int32, generation: Int32 = -1, member: String = "") {
        _ = c.commitOffsets(groupId: group, generationId: generation, memberId: member, instanceId: nil, version: 9,
                            topics: [(name: "t", partitions: [CommitPartition(partition: p, offset: 10, leaderEpoch: -1, metadata: nil)])])
    }

    @Test func standaloneOffsetsExpireFromTheirCommit() {
        let clock = FakeClock()
        let c = core(clock)
        commit(c, "simple", 0)
        clock.advance(30_000)
        commit(c, "simple", 1)
        c.records.removeAll()
        #expect(c.expireOffsets(now: clock.now + 30_000) == 1)
        #expect(c.group("simple")?.offsets.keys.map(\.partition) == [1])
        #expect(c.records == [.offset(group: "simple", partition: TopicPartitionKey(topic: "t", partition: 0), value: nil)])
        #expect(c.expireOffsets(now: clock.now + 60_000) == 1)
        #expect(c.group("simple") == nil)  // no offsets, no members: deleted
        #expect(c.records.last == .group(id: "simple", value: nil))
    }

    @Test func groupsWithMembersKeepOffsetsAndEmptyOnesCountFromEmptiness() {
        let clock = FakeClock()
        let c = core(clock)
        let topics = GroupTopics.fixed([GroupTopicInfo(name: "t", id: KIP848Harness.t6, partitions: 6)])
        var req = ConsumerGroupHeartbeatRequest()
        req.groupId = "g"
        req.memberId = "a"
        req.rebalanceTimeoutMs = 1000
        req.subscribedTopicNames = ["t"]
        req.topicPartitions = []
        #expect(c.consumerGroupHeartbeat(req, clientId: "", clientHost: "", topics: topics).memberEpoch == 1)
        commit(c, "g", 0, generation: 1, member: "a")
        clock.advance(120_000)
        // Still a member (its session is 45 s but we only look at expiry here): nothing expires.
        req.memberEpoch = 1
        req.topicPartitions = nil
        req.rebalanceTimeoutMs = -1
        req.subscribedTopicNames = nil
        _ = c.consumerGroupHeartbeat(req, clientId: "", clientHost: "", topics: topics)
        #expect(c.expireOffsets(now: clock.now) == 0)
        req.memberEpoch = -1
        _ = c.consumerGroupHeartbeat(req, clientId: "", clientHost: "", topics: topics)
        // Empty from now on: the old commit counts from the moment the group emptied.
        #expect(c.expireOffsets(now: clock.now + 59_000) == 0)
        #expect(c.expireOffsets(now: clock.now + 60_000) == 1)
        #expect(c.group("g") == nil)
    }

    @Test func tickRunsExpiry() {
        let clock = FakeClock()
        let c = core(clock)
        commit(c, "s", 0)
        c.tick()
        clock.advance(61_000)
        c.tick()
        #expect(c.group("s") == nil)
    }
}
