import CRC32C
import KafkaProtocol

/// CRC-32C (Castagnoli) of `bytes`, as RecordBatch v2 uses.
@inline(__always)
func crc32c(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
    return rb_crc32c(0, base, bytes.count)
}

func crc32c(_ bytes: [UInt8]) -> UInt32 {
    bytes.withUnsafeBytes { crc32c($0) }
}

/// True if the batch occupying all of `batch` carries a correct CRC.
func batchCRCIsValid(_ batch: UnsafeRawBufferPointer) -> Bool {
    guard batch.count >= RecordBatchHeader.size else { return false }
    let stored = batch.beUInt32(at: RecordBatchHeader.crcOffset)
    return crc32c(UnsafeRawBufferPointer(rebasing: batch[RecordBatchHeader.attributesOffset...])) == stored
}

/// One batch found in an append buffer: its header and where it starts in the buffer.
struct LocatedBatch: Sendable {
    var header: RecordBatchHeader
    var position: Int
}

/// Splits an append buffer into batches, checking the structure of each (the caller has
/// already verified CRCs; this pass guards against the buffer being cut or mis-framed).
func parseBatches(_ buffer: UnsafeRawBufferPointer) throws -> [LocatedBatch] {
    var result: [LocatedBatch] = []
    var position = 0
    while position < buffer.count {
        let rest = UnsafeRawBufferPointer(rebasing: buffer[position...])
        guard let header = RecordBatchHeader(rest) else {
            throw LogError.invalidBatch("\(rest.count) trailing bytes at \(position) are shorter than a batch header")
        }
        if let problem = header.structuralProblem(available: rest.count) {
            throw LogError.invalidBatch("batch at byte \(position): \(problem)")
        }
        result.append(LocatedBatch(header: header, position: position))
        position += header.totalSize
    }
    if result.isEmpty { throw LogError.invalidBatch("no batches") }
    return result
}
