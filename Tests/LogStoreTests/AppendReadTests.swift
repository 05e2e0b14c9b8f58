import Foundation
import Testing
@testable import LogStore

@Suite struct AppendReadTests {
    @Test func roundTripAcrossManyBatchesAndSegments() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, LogConfig(segmentBytes: 4096, indexIntervalBytes: 256))
        var expected: [[UInt8]] = []
        var next: Int64 = 0
        for i in 0..<500 {
            // Each batch arrives with a junk base offset: the log must assign its own.
            let batch = makeBatch(baseOffset: 999_999, records: 1 + i % 4, timestamp: Int64(i), payload: 10 + (i * 37) % 90, seed: i)
            let info = try log.append(batches: batch)
            let count = Int64(1 + i % 4)
            #expect(info == .appended(firstOffset: next, lastOffset: next + count - 1))
            expected.append(withBaseOffset(batch, next))
            next += count
        }
        #expect(log.logEndOffset == next)
        #expect(log.segmentCount > 5)
        #expect(try readAll(log) == expected)
        #expect(try readAll(log, maxBytes: 1 << 20) == expected)
        try log.close()
    }

    @Test func oneAppendOfSeveralBatchesIsOneContiguousRange() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        let a = makeBatch(records: 3, seed: 1), b = makeBatch(records: 2, seed: 2), c = makeBatch(records: 5, seed: 3)
        try log.append(batches: makeBatch(records: 4))
        let info = try log.append(batches: a + b + c)
        #expect(info == .appended(firstOffset: 4, lastOffset: 13))
        let read = try log.read(from: 4, maxBytes: 10_000)
        #expect(read.records == withBaseOffset(a, 4) + withBaseOffset(b, 7) + withBaseOffset(c, 9))
        #expect(read.firstBatchOffset == 4)
        #expect(read.highWatermark == 14)
        #expect(read.logEndOffset == 14)
    }

    @Test func rawBufferAppendDoesNotModifyInput() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        try log.append(batches: makeBatch(records: 10))
        let batch = makeBatch(baseOffset: 42, records: 2)
        let info = try batch.withUnsafeBytes { try log.append(batches: $0) }
        #expect(info.firstOffset == 10)
        #expect(batch == makeBatch(baseOffset: 42, records: 2))
        #expect(try log.read(from: 11, maxBytes: 1).records == withBaseOffset(batch, 10))
    }

    @Test func manyBatchesInOneAppendUseTheCopyPath() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        let batches = (0..<(PartitionLog.maxBatchesPerWritev + 20)).map { makeBatch(records: 2, payload: 3, seed: $0) }
        let info = try log.append(batches: batches.flatMap { $0 })
        #expect(info == .appended(firstOffset: 0, lastOffset: Int64(batches.count * 2 - 1)))
        let expected = batches.enumerated().map { withBaseOffset($0.element, Int64($0.offset * 2)) }
        #expect(try readAll(log, maxBytes: 1 << 20) == expected)
    }

    @Test func everyOffsetFindsItsBatchThroughTheIndex() throws {
        let dir = TempDirectory()
        let interval = 200
        let log = try openLog(dir.path, LogConfig(segmentBytes: 8192, indexIntervalBytes: interval))
        var batches: [(first: Int64, last: Int64, bytes: [UInt8])] = []
        for i in 0..<300 {
            let b = makeBatch(records: 1 + i % 5, payload: 20 + i % 60, seed: i)
            let info = try log.append(batches: b)
            batches.append((info.firstOffset, info.lastOffset, withBaseOffset(b, info.firstOffset)))
        }
        #expect(log.segmentCount > 3)
        let maxBatch = batches.map(\.bytes.count).max() ?? 0
        let segments = log.state.withLock { $0.segments }
        for segment in segments {
            #expect(segment.segment.offsetIndex.count > 0)
        }
        for b in batches {
            for offset in b.first...b.last {
                let r = try log.read(from: offset, maxBytes: 1)
                #expect(r.records == b.bytes, "offset \(offset)")
                #expect(r.firstBatchOffset == b.first)
            }
            // The index entry used lies within one interval (plus a batch) of the target:
            // no read walks a whole segment.
            let info = try #require(segments.last { $0.baseOffset <= b.first })
            let start = info.segment.offsetIndex.lookup(b.first)
            let (position, _) = try #require(try PartitionLog.locate(b.first, in: info.segment, end: info.size))
            #expect(position - start.position <= Int64(interval + maxBatch))
        }
    }

    @Test func smallMaxBytesStillReturnsOneWholeBatch() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        let big = makeBatch(records: 3, payload: 5000)
        let small = makeBatch(records: 1, payload: 10)
        try log.append(batches: big)
        try log.append(batches: small)
        try log.append(batches: small)
        #expect(try log.read(from: 1, maxBytes: 100).records == withBaseOffset(big, 0))
        #expect(try log.read(from: 0, maxBytes: 0).records == withBaseOffset(big, 0))
        // Room for the big batch and one small one, but not two.
        let r = try log.read(from: 0, maxBytes: big.count + small.count + small.count - 1)
        #expect(r.records == withBaseOffset(big, 0) + withBaseOffset(small, 3))
        #expect(try log.read(from: 3, maxBytes: 1).records == withBaseOffset(small, 3))
    }

    @Test func offsetsOutsideTheLogAreRejected() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        try log.append(batches: makeBatch(records: 5))
        #expect(throws: LogError.offsetOutOfRange(offset: 6, logStartOffset: 0, logEndOffset: 5)) {
            try log.read(from: 6, maxBytes: 100)
        }
        #expect(throws: LogError.offsetOutOfRange(offset: -1, logStartOffset: 0, logEndOffset: 5)) {
            try log.read(from: -1, maxBytes: 100)
        }
        let atEnd = try log.read(from: 5, maxBytes: 100)
        #expect(atEnd.records.isEmpty)
        #expect(atEnd.highWatermark == 5)
    }

    @Test func malformedInputThrowsAndAppendsNothing() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, LogConfig(segmentBytes: 2048))
        let good = makeBatch(records: 2)
        var badMagic = good
        badMagic[16] = 1
        var shortLength = good
        shortLength[11] = 10  // batchLength 10 < 49
        var longLength = good
        longLength[10] = 0x7f  // batchLength far beyond the buffer
        let cases: [[UInt8]] = [
            [], Array(good.prefix(30)), Array(good.dropLast()), badMagic, shortLength, longLength,
            good + [1, 2, 3], good + Array(good.prefix(70)),
        ]
        for bytes in cases {
            #expect(throws: LogError.self) { try log.append(batches: bytes) }
        }
        #expect(throws: LogError.recordSetTooLarge(size: 3000 + 61, segmentBytes: 2048)) {
            try log.append(batches: makeBatch(payload: 3000))
        }
        #expect(log.logEndOffset == 0)
        #expect(log.sizeInBytes == 0)
        try log.append(batches: good)
        #expect(try readAll(log) == [good])
    }

    @Test func readsRunWhileAppendsContinue() async throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, LogConfig(segmentBytes: 16_384, indexIntervalBytes: 512))
        let total = 2000
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for i in 0..<total {
                    _ = try? log.append(batches: makeBatch(records: 2, payload: 40, seed: i))
                }
            }
            group.addTask {
                var offset: Int64 = 0
                while offset < Int64(total * 2) {
                    guard let r = try? log.read(from: offset, maxBytes: 4096) else {
                        Issue.record("read failed at \(offset)")
                        return
                    }
                    for b in splitBatches(r.records) {
                        guard let h = header(b) else { return }
                        #expect(h.baseOffset == offset || h.baseOffset == offset - 1)
                        #expect(b == withBaseOffset(makeBatch(records: 2, payload: 40, seed: Int(h.baseOffset / 2)), h.baseOffset))
                        offset = h.lastOffset + 1
                    }
                    if r.records.isEmpty { await Task.yield() }
                }
            }
        }
        #expect(log.logEndOffset == Int64(total * 2))
    }
}
