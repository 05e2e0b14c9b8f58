/// Walks the records of an uncompressed batch without materialising them: checks that every
/// record's length, varints, key, value and headers fit exactly and that offset deltas run
/// 0, 1, 2, … — what a client bug or a bit flip that kept the CRC valid would break. Runs on
/// every uncompressed produce, so it reads raw bytes and allocates nothing.
enum RecordWalker {
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    static func check(_ body: UnsafeRawBufferPointer, count: Int) throws(Malformed) {
        var p = 0
        let end = body.count
        for i in 0..<count {
            let len = try varlong(body, &p, end)
            guard len >= 0, len <= Int64(end - p) else { throw Malformed(description: "record \(i) length \(len) runs past the batch") }
            let recordEnd = p + Int(len)
            guard p < recordEnd else { throw Malformed(description: "record \(i) is empty") }
            p += 1  // attributes
            _ = try varlong(body, &p, recordEnd)  // timestamp delta
            let offsetDelta = try varlong(body, &p, recordEnd)
            guard offsetDelta == Int64(i) else { throw Malformed(description: "record \(i) has offset delta \(offsetDelta)") }
            try skipBytes(body, &p, recordEnd, nullable: true)  // key
            try skipBytes(body, &p, recordEnd, nullable: true)  // value
            let headers = try varlong(body, &p, recordEnd)
            guard headers >= 0, headers <= Int64(recordEnd - p) else { throw Malformed(description: "record \(i) header count \(headers)") }
            for _ in 0..<headers {
                try skipBytes(body, &p, recordEnd, nullable: false)
                try skipBytes(body, &p, recordEnd, nullable: true)
            }
            guard p == recordEnd else { throw Malformed(description: "record \(i) has \(recordEnd - p) stray bytes") }
        }
        guard p == end else { throw Malformed(description: "\(end - p) bytes after the last record") }
    }

    /// Zig-zag varint/varlong (they share an encoding; varints are just shorter).
    @inline(__always)
    static func varlong(_ body: UnsafeRawBufferPointer, _ p: inout Int, _ limit: Int) throws(Malformed) -> Int64 {
        // Fast path: one byte, the common case for small lengths and deltas.
        if p < limit {
            let b = body[p]
            if b & 0x80 == 0 {
                p += 1
                return Int64(b >> 1) ^ -Int64(b & 1)
            }
        }
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard p < limit else { throw Malformed(description: "varint runs past the record") }
            let b = body[p]
            p += 1
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { break }
            shift += 7
            if shift > 63 { throw Malformed(description: "varint too long") }
        }
        return Int64(bitPattern: (result >> 1) ^ (0 &- (result & 1)))
    }

    @inline(__always)
    static func skipBytes(_ body: UnsafeRawBufferPointer, _ p: inout Int, _ limit: Int, nullable: Bool) throws(Malformed) {
        let n = try varlong(body, &p, limit)
        if n == -1 && nullable { return }
        guard n >= 0, n <= Int64(limit - p) else { throw Malformed(description: "length \(n) runs past the record") }
        p += Int(n)
    }
}
