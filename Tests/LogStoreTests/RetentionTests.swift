import Foundation
import Testing
@testable import LogStore

@Suite struct RetentionTests {
    /// 20 batches of 200 bytes, 5 per segment, batch i stamped 1000 * i.
    func populate(_ log: PartitionLog) throws {
        for i in 0..<20 {
            try log.append(batches: makeBatch(records: 1, timestamp: Int64(i) * 1000, payload: 139, seed: i))
        }
    }

    @Test func deletesSegmentsOlderThanRetentionMs() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, LogConfig(segmentBytes: 1024, retentionMs: 10_000))
        try populate(log)
        #expect(log.segmentBaseOffsets == [0, 5, 10, 15])
        // Segment 0's newest batch is at 4000, segment 5's at 9000.
        #expect(log.enforceRetention(now: 14_000) == [])
        #expect(log.enforceRetention(now: 14_001) == [0])
        #expect(log.logStartOffset == 5)
        #expect(!FileManager.default.fileExists(atPath: logPath(dir.path, 0)))
        #expect(!FileManager.default.fileExists(atPath: logPath(dir.path, 0, ".index")))
        #expect(throws: LogError.offsetOutOfRange(offset: 4, logStartOffset: 5, logEndOffset: 20)) {
            try log.read(from: 4, maxBytes: 100)
        }
        #expect(try log.read(from: 5, maxBytes: 1).firstBatchOffset == 5)
        // Far in the future every closed segment goes, never the active one.
        #expect(log.enforceRetention(now: 1_000_000) == [5, 10])
        #expect(log.segmentBaseOffsets == [15])
        #expect(log.logStartOffset == 15)
        #expect(try readAll(log).count == 5)
        try log.close()
        let reopened = try openLog(dir.path)
        #expect(reopened.logStartOffset == 15)
        #expect(reopened.logEndOffset == 20)
    }

    @Test func infiniteRetentionKeepsEverything() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, LogConfig(segmentBytes: 1024, retentionMs: -1))
        try populate(log)
        #expect(log.enforceRetention(now: Int64.max / 2) == [])
        #expect(log.logStartOffset == 0)
    }

    @Test func deletesOldestSegmentsWhileLargerThanRetentionBytes() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, LogConfig(segmentBytes: 1024, retentionMs: -1, retentionBytes: 2500))
        try populate(log)
        #expect(log.sizeInBytes == 4000)
        // 4000 - 1000 = 3000 >= 2500: drop one; 3000 - 1000 < 2500: keep the rest.
        #expect(log.enforceRetention(now: 0) == [0])
        #expect(log.sizeInBytes == 3000)
        #expect(log.logStartOffset == 5)
        log.update(config: LogConfig(segmentBytes: 1024, retentionMs: -1, retentionBytes: 0))
        #expect(log.enforceRetention(now: 0) == [5, 10])
        #expect(log.sizeInBytes == 1000)
        #expect(throws: LogError.self) { try log.read(from: 14, maxBytes: 100) }
    }

    @Test func readerHoldingADeletedSegmentStillReadsIt() throws {
        let dir = TempDirectory()
        let first = try openLog(dir.path, LogConfig(segmentBytes: 1024, retentionMs: 0))
        try populate(first)
        try first.close()
        let log = try openLog(dir.path, LogConfig(segmentBytes: 1024, retentionMs: 0))
        // What a read does under the lock: take the segment and its size.
        let held = log.state.withLock { $0.segments[0] }
        #expect(!held.segment.log.isOpen)  // closed segments open their file lazily
        #expect(log.enforceRetention(now: 1_000_000).count == 3)
        #expect(!FileManager.default.fileExists(atPath: held.segment.log.path))
        let (position, header) = try #require(try PartitionLog.locate(3, in: held.segment, end: held.size))
        let bytes = try PartitionLog.readWholeBatches(segment: held.segment, position: position, first: header,
                                                      end: held.size, maxBytes: 10_000)
        #expect(splitBatches(bytes).count == 2)
        #expect(header.baseOffset == 3)
    }

    @Test func appendsContinueAfterRetention() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, LogConfig(segmentBytes: 1024, retentionMs: 0))
        try populate(log)
        log.enforceRetention(now: 1_000_000)
        #expect(try log.append(batches: makeBatch()).firstOffset == 20)
        #expect(try readAll(log).count == 6)
    }
}
