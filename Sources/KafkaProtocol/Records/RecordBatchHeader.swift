import CRC32C
import NIOCore

/// The 61-byte header of a RecordBatch (magic 2). Offsets of its fields are Kafka's; the CRC
/// covers everything from `attributes` to the end of the batch, so the broker can assign the
/// base offset without recomputing it.
///
/// One type for the wire and the log: the broker's validator, the client's decoder and the
/// log store (recovery, producer state, the cleaner) all read headers through it. The log
/// never needs more than this to track offsets, timestamps and producer identity.
public struct RecordBatchHeader: Sendable, Equatable {
    public static let size = 61
    public static let magicOffset = 16
    public static let crcOffset = 17
    public static let attributesOffset = 21
    public static let baseTimestampOffset = 27
    public static let maxTimestampOffset = 35
    /// Bytes from the start of the batch that are not counted by `batchLength`.
    public static let logOverhead = 12
    /// The smallest legal batchLength: a header with no records.
    public static let minBatchLength = Int32(size - logOverhead)

    /// Attribute bits.
    public static let timestampTypeBit: Int16 = 0x08
    public static let transactionalBit: Int16 = 0x10
    public static let controlBit: Int16 = 0x20
    /// KIP-534: the base timestamp field holds the delete horizon of the batch's tombstones.
    public static let deleteHorizonBit: Int16 = 0x40

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

    public init(baseOffset: Int64 = 0, batchLength: Int32 = 0, partitionLeaderEpoch: Int32 = -1, magic: Int8 = 2, crc: UInt32 = 0,
                attributes: Int16 = 0, lastOffsetDelta: Int32 = 0, baseTimestamp: Int64 = 0, maxTimestamp: Int64 = 0,
                producerId: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1, recordCount: Int32 = 0) {
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordCount = recordCount
    }

    /// Decodes the header at the start of raw memory; nil if fewer than 61 bytes. No field is
    /// validated here (see `structuralProblem`).
    @inlinable
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.size else { return nil }
        @inline(__always) func be<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
            T(bigEndian: bytes.loadUnaligned(fromByteOffset: at, as: T.self))
        }
        self.init(baseOffset: be(0, Int64.self), batchLength: be(8, Int32.self), partitionLeaderEpoch: be(12, Int32.self),
                  magic: Int8(bitPattern: bytes[16]), crc: be(17, UInt32.self), attributes: be(21, Int16.self),
                  lastOffsetDelta: be(23, Int32.self), baseTimestamp: be(27, Int64.self), maxTimestamp: be(35, Int64.self),
                  producerId: be(43, Int64.self), producerEpoch: be(51, Int16.self), baseSequence: be(53, Int32.self),
                  recordCount: be(57, Int32.self))
    }

    public var totalSize: Int { Int(batchLength) + Self.logOverhead }
    public var lastOffset: Int64 { baseOffset + Int64(lastOffsetDelta) }
    /// Offsets the batch occupies (a compacted batch may hold fewer records than this).
    public var offsetCount: Int64 { Int64(lastOffsetDelta) + 1 }
    public var hasProducerId: Bool { producerId >= 0 }
    /// Sequence of the last record, wrapping at Int32.max as Kafka does.
    public var lastSequence: Int32 { Self.incrementSequence(baseSequence, by: lastOffsetDelta) }
    /// The delete horizon the cleaner stamped on this batch (KIP-534), if any.
    public var deleteHorizonMs: Int64? { hasDeleteHorizon ? baseTimestamp : nil }

    /// Kafka's `DefaultRecordBatch.incrementSequence`: sequences wrap from Int32.max to 0.
    public static func incrementSequence(_ sequence: Int32, by increment: Int32) -> Int32 {
        if sequence > Int32.max - increment {
            return increment - (Int32.max - sequence) - 1
        }
        return sequence + increment
    }

    /// Why this header cannot start a batch that fits in `available` bytes, or nil if it can.
    /// Structure only (what a log walk needs); the CRC and the records are checked elsewhere.
    public func structuralProblem(available: Int) -> String? {
        if magic != 2 { return "magic \(magic), expected 2" }
        if batchLength < Self.minBatchLength { return "batchLength \(batchLength) < \(Self.minBatchLength)" }
        if totalSize > available { return "batch of \(totalSize) bytes but only \(available) available" }
        if lastOffsetDelta < 0 { return "negative lastOffsetDelta \(lastOffsetDelta)" }
        if recordCount < 0 { return "negative recordCount \(recordCount)" }
        return nil
    }
    public var compressionRaw: Int8 { Int8(attributes & 0x07) }
    public var compression: CompressionCodec? { CompressionCodec(rawValue: compressionRaw) }
    public var isLogAppendTime: Bool { attributes & Self.timestampTypeBit != 0 }
    public var isTransactional: Bool { attributes & Self.transactionalBit != 0 }
    public var isControl: Bool { attributes & Self.controlBit != 0 }
    public var hasDeleteHorizon: Bool { attributes & Self.deleteHorizonBit != 0 }

    /// Reads a header at the buffer's reader index without consuming it.
    public static func peek(_ buffer: ByteBuffer) throws -> RecordBatchHeader {
        guard buffer.readableBytes >= size else { throw KafkaDecodingError.truncated("record batch header") }
        let i = buffer.readerIndex
        func get<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T { buffer.getInteger(at: i + at, endianness: .big, as: T.self)! }
        return RecordBatchHeader(
            baseOffset: get(0, Int64.self), batchLength: get(8, Int32.self), partitionLeaderEpoch: get(12, Int32.self),
            magic: get(16, Int8.self), crc: get(17, UInt32.self), attributes: get(21, Int16.self),
            lastOffsetDelta: get(23, Int32.self), baseTimestamp: get(27, Int64.self), maxTimestamp: get(35, Int64.self),
            producerId: get(43, Int64.self), producerEpoch: get(51, Int16.self), baseSequence: get(53, Int32.self),
            recordCount: get(57, Int32.self))
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(baseOffset, endianness: .big)
        buffer.writeInteger(batchLength, endianness: .big)
        buffer.writeInteger(partitionLeaderEpoch, endianness: .big)
        buffer.writeInteger(magic, endianness: .big)
        buffer.writeInteger(crc, endianness: .big)
        buffer.writeInteger(attributes, endianness: .big)
        buffer.writeInteger(lastOffsetDelta, endianness: .big)
        buffer.writeInteger(baseTimestamp, endianness: .big)
        buffer.writeInteger(maxTimestamp, endianness: .big)
        buffer.writeInteger(producerId, endianness: .big)
        buffer.writeInteger(producerEpoch, endianness: .big)
        buffer.writeInteger(baseSequence, endianness: .big)
        buffer.writeInteger(recordCount, endianness: .big)
    }
}

public enum CRC32C {
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return seed }
        return rb_crc32c(seed, base, bytes.count)
    }

    /// CRC of a batch's checked region: from `attributes` to the end.
    public static func batchChecksum(_ batch: ByteBuffer) -> UInt32 {
        batch.withUnsafeReadableBytes { raw in
            checksum(UnsafeRawBufferPointer(rebasing: raw[RecordBatchHeader.attributesOffset...]))
        }
    }
}
