import CRC32C

/// The fixed 61-byte prefix of a Kafka RecordBatch (magic 2), decoded.
///
/// The log never parses records: everything it needs (offsets, timestamps, producer
/// identity, sizes) is in this header, which is why recovery and producer-state rebuilds
/// can skip record bytes.
public struct BatchHeader: Sendable, Equatable {
    /// Bytes in the header, i.e. the offset of the first record.
    public static let size = 61
    /// baseOffset (8) + batchLength (4): the part not counted by batchLength.
    public static let logOverhead = 12
    /// The smallest legal batchLength: a header with no records.
    public static let minBatchLength = Int32(size - logOverhead)
    /// Where the CRC-covered bytes start (attributes onwards).
    static let crcStart = 21
    static let crcOffset = 17
    static let magicOffset = 16

    public var baseOffset: Int64
    public var batchLength: Int32
    public var partitionLeaderEpoch: Int32
    public var magic: Int8
    public var crc: UInt32
    public var attributes: Int16
    public var lastOffsetDelta: Int32
    public var baseTimestamp: Int64
    public var maxTimestamp: Int64
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var recordCount: Int32

    /// Decodes the header at the start of `bytes`; nil if fewer than 61 bytes. No field is
    /// validated here (see `structuralProblem`).
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.size else { return nil }
        baseOffset = bytes.beInt64(at: 0)
        batchLength = bytes.beInt32(at: 8)
        partitionLeaderEpoch = bytes.beInt32(at: 12)
        magic = Int8(bitPattern: bytes[16])
        crc = bytes.beUInt32(at: 17)
        attributes = bytes.beInt16(at: 21)
        lastOffsetDelta = bytes.beInt32(at: 23)
        baseTimestamp = bytes.beInt64(at: 27)
        maxTimestamp = bytes.beInt64(at: 35)
        producerId = bytes.beInt64(at: 43)
        producerEpoch = bytes.beInt16(at: 51)
        baseSequence = bytes.beInt32(at: 53)
        recordCount = bytes.beInt32(at: 57)
    }

    /// Whole batch size on disk: 12 + batchLength.
    public var totalSize: Int { Self.logOverhead + Int(batchLength) }
    public var lastOffset: Int64 { baseOffset + Int64(lastOffsetDelta) }
    /// Offsets the batch occupies.
    public var offsetCount: Int64 { Int64(lastOffsetDelta) + 1 }
    public var isTransactional: Bool { attributes & 0x10 != 0 }
    public var isControl: Bool { attributes & 0x20 != 0 }
    public var hasProducerId: Bool { producerId >= 0 }
    /// Sequence of the last record, wrapping at Int32.max as Kafka does.
    public var lastSequence: Int32 { Self.incrementSequence(baseSequence, by: lastOffsetDelta) }

    /// Kafka's `DefaultRecordBatch.incrementSequence`: sequences wrap from Int32.max to 0.
    public static func incrementSequence(_ sequence: Int32, by increment: Int32) -> Int32 {
        if sequence > Int32.max - increment {
            return increment - (Int32.max - sequence) - 1
        }
        return sequence + increment
    }

    /// Why this header cannot start a batch that fits in `available` bytes, or nil if it can.
    func structuralProblem(available: Int) -> String? {
        if magic != 2 { return "magic \(magic), expected 2" }
        if batchLength < Self.minBatchLength { return "batchLength \(batchLength) < \(Self.minBatchLength)" }
        if totalSize > available { return "batch of \(totalSize) bytes but only \(available) available" }
        if lastOffsetDelta < 0 { return "negative lastOffsetDelta \(lastOffsetDelta)" }
        if recordCount < 0 { return "negative recordCount \(recordCount)" }
        return nil
    }
}

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
    guard batch.count >= BatchHeader.size else { return false }
    let stored = batch.beUInt32(at: BatchHeader.crcOffset)
    return crc32c(UnsafeRawBufferPointer(rebasing: batch[BatchHeader.crcStart...])) == stored
}

/// One batch found in an append buffer: its header and where it starts in the buffer.
struct LocatedBatch: Sendable {
    var header: BatchHeader
    var position: Int
}

/// Splits an append buffer into batches, checking the structure of each (the caller has
/// already verified CRCs; this pass guards against the buffer being cut or mis-framed).
func parseBatches(_ buffer: UnsafeRawBufferPointer) throws -> [LocatedBatch] {
    var result: [LocatedBatch] = []
    var position = 0
    while position < buffer.count {
        let rest = UnsafeRawBufferPointer(rebasing: buffer[position...])
        guard let header = BatchHeader(rest) else {
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
