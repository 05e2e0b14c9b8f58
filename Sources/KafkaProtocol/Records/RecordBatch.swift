import NIOCore

/// Building and reading whole RecordBatch v2 values.
public enum RecordBatch {
    /// Upper bound on a decompressed batch: a compressed batch may not expand into more than this
    /// (decompression bombs are hostile input).
    public static let defaultMaxDecompressedBytes = 64 * 1024 * 1024

    /// Builds one batch. Offsets in the batch start at `baseOffset` (0 for a producer: the broker
    /// assigns the real one). Producer fields are -1 for a non-idempotent producer.
    public static func build(records: [Record], baseOffset: Int64 = 0, compression: CompressionCodec = .none,
                             producerId: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1,
                             logAppendTime: Bool = false, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws -> ByteBuffer {
        precondition(!records.isEmpty, "a record batch holds at least one record")
        let baseTimestamp = records.map(\.timestamp).min() ?? 0
        let maxTimestamp = records.map(\.timestamp).max() ?? 0
        var body = allocator.buffer(capacity: records.reduce(0) { $0 + 24 + ($1.key?.readableBytes ?? 0) + ($1.value?.readableBytes ?? 0) })
        for (i, r) in records.enumerated() {
            r.write(to: &body, offsetDelta: Int32(i), timestampDelta: r.timestamp - baseTimestamp)
        }
        if compression != .none {
            var compressed = allocator.buffer(capacity: body.readableBytes / 2 + 1024)
            try body.withUnsafeReadableBytes { try Compression.compress(compression, $0, appendingTo: &compressed) }
            body = compressed
        }
        var attributes = Int16(compression.rawValue)
        if logAppendTime { attributes |= 0x08 }
        var header = RecordBatchHeader(
            baseOffset: baseOffset, batchLength: Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead + body.readableBytes),
            partitionLeaderEpoch: -1, magic: 2, crc: 0, attributes: attributes, lastOffsetDelta: Int32(records.count - 1),
            baseTimestamp: baseTimestamp, maxTimestamp: maxTimestamp, producerId: producerId, producerEpoch: producerEpoch,
            baseSequence: baseSequence, recordCount: Int32(records.count))
        var out = allocator.buffer(capacity: RecordBatchHeader.size + body.readableBytes)
        header.write(to: &out)
        out.writeImmutableBuffer(body)
        header.crc = CRC32C.batchChecksum(out)
        out.setInteger(header.crc, at: out.readerIndex + RecordBatchHeader.crcOffset, endianness: .big)
        return out
    }

    /// Reads every record of every batch in `buffer` (a produce payload or a fetch response's
    /// records). A trailing partial batch — which Kafka brokers may send at the end of a fetch —
    /// is ignored. Control batches are skipped unless `includeControl`.
    public static func records(in buffer: ByteBuffer, includeControl: Bool = false,
                               maxDecompressedBytes: Int = defaultMaxDecompressedBytes) throws -> [Record] {
        var out = [Record]()
        try forEachBatch(in: buffer) { header, batch in
            if header.isControl && !includeControl { return }
            out.append(contentsOf: try records(ofBatch: batch, header: header, maxDecompressedBytes: maxDecompressedBytes))
        }
        return out
    }

    /// Calls `body` with each complete batch (header and its bytes); stops at a partial tail.
    public static func forEachBatch(in buffer: ByteBuffer, _ body: (RecordBatchHeader, ByteBuffer) throws -> Void) throws {
        var rest = buffer
        while rest.readableBytes >= RecordBatchHeader.size {
            let header = try RecordBatchHeader.peek(rest)
            guard header.batchLength >= Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead) else {
                throw KafkaDecodingError.invalidLength("record batch", Int(header.batchLength))
            }
            guard let batch = rest.readSlice(length: header.totalSize) else { return }
            try body(header, batch)
        }
    }

    /// Decodes the records of one batch, decompressing if needed.
    public static func records(ofBatch batch: ByteBuffer, header: RecordBatchHeader,
                               maxDecompressedBytes: Int = defaultMaxDecompressedBytes) throws -> [Record] {
        guard header.magic == 2 else { throw KafkaDecodingError.invalidValue("record batch magic \(header.magic)") }
        var body = batch.getSlice(at: batch.readerIndex + RecordBatchHeader.size, length: batch.readableBytes - RecordBatchHeader.size)!
        guard let codec = header.compression else { throw KafkaDecodingError.invalidValue("compression codec \(header.compressionRaw)") }
        if codec != .none {
            body = try body.withUnsafeReadableBytes { try Compression.decompressToBuffer(codec, $0, maxOutput: maxDecompressedBytes) }
        }
        let count = Int(header.recordCount)
        guard count >= 0, count <= body.readableBytes else { throw KafkaDecodingError.invalidLength("record count", count) }
        var out = [Record]()
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(try Record.read(from: &body, header: header)) }
        guard body.readableBytes == 0 else { throw KafkaDecodingError.trailingBytes(body.readableBytes) }
        return out
    }
}
