@testable import Broker
import Foundation
import KafkaProtocol
import Logging
import LogStore
import NIOCore
import Testing

/// A clock the tests move by hand.
final class FakeClock: @unchecked Sendable {
    var now: Int64 = 1_700_000_000_000
    func advance(_ ms: Int64) { now += ms }
}

/// Receives a parked response.
final class Box<T>: @unchecked Sendable {
    var value: T?
}

/// A coordinator over an in-memory store, driven by a fake clock.
final class GroupHarness {
    let clock = FakeClock()
    let store: MemoryGroupStore
    let coordinator: GroupCoordinator
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    init(store: MemoryGroupStore = MemoryGroupStore(), initialDelayMs: Int64 = 3000) {
        self.store = store
        var config = GroupCoordinatorConfig()
        config.initialRebalanceDelayMs = initialDelayMs
        let clock = self.clock
        coordinator = GroupCoordinator(store: store, config: config, logger: Self.logger, clock: { clock.now })
    }

    func advance(_ ms: Int64) {
        clock.advance(ms)
        coordinator.tick()
    }

    static func subscription(_ topics: [String]) -> ByteBuffer {
        try! ConsumerProtocolSubscription(topics: topics).encoded(version: 1)
    }

    func join(_ group: String = "g", member: String = "", instance: String? = nil, client: String = "c",
              protocols: [String] = ["range"], session: Int32 = 10_000, rebalance: Int32 = 30_000, version: Int16 = 5) -> Box<JoinGroupResponse> {
        let box = Box<JoinGroupResponse>()
        let p = JoinParams(groupId: group, memberId: member, groupInstanceId: instance, clientId: client, clientHost: "/127.0.0.1",
                           sessionTimeoutMs: session, rebalanceTimeoutMs: rebalance, protocolType: "consumer",
                           protocols: protocols.map { ($0, Self.subscription(["t"])) },
                           requireKnownMemberId: version >= 4, supportsSkipAssignment: version >= 9)
        coordinator.join(p) { box.value = $0 }
        return box
    }

    /// JoinGroup v4+ two-step: returns the parked second join.
    func joinTwoStep(_ group: String = "g", client: String = "c", protocols: [String] = ["range"], session: Int32 = 10_000,
                     rebalance: Int32 = 30_000) -> Box<JoinGroupResponse> {
        let first = join(group, client: client, protocols: protocols, session: session, rebalance: rebalance)
        #expect(first.value?.errorCode == ErrorCode.memberIdRequired.rawValue)
        return join(group, member: first.value!.memberId, client: client, protocols: protocols, session: session, rebalance: rebalance)
    }

    func sync(_ group: String = "g", member: String, generation: Int32, instance: String? = nil,
              assignments: [(String, ByteBuffer)] = []) -> Box<SyncGroupResponse> {
        let box = Box<SyncGroupResponse>()
        coordinator.sync(SyncParams(groupId: group, memberId: member, groupInstanceId: instance, generationId: generation,
                                    protocolType: "consumer", protocolName: nil, assignments: assignments)) { box.value = $0 }
        return box
    }

    func heartbeat(_ group: String = "g", member: String, generation: Int32, instance: String? = nil) -> ErrorCode {
        coordinator.heartbeat(groupId: group, memberId: member, instanceId: instance, generationId: generation)
    }

    func commit(_ group: String = "g", member: String = "", generation: Int32 = -1, offsets: [Int32: Int64], metadata: String? = nil) -> [Int16] {
        let box = Box<[OffsetCommitResponse.Topic]>()
        coordinator.commitOffsets(groupId: group, generationId: generation, memberId: member, instanceId: nil, version: 8,
                                  topics: [("t", offsets.sorted { $0.key < $1.key }.map { CommitPartition(partition: $0.key, offset: $0.value, leaderEpoch: -1, metadata: metadata) })]) {
            box.value = $0
        }
        return box.value!.flatMap { $0.partitions.map(\.errorCode) }
    }

    func state(_ group: String = "g") -> ClassicGroupState? { coordinator.inspect { $0.group(group)?.state } }

    /// One member, stable at generation 1.
    func stableSingle(_ group: String = "g", session: Int32 = 10_000) -> String {
        let j = joinTwoStep(group, session: session)
        advance(3000)
        let r = j.value!
        #expect(r.errorCode == 0)
        let s = sync(group, member: r.memberId, generation: r.generationId, assignments: [(r.memberId, ByteBuffer(string: "a1"))])
        #expect(s.value?.errorCode == 0)
        return r.memberId
    }
}

@Suite struct ClassicGroupStateMachineTests {
    @Test func memberIdRequiredThenJoinAfterInitialDelay() {
        let h = GroupHarness()
        let first = h.join()
        #expect(first.value?.errorCode == ErrorCode.memberIdRequired.rawValue)
        let id = first.value!.memberId
        #expect(id.hasPrefix("c-"))
        let second = h.join(member: id)
        #expect(second.value == nil)
        #expect(h.state() == .preparingRebalance)
        h.advance(2999)
        #expect(second.value == nil)
        h.advance(1)
        let r = second.value!
        #expect(r.errorCode == 0)
        #expect(r.generationId == 1)
        #expect(r.leader == id)
        #expect(r.protocolName == "range")
        #expect(r.members.map(\.memberId) == [id])
        #expect(h.state() == .completingRebalance)
        let s = h.sync(member: id, generation: 1, assignments: [(id, ByteBuffer(string: "assign"))])
        #expect(s.value?.errorCode == 0)
        #expect(s.value?.assignment == ByteBuffer(string: "assign"))
        #expect(h.state() == .stable)
    }

    @Test func oldJoinVersionsGetAMemberIdAtOnce() {
        let h = GroupHarness(initialDelayMs: 0)
        let j = h.join(version: 3)
        #expect(j.value == nil)
        h.advance(1)
        #expect(j.value?.errorCode == 0)
        #expect(j.value?.memberId.isEmpty == false)
    }

    @Test func concurrentInitialJoinsFormOneGeneration() {
        let h = GroupHarness()
        let boxes = (0..<3).map { h.joinTwoStep(client: "c\($0)") }
        h.advance(3000)  // each join extended the delay; bounded by the rebalance timeout
        h.advance(3000)
        h.advance(3000)
        let rs = boxes.map { $0.value! }
        #expect(rs.allSatisfy { $0.errorCode == 0 && $0.generationId == 1 })
        let leader = rs.filter { !$0.members.isEmpty }
        #expect(leader.count == 1)
        #expect(Set(leader[0].members.map(\.memberId)) == Set(rs.map(\.memberId)))
    }

    @Test func secondConsumerJoiningAStableGroupConverges() {
        let h = GroupHarness()
        let m1 = h.stableSingle()
        let j2 = h.joinTwoStep(client: "c2")
        #expect(j2.value == nil)
        #expect(h.state() == .preparingRebalance)
        // The old member learns of the rebalance by heartbeat, and may still commit meanwhile.
        #expect(h.heartbeat(member: m1, generation: 1) == .rebalanceInProgress)
        #expect(h.commit(member: m1, generation: 1, offsets: [0: 5]) == [0])
        let j1 = h.join(member: m1)
        let r1 = j1.value!, r2 = j2.value!
        #expect(r1.errorCode == 0 && r2.errorCode == 0)
        #expect(r1.generationId == 2 && r2.generationId == 2)
        #expect(r1.leader == m1)
        #expect(r1.members.count == 2)
        #expect(r2.members.isEmpty)
        // Follower syncs first and waits for the leader's assignment.
        let s2 = h.sync(member: r2.memberId, generation: 2)
        #expect(s2.value == nil)
        let s1 = h.sync(member: m1, generation: 2, assignments: [(m1, ByteBuffer(string: "A")), (r2.memberId, ByteBuffer(string: "B"))])
        #expect(s1.value?.assignment == ByteBuffer(string: "A"))
        #expect(s2.value?.assignment == ByteBuffer(string: "B"))
        #expect(h.state() == .stable)
    }

    @Test func sessionTimeoutRemovesDeadMemberAndRebalances() {
        let h = GroupHarness()
        let m1 = h.stableSingle()
        let j2 = h.joinTwoStep(client: "c2")
        _ = h.join(member: m1)
        let r2 = j2.value!
        _ = h.sync(member: r2.memberId, generation: 2)
        _ = h.sync(member: m1, generation: 2, assignments: [])
        #expect(h.state() == .stable)
        // m1 keeps heartbeating, m2 dies.
        for _ in 0..<4 {
            h.advance(3000)
            if h.state() == .stable { #expect(h.heartbeat(member: m1, generation: 2) == .none) }
        }
        #expect(h.state() == .preparingRebalance)
        #expect(h.heartbeat(member: r2.memberId, generation: 2) == .unknownMemberId)
        #expect(h.heartbeat(member: m1, generation: 2) == .rebalanceInProgress)
        let j1 = h.join(member: m1)
        #expect(j1.value?.generationId == 3)
        #expect(j1.value?.members.map(\.memberId) == [m1])
    }

    @Test func memberMissingTheRebalanceTimeoutIsRemoved() {
        let h = GroupHarness()
        let m1 = h.stableSingle(session: 60_000)
        let j2 = h.joinTwoStep(client: "c2", session: 60_000, rebalance: 20_000)
        #expect(j2.value == nil)
        h.advance(29_999)  // the group's rebalance timeout is the largest of its members'
        #expect(j2.value == nil)
        h.advance(1)
        // m1 never rejoined within the rebalance timeout: generation 2 has only m2, now the leader.
        let r2 = j2.value!
        #expect(r2.errorCode == 0 && r2.generationId == 2 && r2.leader == r2.memberId)
        #expect(r2.members.map(\.memberId) == [r2.memberId])
        #expect(h.heartbeat(member: m1, generation: 1) == .unknownMemberId)
    }

    @Test func leaveGroupTriggersRebalanceAndEmptiesGroup() {
        let h = GroupHarness()
        let m1 = h.stableSingle()
        let (e, results) = h.coordinator.leave(groupId: "g", members: [(m1, nil), ("nobody", nil)])
        #expect(e == .none)
        #expect(results.map(\.errorCode) == [0, ErrorCode.unknownMemberId.rawValue])
        #expect(h.state() == .empty)
        #expect(h.coordinator.inspect { $0.group("g")!.generationId } == 2)
        #expect(h.coordinator.leave(groupId: "nope", members: [(m1, nil)]).0 == .unknownMemberId)
    }

    @Test func staticMemberRejoinsWithoutRebalance() {
        let h = GroupHarness()
        let j = h.join(instance: "i1")
        h.advance(3000)
        let r = j.value!
        #expect(r.errorCode == 0)
        #expect(r.memberId.hasPrefix("i1-"))
        _ = h.sync(member: r.memberId, generation: 1, instance: "i1", assignments: [(r.memberId, ByteBuffer(string: "A"))])
        #expect(h.state() == .stable)
        // Restarted process, same instance id, no member id.
        let again = h.join(instance: "i1")
        let r2 = again.value!
        #expect(r2.errorCode == 0)
        #expect(r2.generationId == 1)
        #expect(r2.memberId != r.memberId)
        #expect(h.state() == .stable)
        let s = h.sync(member: r2.memberId, generation: 1, instance: "i1")
        #expect(s.value?.assignment == ByteBuffer(string: "A"))
        // The old incarnation is fenced.
        #expect(h.heartbeat(member: r.memberId, generation: 1, instance: "i1") == .fencedInstanceId)
        #expect(h.heartbeat(member: r2.memberId, generation: 1, instance: "i1") == .none)
    }

    @Test func generationFencing() {
        let h = GroupHarness()
        let m1 = h.stableSingle()
        #expect(h.heartbeat(member: m1, generation: 7) == .illegalGeneration)
        #expect(h.sync(member: m1, generation: 7).value?.errorCode == ErrorCode.illegalGeneration.rawValue)
        #expect(h.commit(member: m1, generation: 7, offsets: [0: 1]) == [ErrorCode.illegalGeneration.rawValue])
        #expect(h.commit(member: "ghost", generation: 1, offsets: [0: 1]) == [ErrorCode.unknownMemberId.rawValue])
        // A standalone commit into a group with live members is refused.
        #expect(h.commit(offsets: [0: 1]) == [ErrorCode.unknownMemberId.rawValue])
        _ = h.joinTwoStep(client: "c2")
        #expect(h.sync(member: m1, generation: 1).value?.errorCode == ErrorCode.rebalanceInProgress.rawValue)
        #expect(h.join(member: "ghost").value?.errorCode == ErrorCode.unknownMemberId.rawValue)
        #expect(h.join("absent", member: "ghost").value?.errorCode == ErrorCode.unknownMemberId.rawValue)
    }

    @Test func protocolSelectionAndInconsistentProtocols() {
        let h = GroupHarness()
        let a = h.joinTwoStep(client: "a", protocols: ["range", "roundrobin"])
        let b = h.joinTwoStep(client: "b", protocols: ["roundrobin", "range"])
        let c = h.joinTwoStep(client: "c", protocols: ["roundrobin"])
        #expect(h.join(client: "d", protocols: ["cooperative-sticky"]).value?.errorCode == ErrorCode.inconsistentGroupProtocol.rawValue)
        for _ in 0..<4 { h.advance(3000) }
        #expect([a, b, c].allSatisfy { $0.value?.protocolName == "roundrobin" })
    }

    @Test func invalidSessionTimeoutAndEmptyGroupId() {
        let h = GroupHarness()
        #expect(h.join(session: 10).value?.errorCode == ErrorCode.invalidSessionTimeout.rawValue)
        #expect(h.join("").value?.errorCode == ErrorCode.invalidGroupId.rawValue)
    }

    @Test func loadingAnswersCoordinatorLoadInProgress() {
        let h = GroupHarness()
        h.coordinator.withCore { $0.loading = true }
        #expect(h.join().value?.errorCode == ErrorCode.coordinatorLoadInProgress.rawValue)
        #expect(h.commit(offsets: [0: 1]) == [ErrorCode.coordinatorLoadInProgress.rawValue])
        #expect(h.coordinator.fetchOffsets(groupId: "g", topics: nil).0 == .coordinatorLoadInProgress)
    }

    @Test func offsetsCommitFetchDelete() {
        let h = GroupHarness()
        #expect(h.commit("simple", offsets: [0: 10, 1: 20], metadata: "meta") == [0, 0])
        let (e, topics) = h.coordinator.fetchOffsets(groupId: "simple", topics: [("t", [0, 1, 2])])
        #expect(e == .none)
        #expect(topics[0].partitions.map(\.committedOffset) == [10, 20, -1])
        #expect(topics[0].partitions[0].metadata == "meta")
        let all = h.coordinator.fetchOffsets(groupId: "simple", topics: nil).1
        #expect(all.map(\.name) == ["t"] && all[0].partitions.count == 2)
        #expect(h.coordinator.fetchOffsets(groupId: "unknown", topics: [("t", [0])]).1[0].partitions[0].committedOffset == -1)
        #expect(h.commit("simple", offsets: [0: 1], metadata: String(repeating: "x", count: 5000)) == [ErrorCode.offsetMetadataTooLarge.rawValue])
        #expect(h.coordinator.listGroups(states: ["empty"], types: []).map(\.groupId) == ["simple"])
        #expect(h.coordinator.listGroups(states: ["stable"], types: []).isEmpty)
        // OffsetDelete on an empty group.
        let box = Box<(ErrorCode, [OffsetDeleteResponse.Topic])>()
        h.coordinator.deleteOffsets(groupId: "simple", topics: [("t", [1])]) { box.value = $0 }
        #expect(box.value?.0 == ErrorCode.none)
        #expect(h.coordinator.fetchOffsets(groupId: "simple", topics: [("t", [1])]).1[0].partitions[0].committedOffset == -1)
        // DeleteGroups.
        let m = h.stableSingle()
        _ = m
        let del = Box<[DeleteGroupsResponse.Result]>()
        h.coordinator.deleteGroups(["simple", "g", "missing"]) { del.value = $0 }
        #expect(del.value!.map(\.errorCode) == [0, ErrorCode.nonEmptyGroup.rawValue, ErrorCode.groupIdNotFound.rawValue])
        #expect(h.coordinator.fetchOffsets(groupId: "simple", topics: [("t", [0])]).1[0].partitions[0].committedOffset == -1)
        // OffsetDelete of a subscribed topic in a live group.
        let od = Box<(ErrorCode, [OffsetDeleteResponse.Topic])>()
        h.coordinator.deleteOffsets(groupId: "g", topics: [("t", [0]), ("other", [0])]) { od.value = $0 }
        #expect(od.value!.1.map { $0.partitions[0].errorCode } == [ErrorCode.groupSubscribedToTopic.rawValue, 0])
    }

    @Test func describeShowsMembersAndAssignments() {
        let h = GroupHarness()
        let m = h.stableSingle()
        let d = h.coordinator.describe(["g", "missing"])
        #expect(d[0].groupState == "Stable")
        #expect(d[0].protocolType == "consumer" && d[0].protocolData == "range")
        #expect(d[0].members.map(\.memberId) == [m])
        #expect(d[0].members[0].clientId == "c" && d[0].members[0].clientHost == "/127.0.0.1")
        #expect(d[0].members[0].memberAssignment == ByteBuffer(string: "a1"))
        #expect(d[1].groupState == "Dead")
    }
}

@Suite struct GroupStorageTests {
    @Test func recordCodecRoundTrip() throws {
        var gv = GroupMetadataValue()
        gv.protocolType = "consumer"
        gv.generationId = 4
        gv.protocolName = "range"
        gv.leader = "m1"
        var mv = GroupMetadataValue.Member()
        mv.memberId = "m1"
        mv.groupInstanceId = "i"
        mv.assignment = ByteBuffer(string: "A")
        gv.members = [mv]
        let records: [GroupRecord] = [
            .offset(group: "g", partition: TopicPartitionKey(topic: "t", partition: 3), value: CommittedOffset(offset: 42, leaderEpoch: 2, metadata: "m", commitTimestamp: 7)),
            .offset(group: "g", partition: TopicPartitionKey(topic: "t", partition: 3), value: nil),
            .group(id: "g", value: gv),
            .group(id: "g", value: nil),
        ]
        for r in records {
            let (k, v) = try GroupRecordCodec.encode(r)
            #expect(try GroupRecordCodec.decode(key: k, value: v) == r)
        }
    }

    @Test func stateSurvivesReplayFromStore() {
        let store = MemoryGroupStore()
        let h = GroupHarness(store: store)
        let m = h.stableSingle()
        #expect(h.commit(member: m, generation: 1, offsets: [0: 100, 1: 200], metadata: "x") == [0, 0])
        #expect(h.commit("simple", offsets: [0: 7]) == [0])
        // A new coordinator over the same records (a restart).
        let h2 = GroupHarness(store: store)
        try! h2.coordinator.load()
        #expect(h2.state() == .stable)
        #expect(h2.coordinator.fetchOffsets(groupId: "g", topics: [("t", [0, 1])]).1[0].partitions.map(\.committedOffset) == [100, 200])
        #expect(h2.coordinator.fetchOffsets(groupId: "simple", topics: [("t", [0])]).1[0].partitions[0].committedOffset == 7)
        // The member carries on with its generation, no rebalance.
        #expect(h2.heartbeat(member: m, generation: 1) == .none)
        #expect(h2.sync(member: m, generation: 1).value?.assignment == ByteBuffer(string: "a1"))
        #expect(h2.commit(member: m, generation: 1, offsets: [0: 101]) == [0])
        // If it never comes back, its session expires and the group empties.
        h2.advance(11_000)
        h2.advance(30_000)
        #expect(h2.state() == .empty)
    }

    @Test func offsetsLogPersistsAndCompacts() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rb-groups-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let logger = GroupHarness.logger
        let clock = FakeClock()
        func coordinator(_ store: OffsetsLogStore) -> GroupCoordinator {
            GroupCoordinator(store: store, config: GroupCoordinatorConfig(), logger: logger, clock: { clock.now })
        }
        // Small segments, so the log rolls and the cleaner has closed segments to compact.
        var config = OffsetsLogStore.logConfig
        config.segmentBytes = 1024
        do {
            let store = try OffsetsLogStore(directory: dir, flusher: nil, logger: logger, config: config)
            let c = coordinator(store)
            try c.load()
            for i in 0..<1000 {
                let done = Box<[OffsetCommitResponse.Topic]>()
                c.commitOffsets(groupId: "g\(i % 3)", generationId: -1, memberId: "", instanceId: nil, version: 8,
                                topics: [("t", [CommitPartition(partition: Int32(i % 4), offset: Int64(i), leaderEpoch: -1, metadata: "m\(i)")])]) { done.value = $0 }
                #expect(done.value?[0].partitions[0].errorCode == 0)
            }
            #expect(store.log.segmentCount > 20)
            // The broker's cleaner compacts it like any compacted topic.
            let cleaner = LogCleaner(logger: logger)
            cleaner.addSource { [store.log] }
            #expect(cleaner.cleanFilthiest())
            #expect(store.log.segmentCount > 1)
            store.close()
        }
        // Reopen: everything is there, and replay reads only the compacted records.
        let store = try OffsetsLogStore(directory: dir, flusher: nil, logger: logger, config: config)
        let c = coordinator(store)
        try c.load()
        #expect(store.recordCount < 200)
        let (_, topics) = c.fetchOffsets(groupId: "g0", topics: nil)
        // g0 got i = 0,3,6,...,999; the last commit per partition p is the largest i ≡ 0 mod 3 with i % 4 == p.
        var expected: [Int64] = [-1, -1, -1, -1]
        for i in stride(from: 0, to: 1000, by: 3) { expected[i % 4] = Int64(i) }
        #expect(topics[0].partitions.map(\.committedOffset) == expected)
        #expect(topics[0].partitions[0].metadata == "m\(expected[0])")
        let dirs = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("log-") }
        #expect(dirs.count == 1)
        store.close()
    }
}
