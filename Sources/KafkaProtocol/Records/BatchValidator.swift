import NIOCore

/// What the broker checks on every produced batch before it touches the log (Kafka's
/// LogValidator for magic 2, minus what needs decompression: compressed batches are stored
/// as produced, their records are only decoded when someone needs to look inside).
public struct ValidatedBatch: Sendable {
    public var header: RecordBatchHeader
    /// Offset of the batch within the validated buffer.
    public var position: Int
}

public struct BatchValidationError: Error, Sendable, Equatable {
    public var code: ErrorCode
    public var message: String
    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }
}

public enum BatchValidator {
    /// Validates a produce payload: one or more complete v2 batches, CRCs, counts, sizes.
    /// `maxBatchBytes` is the topic's max.message.bytes (Kafka applies it per batch).
    public static func validate(_ buffer: ByteBuffer, maxBatchBytes: Int, deepCheckUncompressed: Bool = true) throws(BatchValidationError) -> [ValidatedBatch] {
        var out = [ValidatedBatch]()
        var pos = 0
        let total = buffer.readableBytes
        guard total > 0 else { throw BatchValidationError(.invalidRecord, "empty records") }
        while pos < total {
            guard total - pos >= RecordBatchHeader.size else {
                throw BatchValidationError(.corruptMessage, "truncated record batch header (\(total - pos) bytes)")
            }
            let slice = buffer.getSlice(at: buffer.readerIndex + pos, length: total - pos)!
            let header: RecordBatchHeader
            do { header = try RecordBatchHeader.peek(slice) } catch { throw BatchValidationError(.corruptMessage, "\(error)") }
            if header.magic != 2 {
                throw BatchValidationError(.unsupportedForMessageFormat, "record batch magic \(header.magic); only magic 2 is accepted")
            }
            let size = header.totalSize
            guard header.batchLength >= Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead), size <= total - pos else {
                throw BatchValidationError(.corruptMessage, "record batch length \(header.batchLength) exceeds the \(total - pos) bytes sent")
            }
            if size > maxBatchBytes {
                throw BatchValidationError(.messageTooLarge, "record batch of \(size) bytes exceeds max.message.bytes \(maxBatchBytes)")
            }
            let batch = slice.getSlice(at: slice.readerIndex, length: size)!
            let crc = CRC32C.batchChecksum(batch)
            guard crc == header.crc else {
                throw BatchValidationError(.corruptMessage, "record batch CRC mismatch (stored \(header.crc), computed \(crc))")
            }
            guard header.recordCount > 0, header.lastOffsetDelta == header.recordCount - 1 else {
                throw BatchValidationError(.invalidRecord, "record count \(header.recordCount) does not match last offset delta \(header.lastOffsetDelta)")
            }
            guard let codec = header.compression else {
                throw BatchValidationError(.unsupportedCompressionType, "unknown compression codec \(header.compressionRaw)")
            }
            if header.isControl {
                throw BatchValidationError(.invalidRecord, "control batches may not be produced by clients")
            }
            if header.isTransactional && header.producerId < 0 {
                throw BatchValidationError(.invalidRecord, "transactional batch without a producer id")
            }
            if header.producerId >= 0 && (header.producerEpoch < 0 || header.baseSequence < 0) {
                throw BatchValidationError(.invalidRecord, "idempotent batch without epoch or sequence")
            }
            if deepCheckUncompressed && codec == .none {
                do {
                    try batch.withUnsafeReadableBytes { raw throws(RecordWalker.Malformed) in
                        try RecordWalker.check(UnsafeRawBufferPointer(rebasing: raw[RecordBatchHeader.size...]), count: Int(header.recordCount))
                    }
                } catch {
                    throw BatchValidationError(.corruptMessage, "malformed records: \(error)")
                }
            }
            out.append(ValidatedBatch(header: header, position: pos))
            pos += size
        }
        return out
    }

    /// Rewrites a batch for LogAppendTime: sets the timestamp type bit and max timestamp, then
    /// recomputes the CRC (both fields are inside the checked region).
    public static func stampLogAppendTime(_ buffer: inout ByteBuffer, batchAt position: Int, now: Int64) {
        let i = buffer.readerIndex + position
        let attrs = buffer.getInteger(at: i + RecordBatchHeader.attributesOffset, endianness: .big, as: Int16.self)!
        buffer.setInteger(attrs | 0x08, at: i + RecordBatchHeader.attributesOffset, endianness: .big)
        buffer.setInteger(now, at: i + RecordBatchHeader.maxTimestampOffset, endianness: .big)
        let length = Int(buffer.getInteger(at: i + 8, endianness: .big, as: Int32.self)!) + RecordBatchHeader.logOverhead
        let batch = buffer.getSlice(at: i, length: length)!
        buffer.setInteger(CRC32C.batchChecksum(batch), at: i + RecordBatchHeader.crcOffset, endianness: .big)
    }
}

extension BatchValidator {
    /// Kafka's rule for compacted topics: every record needs a key (the cleaner keys on it).
    /// Returns the indexes, within the batch, of records without one.
    public static func recordsWithoutKey(_ buffer: ByteBuffer, _ batch: ValidatedBatch,
                                         maxDecompressedBytes: Int = RecordBatch.defaultMaxDecompressedBytes) throws(BatchValidationError) -> [Int32] {
        do {
            return try buffer.withUnsafeReadableBytes { raw in
                let bytes = UnsafeRawBufferPointer(rebasing: raw[batch.position..<(batch.position + batch.header.totalSize)])
                var missing: [Int32] = []
                var index: Int32 = 0
                let scan = { (body: UnsafeRawBufferPointer) throws in
                    try RecordScanner.forEach(body, count: Int(batch.header.recordCount)) { r in
                        if r.key == nil { missing.append(index) }
                        index += 1
                    }
                }
                if batch.header.compression == CompressionCodec.none {
                    try scan(UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.size...]))
                } else {
                    let body = try RecordBatchAssembly.body(of: bytes, header: batch.header, maxDecompressedBytes: maxDecompressedBytes)
                    try body.withUnsafeBytes { try scan($0) }
                }
                return missing
            }
        } catch {
            throw BatchValidationError(.corruptMessage, "malformed records: \(error)")
        }
    }

    /// The produce payload with every batch not already in `codec` re-compressed (a topic's
    /// `compression.type` other than `producer`), and the batches' new places.
    public static func recompress(_ buffer: ByteBuffer, _ batches: [ValidatedBatch], to codec: CompressionCodec, level: Int?,
                                  maxDecompressedBytes: Int = RecordBatch.defaultMaxDecompressedBytes)
        throws(BatchValidationError) -> (ByteBuffer, [ValidatedBatch])
    {
        guard batches.contains(where: { $0.header.compression != codec }) else { return (buffer, batches) }
        var out = ByteBuffer()
        out.reserveCapacity(buffer.readableBytes)
        var placed: [ValidatedBatch] = []
        do {
            try buffer.withUnsafeReadableBytes { raw in
                for b in batches {
                    let bytes = UnsafeRawBufferPointer(rebasing: raw[b.position..<(b.position + b.header.totalSize)])
                    let position = out.writerIndex - out.readerIndex
                    if b.header.compression == codec {
                        out.writeBytes(bytes)
                        placed.append(ValidatedBatch(header: b.header, position: position))
                        continue
                    }
                    let body = try RecordBatchAssembly.body(of: bytes, header: b.header, maxDecompressedBytes: maxDecompressedBytes)
                    let rebuilt = try body.withUnsafeBytes { try RecordBatchAssembly.assemble(header: b.header, body: $0, codec: codec, level: level) }
                    out.writeBytes(rebuilt)
                    placed.append(ValidatedBatch(header: rebuilt.withUnsafeBytes { RecordBatchHeader($0)! }, position: position))
                }
            }
        } catch CompressionError.outputTooLarge(let limit) {
            throw BatchValidationError(.recordListTooLarge, "batch decompresses past \(limit) bytes; cannot re-compress it")
        } catch {
            throw BatchValidationError(.corruptMessage, "could not re-compress batch: \(error)")
        }
        return (out, placed)
    }
}
