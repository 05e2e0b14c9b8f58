import Atomics
import CoreMetrics
import KafkaProtocol
import Logging
import NIOCore

enum Subscription: Sendable, Equatable {
    case topics(Set<String>)
    case pattern(String)
}

/// Fetched records of one partition, ready to hand out.
struct FetchedChunk: Sendable {
    var tp: TopicPartition
    var epoch: Int
    var records: [ConsumerRecord]
    var nextOffset: Int64
    var bytes: Int
}

struct ConsumerPartitionState {
    /// Next offset to hand to the application.
    var position: Int64?
    /// Next offset to fetch (ahead of `position` while fetched records wait).
    var fetchPosition: Int64?
    /// Bumped by seeks/resets: fetches started before are discarded.
    var epoch = 0
    var paused = false
    var fetchInFlight = false
    /// The fetch (sequence number) that owns `fetchInFlight`.
    var fetchSeq = -1
    var queuedChunks = 0
    /// Responses whose offsets were taken (the next fetch may already be out) but whose records
    /// are still being decoded; they count against the read-ahead like queued chunks.
    var decoding = 0
    var pendingSpec: OffsetSpec? = nil
    /// Use the group's committed offset before the reset policy.
    var useCommitted = true
    var retryAfter: ContinuousClock.Instant? = nil
    var highWatermark: Int64 = -1
}

/// The consumer's state: assignment, positions, fetch buffer, group membership.
actor ConsumerCore {
    let config: KafkaConsumerConfig
    let cluster: KafkaCluster
    var logger: Logger { config.client.logger }

    var partitions: [TopicPartition: ConsumerPartitionState] = [:]
    var ready: [FetchedChunk] = []
    var readyHead = 0
    var bufferedBytes = 0
    var waiters: [CheckedContinuation<Void, Never>] = []
    var nodesFetching: Set<Int32> = []
    /// Fetches are numbered as they leave; results are applied in that order (a later response
    /// may finish decoding first).
    var nextFetchSeq = 0
    var nextApplySeq = 0
    var finishedFetches: [Int: FinishedFetch] = [:]
    var fetchRoundScheduled = false
    var resolving = false
    var closed = false
    var fatalError: KafkaError? = nil
    /// The chunk the application is reading, and how many of its records it has taken (set
    /// by the iterator without an actor hop).
    var current: FetchedChunk? = nil
    var currentStart: Int64 = 0
    nonisolated let handed = ManagedAtomic<Int>(0)
    var epochCounter = 0
    func newEpoch() -> Int {
        epochCounter += 1
        return epochCounter
    }

    // Group membership (see GroupMembership.swift).
    var subscription: Subscription? = nil
    var listener: RebalanceListener? = nil
    var memberID = ""
    /// Classic: the generation; KIP-848: the member epoch (both go into OffsetCommit).
    var generationID: Int32 = -1
    /// KIP-848: the assignment the broker last sent, not reconciled yet, and the heartbeat
    /// interval it asks for.
    var pendingAssignment: ConsumerGroupHeartbeatResponse.Assignment? = nil
    var brokerHeartbeatInterval: Duration? = nil
    var protocolName: String? = nil
    var groupTask: Task<Void, Never>? = nil
    var rejoinNeeded = false
    var lastCommit = ContinuousClock.now
    var subscribedTopics: Set<String> = []
    var lastPatternCheck = ContinuousClock.now
    var joinedOnce = false

    nonisolated let metrics: ConsumerMetrics

    init(config: KafkaConsumerConfig) {
        self.config = config
        self.metrics = ConsumerMetrics(clientID: config.client.clientID, factory: config.client.metricsFactory ?? MetricsSystem.factory)
        self.cluster = KafkaCluster(config: config.client)
    }

    // MARK: Assignment and positions

    func assign(_ specs: [TopicPartition: OffsetSpec?]) async throws {
        if closed { throw KafkaError.closed }
        if subscription != nil { throw KafkaError.invalidState("assign() after subscribe(): the group owns the assignment") }
        for t in Set(specs.keys.map(\.topic)) {
            let info = try await cluster.topic(t)
            for tp in specs.keys where tp.topic == t && Int(tp.partition) >= info.partitionCount {
                throw KafkaError.unknownTopic("\(tp) (topic has \(info.partitionCount) partitions)")
            }
        }
        setAssignment(Set(specs.keys))
        for (tp, spec) in specs {
            if let spec {
                partitions[tp]?.pendingSpec = spec
                partitions[tp]?.useCommitted = false
            }
        }
        kick()
    }

    /// Replaces the assignment, keeping the state of partitions that stay.
    func setAssignment(_ tps: Set<TopicPartition>) {
        for tp in partitions.keys where !tps.contains(tp) { partitions[tp] = nil }
        for tp in tps where partitions[tp] == nil {
            var st = ConsumerPartitionState()
            st.epoch = newEpoch()
            st.useCommitted = config.groupID != nil
            partitions[tp] = st
        }
        dropChunks { !tps.contains($0.tp) }
        wakeWaiters()
    }

    func assignedPartitions() -> [TopicPartition] { partitions.keys.sorted() }

    func lag(_ tp: TopicPartition) -> Int64? {
        guard let st = partitions[tp], st.highWatermark >= 0 else { return nil }
        return max(0, st.highWatermark - (position(tp) ?? st.highWatermark))
    }

    func position(_ tp: TopicPartition) -> Int64? {
        guard let st = partitions[tp] else { return nil }
        if let c = current, c.tp == tp, c.epoch == st.epoch {
            let i = min(handed.load(ordering: .relaxed), c.records.count)
            if i == 0 { return currentStart }
            if i == c.records.count { return c.nextOffset }
            return c.records[i - 1].offset + 1
        }
        return st.position
    }

    func seek(_ tp: TopicPartition, to offset: Int64) throws {
        guard partitions[tp] != nil else { throw KafkaError.invalidState("seek on unassigned partition \(tp)") }
        partitions[tp]!.epoch = newEpoch()
        partitions[tp]!.position = offset
        partitions[tp]!.fetchPosition = offset
        partitions[tp]!.pendingSpec = nil
        partitions[tp]!.fetchInFlight = false
        partitions[tp]!.decoding = 0
        dropChunks { $0.tp == tp }
        kick()
    }

    func seek(_ tps: [TopicPartition], spec: OffsetSpec) async throws {
        for tp in tps where partitions[tp] == nil { throw KafkaError.invalidState("seek on unassigned partition \(tp)") }
        let listed = try await cluster.listOffsets(Dictionary(uniqueKeysWithValues: tps.map { ($0, spec) }),
                                                   isolationLevel: config.isolationLevel.rawValue)
        var ends = [TopicPartition: OffsetSpec]()
        for tp in tps {
            guard let l = listed[tp] else { continue }
            if l.offset < 0 { ends[tp] = .latest; continue }
            if partitions[tp] != nil { try seek(tp, to: l.offset) }
        }
        if !ends.isEmpty {
            let latest = try await cluster.listOffsets(ends, isolationLevel: config.isolationLevel.rawValue)
            for (tp, l) in latest where partitions[tp] != nil { try seek(tp, to: l.offset) }
        }
    }

    func pause(_ tps: [TopicPartition], paused: Bool) {
        for tp in tps where partitions[tp] != nil { partitions[tp]!.paused = paused }
        kick()
    }

    private func dropChunks(where pred: (FetchedChunk) -> Bool) {
        var kept = [FetchedChunk]()
        for c in ready[readyHead...] {
            if pred(c) {
                bufferedBytes -= c.bytes
                if partitions[c.tp] != nil { partitions[c.tp]!.queuedChunks -= 1 }
            } else { kept.append(c) }
        }
        ready = kept
        readyHead = 0
    }

    // MARK: Handing out records

    func nextChunk(until deadline: ContinuousClock.Instant? = nil) async throws -> [ConsumerRecord]? {
        var timer: Task<Void, Never>? = nil
        defer { timer?.cancel() }
        // An iterator left early (a `break` out of `for try await`) leaves the rest of its
        // chunk unread: the next iterator gets it first, so no record is skipped.
        if !closed, var c = current, let st = partitions[c.tp], st.epoch == c.epoch, !st.paused {
            let i = handed.load(ordering: .relaxed)
            if i < c.records.count {
                c.records.removeFirst(i)
                current = c
                currentStart = c.records[0].offset
                handed.store(0, ordering: .relaxed)
                return c.records
            }
        }
        while true {
            if closed { return nil }
            if let e = fatalError {
                fatalError = nil
                throw e
            }
            try Task.checkCancellation()
            current = nil
            if let c = popChunk() {
                kick()
                return c
            }
            kick()
            if let deadline {
                if ContinuousClock.now >= deadline { return [] }
                // Waiting with a deadline: one timer for the whole wait wakes us at the deadline.
                if timer == nil {
                    timer = Task { [weak self] in
                        try? await Task.sleep(until: deadline)
                        if !Task.isCancelled { await self?.wakeWaiters() }
                    }
                }
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in waiters.append(c) }
            } onCancel: {
                Task { await self.wakeWaiters() }
            }
        }
    }

    private func popChunk() -> [ConsumerRecord]? {
        var i = readyHead
        while i < ready.count {
            let c = ready[i]
            guard let st = partitions[c.tp], st.epoch == c.epoch else {
                i = removeChunk(at: i)
                continue
            }
            if st.paused { i += 1; continue }
            i = removeChunk(at: i)
            partitions[c.tp]!.position = c.nextOffset
            var chunk = c
            if let first = c.records.first, let pos = st.position, first.offset < pos {
                chunk.records = c.records.filter { $0.offset >= pos }
            }
            // Nothing to hand out (a fetch of only a transaction marker, or of records before
            // the position): on to the next chunk.
            if chunk.records.isEmpty { continue }
            current = chunk
            currentStart = st.position ?? chunk.records[0].offset
            handed.store(0, ordering: .relaxed)
            metrics.records.increment(by: chunk.records.count)
            return chunk.records
        }
        return nil
    }

    /// Removes the chunk at `i`; returns the index of the chunk that followed it. (The head's
    /// slot stays behind `readyHead` until compaction: looking at `i` again would see it a
    /// second time and, removing it again, lose the chunk after it.)
    @discardableResult
    private func removeChunk(at i: Int) -> Int {
        let c = ready[i]
        bufferedBytes -= c.bytes
        if partitions[c.tp] != nil { partitions[c.tp]!.queuedChunks -= 1 }
        if i == readyHead {
            // The slot stays until the head is compacted: drop its records now, or up to 64
            // handed-out chunks (their decompressed batches) would stay alive.
            ready[i].records = []
            readyHead += 1
            if readyHead > 64 && readyHead * 2 > ready.count {
                ready.removeFirst(readyHead)
                readyHead = 0
            }
            return readyHead
        } else {
            ready.remove(at: i)
            return i
        }
    }

    func wakeWaiters() {
        let w = waiters
        waiters = []
        for c in w { c.resume() }
    }

    // MARK: Fetching

    /// Schedules position resolution and a fetch round if anything can be fetched.
    func kick() {
        if closed { return }
        let needResolve = partitions.contains { $0.value.fetchPosition == nil && !$0.value.paused && $0.value.retryAfter.map { $0 <= .now } ?? true }
        if needResolve && !resolving {
            resolving = true
            Task { await self.resolvePositions() }
        }
        if !fetchRoundScheduled {
            fetchRoundScheduled = true
            Task { await self.fetchRound() }
        }
    }

    /// Finds starting offsets: explicit specs, committed offsets, then the reset policy.
    func resolvePositions() async {
        defer {
            resolving = false
        }
        let todo = partitions.filter { $0.value.fetchPosition == nil }
        if todo.isEmpty { return }
        var specs = [TopicPartition: OffsetSpec]()
        var committedWanted = [TopicPartition]()
        for (tp, st) in todo {
            if let s = st.pendingSpec { specs[tp] = s } else if st.useCommitted && config.groupID != nil { committedWanted.append(tp) } else {
                switch config.autoOffsetReset {
                case .earliest: specs[tp] = .earliest
                case .latest: specs[tp] = .latest
                case .none: fatalError = .invalidState("no offset for \(tp) and autoOffsetReset is none"); wakeWaiters(); return
                }
            }
        }
        do {
            if !committedWanted.isEmpty {
                let committed = try await fetchCommitted(committedWanted)
                for tp in committedWanted {
                    guard partitions[tp] != nil, partitions[tp]!.fetchPosition == nil else { continue }
                    if let o = committed[tp] {
                        partitions[tp]!.position = o
                        partitions[tp]!.fetchPosition = o
                    } else {
                        switch config.autoOffsetReset {
                        case .earliest: specs[tp] = .earliest
                        case .latest: specs[tp] = .latest
                        case .none: fatalError = .invalidState("no committed offset for \(tp) and autoOffsetReset is none"); wakeWaiters(); return
                        }
                    }
                }
            }
            if !specs.isEmpty {
                let epochs = specs.keys.map { ($0, partitions[$0]?.epoch) }
                let listed = try await cluster.listOffsets(specs, isolationLevel: config.isolationLevel.rawValue)
                var ends = [TopicPartition: OffsetSpec]()
                for (tp, e) in epochs {
                    guard let st = partitions[tp], st.epoch == e, st.fetchPosition == nil, let l = listed[tp] else { continue }
                    if l.offset < 0 { ends[tp] = .latest; continue }
                    partitions[tp]!.position = l.offset
                    partitions[tp]!.fetchPosition = l.offset
                    partitions[tp]!.pendingSpec = nil
                }
                if !ends.isEmpty {
                    let latest = try await cluster.listOffsets(ends, isolationLevel: config.isolationLevel.rawValue)
                    for (tp, l) in latest where partitions[tp]?.fetchPosition == nil {
                        partitions[tp]!.position = l.offset
                        partitions[tp]!.fetchPosition = l.offset
                        partitions[tp]!.pendingSpec = nil
                    }
                }
            }
        } catch {
            logger.debug("resolving offsets failed", metadata: ["error": "\(error)"])
            let retry = ContinuousClock.now + config.retryBackoff * 5
            for tp in todo.keys where partitions[tp]?.fetchPosition == nil { partitions[tp]!.retryAfter = retry }
            if let ke = error as? KafkaError, !ke.isRetriable, ke.kind != .unknownTopic {
                fatalError = ke
                wakeWaiters()
            }
            Task {
                try? await Task.sleep(for: self.config.retryBackoff * 5)
                self.kick()
            }
            return
        }
        resolving = false
        kick()
    }

    private func fetchable(now: ContinuousClock.Instant) -> [TopicPartition] {
        if bufferedBytes >= config.maxBufferedBytes { return [] }
        return partitions.compactMap { tp, st in
            guard !st.paused, !st.fetchInFlight, st.fetchPosition != nil, st.queuedChunks + st.decoding < 2 else { return nil }
            if let r = st.retryAfter, r > now { return nil }
            return tp
        }
    }

    func fetchRound() async {
        fetchRoundScheduled = false
        if closed { return }
        let tps = fetchable(now: .now)
        if tps.isEmpty { return }
        // Leaders of every assigned partition: more may become fetchable during the awaits.
        let assigned = Array(partitions.keys)
        var leaders = await cluster.leaders(for: assigned)
        let missing = Set(tps.filter { leaders[$0] == nil }.map(\.topic))
        if !missing.isEmpty {
            for t in missing { _ = try? await cluster.topic(t, forceRefresh: true) }
            leaders = await cluster.leaders(for: assigned)
            if tps.contains(where: { leaders[$0] == nil }) {
                Task {
                    try? await Task.sleep(for: self.config.retryBackoff * 5)
                    self.kick()
                }
            }
        }
        // What is fetchable now (the actor may have moved on during the awaits).
        var byNode = [Int32: [(TopicPartition, Int64, Int)]]()
        for tp in fetchable(now: .now) {
            guard let node = leaders[tp], !nodesFetching.contains(node), let st = partitions[tp], let off = st.fetchPosition else { continue }
            byNode[node, default: []].append((tp, off, st.epoch))
        }
        if byNode.isEmpty { return }
        // A fetch for partitions at the end of their log waits on the broker (long poll) and
        // blocks the next fetch to that broker. When some active partition is not in it (its
        // records are queued or being decoded, or its last fetch is still being applied), it
        // will want data again soon: poll briefly instead of the full wait.
        var included = Set<TopicPartition>()
        for parts in byNode.values { for p in parts { included.insert(p.0) } }
        let someoneWaits = partitions.contains { tp, st in !st.paused && !included.contains(tp) }
        let maxWait = someoneWaits ? min(config.fetchMaxWait, .milliseconds(10)) : config.fetchMaxWait
        for (node, parts) in byNode {
            nodesFetching.insert(node)
            let seq = nextFetchSeq
            nextFetchSeq += 1
            for (tp, _, _) in parts {
                partitions[tp]!.fetchInFlight = true
                partitions[tp]!.fetchSeq = seq
            }
            let cfg = config
            let cluster = self.cluster
            Task {
                let sentAt = ContinuousClock.now
                let response = await Self.fetchResponse(node: node, parts: parts, maxWait: maxWait, config: cfg, cluster: cluster)
                self.metrics.fetchLatency.recordNanoseconds((ContinuousClock.now - sentAt).nanoseconds)
                // Pipelining: the batch headers say where the next fetch starts, so it can leave
                // before this response is decompressed and parsed.
                let ends = (try? response.get()).map { Self.nextOffsets($0, parts: parts) } ?? [:]
                let advanced = self.fetchResponded(seq: seq, node: node, parts: parts, ends: ends)
                let result: Result<[PartitionFetchResult], KafkaError>
                switch response {
                case .success(let resp): result = .success(await Self.decodeAll(resp, parts: parts, config: cfg))
                case .failure(let e): result = .failure(e)
                }
                self.fetchFinished(FinishedFetch(seq: seq, node: node, parts: parts, advanced: advanced, result: result))
            }
        }
    }

    struct FinishedFetch: Sendable {
        var seq: Int
        var node: Int32
        var parts: [(TopicPartition, Int64, Int)]
        var advanced: Set<TopicPartition>
        var result: Result<[PartitionFetchResult], KafkaError>
    }

    /// A response arrived: frees the broker for the next fetch and moves the fetch position of
    /// partitions that returned records. Returns those partitions.
    func fetchResponded(seq: Int, node: Int32, parts: [(TopicPartition, Int64, Int)], ends: [TopicPartition: Int64]) -> Set<TopicPartition> {
        nodesFetching.remove(node)
        var advanced = Set<TopicPartition>()
        for (tp, _, epoch) in parts {
            guard let end = ends[tp], let st = partitions[tp], st.epoch == epoch, st.fetchSeq == seq, st.fetchInFlight else { continue }
            partitions[tp]!.fetchPosition = max(end, st.fetchPosition ?? end)
            partitions[tp]!.fetchInFlight = false
            partitions[tp]!.decoding += 1
            advanced.insert(tp)
        }
        if !advanced.isEmpty { kick() }
        return advanced
    }

    /// Where each partition's records end (last complete batch), from batch headers only.
    static func nextOffsets(_ resp: FetchResponse, parts: [(TopicPartition, Int64, Int)]) -> [TopicPartition: Int64] {
        let asked = Set(parts.map(\.0))
        var out = [TopicPartition: Int64]()
        for t in resp.topics {
            for p in t.partitions where p.errorCode == 0 {
                let tp = TopicPartition(t.topic, p.partitionIndex)
                guard asked.contains(tp), let buf = p.records, buf.readableBytes > 0 else { continue }
                var end: Int64? = nil
                do {
                    try RecordBatch.forEachBatch(in: buf) { header, _ in end = header.lastOffset + 1 }
                } catch {
                    continue  // the decoder reports it
                }
                if let end { out[tp] = end }
            }
        }
        return out
    }

    struct PartitionFetchResult: Sendable {
        var tp: TopicPartition
        var errorCode: Int16
        var records: [ConsumerRecord]
        var nextOffset: Int64?
        var bytes: Int
        var highWatermark: Int64
        var decodeError: String?
    }

    /// Sends one Fetch (off the actor).
    static func fetchResponse(node: Int32, parts: [(TopicPartition, Int64, Int)], maxWait: Duration, config: KafkaConsumerConfig,
                              cluster: KafkaCluster) async -> Result<FetchResponse, KafkaError> {
        do {
            let conn = try await cluster.connection(node: node)
            var req = FetchRequest()
            req.maxWaitMs = Int32(clamping: maxWait.milliseconds)
            req.minBytes = config.fetchMinBytes
            req.maxBytes = config.fetchMaxBytes
            req.isolationLevel = config.isolationLevel.rawValue
            req.sessionId = 0
            req.sessionEpoch = -1
            var topics = [String: [FetchRequest.Partition]]()
            for (tp, off, _) in parts {
                var p = FetchRequest.Partition()
                p.partition = tp.partition
                p.fetchOffset = off
                p.partitionMaxBytes = config.maxPartitionFetchBytes
                p.currentLeaderEpoch = -1
                topics[tp.topic, default: []].append(p)
            }
            req.topics = topics.map { var t = FetchRequest.Topic(); t.topic = $0.key; t.partitions = $0.value; return t }
            let timeout = (config.client.requestTimeout + config.fetchMaxWait).timeAmount
            let resp = try await conn.send(req, timeout: timeout)
            if resp.errorCode != 0 {
                return .failure(.broker(code: resp.errorCode, message: nil, context: "Fetch"))
            }
            return .success(resp)
        } catch let e as KafkaError {
            return .failure(e)
        } catch {
            return .failure(.protocolError("\(error)"))
        }
    }

    /// Decodes a response's partitions (off the actor: decompression is CPU work).
    static func decodeAll(_ resp: FetchResponse, parts: [(TopicPartition, Int64, Int)], config: KafkaConsumerConfig) async -> [PartitionFetchResult] {
        let offsets = Dictionary(uniqueKeysWithValues: parts.map { ($0.0, $0.1) })
        var todo = [(TopicPartition, Int64, FetchResponse.Partition)]()
        for t in resp.topics {
            for p in t.partitions {
                let tp = TopicPartition(t.topic, p.partitionIndex)
                guard let fetchOffset = offsets[tp] else { continue }
                todo.append((tp, fetchOffset, p))
            }
        }
        // Partitions decode (decompress, parse) in parallel: it is the consumer's main CPU work.
        let readCommitted = config.isolationLevel == .readCommitted
        if todo.count <= 1 {
            return todo.map { decodePartition($0.0, fetchOffset: $0.1, $0.2, readCommitted: readCommitted) }
        }
        return await withTaskGroup(of: (Int, PartitionFetchResult).self) { group in
            for (i, item) in todo.enumerated() {
                group.addTask { (i, decodePartition(item.0, fetchOffset: item.1, item.2, readCommitted: readCommitted)) }
            }
            var results = [PartitionFetchResult?](repeating: nil, count: todo.count)
            for await (i, r) in group { results[i] = r }
            return results.map { $0! }
        }
    }

    static func decodePartition(_ tp: TopicPartition, fetchOffset: Int64, _ p: FetchResponse.Partition,
                                readCommitted: Bool) -> PartitionFetchResult {
        var r = PartitionFetchResult(tp: tp, errorCode: p.errorCode, records: [], nextOffset: nil, bytes: 0, highWatermark: p.highWatermark)
        if p.errorCode == 0, let buf = p.records, buf.readableBytes > 0 {
            do {
                try decode(buf, tp: tp, fetchOffset: fetchOffset, aborted: p.abortedTransactions, readCommitted: readCommitted, into: &r)
            } catch {
                r.decodeError = "\(error)"
            }
        }
        return r
    }

    static func decode(_ buf: ByteBuffer, tp: TopicPartition, fetchOffset: Int64, aborted: [FetchResponse.AbortedTransaction]?,
                       readCommitted: Bool, into r: inout PartitionFetchResult) throws {
        var abortedQueue = (aborted ?? []).sorted { $0.firstOffset < $1.firstOffset }
        var abortedProducers = Set<Int64>()
        var next: Int64? = nil
        var records = [ConsumerRecord]()
        let topic = tp.topic
        try RecordBatch.forEachBatch(in: buf) { header, batch in
            next = header.lastOffset + 1
            if readCommitted {
                while let a = abortedQueue.first, a.firstOffset <= header.lastOffset {
                    abortedProducers.insert(a.producerId)
                    abortedQueue.removeFirst()
                }
            }
            if header.isControl {
                if readCommitted, let k = (try? RecordBatch.records(ofBatch: batch, header: header))?.first?.key,
                   (try? ControlRecord.decodeType(key: k)) == .abort {
                    abortedProducers.remove(header.producerId)
                }
                return
            }
            if readCommitted && header.isTransactional && abortedProducers.contains(header.producerId) { return }
            if header.lastOffset < fetchOffset { return }
            let recs = try RecordBatch.records(ofBatch: batch, header: header)
            records.reserveCapacity(records.count + recs.count)
            for rec in recs where rec.offset >= fetchOffset {
                records.append(ConsumerRecord(topic: topic, partition: tp.partition, offset: rec.offset, timestamp: rec.timestamp,
                                              key: rec.key, value: rec.value, headers: rec.headers))
            }
        }
        r.records = records
        r.nextOffset = next
        r.bytes = buf.readableBytes
    }

    /// Applies finished fetches in the order they were sent.
    func fetchFinished(_ f: FinishedFetch) {
        finishedFetches[f.seq] = f
        while let next = finishedFetches.removeValue(forKey: nextApplySeq) {
            nextApplySeq += 1
            apply(next)
        }
        wakeWaiters()
        kick()
    }

    private func apply(_ f: FinishedFetch) {
        let (seq, node, parts, result) = (f.seq, f.node, f.parts, f.result)
        for (tp, _, epoch) in parts where partitions[tp]?.epoch == epoch {
            if partitions[tp]!.fetchSeq == seq { partitions[tp]!.fetchInFlight = false }
            if f.advanced.contains(tp) { partitions[tp]!.decoding -= 1 }
        }
        switch result {
        case .failure(let e):
            logger.debug("fetch failed", metadata: ["broker": "\(node)", "error": "\(e)"])
            let retry = ContinuousClock.now + config.retryBackoff
            for (tp, _, _) in parts where partitions[tp] != nil { partitions[tp]!.retryAfter = retry }
            let cluster = self.cluster
            Task {
                if e.kind == .connectionClosed { await cluster.dropConnection(node: node) }
                for t in Set(parts.map(\.0.topic)) { await cluster.invalidate(topic: t) }
                try? await Task.sleep(for: self.config.retryBackoff)
                self.kick()
            }
        case .success(let results):
            let epochs = Dictionary(uniqueKeysWithValues: parts.map { ($0.0, $0.2) })
            var needRetry = false
            for r in results {
                guard let st = partitions[r.tp], st.epoch == epochs[r.tp] else { continue }
                partitions[r.tp]!.highWatermark = r.highWatermark
                if r.errorCode == 0, r.highWatermark >= 0, let fetched = r.nextOffset ?? st.fetchPosition {
                    metrics.lag(r.tp, r.highWatermark - max(fetched, st.fetchPosition ?? fetched))
                }
                if let e = r.decodeError {
                    fatalError = .partition(r.tp, code: ErrorCode.corruptMessage.rawValue, message: e)
                    partitions[r.tp]!.paused = true
                    continue
                }
                switch r.errorCode {
                case 0:
                    partitions[r.tp]!.retryAfter = nil
                    metrics.bytes.increment(by: r.bytes)
                    if let n = r.nextOffset {
                        partitions[r.tp]!.fetchPosition = max(n, st.fetchPosition ?? n)
                        ready.append(FetchedChunk(tp: r.tp, epoch: st.epoch, records: r.records, nextOffset: n, bytes: r.bytes))
                        bufferedBytes += r.bytes
                        partitions[r.tp]!.queuedChunks += 1
                    }
                case ErrorCode.offsetOutOfRange.rawValue:
                    logger.info("offset out of range; resetting", metadata: ["partition": "\(r.tp)", "policy": "\(config.autoOffsetReset)"])
                    partitions[r.tp]!.epoch = newEpoch()
                    partitions[r.tp]!.fetchPosition = nil
                    partitions[r.tp]!.useCommitted = false
                    switch config.autoOffsetReset {
                    case .earliest: partitions[r.tp]!.pendingSpec = .earliest
                    case .latest: partitions[r.tp]!.pendingSpec = .latest
                    case .none: fatalError = .partition(r.tp, code: r.errorCode, message: "offset out of range")
                    }
                default:
                    if KafkaError.isRetriable(code: r.errorCode) || KafkaError.invalidatesMetadata(r.errorCode) {
                        partitions[r.tp]!.retryAfter = .now + config.retryBackoff
                        needRetry = true
                        let cluster = self.cluster
                        let topic = r.tp.topic
                        Task { await cluster.invalidate(topic: topic) }
                    } else {
                        fatalError = .partition(r.tp, code: r.errorCode, message: "fetch")
                        partitions[r.tp]!.paused = true
                    }
                }
            }
            if needRetry {
                Task {
                    try? await Task.sleep(for: self.config.retryBackoff)
                    self.kick()
                }
            }
        }
    }

    // MARK: Close

    func close() async {
        if closed { return }
        await leaveGroup()
        closed = true
        groupTask?.cancel()
        wakeWaiters()
        await cluster.close()
    }
}
