@testable import KafkaProtocol
import NIOCore
import Testing

@Suite struct RecordBatchTests {
    func sampleRecords(_ n: Int) -> [Record] {
        (0..<n).map { i in
            Record(timestamp: 1_700_000_000_000 + Int64(i), key: i % 3 == 0 ? nil : ByteBuffer(string: "k\(i)"),
                   value: i % 5 == 0 ? nil : ByteBuffer(string: String(repeating: "v\(i)", count: i % 7)),
                   headers: i % 2 == 0 ? [RecordHeader(key: "h", value: ByteBuffer(string: "x")), RecordHeader(key: "n", value: nil)] : [])
        }
    }

    @Test(arguments: CompressionCodec.allCases)
    func buildsAndReadsBack(codec: CompressionCodec) throws {
        let records = sampleRecords(50)
        let batch = try RecordBatch.build(records: records, baseOffset: 100, compression: codec)
        let validated = try BatchValidator.validate(batch, maxBatchBytes: 1 << 20)
        #expect(validated.count == 1)
        #expect(validated[0].header.recordCount == 50)
        #expect(validated[0].header.compression == codec)
        let back = try RecordBatch.records(in: batch)
        #expect(back.count == 50)
        for (i, r) in back.enumerated() {
            #expect(r.offset == 100 + Int64(i))
            #expect(r.timestamp == records[i].timestamp)
            #expect(r.key == records[i].key)
            #expect(r.value == records[i].value)
            #expect(r.headers == records[i].headers)
        }
    }

    @Test func knownCRC32CValues() {
        // RFC 3720 test vector and the standard check value.
        let check = Array("123456789".utf8)
        #expect(check.withUnsafeBytes { CRC32C.checksum($0) } == 0xE306_9283)
        let zeros = [UInt8](repeating: 0, count: 32)
        #expect(zeros.withUnsafeBytes { CRC32C.checksum($0) } == 0x8A91_36AA)
    }

    @Test func rejectsCorruptedCRC() throws {
        var batch = try RecordBatch.build(records: sampleRecords(3))
        let last = batch.writerIndex - 1
        batch.setInteger(batch.getInteger(at: last, as: UInt8.self)! ^ 0xFF, at: last)
        #expect(throws: BatchValidationError.self) { try BatchValidator.validate(batch, maxBatchBytes: 1 << 20) }
        do {
            _ = try BatchValidator.validate(batch, maxBatchBytes: 1 << 20)
        } catch {
            #expect(error.code == .corruptMessage)
        }
    }

    @Test func rejectsOversizedBatch() throws {
        let batch = try RecordBatch.build(records: sampleRecords(20))
        do {
            _ = try BatchValidator.validate(batch, maxBatchBytes: 100)
            Issue.record("expected MESSAGE_TOO_LARGE")
        } catch {
            #expect(error.code == .messageTooLarge)
        }
    }

    @Test func rejectsTruncatedBatchAtEveryLength() throws {
        let batch = try RecordBatch.build(records: sampleRecords(5))
        for cut in 1..<batch.readableBytes {
            let partial = batch.getSlice(at: 0, length: cut)!
            #expect(throws: BatchValidationError.self) { try BatchValidator.validate(partial, maxBatchBytes: 1 << 20) }
        }
    }

    @Test func logAppendTimeRestampsAndKeepsCRCValid() throws {
        var batch = try RecordBatch.build(records: sampleRecords(4))
        BatchValidator.stampLogAppendTime(&batch, batchAt: 0, now: 42)
        let v = try BatchValidator.validate(batch, maxBatchBytes: 1 << 20)
        #expect(v[0].header.isLogAppendTime)
        #expect(v[0].header.maxTimestamp == 42)
        #expect(try RecordBatch.records(in: batch).allSatisfy { $0.timestamp == 42 })
    }

    @Test func validatesSeveralBatchesInOnePayload() throws {
        var payload = try RecordBatch.build(records: sampleRecords(2))
        let second = try RecordBatch.build(records: sampleRecords(3), compression: .lz4)
        payload.writeImmutableBuffer(second)
        let v = try BatchValidator.validate(payload, maxBatchBytes: 1 << 20)
        #expect(v.map(\.header.recordCount) == [2, 3])
        #expect(v[1].position == payload.readableBytes - second.readableBytes)
    }

    @Test func varintsRoundTripAtBoundaries() throws {
        let values: [Int32] = [0, 1, -1, 63, -64, 64, -65, 8191, -8192, Int32.max, Int32.min]
        var b = ByteBuffer()
        for v in values { b.writeVarint(v) }
        for v in values { #expect(try b.readVarint() == v) }
        let longs: [Int64] = [0, -1, Int64.max, Int64.min, 1 << 40]
        for v in longs { b.writeVarlong(v) }
        for v in longs { #expect(try b.readVarlong() == v) }
        var bad = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        #expect(throws: KafkaDecodingError.self) { try bad.readUnsignedVarint() }
    }

    /// A client bug that writes malformed records under a valid CRC is still refused.
    @Test func rejectsMalformedRecordsUnderValidCRC() throws {
        let good = try RecordBatch.build(records: sampleRecords(6))
        // Every single-byte change inside the records section, with the CRC recomputed.
        var refused = 0
        for at in RecordBatchHeader.size..<good.readableBytes {
            var bad = good
            let old = bad.getInteger(at: at, as: UInt8.self)!
            bad.setInteger(old &+ 1, at: at)
            bad.setInteger(CRC32C.batchChecksum(bad), at: RecordBatchHeader.crcOffset, endianness: .big)
            do {
                _ = try BatchValidator.validate(bad, maxBatchBytes: 1 << 20)
                // Some changes keep the structure valid (a byte of a value); those must still decode.
                #expect(try RecordBatch.records(in: bad).count == 6)
            } catch let error as BatchValidationError {
                #expect(error.code == .corruptMessage)
                refused += 1
            }
        }
        #expect(refused > 0)
    }
}
