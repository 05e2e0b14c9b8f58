/// One record of an uncompressed batch body, located but not copied: what the log cleaner and
/// the broker's produce checks need (key, tombstone or not, deltas) without building `Record`
/// values and their buffers.
public struct RawRecord: Sendable {
    /// Where the record starts (its length varint) and ends in the body.
    public var start: Int
    public var end: Int
    /// The record's attributes byte (unused by magic 2, but kept as written).
    public var attributes: UInt8
    public var timestampDelta: Int64
    public var offsetDelta: Int64
    /// Where the key length starts: the bytes from here to `end` are independent of the batch's
    /// base offset and timestamp, so a record can be re-based by rewriting only what precedes it.
    public var keyLengthStart: Int
    /// The key's bytes in the body; nil for a null key.
    public var key: Range<Int>?
    /// A null value: a tombstone on a compacted topic.
    public var valueIsNull: Bool
}

/// Walks the records of an uncompressed batch body (the bytes after the 61-byte header, or the
/// decompressed ones), with the same bounds checks as `RecordWalker.check`.
public enum RecordScanner {
    public struct Malformed: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Calls `visit` for each of `count` records; throws if the body does not hold exactly them.
    public static func forEach(_ body: UnsafeRawBufferPointer, count: Int,
                               _ visit: (RawRecord) throws -> Void) throws {
        var p = 0
        let end = body.count
        do {
            for i in 0..<count {
                let start = p
                let len = try RecordWalker.varlong(body, &p, end)
                guard len > 0, len <= Int64(end - p) else {
                    throw RecordWalker.Malformed(description: "record \(i) length \(len) runs past the batch")
                }
                let recordEnd = p + Int(len)
                let attributes = body[p]
                p += 1
                let tsDelta = try RecordWalker.varlong(body, &p, recordEnd)
                let offsetDelta = try RecordWalker.varlong(body, &p, recordEnd)
                let keyLengthStart = p
                let keyLength = try RecordWalker.varlong(body, &p, recordEnd)
                var key: Range<Int>?
                if keyLength >= 0 {
                    guard keyLength <= Int64(recordEnd - p) else { throw RecordWalker.Malformed(description: "record \(i) key runs past the record") }
                    key = p..<(p + Int(keyLength))
                    p += Int(keyLength)
                } else if keyLength != -1 {
                    throw RecordWalker.Malformed(description: "record \(i) key length \(keyLength)")
                }
                let valueStart = p
                try RecordWalker.skipBytes(body, &p, recordEnd, nullable: true)
                let valueIsNull = body[valueStart] == 0x01  // zig-zag -1
                let headers = try RecordWalker.varlong(body, &p, recordEnd)
                guard headers >= 0, headers <= Int64(recordEnd - p) else {
                    throw RecordWalker.Malformed(description: "record \(i) header count \(headers)")
                }
                for _ in 0..<headers {
                    try RecordWalker.skipBytes(body, &p, recordEnd, nullable: false)
                    try RecordWalker.skipBytes(body, &p, recordEnd, nullable: true)
                }
                guard p == recordEnd else { throw RecordWalker.Malformed(description: "record \(i) has \(recordEnd - p) stray bytes") }
                try visit(RawRecord(start: start, end: recordEnd, attributes: attributes, timestampDelta: tsDelta, offsetDelta: offsetDelta,
                                    keyLengthStart: keyLengthStart, key: key, valueIsNull: valueIsNull))
            }
        } catch let e as RecordWalker.Malformed {
            throw Malformed(description: e.description)
        }
        guard p == end else { throw Malformed(description: "\(end - p) bytes after the last record") }
    }

    /// Appends `record` (from `body`) to `out` with its timestamp delta changed to `timestampDelta`
    /// (used when the cleaner moves a batch's base timestamp to a delete horizon). Everything
    /// from the key on is copied verbatim.
    public static func append(_ record: RawRecord, from body: UnsafeRawBufferPointer, timestampDelta: Int64,
                              to out: inout [UInt8]) {
        let tail = UnsafeRawBufferPointer(rebasing: body[record.keyLengthStart..<record.end])
        let bodySize = 1 + varlongSize(timestampDelta) + varlongSize(record.offsetDelta) + tail.count
        appendZigZag(Int64(bodySize), to: &out)
        out.append(record.attributes)
        appendZigZag(timestampDelta, to: &out)
        appendZigZag(record.offsetDelta, to: &out)
        out.append(contentsOf: tail)
    }

    static func appendZigZag(_ value: Int64, to out: inout [UInt8]) {
        var v = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(truncatingIfNeeded: v))
    }

    static func varlongSize(_ value: Int64) -> Int {
        var v = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        var n = 1
        while v >= 0x80 {
            v >>= 7
            n += 1
        }
        return n
    }
}
