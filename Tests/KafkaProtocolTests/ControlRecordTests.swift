@testable import KafkaProtocol
import NIOCore
import Testing

// End-transaction markers and the control batches that carry them.

private func buf(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }
private func bytes(_ b: ByteBuffer) -> [UInt8] { Array(b.readableBytesView) }

@Suite struct ControlRecordTests {
    @Test func markerBytesAreKafkas() {
        let commit = ControlRecord(type: .commit, coordinatorEpoch: 5).encode()
        #expect(bytes(commit.key) == [0x00, 0x00, 0x00, 0x01])                // version 0, type 1 (COMMIT)
        #expect(bytes(commit.value) == [0x00, 0x00, 0x00, 0x00, 0x00, 0x05])  // version 0, coordinator epoch 5
        let abort = ControlRecord(type: .abort, coordinatorEpoch: -1)
        #expect(bytes(abort.keyBytes) == [0x00, 0x00, 0x00, 0x00])
        #expect(bytes(abort.valueBytes) == [0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF])
    }

    @Test(arguments: ControlRecordType.allCases)
    func markersRoundTrip(_ type: ControlRecordType) throws {
        for epoch: Int32 in [0, 1, 77, Int32.max, -1, Int32.min] {
            let m = ControlRecord(type: type, coordinatorEpoch: epoch)
            let (key, value) = m.encode()
            #expect(try ControlRecord.decode(key: key, value: value) == m)
            #expect(try ControlRecord.decodeType(key: key) == type)
            #expect(try ControlRecord.decode(Record(timestamp: 0, key: key, value: value)) == m)
        }
    }

    @Test func higherVersionsAreReadAsVersionZero() throws {
        // A later version may append fields; Kafka reads the v0 ones in place and ignores the rest.
        let key = buf([0x00, 0x01, 0x00, 0x00, 0xAB, 0xCD])
        let value = buf([0x00, 0x01, 0x00, 0x00, 0x00, 0x09, 0x02, 0x7F, 0x00])
        #expect(try ControlRecord.decode(key: key, value: value) == ControlRecord(type: .abort, coordinatorEpoch: 9))
        // Bytes before the reader index are not part of the key.
        var shifted = buf([0xEE, 0xEE, 0x00, 0x00, 0x00, 0x01])
        shifted.moveReaderIndex(forwardBy: 2)
        #expect(try ControlRecord.decodeType(key: shifted) == .commit)
    }

    @Test func truncatedMarkersAreRefused() {
        let (key, value) = ControlRecord(type: .commit, coordinatorEpoch: 3).encode()
        for n in 0..<ControlRecord.keySize {
            #expect(throws: KafkaDecodingError.self) { try ControlRecord.decode(key: buf(Array(bytes(key).prefix(n))), value: value) }
        }
        for n in 0..<ControlRecord.valueSize {
            #expect(throws: KafkaDecodingError.self) { try ControlRecord.decode(key: key, value: buf(Array(bytes(value).prefix(n)))) }
        }
        #expect(throws: KafkaDecodingError.self) { try ControlRecord.decode(Record(timestamp: 0, key: nil, value: value)) }
        #expect(throws: KafkaDecodingError.self) { try ControlRecord.decode(Record(timestamp: 0, key: key, value: nil)) }
    }

    @Test func unknownTypesAndNegativeVersionsAreRefused() throws {
        let value = ControlRecord(type: .abort, coordinatorEpoch: 0).valueBytes
        // Type 3 (a KRaft snapshot header) is a control record, but not a transaction marker.
        let snapshotHeader = buf([0x00, 0x00, 0x00, 0x03])
        #expect(try ControlRecord.typeId(key: snapshotHeader) == 3)
        #expect(throws: KafkaDecodingError.self) { try ControlRecord.decode(key: snapshotHeader, value: value) }
        #expect(throws: KafkaDecodingError.self) { try ControlRecord.decodeType(key: buf([0x00, 0x00, 0xFF, 0xFF])) }
        // A negative version means corruption, in the key or in the value.
        #expect(throws: KafkaDecodingError.self) { try ControlRecord.typeId(key: buf([0xFF, 0xFF, 0x00, 0x01])) }
        #expect(throws: KafkaDecodingError.self) {
            try ControlRecord.decode(key: buf([0x00, 0x00, 0x00, 0x01]), value: buf([0x80, 0x00, 0x00, 0x00, 0x00, 0x01]))
        }
    }
}

@Suite struct ControlBatchTests {
    static let timestamp: Int64 = 1_700_000_000_000

    @Test func controlBatchIsByteExact() {
        // Hand-assembled from the RecordBatch v2 layout; CRC-32C computed independently.
        let expected: [UInt8] = [
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // base offset 0
            0x00, 0x00, 0x00, 0x42,                          // batch length 66 (49 + a 17-byte record)
            0xFF, 0xFF, 0xFF, 0xFF,                          // partition leader epoch -1
            0x02,                                            // magic 2
            0xC4, 0xA7, 0x46, 0x6F,                          // CRC-32C of what follows
            0x00, 0x30,                                      // attributes: transactional | control
            0x00, 0x00, 0x00, 0x00,                          // last offset delta 0
            0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00,  // base timestamp
            0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00,  // max timestamp
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0F, 0xA0,  // producer id 4000
            0x00, 0x02,                                      // producer epoch 2
            0xFF, 0xFF, 0xFF, 0xFF,                          // base sequence -1
            0x00, 0x00, 0x00, 0x01,                          // one record
            0x20,                                            //   length 16 (zig-zag)
            0x00, 0x00, 0x00,                                //   attributes, timestamp delta, offset delta
            0x08, 0x00, 0x00, 0x00, 0x01,                    //   key: 4 bytes, version 0, COMMIT
            0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,        //   value: 6 bytes, version 0, coordinator epoch 5
            0x00,                                            //   no headers
        ]
        let batch = RecordBatch.buildControl(producerId: 4000, producerEpoch: 2, type: .commit, coordinatorEpoch: 5,
                                             timestamp: Self.timestamp)
        #expect(bytes(batch) == expected)
    }

    @Test(arguments: ControlRecordType.allCases)
    func controlBatchParsesBack(_ type: ControlRecordType) throws {
        let batch = RecordBatch.buildControl(producerId: 77, producerEpoch: 3, type: type, coordinatorEpoch: 12,
                                             timestamp: Self.timestamp, baseOffset: 500, partitionLeaderEpoch: 4)
        var headers: [RecordBatchHeader] = []
        try RecordBatch.forEachBatch(in: batch) { header, slice in
            headers.append(header)
            #expect(CRC32C.batchChecksum(slice) == header.crc)
            #expect(header.structuralProblem(available: slice.readableBytes) == nil)
        }
        try #require(headers.count == 1)
        let h = headers[0]
        #expect(h.totalSize == batch.readableBytes)
        #expect(h.isControl && h.isTransactional)
        #expect(!h.isLogAppendTime && !h.hasDeleteHorizon && h.compression == CompressionCodec.none)
        #expect(h.magic == 2 && h.baseOffset == 500 && h.partitionLeaderEpoch == 4)
        #expect(h.producerId == 77 && h.producerEpoch == 3 && h.baseSequence == -1)
        #expect(h.recordCount == 1 && h.lastOffsetDelta == 0)
        #expect(h.baseTimestamp == Self.timestamp && h.maxTimestamp == Self.timestamp)
        #expect(batch.withUnsafeReadableBytes { RecordBatchHeader($0) } == h)

        // The records section walks cleanly, and its one record is the marker.
        try batch.withUnsafeReadableBytes { raw in
            try RecordWalker.check(UnsafeRawBufferPointer(rebasing: raw[RecordBatchHeader.size...]), count: 1)
        }
        let records = try RecordBatch.records(in: batch, includeControl: true)
        try #require(records.count == 1)
        #expect(records[0].offset == 500 && records[0].timestamp == Self.timestamp && records[0].headers.isEmpty)
        #expect(try ControlRecord.decode(records[0]) == ControlRecord(type: type, coordinatorEpoch: 12))
        // Readers of data skip control batches.
        #expect(try RecordBatch.records(in: batch).isEmpty)
    }

    @Test func producedControlBatchesAreRefusedForBeingControlNotCorrupt() throws {
        // The produce validator checks the CRC before the control bit: refusing the batch as a
        // client-made control batch (INVALID_RECORD) shows its CRC and counts passed.
        let batch = RecordBatch.buildControl(producerId: 1, producerEpoch: 0, type: .abort, coordinatorEpoch: 0, timestamp: 0)
        do {
            _ = try BatchValidator.validate(batch, maxBatchBytes: 1 << 20)
            Issue.record("a control batch was accepted from a producer")
        } catch {
            #expect(error.code == .invalidRecord)
        }
    }

    @Test func corruptedOrTruncatedControlBatchesFail() throws {
        let batch = RecordBatch.buildControl(producerId: 1, producerEpoch: 0, type: .commit, coordinatorEpoch: 2, timestamp: 0)
        // Any flipped byte after the CRC field breaks the checksum.
        for at in (RecordBatchHeader.attributesOffset..<batch.readableBytes) {
            var bad = batch
            bad.setInteger(bad.getInteger(at: at, as: UInt8.self)! ^ 0x40, at: at)
            let header = try RecordBatchHeader.peek(bad)
            #expect(CRC32C.batchChecksum(bad) != header.crc, "byte \(at)")
        }
        // A cut batch is a partial tail to readers (nothing read) and corrupt to the validator.
        for cut in 0..<batch.readableBytes {
            let partial = batch.getSlice(at: 0, length: cut)!
            #expect(try RecordBatch.records(in: partial, includeControl: true).isEmpty)
            #expect(throws: BatchValidationError.self) { try BatchValidator.validate(partial, maxBatchBytes: 1 << 20) }
            if cut < RecordBatchHeader.size {
                #expect(throws: KafkaDecodingError.self) { try RecordBatchHeader.peek(partial) }
            }
        }
        // The record itself cut short (length and count kept) fails to decode.
        let header = try RecordBatchHeader.peek(batch)
        let short = batch.getSlice(at: 0, length: batch.readableBytes - 1)!
        #expect(throws: KafkaDecodingError.self) { try RecordBatch.records(ofBatch: short, header: header) }
    }
}
