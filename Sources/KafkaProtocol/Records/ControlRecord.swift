import NIOCore

/// The control record types of transaction markers (Kafka's `ControlRecordType` also has KRaft
/// types, 2–6, which never appear in a data partition).
public enum ControlRecordType: Int16, Sendable, CaseIterable {
    case abort = 0
    case commit = 1
}

/// The end-transaction marker: the one record of a control batch that commits or aborts a
/// producer's transaction in a partition (Kafka's `EndTransactionMarker`).
///
/// Key: version int16 (0), type int16. Value: version int16 (0), coordinator epoch int32.
/// Like Kafka, decoding reads both at fixed positions: a higher version is read as version 0
/// and whatever it appends is ignored; a negative version is corruption.
public struct ControlRecord: Sendable, Equatable {
    public static let keyVersion: Int16 = 0
    public static let valueVersion: Int16 = 0
    /// Bytes of a version 0 key and value (the minimum any version has).
    public static let keySize = 4
    public static let valueSize = 6

    public var type: ControlRecordType
    /// The transaction coordinator's epoch when it wrote the marker (fences stale coordinators).
    public var coordinatorEpoch: Int32

    public init(type: ControlRecordType, coordinatorEpoch: Int32) {
        self.type = type
        self.coordinatorEpoch = coordinatorEpoch
    }

    public var keyBytes: ByteBuffer {
        var b = ByteBuffer()
        b.reserveCapacity(Self.keySize)
        b.writeInteger(Self.keyVersion, endianness: .big)
        b.writeInteger(type.rawValue, endianness: .big)
        return b
    }

    public var valueBytes: ByteBuffer {
        var b = ByteBuffer()
        b.reserveCapacity(Self.valueSize)
        b.writeInteger(Self.valueVersion, endianness: .big)
        b.writeInteger(coordinatorEpoch, endianness: .big)
        return b
    }

    /// The record's key and value bytes.
    public func encode() -> (key: ByteBuffer, value: ByteBuffer) { (keyBytes, valueBytes) }

    /// The type id in a control record key, whatever the type (Kafka's `parseTypeId`): a reader
    /// that skips control types it does not know uses this rather than `decodeType`.
    public static func typeId(key: ByteBuffer) throws -> Int16 {
        guard key.readableBytes >= keySize else { throw KafkaDecodingError.truncated("control record key (\(key.readableBytes) bytes)") }
        let version = key.getInteger(at: key.readerIndex, endianness: .big, as: Int16.self)!
        guard version >= 0 else { throw KafkaDecodingError.invalidValue("control record key version \(version)") }
        return key.getInteger(at: key.readerIndex + 2, endianness: .big, as: Int16.self)!
    }

    /// The marker type of a control record key; throws for a short key, a negative version, or
    /// a type that is not a transaction marker.
    public static func decodeType(key: ByteBuffer) throws -> ControlRecordType {
        let id = try typeId(key: key)
        guard let type = ControlRecordType(rawValue: id) else {
            throw KafkaDecodingError.invalidValue("control record type \(id) is not a transaction marker")
        }
        return type
    }

    public static func decode(key: ByteBuffer, value: ByteBuffer) throws -> ControlRecord {
        let type = try decodeType(key: key)
        guard value.readableBytes >= valueSize else {
            throw KafkaDecodingError.truncated("end transaction marker value (\(value.readableBytes) bytes)")
        }
        let version = value.getInteger(at: value.readerIndex, endianness: .big, as: Int16.self)!
        guard version >= 0 else { throw KafkaDecodingError.invalidValue("end transaction marker version \(version)") }
        let epoch = value.getInteger(at: value.readerIndex + 2, endianness: .big, as: Int32.self)!
        return ControlRecord(type: type, coordinatorEpoch: epoch)
    }

    /// The marker in a record of a control batch; a null key or value is malformed.
    public static func decode(_ record: Record) throws -> ControlRecord {
        guard let key = record.key else { throw KafkaDecodingError.invalidValue("control record without a key") }
        guard let value = record.value else { throw KafkaDecodingError.invalidValue("end transaction marker without a value") }
        return try decode(key: key, value: value)
    }
}

extension RecordBatch {
    /// One control batch holding the end-transaction marker of `producerId`'s transaction, as a
    /// partition leader appends it on WriteTxnMarkers (Kafka's
    /// `MemoryRecords.withEndTransactionMarker`): magic 2, uncompressed, create time, attributes
    /// transactional + control, base sequence -1, one record (offset and timestamp delta 0, no
    /// headers) whose key and value are the marker's. `baseOffset` and `partitionLeaderEpoch`
    /// are the log's to assign; the CRC is computed over the batch as built.
    public static func buildControl(producerId: Int64, producerEpoch: Int16, type: ControlRecordType, coordinatorEpoch: Int32,
                                    timestamp: Int64, baseOffset: Int64 = 0, partitionLeaderEpoch: Int32 = -1,
                                    allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        let marker = ControlRecord(type: type, coordinatorEpoch: coordinatorEpoch)
        var body = allocator.buffer(capacity: 32)
        Record.write(to: &body, offsetDelta: 0, timestampDelta: 0, key: marker.keyBytes, value: marker.valueBytes, headers: [])
        var header = RecordBatchHeader(
            baseOffset: baseOffset, batchLength: RecordBatchHeader.minBatchLength + Int32(body.readableBytes),
            partitionLeaderEpoch: partitionLeaderEpoch, magic: 2, crc: 0,
            attributes: RecordBatchHeader.transactionalBit | RecordBatchHeader.controlBit, lastOffsetDelta: 0,
            baseTimestamp: timestamp, maxTimestamp: timestamp, producerId: producerId, producerEpoch: producerEpoch,
            baseSequence: -1, recordCount: 1)
        var out = allocator.buffer(capacity: RecordBatchHeader.size + body.readableBytes)
        header.write(to: &out)
        out.writeImmutableBuffer(body)
        header.crc = CRC32C.batchChecksum(out)
        out.setInteger(header.crc, at: out.readerIndex + RecordBatchHeader.crcOffset, endianness: .big)
        return out
    }
}
