import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KafkaClient
import Logging
import NIOCore
import NIOPosix

/// Where checkpoints live: a compacted topic `<job>.checkpoints` (any machine can restore
/// from it) and, when configured, a local directory (a restart on the same machine reads it
/// instead of the topic's chunks when it holds the same checkpoint).
///
/// The topic has two partitions. Partition 1 holds the chunks of task snapshots (keys
/// `task/P/chunk/ID/I`: a checkpoint never overwrites the chunks of the one before).
/// Partition 0 holds the small records: per task an intent (`task/P/writing`, before its
/// chunks) and a manifest (`task/P`: checkpoint id, chunk offsets, length, checksum), written
/// only once every chunk is acknowledged, so the latest manifest always describes complete
/// chunks whatever moment a kill -9 chose. A start reads partition 0 only, then fetches
/// exactly the chunks it needs — none when the local copy matches. Chunks that a manifest
/// replaced, or that a crash left behind (an intent newer than the manifest), get
/// tombstones, and compaction removes them.
final class CheckpointStore: Sendable {
    static let chunkBytes = 512 * 1024
    /// Chunk bytes written before waiting for their acknowledgement (see `save`).
    static let pacingBytes = 1 << 20
    static let metaPartition: Int32 = 0
    static let chunkPartition: Int32 = 1

    /// A record key in one of the two partitions.
    struct Place: Hashable {
        var partition: Int32
        var key: String
    }

    let topic: String
    let localDirectory: String?
    let producer: KafkaProducer
    let client: KafkaClientConfig
    let logger: Logger
    /// Chunks no manifest needs any more (tombstoned with the next checkpoint).
    let garbage = Locked<Set<Place>>([])
    /// The chunks of each task's latest complete checkpoint.
    let current = Locked<[Int32: [Place]]>([:])

    init(job: String, client: KafkaClientConfig, localDirectory: String?, logger: Logger) throws {
        topic = "\(job).checkpoints"
        self.client = client
        self.localDirectory = localDirectory.map { "\($0)/\(job)" }
        self.logger = logger
        var pc = KafkaProducerConfig(bootstrapServers: client.bootstrapServers)
        pc.client = client
        pc.client.clientID = "\(job)-checkpoints"
        pc.acks = .all
        pc.enableIdempotence = true
        pc.linger = .zero
        pc.compression = .lz4
        pc.maxRequestSize = 4 << 20
        producer = try KafkaProducer(config: pc)
    }

    func close() async { await producer.close() }

    /// Creates the topic, or adds the chunk partition to one from before the split.
    static func createTopic(job: String, admin: KafkaAdmin) async throws {
        let name = "\(job).checkpoints"
        let errs = try await admin.createTopics([NewTopic(name: name, partitions: 2, replicationFactor: 1,
                                                          configs: ["cleanup.policy": "compact", "segment.bytes": "67108864"])],
                                                ifNotExists: true)
        if let (t, e) = errs.first { throw StreamsError.topology("cannot create checkpoint topic \(t): \(e)") }
        let info = try await admin.describeTopic(name)
        if info.partitions.count < 2 {
            let errs = try await admin.createPartitions([name: 2])
            if let (t, e) = errs.first { throw StreamsError.topology("cannot add the chunk partition to \(t): \(e)") }
        }
    }

    static func chunkKey(_ partition: Int32, _ id: Int64, _ i: Int) -> String { "task/\(partition)/chunk/\(id)/\(i)" }

    func chunkPlaces(_ task: Int32, _ m: CheckpointManifest) -> [Place] {
        (0..<m.chunks).map { Place(partition: m.chunkPartition, key: Self.chunkKey(task, m.checkpointID, $0)) }
    }

    /// Writes the snapshots; returns when they are durable in the topic (and written locally).
    /// `crashAfterManifests` stops there (tests: a kill before the tombstones).
    ///
    /// `transaction` (exactly-once delivery): the manifests go into that producer's open
    /// transaction — the one holding the sink output they vouch for — which is then committed:
    /// the output and the checkpoint that follows it become visible together or not at all.
    /// Tombstones of the replaced chunks come only after the commit.
    func save(_ snapshots: [TaskSnapshot], transaction: KafkaProducer? = nil, crashAfterManifests: Bool = false) async throws {
        let failures = DeliveryFailures()
        let onDelivery: @Sendable (DeliveryResult) -> Void = { failures.record($0) }
        func flush(_ what: String) async throws {
            await producer.flush()
            if let e = failures.first() { throw StreamsError.deliveryFailed("checkpoint \(what): \(e)") }
        }
        let bodies = snapshots.map { $0.encodeParts() }
        let lengths = bodies.map { $0.reduce(0) { $0 + $1.count } }
        let counts = lengths.map { max(1, ($0 + Self.chunkBytes - 1) / Self.chunkBytes) }
        // What each task's checkpoint will tombstone: the chunks it replaces and any garbage.
        let pending = garbage.withLock { $0 }
        let planned: [[Place]] = current.withLock { cur in
            snapshots.map { s in (cur[s.partition] ?? []) + pending.filter { $0.key.hasPrefix("task/\(s.partition)/") } }
        }
        // Intents first, durable before any chunk (they are in another partition: no ordering).
        for (t, (s, n)) in zip(snapshots, counts).enumerated() {
            try await producer.produce(ProducerRecord(topic: topic, key: Array("task/\(s.partition)/writing".utf8),
                                                      value: CheckpointIntent(checkpointID: s.checkpointID, chunks: n, stale: planned[t]).encode(),
                                                      partition: Self.metaPartition), onDelivery: onDelivery)
        }
        try await flush("intents")
        let offsets = Locked<[Int: [Int64]]>([:])
        var unflushed = 0
        for (t, s) in snapshots.enumerated() {
            offsets.withLock { $0[t] = Array(repeating: -1, count: counts[t]) }
            let chunks = Self.chunked(bodies[t], size: Self.chunkBytes)
            for i in 0..<counts[t] {
                let part = chunks.next() ?? ByteBuffer()
                unflushed += part.readableBytes
                try await producer.produce(ProducerRecord(topic: topic, key: ByteBuffer(string: Self.chunkKey(s.partition, s.checkpointID, i)),
                                                          value: part, partition: Self.chunkPartition)) { r in
                    if case .success(let md) = r { offsets.withLock { $0[t]![i] = md.offset } }
                    failures.record(r)
                }
                // Paced: a megabyte at a time acknowledged (fsynced) before the next. Tens of
                // megabytes in one go make one long fdatasync that every other acks=all
                // producer of the broker waits behind (the sink's, the source's): 200 ms at the
                // p99 of the fraud job at 10,000 tx/s. Paced, no one waits longer than one.
                if unflushed >= Self.pacingBytes {
                    try await flush("chunks")
                    unflushed = 0
                }
            }
        }
        try await flush("chunks")
        let known = offsets.withLock { $0 }
        var manifests: [CheckpointManifest] = []
        for (t, s) in snapshots.enumerated() {
            let offs = known[t] ?? []
            // An offset the broker did not return (a retried duplicate): found by key instead.
            let m = CheckpointManifest(checkpointID: s.checkpointID, chunks: counts[t], length: lengths[t], parts: bodies[t],
                                       chunkOffsets: offs.contains(-1) ? [] : offs)
            manifests.append(m)
            try await (transaction ?? producer).produce(ProducerRecord(topic: topic, key: Array("task/\(s.partition)".utf8), value: m.encode(),
                                                                       partition: Self.metaPartition), onDelivery: onDelivery)
        }
        if let transaction {
            if let e = failures.first() { throw StreamsError.deliveryFailed("checkpoint manifests: \(e)") }
            do {
                let c0 = ContinuousClock.now
                defer { logger.debug("checkpoint transaction committed", metadata: ["commit-ms": "\((ContinuousClock.now - c0).millis)"]) }
                try await transaction.commitTransaction()
            } catch {
                throw StreamsError.deliveryFailed("committing the output with checkpoint \(snapshots.first?.checkpointID ?? 0): \(error)")
            }
        } else {
            try await flush("manifests")
        }
        if crashAfterManifests { return }
        // The replaced chunks (and any left by a crash) are garbage now; never the ones just
        // written (a checkpoint id can repeat after a crash before its manifest).
        var written = Set<Place>()
        let stale: Set<Place> = current.withLock { cur in
            var old = Set<Place>()
            for (s, m) in zip(snapshots, manifests) {
                old.formUnion(cur[s.partition] ?? [])
                let now = chunkPlaces(s.partition, m)
                cur[s.partition] = now
                written.formUnion(now)
            }
            return old
        }.union(garbage.withLock { g in defer { g = [] }; return g })
        for p in stale.subtracting(written) {
            try await producer.produce(ProducerRecord(topic: topic, key: ByteBuffer(string: p.key), value: nil, partition: p.partition),
                                       onDelivery: onDelivery)
        }
        if let dir = localDirectory {
            // Blocking writes and fsync: on a thread of their own, never the cooperative pool.
            let files = zip(snapshots, zip(bodies, manifests)).map { s, bm in ("\(dir)/task-\(s.partition).ckpt", bm.0 + [bm.1.encode()[...]]) }
            try await NIOThreadPool.singleton.runIfActive {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for (path, parts) in files { try Self.writeAtomically(parts, to: path) }
            }
        }
    }

    /// The parts' concatenation cut into buffers of `size` bytes (the last one shorter).
    static func chunked(_ parts: [ArraySlice<UInt8>], size: Int) -> AnyIterator<ByteBuffer> {
        var pi = 0, off = 0
        return AnyIterator {
            var buf = ByteBuffer()
            while buf.readableBytes < size && pi < parts.count {
                let p = parts[pi]
                let n = min(size - buf.readableBytes, p.count - off)
                if buf.capacity == 0 { buf.reserveCapacity(size) }
                let s = p.startIndex + off
                buf.writeBytes(p[s..<(s + n)])
                off += n
                if off == p.count { pi += 1; off = 0 }
            }
            return buf.readableBytes > 0 ? buf : nil
        }
    }

    static func writeAtomically(_ parts: [ArraySlice<UInt8>], to path: String) throws {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY, 0o644)
        guard fd >= 0 else { throw StreamsError.deliveryFailed("cannot write \(tmp): errno \(errno)") }
        defer { Glibc.close(fd) }
        for bytes in parts {
            var at = bytes.startIndex  // a slice keeps its parent's indices
            while at < bytes.endIndex {
                let n = bytes[at...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                guard n > 0 else { throw StreamsError.deliveryFailed("cannot write \(tmp): errno \(errno)") }
                at += n
            }
        }
        guard fsync(fd) == 0, rename(tmp, path) == 0 else { throw StreamsError.deliveryFailed("cannot commit \(path): errno \(errno)") }
    }

    /// The whole file, or nil.
    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size >= 0 else { return nil }
        let size = Int(st.st_size)
        var ok = true
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buf, count in
            var off = 0
            while off < size {
                let n = Glibc.read(fd, buf.baseAddress! + off, size - off)
                if n <= 0 { ok = n == 0 && off == size; break }
                off += n
            }
            count = off
        }
        return ok && bytes.count == size ? bytes : nil
    }

    /// The local copy of a task's checkpoint when it is the one the manifest describes.
    func localCopy(_ task: Int32, _ m: CheckpointManifest) -> [UInt8]? {
        guard let dir = localDirectory, var b = Self.readFile("\(dir)/task-\(task).ckpt") else { return nil }
        let tail = m.encode()
        guard b.count == m.length + tail.count, b[m.length...].elementsEqual(tail) else { return nil }
        b.removeLast(tail.count)
        return m.matches(b) ? b : nil
    }

    /// The latest complete snapshot of each task: from the local copy when it matches the
    /// topic's manifest, else from the topic's chunks. A corrupt or incomplete one stops the
    /// job with the reason (delete the checkpoint topic to start over on purpose).
    func load() async throws -> (snapshots: [Int32: TaskSnapshot], fromLocal: Int) {
        let meta = try await read(Self.metaPartition)
        var manifests: [Int32: CheckpointManifest] = [:]
        var intents: [Int32: CheckpointIntent] = [:]
        for (key, value) in meta where key.hasPrefix("task/") && !key.contains("/chunk/") {
            guard let value else { continue }
            if key.hasSuffix("/writing") {
                if let p = Int32(key.dropFirst(5).dropLast(8)), let i = try? CheckpointIntent(value) { intents[p] = i }
                continue
            }
            guard let p = Int32(key.dropFirst(5)) else { continue }
            do { manifests[p] = try CheckpointManifest(value) } catch {
                throw StreamsError.checkpoint("the manifest of task \(p) in \(topic) cannot be read: \(error)")
            }
        }
        var out: [Int32: TaskSnapshot] = [:]
        var fromLocal = 0
        var fetch: [Int32: CheckpointManifest] = [:]
        // Local copies are read, checked and decoded in parallel (each can be a gigabyte).
        let locals = await withTaskGroup(of: (Int32, TaskSnapshot?).self) { g in
            for (p, m) in manifests {
                g.addTask { [self] in (p, localCopy(p, m).flatMap { try? TaskSnapshot(decoding: $0) }) }
            }
            var r: [Int32: TaskSnapshot?] = [:]
            for await (p, s) in g { r[p] = s }
            return r
        }
        for (p, m) in manifests {
            if let s = locals[p] ?? nil {
                out[p] = s
                fromLocal += 1
            } else {
                fetch[p] = m
            }
        }
        if !fetch.isEmpty {
            // Exactly the chunks needed: from the lowest offset to the highest (all of partition
            // 1 when some offsets are unknown; partition 0 was read already).
            let wanted = Set(fetch.flatMap { p, m in chunkPlaces(p, m) }.filter { $0.partition == Self.chunkPartition }.map(\.key))
            var chunkValues = meta
            if !wanted.isEmpty {
                let located = fetch.values.filter { $0.chunkPartition == Self.chunkPartition }
                let range: (Int64, Int64)? = located.allSatisfy { !$0.chunkOffsets.isEmpty }
                    ? (located.flatMap(\.chunkOffsets).min()!, located.flatMap(\.chunkOffsets).max()! + 1) : nil
                let got = try await read(Self.chunkPartition, range: range, keys: wanted)
                chunkValues.merge(got) { _, new in new }
            }
            for (p, m) in fetch {
                var body: [UInt8] = []
                body.reserveCapacity(m.length)
                var complete = true
                for place in chunkPlaces(p, m) {
                    guard let c = chunkValues[place.key] ?? nil else { complete = false; break }
                    body += c
                }
                guard complete, m.matches(body) else {
                    throw StreamsError.checkpoint("checkpoint \(m.checkpointID) of task \(p) in \(topic) is incomplete or fails its checksum")
                }
                do { out[p] = try TaskSnapshot(decoding: body) } catch {
                    throw StreamsError.checkpoint("checkpoint \(m.checkpointID) of task \(p) in \(topic) cannot be read: \(error)")
                }
            }
        }
        // What the next checkpoint tombstones: chunks of an interrupted checkpoint (an intent
        // newer than its manifest), and chunks from before the split that no manifest needs.
        var cur: [Int32: [Place]] = [:]
        for (p, m) in manifests { cur[p] = chunkPlaces(p, m) }
        let needed = Set(cur.values.joined())
        var stale = Set<Place>()
        for (p, i) in intents {
            // What the last checkpoint meant to tombstone (a kill may have come first), and its
            // own chunks if it never got its manifest.
            stale.formUnion(i.stale)
            if manifests[p]?.checkpointID != i.checkpointID {
                for c in 0..<i.chunks { stale.insert(Place(partition: Self.chunkPartition, key: Self.chunkKey(p, i.checkpointID, c))) }
            }
        }
        for (k, v) in meta where k.contains("/chunk/") && v != nil { stale.insert(Place(partition: Self.metaPartition, key: k)) }
        garbage.withLock { $0.formUnion(stale.subtracting(needed)) }
        current.withLock { $0 = cur }
        return (out, fromLocal)
    }

    /// One partition read from `range` (default: all of it) to its end or the range's end:
    /// latest value per key (nil: tombstone), only for `keys` when given.
    ///
    /// Read committed: manifests of a transaction that never committed (exactly-once jobs
    /// killed before their commit) are not seen. A transaction still open — a previous run's,
    /// not fenced yet — is waited for (it ends with its timeout at the latest): reading up to
    /// it would miss later manifests and restore an older checkpoint than the output says.
    func read(_ partition: Int32, range: (Int64, Int64)? = nil, keys: Set<String>? = nil,
              settle: Duration = .seconds(120)) async throws -> [String: [UInt8]?] {
        let admin = KafkaAdmin(config: client)
        let tp = TopicPartition(topic, partition)
        var endOffset = try await admin.listOffsets([tp: .latest], isolationLevel: .readCommitted)[tp]?.offset ?? 0
        let deadline = ContinuousClock.now + settle
        var warned = false
        while true {
            let logEnd = try await admin.listOffsets([tp: .latest])[tp]?.offset ?? 0
            if endOffset >= logEnd { break }
            guard ContinuousClock.now < deadline else {
                await admin.close()
                throw StreamsError.checkpoint("\(topic) partition \(partition) has a transaction open since offset \(endOffset) that did not end within \(settle)")
            }
            if !warned {
                logger.info("waiting for an open transaction in the checkpoint topic to end (a previous run's: it ends at its timeout)",
                            metadata: ["topic": "\(topic)", "partition": "\(partition)", "stable-offset": "\(endOffset)", "end": "\(logEnd)"])
                warned = true
            }
            try await Task.sleep(for: .milliseconds(200))
            endOffset = try await admin.listOffsets([tp: .latest], isolationLevel: .readCommitted)[tp]?.offset ?? 0
        }
        let startOffset = try await admin.listOffsets([tp: .earliest])[tp]?.offset ?? 0
        await admin.close()
        let start = max(startOffset, range?.0 ?? startOffset), end = min(endOffset, range?.1 ?? endOffset)
        var latest: [String: [UInt8]?] = [:]
        guard end > start else { return latest }
        var cc = KafkaConsumerConfig(bootstrapServers: client.bootstrapServers)
        cc.client = client
        cc.enableAutoCommit = false
        cc.maxPartitionFetchBytes = 8 << 20
        cc.isolationLevel = .readCommitted
        let consumer = try KafkaConsumer(config: cc)
        try await consumer.assign(offsets: [tp: start])
        var it = consumer.records.makeAsyncIterator()
        var pos = start
        var stalled = ContinuousClock.now + .seconds(30)
        while pos < end {
            // Short waits: the end can be a transaction marker, which no record reports.
            guard let chunk = try await it.nextChunk(until: .now + .milliseconds(50)) else { break }
            if chunk.isEmpty {
                if let p = await consumer.position(tp), p >= end { break }
                guard ContinuousClock.now < stalled else {
                    await consumer.close()
                    throw StreamsError.checkpoint("\(topic) partition \(partition): no progress reading at offset \(pos) of \(end) for 30 s")
                }
                continue
            }
            stalled = ContinuousClock.now + .seconds(30)
            for r in chunk where r.offset < end {
                guard let k = r.keyString else { continue }
                if let keys, !keys.contains(k) { continue }
                latest.updateValue(r.valueBytes, forKey: k)
            }
            pos = (chunk.last?.offset ?? pos) + 1
        }
        await consumer.close()
        return latest
    }
}
