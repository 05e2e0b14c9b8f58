import Foundation
import KafkaProtocol
import Logging
import LogStore
import NIOCore

/// A compacted log of key/value records the broker keeps for itself under `__cluster/` —
/// committed offsets and group metadata, transaction state — like Kafka's internal topics.
/// Appends run under the owner's lock (so the log order is the order of its state changes);
/// `flush` completes once they are durable. The broker's log cleaner compacts it like any
/// `cleanup.policy=compact` topic, so start-up replays roughly the live records.
///
/// Earlier versions rewrote the log into a new generation directory (`log-<n>` named by a
/// `CURRENT` file); that directory is opened as it is.
final class InternalStateLog: @unchecked Sendable {
    let directory: URL
    let log: PartitionLog

    static let logConfig = LogConfig(segmentBytes: 16 << 20, segmentMs: 3_600_000, retentionMs: -1, retentionBytes: -1,
                                     deleteEnabled: false, compact: true, deleteRetentionMs: 86_400_000)

    init(directory: URL, flusher: LogFlusher?, logger: Logger, config: LogConfig = InternalStateLog.logConfig) throws {
        self.directory = directory
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

    static func batch(_ records: ArraySlice<(key: ByteBuffer, value: ByteBuffer?)>, now: Int64) throws -> ByteBuffer {
        try RecordBatch.build(records: records.map { Record(timestamp: now, key: $0.key, value: $0.value) })
    }

    /// Appends the records (in batches of 2,000); returns the last offset written, or nil if
    /// there were none.
    func append(_ records: [(key: ByteBuffer, value: ByteBuffer?)]) throws -> Int64? {
        guard !records.isEmpty else { return nil }
        var last: Int64 = log.logEndOffset - 1
        let now = PartitionLog.wallClockMs()
        var i = 0
        while i < records.count {
            let end = min(i + 2000, records.count)
            let b = try Self.batch(records[i..<end], now: now)
            last = try b.withUnsafeReadableBytes { try log.append(batches: $0) }.lastOffset
            i = end
        }
        return last
    }

    func flush(upTo offset: Int64, completion: @escaping @Sendable ((any Error)?) -> Void) {
        log.flush(upTo: offset, completion: completion)
    }

    /// Every keyed record currently stored, in order; returns how many.
    @discardableResult
    func replay(_ body: (_ key: ByteBuffer, _ value: ByteBuffer?) throws -> Void) throws -> Int {
        var offset = log.logStartOffset
        var count = 0
        while offset < log.logEndOffset {
            let r = try log.read(from: offset, maxBytes: 4 * 1024 * 1024)
            guard !r.records.isEmpty else { break }
            var next = offset
            try RecordBatch.forEachBatch(in: ByteBuffer(bytes: r.records)) { header, batch in
                for rec in try RecordBatch.records(ofBatch: batch, header: header) {
                    guard rec.offset >= offset, let key = rec.key else { continue }
                    try body(key, rec.value)
                    count += 1
                }
                next = max(next, header.baseOffset + Int64(header.lastOffsetDelta) + 1)
            }
            guard next > offset else { break }
            offset = next
        }
        return count
    }

    func close() {
        try? log.close()
    }
}

extension InternalStateLog {
    /// A record key or value of an internal log: `version` (i16), then `type` (i8) if given,
    /// then `value` coded as the Kafka protocol codes a non-flexible message at that version.
    static func encode<T: KafkaStruct>(_ value: T, version: Int16, type: Int8? = nil) throws -> ByteBuffer {
        var buf = ByteBuffer()
        buf.writeInteger(version, endianness: .big)
        if let type { buf.writeInteger(type) }
        var e = KafkaEncoder(buffer: buf, version: version, flexible: false)
        var copy = value
        try copy.code(&e)
        return e.buffer
    }

    /// The inverse of `encode` for a buffer holding exactly one `T` after its `version`
    /// (and type) header: a wrong version or trailing bytes are refused.
    static func decode<T: KafkaStruct>(_: T.Type, from buffer: ByteBuffer, version: Int16) throws -> T {
        var b = buffer
        guard let v = b.readInteger(endianness: .big, as: Int16.self), v == version else {
            throw KafkaDecodingError.invalidValue("record version (expected \(version))")
        }
        var d = KafkaDecoder(buffer: b, version: version, flexible: false)
        var out = T()
        try out.code(&d)
        guard d.buffer.readableBytes == 0 else { throw KafkaDecodingError.trailingBytes(d.buffer.readableBytes) }
        return out
    }
}
