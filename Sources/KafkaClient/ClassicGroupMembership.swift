import KafkaProtocol
import Logging
import NIOCore

/// Classic consumer group membership: JoinGroup/SyncGroup, client-side assignment by the
/// leader, heartbeats, eager (range) and cooperative (cooperative-sticky) rebalancing.
extension ConsumerCore {
    // MARK: The membership loop

    func classicGroupLoop() async {
        var failures = 0
        while !closed && !Task.isCancelled {
            if rejoinNeeded {
                do {
                    try await joinAndSync()
                    failures = 0
                } catch {
                    failures += 1
                    logger.info("joining group failed; retrying", metadata: ["group": "\(config.groupID ?? "")", "error": "\(error)"])
                    if let code = (error as? KafkaError)?.code, [16, 15, 14].contains(code) {
                        await cluster.invalidateCoordinator(group: config.groupID ?? "")
                    }
                    try? await Task.sleep(for: config.retryBackoff * min(failures, 20))
                    continue
                }
            }
            // Heartbeat until something asks for a rejoin.
            let interval = config.heartbeatInterval
            try? await Task.sleep(for: rejoinNeeded ? .zero : min(interval, config.autoCommitInterval))
            if closed || Task.isCancelled { break }
            if rejoinNeeded { continue }
            await classicHeartbeat()
            if config.enableAutoCommit && ContinuousClock.now - lastCommit >= config.autoCommitInterval {
                try? await commitPositions()
            }
            if case .pattern = subscription, ContinuousClock.now - lastPatternCheck >= config.patternRefreshInterval {
                lastPatternCheck = .now
                if let t = try? await matchTopics(), t != subscribedTopics {
                    subscribedTopics = t
                    rejoinNeeded = true
                }
            }
        }
    }

    private var useCooperative: Bool {
        protocolName.flatMap { KafkaAssignor(rawValue: $0) }?.isCooperative ?? config.assignors.first!.isCooperative
    }

    func joinAndSync() async throws {
        let group = try groupID
        // Eager protocol: give everything up before rejoining.
        if !useCooperative || protocolName == nil {
            let owned = assignedPartitions()
            if !owned.isEmpty && joinedOnce {
                if config.enableAutoCommit { try? await commitPositions() }
                await listener?.onPartitionsRevoked(owned)
                setAssignment([])
            }
        }
        var coord = try await cluster.coordinator(group: group)
        let owned = assignedPartitions()
        var subscriptionBlob = ByteBuffer()
        let sub = ConsumerProtocolSubscription(
            topics: subscribedTopics.sorted(),
            ownedPartitions: Dictionary(grouping: owned, by: \.topic).sorted { $0.key < $1.key }.map {
                ConsumerProtocolTopicPartition(topic: $0.key, partitions: $0.value.map(\.partition).sorted())
            },
            generationId: generationID)
        try sub.encode(version: 1, into: &subscriptionBlob)
        var join = JoinGroupRequest()
        join.groupId = group
        join.sessionTimeoutMs = Int32(clamping: config.sessionTimeout.milliseconds)
        join.rebalanceTimeoutMs = Int32(clamping: config.rebalanceTimeout.milliseconds)
        join.memberId = memberID
        join.groupInstanceId = config.groupInstanceID
        join.protocolType = "consumer"
        join.protocols = config.assignors.map {
            var p = JoinGroupRequest.GroupProtocol()
            p.name = $0.rawValue
            p.metadata = subscriptionBlob
            return p
        }
        join.reason = "joining"
        let joinTimeout = (config.rebalanceTimeout + config.client.requestTimeout).timeAmount
        var resp = try await coord.send(join, timeout: joinTimeout)
        if resp.errorCode == ErrorCode.memberIdRequired.rawValue {
            memberID = resp.memberId
            join.memberId = resp.memberId
            resp = try await coord.send(join, timeout: joinTimeout)
        }
        switch resp.errorCode {
        case 0: break
        case ErrorCode.unknownMemberId.rawValue, ErrorCode.illegalGeneration.rawValue, ErrorCode.fencedInstanceId.rawValue:
            memberID = ""
            generationID = -1
            throw KafkaError.broker(code: resp.errorCode, message: nil, context: "JoinGroup")
        case ErrorCode.notCoordinator.rawValue, ErrorCode.coordinatorNotAvailable.rawValue:
            await cluster.invalidateCoordinator(group: group)
            throw KafkaError.broker(code: resp.errorCode, message: nil, context: "JoinGroup")
        default:
            throw KafkaError.broker(code: resp.errorCode, message: nil, context: "JoinGroup")
        }
        memberID = resp.memberId
        generationID = resp.generationId
        protocolName = resp.protocolName
        let chosen = KafkaAssignor(rawValue: resp.protocolName ?? "") ?? config.assignors.first!

        var assignments = [SyncGroupRequest.Assignment]()
        if resp.leader == resp.memberId && !resp.skipAssignment {
            assignments = try await leaderAssign(resp.members, assignor: chosen)
        }
        var sync = SyncGroupRequest()
        sync.groupId = group
        sync.generationId = generationID
        sync.memberId = memberID
        sync.groupInstanceId = config.groupInstanceID
        sync.protocolType = "consumer"
        sync.protocolName = resp.protocolName
        sync.assignments = assignments
        coord = try await cluster.coordinator(group: group)
        let syncResp = try await coord.send(sync, timeout: joinTimeout)
        if syncResp.errorCode != 0 {
            if syncResp.errorCode == ErrorCode.unknownMemberId.rawValue || syncResp.errorCode == ErrorCode.illegalGeneration.rawValue {
                memberID = ""
                generationID = -1
            }
            throw KafkaError.broker(code: syncResp.errorCode, message: nil, context: "SyncGroup")
        }
        var newAssignment = Set<TopicPartition>()
        if syncResp.assignment.readableBytes > 0 {
            let a = try ConsumerProtocolAssignment.decode(from: syncResp.assignment)
            for t in a.assignedPartitions { for p in t.partitions { newAssignment.insert(TopicPartition(t.topic, p)) } }
        }
        rejoinNeeded = false
        joinedOnce = true
        metrics.rebalances.increment()
        let previous = Set(assignedPartitions())
        let revoked = previous.subtracting(newAssignment).sorted()
        let added = newAssignment.subtracting(previous).sorted()
        logger.debug("group assignment", metadata: ["group": "\(group)", "generation": "\(generationID)", "protocol": "\(chosen.rawValue)",
                                                    "assigned": "\(newAssignment.sorted())"])
        if !revoked.isEmpty {
            if config.enableAutoCommit { try? await commit(positions(of: revoked)) }
            await listener?.onPartitionsRevoked(revoked)
        }
        setAssignment(newAssignment)
        await listener?.onPartitionsAssigned(added)
        kick()
        // Cooperative: partitions given up must be handed out in a follow-up rebalance.
        if chosen.isCooperative && !revoked.isEmpty { rejoinNeeded = true }
    }

    /// The leader's job: decode every subscription and run the assignor.
    func leaderAssign(_ members: [JoinGroupResponse.Member], assignor: KafkaAssignor) async throws -> [SyncGroupRequest.Assignment] {
        var am = [AssignorMember]()
        var topics = Set<String>()
        for m in members {
            let s = try ConsumerProtocolSubscription.decode(from: m.metadata)
            var owned = [TopicPartition]()
            for t in s.ownedPartitions { for p in t.partitions { owned.append(TopicPartition(t.topic, p)) } }
            am.append(AssignorMember(memberID: m.memberId, topics: Set(s.topics), owned: owned, generation: s.generationId))
            topics.formUnion(s.topics)
        }
        var counts = [String: Int]()
        for t in topics {
            if let info = try? await cluster.topic(t) { counts[t] = info.partitionCount }
        }
        let result = Assignors.assign(assignor, members: am, partitionCounts: counts)
        return try members.map { m in
            let tps = result[m.memberId] ?? []
            let a = ConsumerProtocolAssignment(assignedPartitions: Dictionary(grouping: tps, by: \.topic).sorted { $0.key < $1.key }.map {
                ConsumerProtocolTopicPartition(topic: $0.key, partitions: $0.value.map(\.partition).sorted())
            })
            var s = SyncGroupRequest.Assignment()
            s.memberId = m.memberId
            s.assignment = try a.encoded(version: 1)
            return s
        }
    }

    func classicHeartbeat() async {
        guard let group = config.groupID, generationID >= 0 else { return }
        do {
            let coord = try await cluster.coordinator(group: group)
            var req = HeartbeatRequest()
            req.groupId = group
            req.generationId = generationID
            req.memberId = memberID
            req.groupInstanceId = config.groupInstanceID
            let resp = try await coord.send(req)
            switch resp.errorCode {
            case 0: break
            case ErrorCode.rebalanceInProgress.rawValue:
                rejoinNeeded = true
            case ErrorCode.unknownMemberId.rawValue, ErrorCode.illegalGeneration.rawValue, ErrorCode.fencedInstanceId.rawValue:
                // Membership lost: the partitions may already belong to someone else.
                let lost = assignedPartitions()
                memberID = ""
                generationID = -1
                if !lost.isEmpty {
                    if let l = listener { await (l.onPartitionsLost ?? l.onPartitionsRevoked)(lost) }
                    setAssignment([])
                }
                rejoinNeeded = true
            case ErrorCode.notCoordinator.rawValue, ErrorCode.coordinatorNotAvailable.rawValue:
                await cluster.invalidateCoordinator(group: group)
            default:
                logger.info("heartbeat error", metadata: ["code": "\(resp.errorCode)"])
            }
        } catch {
            logger.debug("heartbeat failed", metadata: ["error": "\(error)"])
            await cluster.invalidateCoordinator(group: group)
        }
    }

    /// LeaveGroup, so the group rebalances now rather than after the session timeout (a static
    /// member stays, keeping its assignment for its session).
    func leaveClassicGroup() async {
        guard let group = config.groupID, !memberID.isEmpty, config.groupInstanceID == nil else { return }
        do {
            let coord = try await cluster.coordinator(group: group)
            var req = LeaveGroupRequest()
            req.groupId = group
            if let v = coord.version(for: LeaveGroupRequest.self), v >= 3 {
                var m = LeaveGroupRequest.Member()
                m.memberId = memberID
                m.reason = "consumer closed"
                req.members = [m]
            } else {
                req.memberId = memberID
            }
            _ = try await coord.send(req, timeout: .seconds(5))
        } catch {
            logger.debug("leave group failed", metadata: ["error": "\(error)"])
        }
        memberID = ""
        generationID = -1
    }
}
