import NIOCore

/// A record header: Kafka header keys are strings, values are nullable bytes.
public struct RecordHeader: Sendable, Equatable {
    public var key: String
    public var value: ByteBuffer?
    public init(key: String, value: ByteBuffer?) {
        self.key = key
        self.value = value
    }
}

/// One record of a batch, with its absolute offset and timestamp resolved.
public struct Record: Sendable, Equatable {
    public var offset: Int64
    public var timestamp: Int64
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [RecordHeader]

    public init(offset: Int64 = 0, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader] = []) {
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }
}

extension Record {
    /// Parses one record (varint length-prefixed) from the records section of a batch.
    static func read(from buffer: inout ByteBuffer, header: RecordBatchHeader) throws -> Record {
        let length = Int(try buffer.readVarint())
        guard length >= 0, var body = buffer.readSlice(length: length) else {
            throw KafkaDecodingError.invalidLength("record", length)
        }
        _ = try body.readKafkaInt(Int8.self, "record attributes")
        let tsDelta = try body.readVarlong()
        let offsetDelta = try body.readVarint()
        let key = try readVarBytes(&body, "record key")
        let value = try readVarBytes(&body, "record value")
        let headerCount = Int(try body.readVarint())
        guard headerCount >= 0, headerCount <= body.readableBytes else { throw KafkaDecodingError.invalidLength("record headers", headerCount) }
        var headers = [RecordHeader]()
        headers.reserveCapacity(headerCount)
        for _ in 0..<headerCount {
            let kLen = Int(try body.readVarint())
            let k = try body.readKafkaString(length: kLen, "header key")
            let v = try readVarBytes(&body, "header value")
            headers.append(RecordHeader(key: k, value: v))
        }
        guard body.readableBytes == 0 else { throw KafkaDecodingError.trailingBytes(body.readableBytes) }
        let ts = header.isLogAppendTime ? header.maxTimestamp : header.baseTimestamp &+ tsDelta
        return Record(offset: header.baseOffset &+ Int64(offsetDelta), timestamp: ts, key: key, value: value, headers: headers)
    }

    private static func readVarBytes(_ b: inout ByteBuffer, _ what: String) throws -> ByteBuffer? {
        let n = Int(try b.readVarint())
        if n == -1 { return nil }
        return try b.readKafkaSlice(length: n, what)
    }

    /// Writes this record into a batch body (offset and timestamp relative to the batch's base).
    func write(to buffer: inout ByteBuffer, offsetDelta: Int32, timestampDelta: Int64) {
        Record.write(to: &buffer, offsetDelta: offsetDelta, timestampDelta: timestampDelta, key: key, value: value, headers: headers)
    }

    /// Zig-zag varint (Kafka's varint and varlong) at `p[i...]`.
    @inline(__always)
    static func putZigZag(_ value: Int64, _ p: UnsafeMutableRawBufferPointer, _ i: inout Int) {
        var v = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        while v >= 0x80 {
            p[i] = UInt8(truncatingIfNeeded: v) | 0x80
            v >>= 7
            i += 1
        }
        p[i] = UInt8(truncatingIfNeeded: v)
        i += 1
    }

    /// The record wire format (varint length, attributes, deltas, key, value, headers), shared by
    /// batch building here and the client's producer batches.
    public static func write(to buffer: inout ByteBuffer, offsetDelta: Int32, timestampDelta: Int64,
                             key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]) {
        let keyLen = key?.readableBytes ?? -1
        let valueLen = value?.readableBytes ?? -1
        var bodySize = 1 + varlongSize(timestampDelta) + varintSize(offsetDelta)
        bodySize += varintSize(Int32(keyLen)) + max(0, keyLen) + varintSize(Int32(valueLen)) + max(0, valueLen)
        bodySize += varintSize(Int32(headers.count))
        for h in headers {
            let kl = h.key.utf8.count
            let vl = h.value?.readableBytes ?? -1
            bodySize += varintSize(Int32(kl)) + kl + varintSize(Int32(vl)) + max(0, vl)
        }
        // The fixed fields go out in one raw write: this runs once per produced record, and
        // byte-at-a-time ByteBuffer writes cost a capacity check each.
        buffer.reserveCapacity(minimumWritableBytes: varintSize(Int32(bodySize)) + bodySize)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 5 + 1 + 10 + 5 + 5) { p in
            var i = 0
            putZigZag(Int64(bodySize), p, &i)
            p[i] = 0  // attributes
            i += 1
            putZigZag(timestampDelta, p, &i)
            putZigZag(Int64(offsetDelta), p, &i)
            putZigZag(Int64(keyLen), p, &i)
            return i
        }
        if let key { buffer.writeImmutableBuffer(key) }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 5) { p in
            var i = 0
            putZigZag(Int64(valueLen), p, &i)
            return i
        }
        if let value { buffer.writeImmutableBuffer(value) }
        if headers.isEmpty {
            buffer.writeInteger(UInt8(0))  // zig-zag 0: no headers
            return
        }
        buffer.writeVarint(Int32(headers.count))
        for h in headers {
            buffer.writeVarint(Int32(h.key.utf8.count))
            buffer.writeString(h.key)
            buffer.writeVarint(Int32(h.value?.readableBytes ?? -1))
            if let v = h.value { buffer.writeImmutableBuffer(v) }
        }
    }
}
