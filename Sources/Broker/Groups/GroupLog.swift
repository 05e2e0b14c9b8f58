import Foundation
import KafkaProtocol
import Logging
import LogStore
import NIOCore

/// Where the coordinator's records go. `append` runs under the coordinator's lock (so the
/// log order is the order of the state changes); `flush` completes once the appended
/// records are durable.
protocol GroupRecordStore: AnyObject {
    /// Appends records; returns a token to wait on with `flush`.
    func append(_ records: [GroupRecord]) throws -> GroupAppendToken
    func flush(_ token: GroupAppendToken, completion: @escaping @Sendable ((any Error)?) -> Void)
    /// Every record currently stored, in order.
    func replay(_ body: (GroupRecord) throws -> Void) throws
    func close()
}

struct GroupAppendToken: @unchecked Sendable {
    let log: AnyObject?
    let offset: Int64
}

/// In-memory store (tests).
final class MemoryGroupStore: GroupRecordStore, @unchecked Sendable {
    private(set) var stored: [GroupRecord] = []

    func append(_ records: [GroupRecord]) throws -> GroupAppendToken {
        stored.append(contentsOf: records)
        return GroupAppendToken(log: nil, offset: Int64(stored.count - 1))
    }
    func flush(_ token: GroupAppendToken, completion: @escaping @Sendable ((any Error)?) -> Void) { completion(nil) }
    func replay(_ body: (GroupRecord) throws -> Void) throws { for r in stored { try body(r) } }
    func close() {}
}

/// The durable store: a compacted LogStore partition log under
/// `<data-dir>/__cluster/consumer-offsets/`, like Kafka's `__consumer_offsets`. Records are
/// RecordBatch v2 with our own key/value encoding (`GroupRecordCodec`): one key per group and
/// per committed partition, a tombstone when either goes. The broker's log cleaner compacts it
/// like any `cleanup.policy=compact` topic, so start-up replays roughly the live records plus
/// what was committed since the last cleaning, and a crash during cleaning is recovered by the
/// log's own swap recovery.
///
/// Earlier versions rewrote the log into a new generation directory (`log-<n>` named by a
/// `CURRENT` file); that directory is opened as it is.
final class OffsetsLogStore: GroupRecordStore, @unchecked Sendable {
    let directory: URL
    let logger: Logger
    let log: PartitionLog
    private(set) var recordCount = 0

    static let logConfig = LogConfig(segmentBytes: 16 << 20, segmentMs: 3_600_000, retentionMs: -1, retentionBytes: -1,
                                     deleteEnabled: false, compact: true, deleteRetentionMs: 86_400_000)

    init(directory: URL, flusher: LogFlusher?, logger: Logger, config: LogConfig = OffsetsLogStore.logConfig) throws {
        self.directory = directory
        self.logger = logger
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var generation = 0
        let pointer = directory.appendingPathComponent("CURRENT")
        if let text = try? String(contentsOf: pointer, encoding: .utf8), let n = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            generation = n
        } else {
            try DurableFile.writeAtomically(Data("0\n".utf8), to: pointer)
        }
        log = try PartitionLog.open(directory: directory.appendingPathComponent("log-\(generation)"), config: config, flusher: flusher, logger: logger)
        // Leftovers of an older version's interrupted rewrite.
        let keep = "log-\(generation)"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasPrefix("log-") && name != keep {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    static func batch(_ records: ArraySlice<GroupRecord>, now: Int64) throws -> ByteBuffer {
        let rs = try records.map { r -> Record in
            let (k, v) = try GroupRecordCodec.encode(r)
            return Record(timestamp: now, key: k, value: v)
        }
        return try RecordBatch.build(records: rs)
    }

    private static func write(_ records: [GroupRecord], to log: PartitionLog) throws -> Int64 {
        var last: Int64 = log.logEndOffset - 1
        let now = PartitionLog.wallClockMs()
        var i = 0
        while i < records.count {
            let end = min(i + 2000, records.count)
            let b = try batch(records[i..<end], now: now)
            last = try b.withUnsafeReadableBytes { try log.append(batches: $0) }.lastOffset
            i = end
        }
        return last
    }

    func append(_ records: [GroupRecord]) throws -> GroupAppendToken {
        guard !records.isEmpty else { return GroupAppendToken(log: nil, offset: -1) }
        let last = try Self.write(records, to: log)
        recordCount += records.count
        return GroupAppendToken(log: log, offset: last)
    }

    func flush(_ token: GroupAppendToken, completion: @escaping @Sendable ((any Error)?) -> Void) {
        guard let log = token.log as? PartitionLog else { return completion(nil) }
        log.flush(upTo: token.offset, completion: completion)
    }

    func replay(_ body: (GroupRecord) throws -> Void) throws {
        var offset = log.logStartOffset
        var count = 0
        while offset < log.logEndOffset {
            let r = try log.read(from: offset, maxBytes: 4 * 1024 * 1024)
            guard !r.records.isEmpty else { break }
            var next = offset
            try RecordBatch.forEachBatch(in: ByteBuffer(bytes: r.records)) { header, batch in
                for rec in try RecordBatch.records(ofBatch: batch, header: header) {
                    guard rec.offset >= offset, let key = rec.key else { continue }
                    if let gr = try GroupRecordCodec.decode(key: key, value: rec.value) { try body(gr) }
                    count += 1
                }
                next = max(next, header.baseOffset + Int64(header.lastOffsetDelta) + 1)
            }
            guard next > offset else { break }
            offset = next
        }
        recordCount = count
    }

    func close() {
        try? log.close()
    }
}
