/// Building a batch from a header and an uncompressed records body: what the broker does when
/// it re-compresses a produced batch for a topic's `compression.type`, and what the log cleaner
/// does when it rewrites a batch with fewer records. Record bytes are never re-encoded here.
public enum RecordBatchAssembly {
    /// The whole batch: `header` with its codec bits, length and CRC replaced, then `body`
    /// compressed with `codec`. Every other header field (offsets, counts, timestamps, producer
    /// identity, leader epoch) is written as given.
    public static func assemble(header: RecordBatchHeader, body: UnsafeRawBufferPointer, codec: CompressionCodec,
                                level: Int? = nil) throws -> [UInt8] {
        var h = header
        h.attributes = (h.attributes & ~CompressionCodec.attributesMask) | Int16(codec.rawValue)
        let payload: [UInt8] = codec == .none ? [UInt8](body) : try Compression.compress(codec, body, level: level)
        h.batchLength = Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead + payload.count)
        var out = [UInt8]()
        out.reserveCapacity(RecordBatchHeader.size + payload.count)
        h.append(to: &out)
        out.append(contentsOf: payload)
        out.withUnsafeMutableBytes { raw in
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[RecordBatchHeader.attributesOffset...]))
            raw.storeBytes(of: crc.bigEndian, toByteOffset: RecordBatchHeader.crcOffset, as: UInt32.self)
        }
        return out
    }

    /// The uncompressed records body of a whole batch (a copy when the batch is not compressed).
    public static func body(of batch: UnsafeRawBufferPointer, header: RecordBatchHeader, maxDecompressedBytes: Int) throws -> [UInt8] {
        let payload = UnsafeRawBufferPointer(rebasing: batch[RecordBatchHeader.size..<header.totalSize])
        guard let codec = header.compression else { throw CompressionError.unsupportedCodec(header.compressionRaw) }
        return try Compression.decompress(codec, payload, maxOutput: maxDecompressedBytes)
    }

    /// The same batch compressed with `codec` instead (records, offsets and CRC-covered fields
    /// otherwise unchanged).
    public static func recompressed(_ batch: UnsafeRawBufferPointer, header: RecordBatchHeader, to codec: CompressionCodec,
                                    maxDecompressedBytes: Int = RecordBatch.defaultMaxDecompressedBytes) throws -> [UInt8] {
        let records = try body(of: batch, header: header, maxDecompressedBytes: maxDecompressedBytes)
        return try records.withUnsafeBytes { try assemble(header: header, body: $0, codec: codec) }
    }
}

extension RecordBatchHeader {
    /// Appends the 61 header bytes, big-endian, to `out`.
    public func append(to out: inout [UInt8]) {
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.bigEndian) { out.append(contentsOf: $0) } }
        put(baseOffset); put(batchLength); put(partitionLeaderEpoch); put(magic); put(crc); put(attributes)
        put(lastOffsetDelta); put(baseTimestamp); put(maxTimestamp); put(producerId); put(producerEpoch)
        put(baseSequence); put(recordCount)
    }
}
