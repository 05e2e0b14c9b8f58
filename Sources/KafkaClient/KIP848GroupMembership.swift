import KafkaProtocol
import Logging
import NIOCore

/// KIP-848 group membership (`groupProtocol = .consumer`): one ConsumerGroupHeartbeat carries
/// the subscription and the partitions owned; the broker answers with the member epoch and,
/// when it changed, the member's assignment. The client reconciles: revokes what it lost
/// (commit, callback), takes what it got, and tells the broker in the next heartbeat.
extension ConsumerCore {
    func kip848GroupLoop() async {
        let group = config.groupID ?? ""
        var failures = 0
        generationID = 0
        if memberID.isEmpty { memberID = KafkaUUID.random().description }
        while !closed && !Task.isCancelled {
            do {
                try await kip848Heartbeat(group: group)
                failures = 0
            } catch let e as KafkaError where !e.isRetriable {  // coordinator moves (14–16) are retriable
                logger.error("consumer group heartbeat failed", metadata: ["group": "\(group)", "error": "\(e)"])
                fatalError = e
                wakeWaiters()
                return
            } catch {
                failures += 1
                logger.info("consumer group heartbeat failed; retrying", metadata: ["group": "\(group)", "error": "\(error)"])
                await cluster.invalidateCoordinator(group: group)
                try? await Task.sleep(for: config.retryBackoff * min(failures, 20))
                continue
            }
            if let assignment = pendingAssignment {
                pendingAssignment = nil
                do {
                    try await reconcile(assignment)
                } catch {
                    logger.info("reconciling the assignment failed; retrying", metadata: ["error": "\(error)"])
                    pendingAssignment = assignment
                    try? await Task.sleep(for: config.retryBackoff)
                }
                continue  // acknowledge what is owned now at once
            }
            let interval = min(brokerHeartbeatInterval ?? config.heartbeatInterval, config.heartbeatInterval, config.autoCommitInterval)
            var slept = Duration.zero
            while slept < interval && !rejoinNeeded && !closed && !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(50))
                slept += .milliseconds(50)
            }
            rejoinNeeded = false
            if config.enableAutoCommit && ContinuousClock.now - lastCommit >= config.autoCommitInterval {
                try? await commitPositions()
            }
            if case .pattern = subscription, ContinuousClock.now - lastPatternCheck >= config.patternRefreshInterval {
                lastPatternCheck = .now
                if let t = try? await matchTopics(), t != subscribedTopics { subscribedTopics = t }
            }
        }
    }

    private func heartbeatRequest(group: String, epoch: Int32) async -> ConsumerGroupHeartbeatRequest {
        var req = ConsumerGroupHeartbeatRequest()
        req.groupId = group
        req.memberId = memberID
        req.memberEpoch = epoch
        req.instanceId = config.groupInstanceID
        req.rebalanceTimeoutMs = Int32(clamping: config.rebalanceTimeout.milliseconds)
        req.subscribedTopicNames = subscribedTopics.sorted()
        req.serverAssignor = config.groupRemoteAssignor
        var owned = [ConsumerGroupHeartbeatRequest.TopicPartitions]()
        for (topic, tps) in Dictionary(grouping: assignedPartitions(), by: \.topic).sorted(by: { $0.key < $1.key }) {
            let id = (try? await cluster.topic(topic))?.topicId ?? .zero
            if id != .zero { owned.append(.init(topicId: id, partitions: tps.map(\.partition).sorted())) }
        }
        req.topicPartitions = owned
        return req
    }

    private func kip848Heartbeat(group: String) async throws {
        let coord = try await cluster.coordinator(group: group)
        guard coord.version(for: ConsumerGroupHeartbeatRequest.self) != nil else {
            throw KafkaError.unsupportedApi("ConsumerGroupHeartbeat (the KIP-848 consumer group protocol; use groupProtocol = .classic)")
        }
        let req = await heartbeatRequest(group: group, epoch: generationID)
        let resp = try await coord.send(req)
        switch resp.errorCode {
        case 0:
            if let m = resp.memberId, !m.isEmpty { memberID = m }
            generationID = resp.memberEpoch
            if resp.heartbeatIntervalMs > 0 { brokerHeartbeatInterval = .milliseconds(Int64(resp.heartbeatIntervalMs)) }
            if let a = resp.assignment { pendingAssignment = a }
        case ErrorCode.unknownMemberId.rawValue, ErrorCode.fencedMemberEpoch.rawValue:
            // Fenced: the partitions may already be someone else's; start over with epoch 0.
            let lost = assignedPartitions()
            if !lost.isEmpty {
                if let l = listener { await (l.onPartitionsLost ?? l.onPartitionsRevoked)(lost) }
                setAssignment([])
            }
            generationID = 0
            pendingAssignment = nil
            metrics.rebalances.increment()
        case ErrorCode.notCoordinator.rawValue, ErrorCode.coordinatorNotAvailable.rawValue, ErrorCode.coordinatorLoadInProgress.rawValue:
            throw KafkaError.broker(code: resp.errorCode, message: resp.errorMessage, context: "ConsumerGroupHeartbeat")
        default:
            throw KafkaError.broker(code: resp.errorCode, message: resp.errorMessage, context: "ConsumerGroupHeartbeat(\(group))")
        }
    }

    /// Moves to the broker's assignment: revoke first (commit, callback), then take the rest.
    private func reconcile(_ assignment: ConsumerGroupHeartbeatResponse.Assignment) async throws {
        var target = Set<TopicPartition>()
        let wanted = subscribedTopics.sorted()
        for tps in assignment.topicPartitions {
            guard let name = try await cluster.topicName(for: tps.topicId, refreshing: wanted.isEmpty ? nil : wanted) else {
                throw KafkaError.unknownTopic("topic id \(tps.topicId) in the group assignment")
            }
            for p in tps.partitions { target.insert(TopicPartition(name, p)) }
        }
        let owned = Set(assignedPartitions())
        let revoked = owned.subtracting(target).sorted()
        let added = target.subtracting(owned).sorted()
        if revoked.isEmpty && added.isEmpty { return }
        metrics.rebalances.increment()
        logger.debug("group assignment", metadata: ["group": "\(config.groupID ?? "")", "epoch": "\(generationID)",
                                                    "assigned": "\(target.sorted())"])
        if !revoked.isEmpty {
            if config.enableAutoCommit { try? await commit(positions(of: revoked)) }
            await listener?.onPartitionsRevoked(revoked)
            setAssignment(owned.subtracting(revoked))
        }
        setAssignment(target)
        if !added.isEmpty { await listener?.onPartitionsAssigned(added) }
        joinedOnce = true
        kick()
    }

    /// Leaves with epoch -1 (-2 for a static member, which keeps its assignment for a while).
    func leaveKIP848Group() async {
        guard let group = config.groupID, !memberID.isEmpty, generationID > 0 else { return }
        do {
            let coord = try await cluster.coordinator(group: group)
            let req = await heartbeatRequest(group: group, epoch: config.groupInstanceID == nil ? -1 : -2)
            _ = try await coord.send(req, timeout: .seconds(5))
        } catch {
            logger.debug("leave group failed", metadata: ["error": "\(error)"])
        }
        generationID = 0
    }
}
