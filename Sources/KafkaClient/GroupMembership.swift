import KafkaProtocol
import Logging
import NIOCore

/// Group membership whichever the protocol: subscribing, committing and fetching offsets,
/// leaving. The protocols themselves: ClassicGroupMembership.swift, KIP848GroupMembership.swift.
extension ConsumerCore {
    var groupID: String {
        get throws {
            guard let g = config.groupID, !g.isEmpty else { throw KafkaError.invalidConfiguration("this needs a groupID") }
            return g
        }
    }

    func subscribe(_ sub: Subscription, listener: RebalanceListener?) async throws {
        if closed { throw KafkaError.closed }
        _ = try groupID
        if subscription == nil && !partitions.isEmpty { throw KafkaError.invalidState("subscribe() after assign()") }
        subscription = sub
        self.listener = listener
        subscribedTopics = try await matchTopics()
        rejoinNeeded = true
        if groupTask == nil {
            switch config.groupProtocol {
            case .classic: groupTask = Task { await self.classicGroupLoop() }
            case .consumer: groupTask = Task { await self.kip848GroupLoop() }
            }
        }
    }

    func matchTopics() async throws -> Set<String> {
        switch subscription {
        case .none: return []
        case .topics(let t):
            // Unknown topics are kept in the subscription; they get partitions once they exist.
            return t
        case .pattern(let p):
            let all = try await cluster.allTopics()
            let regex = try Regex(p)
            return Set(all.filter { !$0.isInternal && (try? regex.wholeMatch(in: $0.name)) != nil }.map(\.name))
        }
    }

    // MARK: Commits

    func positions(of tps: [TopicPartition]) -> [TopicPartition: Int64] {
        var out = [TopicPartition: Int64]()
        for tp in tps { if let p = position(tp) { out[tp] = p } }
        return out
    }

    func commitPositions() async throws {
        let offsets = positions(of: assignedPartitions())
        lastCommit = .now
        if offsets.isEmpty { return }
        try await commit(offsets)
    }

    func commit(_ offsets: [TopicPartition: Int64]) async throws {
        try await commit(offsets.mapValues { CommittedOffset(offset: $0) })
    }

    func commit(_ offsets: [TopicPartition: CommittedOffset]) async throws {
        let group = try groupID
        if offsets.isEmpty { return }
        var attempt = 0
        while true {
            attempt += 1
            let coord = try await cluster.coordinator(group: group)
            var req = OffsetCommitRequest()
            req.groupId = group
            let inGroup = subscription != nil
            req.generationIdOrMemberEpoch = inGroup ? generationID : -1
            req.memberId = inGroup ? memberID : ""
            req.groupInstanceId = inGroup ? config.groupInstanceID : nil
            req.topics = Dictionary(grouping: offsets.keys, by: \.topic).map { topic, tps in
                var t = OffsetCommitRequest.Topic()
                t.name = topic
                t.partitions = tps.map { tp in
                    var p = OffsetCommitRequest.Partition()
                    p.partitionIndex = tp.partition
                    p.committedOffset = offsets[tp]!.offset
                    p.committedMetadata = offsets[tp]!.metadata
                    return p
                }
                return t
            }
            let resp: OffsetCommitResponse
            do {
                resp = try await coord.send(req)
            } catch let e as KafkaError where e.isRetriable && attempt < 5 {
                await cluster.invalidateCoordinator(group: group)
                try await Task.sleep(for: config.retryBackoff)
                continue
            }
            var firstError: KafkaError? = nil
            var retry = false
            for t in resp.topics {
                for p in t.partitions where p.errorCode != 0 {
                    let tp = TopicPartition(t.name, p.partitionIndex)
                    switch p.errorCode {
                    case ErrorCode.notCoordinator.rawValue, ErrorCode.coordinatorNotAvailable.rawValue,
                         ErrorCode.coordinatorLoadInProgress.rawValue, ErrorCode.requestTimedOut.rawValue:
                        retry = true
                    case ErrorCode.rebalanceInProgress.rawValue, ErrorCode.illegalGeneration.rawValue, ErrorCode.unknownMemberId.rawValue:
                        rejoinNeeded = true
                    default: break
                    }
                    if firstError == nil { firstError = .partition(tp, code: p.errorCode, message: "OffsetCommit") }
                }
            }
            if retry && attempt < 5 {
                await cluster.invalidateCoordinator(group: group)
                try await Task.sleep(for: config.retryBackoff)
                continue
            }
            if let firstError { throw firstError }
            return
        }
    }

    func fetchCommitted(_ tps: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        try await fetchCommittedDetails(tps).mapValues(\.offset)
    }

    func fetchCommittedDetails(_ tps: [TopicPartition]) async throws -> [TopicPartition: CommittedOffset] {
        let group = try groupID
        var attempt = 0
        while true {
            attempt += 1
            let coord = try await cluster.coordinator(group: group)
            guard let v = coord.version(for: OffsetFetchRequest.self) else { throw KafkaError.unsupportedApi("OffsetFetch") }
            var req = OffsetFetchRequest()
            let topics = Dictionary(grouping: tps, by: \.topic).map { topic, ps in
                var t = OffsetFetchRequest.Topic()
                t.name = topic
                t.partitionIndexes = ps.map(\.partition)
                return t
            }
            if v >= 8 {
                var g = OffsetFetchRequest.Group()
                g.groupId = group
                g.topics = topics
                req.groups = [g]
            } else {
                req.groupId = group
                req.topics = topics
            }
            req.requireStable = true
            let resp = try await coord.send(req, version: v)
            let (code, rtopics): (Int16, [OffsetFetchResponse.Topic]) = v >= 8
                ? (resp.groups.first?.errorCode ?? 0, resp.groups.first?.topics ?? [])
                : (resp.errorCode, resp.topics)
            if code != 0 {
                if KafkaError.isRetriable(code: code), attempt < 10 {  // UNSTABLE_OFFSET_COMMIT among them
                    await cluster.invalidateCoordinator(group: group)
                    try await Task.sleep(for: config.retryBackoff * attempt)
                    continue
                }
                throw KafkaError.broker(code: code, message: nil, context: "OffsetFetch(\(group))")
            }
            var out = [TopicPartition: CommittedOffset]()
            var retry = false
            for t in rtopics {
                for p in t.partitions {
                    if p.errorCode == ErrorCode.unstableOffsetCommit.rawValue { retry = true; continue }
                    if p.errorCode != 0 {
                        throw KafkaError.partition(TopicPartition(t.name, p.partitionIndex), code: p.errorCode, message: "OffsetFetch")
                    }
                    if p.committedOffset >= 0 {
                        out[TopicPartition(t.name, p.partitionIndex)] = CommittedOffset(offset: p.committedOffset, metadata: p.metadata)
                    }
                }
            }
            if retry && attempt < 10 {
                try await Task.sleep(for: config.retryBackoff * attempt)
                continue
            }
            return out
        }
    }

    func leaveGroup() async {
        guard config.groupID?.isEmpty == false else { return }
        if config.enableAutoCommit && !partitions.isEmpty { try? await commitPositions() }
        guard subscription != nil else { return }
        let owned = assignedPartitions()
        if !owned.isEmpty { await listener?.onPartitionsRevoked(owned) }
        switch config.groupProtocol {
        case .classic: await leaveClassicGroup()
        case .consumer: await leaveKIP848Group()
        }
    }
}
