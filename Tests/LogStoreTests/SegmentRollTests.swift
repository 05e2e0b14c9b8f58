import Foundation
import Testing
@testable import LogStore

@Suite struct SegmentRollTests {
    @Test func rollsWhenTheNextAppendWouldExceedSegmentBytes() throws {
        let dir = TempDirectory()
        let batch = makeBatch(records: 1, payload: 139)  // 200 bytes
        let log = try openLog(dir.path, LogConfig(segmentBytes: 1024))
        for _ in 0..<12 { try log.append(batches: batch) }
        // Five 200-byte batches fit in 1024 bytes, the sixth starts a new segment.
        #expect(log.segmentBaseOffsets == [0, 5, 10])
        for base in [Int64(0), 5, 10] {
            #expect(FileManager.default.fileExists(atPath: logPath(dir.path, base)))
        }
        #expect(FileSystem.fileSize(logPath(dir.path, 0)) == 1000)
        #expect(FileManager.default.fileExists(atPath: dir.sub("00000000000000000005.log")))
        #expect(try readAll(log).count == 12)
        try log.close()
        #expect(FileManager.default.fileExists(atPath: logPath(dir.path, 5, ".index")))
        #expect(FileManager.default.fileExists(atPath: logPath(dir.path, 5, ".timeindex")))
    }

    @Test func rollsBeforeRelativeOffsetsOverflow() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        // Each batch claims 2^31 offsets (compacted batches can have gaps this large).
        let huge = makeBatch(records: 1, lastOffsetDelta: Int32.max)
        #expect(try log.append(batches: huge) == .appended(firstOffset: 0, lastOffset: (1 << 31) - 1))
        #expect(try log.append(batches: huge) == .appended(firstOffset: 1 << 31, lastOffset: (1 << 32) - 1))
        #expect(log.segmentCount == 1)  // relative offset 2^32 - 1 still fits
        #expect(try log.append(batches: huge) == .appended(firstOffset: 1 << 32, lastOffset: (1 << 32) + (1 << 31) - 1))
        #expect(log.segmentBaseOffsets == [0, 1 << 32])
        #expect(try log.read(from: (1 << 32) - 7, maxBytes: 1).firstBatchOffset == 1 << 31)
        #expect(try log.read(from: (1 << 32) + 5, maxBytes: 1).firstBatchOffset == 1 << 32)
        try log.close()
        let reopened = try openLog(dir.path)
        #expect(reopened.logEndOffset == (1 << 32) + (1 << 31))
        #expect(reopened.segmentBaseOffsets == [0, 1 << 32])
    }

    @Test func rollsWhenTheActiveSegmentIsOlderThanSegmentMs() throws {
        let dir = TempDirectory()
        let clock = TestClock()
        let log = try openLog(dir.path, LogConfig(segmentMs: 60_000), clock: clock.function)
        try log.append(batches: makeBatch())
        clock.now += 30_000
        try log.append(batches: makeBatch())
        #expect(log.segmentCount == 1)
        clock.now += 30_001
        try log.append(batches: makeBatch())
        #expect(log.segmentBaseOffsets == [0, 2])
    }

    @Test func rollsWhenTheIndexIsFull() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, LogConfig(indexIntervalBytes: 0, maxIndexEntries: 4))
        for i in 0..<12 { try log.append(batches: makeBatch(timestamp: Int64(i))) }
        #expect(log.segmentCount > 1)
        #expect(try readAll(log).count == 12)
    }

    @Test func rollWritesAProducerSnapshotAndRecoveryPoint() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, LogConfig(segmentBytes: 1024))
        for i in 0..<8 {
            try log.append(batches: makeBatch(payload: 139, producerId: 9, producerEpoch: 0, baseSequence: Int32(i)))
        }
        #expect(log.segmentBaseOffsets == [0, 5])
        #expect(FileManager.default.fileExists(atPath: logPath(dir.path, 5, ".snapshot")))
        #expect(LogRecovery.readRecoveryPoint(directory: dir.path, logger: .silent) == 5)
    }
}
