import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KafkaClient
import Logging
import NIOCore

/// Where checkpoints live: a compacted topic `<job>.checkpoints` (any machine can restore
/// from it) and, when configured, a local directory (a restart on the same machine reads it
/// instead of the topic when it holds the same checkpoint).
///
/// A task's snapshot is cut into chunks (keys `task/P/chunk/ID/I`: a checkpoint never
/// overwrites the chunks of the one before) followed by a manifest (key `task/P`: checkpoint
/// id, chunk count, length, checksum), written only once every chunk is acknowledged: the
/// latest manifest always describes complete chunks, whatever moment a kill -9 chose. Once a
/// manifest is written, the chunks it replaced get tombstones, and compaction removes them.
final class CheckpointStore: Sendable {
    static let chunkBytes = 512 * 1024

    let topic: String
    let localDirectory: String?
    let producer: KafkaProducer
    let client: KafkaClientConfig
    let logger: Logger
    /// Chunk keys no manifest needs any more (tombstoned with the next checkpoint).
    let garbage = Locked<Set<String>>([])
    /// The chunk keys of each task's latest complete checkpoint.
    let current = Locked<[Int32: [String]]>([:])

    struct Manifest: Equatable {
        var checkpointID: Int64
        var chunks: Int
        var length: Int
        var checksum: UInt64
        var checksumKind: ChecksumKind

        func encode() -> [UInt8] {
            var w = StateWriter()
            w.int(checkpointID); w.int(chunks); w.int(length); w.uint(checksum); w.int(checksumKind.rawValue)
            return w.bytes
        }

        init(checkpointID: Int64, chunks: Int, length: Int, body: [UInt8]) {
            self.checkpointID = checkpointID
            self.chunks = chunks
            self.length = length
            checksumKind = .crc32c
            checksum = checksumKind.of(body)
        }

        func matches(_ body: [UInt8]) -> Bool { body.count == length && checksumKind.of(body) == checksum }

        init(_ b: [UInt8]) throws(StateError) {
            var r = StateReader(b)
            checkpointID = try r.int()
            let c = try r.int(), l = try r.int()
            guard c >= 0, c <= 1 << 24, l >= 0, l <= Int64(c) * Int64(CheckpointStore.chunkBytes) else {
                throw StateError("manifest: implausible chunk count \(c) or length \(l)")
            }
            chunks = Int(c)
            length = Int(l)
            checksum = try r.uint()
            if r.atEnd {
                checksumKind = .fnv1a
            } else {
                let k = try r.int()
                guard let kind = ChecksumKind(rawValue: k) else { throw StateError("manifest: unknown checksum kind \(k)") }
                checksumKind = kind
            }
        }
    }

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

    static func createTopic(job: String, admin: KafkaAdmin) async throws {
        let errs = try await admin.createTopics([NewTopic(name: "\(job).checkpoints", partitions: 1, replicationFactor: 1,
                                                          configs: ["cleanup.policy": "compact", "segment.bytes": "67108864"])],
                                                ifNotExists: true)
        if let (t, e) = errs.first { throw StreamsError.topology("cannot create checkpoint topic \(t): \(e)") }
    }

    /// Writes the snapshots; returns when they are durable in the topic (and written locally).
    func save(_ snapshots: [TaskSnapshot]) async throws {
        let failures = DeliveryFailures()
        let onDelivery: @Sendable (DeliveryResult) -> Void = { failures.record($0) }
        var local: [(TaskSnapshot, [UInt8], Manifest)] = []
        for s in snapshots {
            let bytes = s.encode()
            let chunks = max(1, (bytes.count + Self.chunkBytes - 1) / Self.chunkBytes)
            for i in 0..<chunks {
                let part = Array(bytes[(i * Self.chunkBytes)..<min(bytes.count, (i + 1) * Self.chunkBytes)])
                try await producer.produce(ProducerRecord(topic: topic, key: Array(Self.chunkKey(s.partition, s.checkpointID, i).utf8), value: part,
                                                          partition: 0), onDelivery: onDelivery)
            }
            local.append((s, bytes, Manifest(checkpointID: s.checkpointID, chunks: chunks, length: bytes.count, body: bytes)))
        }
        await producer.flush()
        if let e = failures.first() { throw StreamsError.deliveryFailed("checkpoint chunks: \(e)") }
        for (s, _, m) in local {
            try await producer.produce(ProducerRecord(topic: topic, key: Array("task/\(s.partition)".utf8), value: m.encode(), partition: 0), onDelivery: onDelivery)
        }
        await producer.flush()
        if let e = failures.first() { throw StreamsError.deliveryFailed("checkpoint manifest: \(e)") }
        // The replaced chunks (and any left by a crash) are garbage now.
        let stale: Set<String> = current.withLock { cur in
            var old = Set<String>()
            for (s, _, m) in local {
                old.formUnion(cur[s.partition] ?? [])
                cur[s.partition] = (0..<m.chunks).map { Self.chunkKey(s.partition, s.checkpointID, $0) }
            }
            return old
        }.union(garbage.withLock { g in defer { g = [] }; return g })
        // Never the chunks just written (a checkpoint id can repeat after a crash before its
        // manifest).
        let written = Set(local.flatMap { s, _, m in (0..<m.chunks).map { Self.chunkKey(s.partition, s.checkpointID, $0) } })
        for k in stale.subtracting(written) {
            try await producer.produce(ProducerRecord(topic: topic, key: ByteBuffer(string: k), value: nil, partition: 0), onDelivery: onDelivery)
        }
        if let dir = localDirectory {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for (s, bytes, m) in local { try Self.writeAtomically(bytes + m.encode(), to: "\(dir)/task-\(s.partition).ckpt") }
        }
    }

    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY, 0o644)
        guard fd >= 0 else { throw StreamsError.deliveryFailed("cannot write \(tmp): errno \(errno)") }
        defer { Glibc.close(fd) }
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw StreamsError.deliveryFailed("cannot write \(tmp): errno \(errno)") }
            off += n
        }
        guard fsync(fd) == 0, rename(tmp, path) == 0 else { throw StreamsError.deliveryFailed("cannot commit \(path): errno \(errno)") }
    }

    /// The latest complete snapshot of each task: from the local copy when it matches the
    /// topic's manifest, else from the topic's chunks. A corrupt or incomplete one stops the
    /// job with the reason (delete the checkpoint topic to start over on purpose).
    func load() async throws -> (snapshots: [Int32: TaskSnapshot], fromLocal: Int) {
        let latest = try await readTopic()
        var out: [Int32: TaskSnapshot] = [:]
        var fromLocal = 0
        for (key, value) in latest where key.hasPrefix("task/") && !key.contains("/chunk/") {
            guard let p = Int32(key.dropFirst(5)), let value else { continue }
            let m: Manifest
            do { m = try Manifest(value) } catch {
                throw StreamsError.checkpoint("the manifest of task \(p) in \(topic) cannot be read: \(error)")
            }
            if let dir = localDirectory, let data = FileManager.default.contents(atPath: "\(dir)/task-\(p).ckpt") {
                let b = [UInt8](data)
                let tail = m.encode().count
                if b.count == m.length + tail, Array(b[m.length...]) == m.encode() {
                    let body = Array(b[..<m.length])
                    if m.matches(body), let s = try? TaskSnapshot(decoding: body) {
                        out[p] = s
                        fromLocal += 1
                        continue
                    }
                }
            }
            var body: [UInt8] = []
            body.reserveCapacity(m.length)
            var complete = true
            for i in 0..<m.chunks {
                guard let c = latest[Self.chunkKey(p, m.checkpointID, i)] ?? nil else { complete = false; break }
                body += c
            }
            guard complete, m.matches(body) else {
                throw StreamsError.checkpoint("checkpoint \(m.checkpointID) of task \(p) in \(topic) is incomplete or fails its checksum")
            }
            do { out[p] = try TaskSnapshot(decoding: body) } catch {
                throw StreamsError.checkpoint("checkpoint \(m.checkpointID) of task \(p) in \(topic) cannot be read: \(error)")
            }
        }
        // Chunks of checkpoints that are not the latest of their task: tombstoned next time.
        var needed = Set<String>()
        var cur: [Int32: [String]] = [:]
        for (key, value) in latest where key.hasPrefix("task/") && !key.contains("/chunk/") {
            guard let p = Int32(key.dropFirst(5)), let value, let m = try? Manifest(value) else { continue }
            let keys = (0..<m.chunks).map { Self.chunkKey(p, m.checkpointID, $0) }
            cur[p] = keys
            needed.formUnion(keys)
        }
        let stale = Set(latest.compactMap { k, v in k.contains("/chunk/") && v != nil && !needed.contains(k) ? k : nil })
        garbage.withLock { $0.formUnion(stale) }
        current.withLock { $0 = cur }
        return (out, fromLocal)
    }

    static func chunkKey(_ partition: Int32, _ id: Int64, _ i: Int) -> String { "task/\(partition)/chunk/\(id)/\(i)" }

    /// The topic read to its end: latest value per key (nil: tombstone).
    func readTopic() async throws -> [String: [UInt8]?] {
        let admin = KafkaAdmin(config: client)
        let tp = TopicPartition(topic, 0)
        let end = try await admin.listOffsets([tp: .latest])[tp]?.offset ?? 0
        let start = try await admin.listOffsets([tp: .earliest])[tp]?.offset ?? 0
        await admin.close()
        var latest: [String: [UInt8]?] = [:]
        guard end > start else { return latest }
        var cc = KafkaConsumerConfig(bootstrapServers: client.bootstrapServers)
        cc.client = client
        cc.enableAutoCommit = false
        cc.maxPartitionFetchBytes = 8 << 20
        let consumer = try KafkaConsumer(config: cc)
        try await consumer.assign(offsets: [tp: start])
        var it = consumer.records.makeAsyncIterator()
        var pos = start
        while pos < end {
            guard let chunk = try await it.nextChunk(until: .now + .seconds(30)) else { break }
            if chunk.isEmpty {
                if let p = await consumer.position(tp), p >= end { break }
                continue
            }
            for r in chunk where r.offset < end {
                if let k = r.keyString { latest.updateValue(r.valueBytes, forKey: k) }
            }
            pos = (chunk.last?.offset ?? pos) + 1
        }
        await consumer.close()
        return latest
    }
}
