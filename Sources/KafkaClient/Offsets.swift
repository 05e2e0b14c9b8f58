import KafkaProtocol
import NIOCore

/// Special ListOffsets timestamps.
public enum OffsetSpec: Sendable, Equatable {
    case earliest
    case latest
    /// First offset whose timestamp is at or after this time (ms since the epoch).
    case timestamp(Int64)

    var rawTimestamp: Int64 {
        switch self {
        case .earliest: return -2
        case .latest: return -1
        case .timestamp(let t): return t
        }
    }
}

/// Answer of ListOffsets for one partition. `offset` is -1 when no record has a timestamp at
/// or after the requested time.
public struct ListedOffset: Sendable, Equatable {
    public var offset: Int64
    public var timestamp: Int64
}

extension KafkaCluster {
    /// ListOffsets for several partitions, sent to each partition's leader, retried on leader
    /// changes.
    public func listOffsets(_ specs: [TopicPartition: OffsetSpec], isolationLevel: Int8 = 0) async throws -> [TopicPartition: ListedOffset] {
        var remaining = specs
        var out = [TopicPartition: ListedOffset]()
        var attempt = 0
        while !remaining.isEmpty {
            attempt += 1
            for t in Set(remaining.keys.map(\.topic)) where cachedTopic(t) == nil || attempt > 1 {
                _ = try await topic(t, forceRefresh: attempt > 1)
            }
            var byLeader = [Int32: [TopicPartition]]()
            for tp in remaining.keys {
                guard let l = leader(of: tp) else {
                    if cachedTopic(tp.topic).map({ Int(tp.partition) >= $0.partitionCount }) ?? false {
                        throw KafkaError.unknownTopic("\(tp)")
                    }
                    continue
                }
                byLeader[l, default: []].append(tp)
            }
            var retriable: KafkaError? = nil
            for (node, tps) in byLeader {
                do {
                    let conn = try await connection(node: node)
                    var req = ListOffsetsRequest()
                    req.isolationLevel = isolationLevel
                    var topics = [String: [ListOffsetsRequest.Partition]]()
                    for tp in tps {
                        var p = ListOffsetsRequest.Partition()
                        p.partitionIndex = tp.partition
                        p.timestamp = remaining[tp]!.rawTimestamp
                        p.currentLeaderEpoch = -1
                        topics[tp.topic, default: []].append(p)
                    }
                    req.topics = topics.map { var t = ListOffsetsRequest.Topic(); t.name = $0.key; t.partitions = $0.value; return t }
                    req.timeoutMs = Int32(clamping: config.requestTimeout.milliseconds)
                    let resp = try await conn.send(req)
                    for t in resp.topics {
                        for p in t.partitions {
                            let tp = TopicPartition(t.name, p.partitionIndex)
                            guard remaining[tp] != nil else { continue }
                            if p.errorCode == 0 {
                                let off = p.oldStyleOffsets.first ?? p.offset
                                out[tp] = ListedOffset(offset: off, timestamp: p.timestamp)
                                remaining[tp] = nil
                            } else if KafkaError.isRetriable(code: p.errorCode) {
                                retriable = .partition(tp, code: p.errorCode, message: nil)
                                invalidate(topic: tp.topic)
                            } else {
                                throw KafkaError.partition(tp, code: p.errorCode, message: "ListOffsets")
                            }
                        }
                    }
                } catch let e as KafkaError where e.isRetriable {
                    retriable = e
                    dropConnection(node: node)
                }
            }
            if remaining.isEmpty { break }
            if attempt >= 10 { throw retriable ?? KafkaError.unknownTopic(remaining.keys.map(\.description).joined(separator: ",")) }
            try await Task.sleep(for: .milliseconds(100 * attempt))
        }
        return out
    }
}
