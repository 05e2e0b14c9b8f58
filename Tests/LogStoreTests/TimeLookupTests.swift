import Foundation
import Testing
@testable import LogStore

@Suite struct TimeLookupTests {
    /// Non-monotonic timestamps across several segments, with index entries.
    func populate(_ log: PartitionLog) throws -> [(first: Int64, last: Int64, maxTs: Int64, bytes: [UInt8])] {
        var out: [(Int64, Int64, Int64, [UInt8])] = []
        for i in 0..<200 {
            // Mostly rising, with stragglers that arrive late.
            let ts: Int64 = i % 7 == 3 ? Int64(i * 10 - 150) : Int64(i * 10)
            let b = makeBatch(records: 2, timestamp: ts, maxTimestamp: ts + 5, payload: 30, seed: i)
            let info = try log.append(batches: b)
            out.append((info.firstOffset, info.lastOffset, ts + 5, withBaseOffset(b, info.firstOffset)))
        }
        return out
    }

    func check(_ log: PartitionLog, _ batches: [(first: Int64, last: Int64, maxTs: Int64, bytes: [UInt8])]) throws {
        for target in stride(from: Int64(-200), through: 2100, by: 7) {
            let expected = batches.first { $0.maxTs >= target }
            let found = try log.offsetForTimestamp(target)
            #expect(found?.baseOffset == expected?.first, "timestamp \(target)")
            #expect(found?.batch == expected?.bytes)
            #expect(found?.maxTimestamp == expected?.maxTs)
        }
        let best = try #require(batches.max { $0.maxTs < $1.maxTs })
        let firstBest = try #require(batches.first { $0.maxTs == best.maxTs })
        #expect(log.maxTimestampOffset() == TimestampOffset(timestamp: firstBest.maxTs, offset: firstBest.first))
    }

    @Test func timestampLookupMatchesALinearScan() throws {
        let dir = TempDirectory()
        let config = LogConfig(segmentBytes: 2048, indexIntervalBytes: 150)
        let log = try openLog(dir.path, config)
        let batches = try populate(log)
        #expect(log.segmentCount > 4)
        try check(log, batches)

        try log.close()
        let reopened = try openLog(dir.path, config)
        try check(reopened, batches)

        // After an unclean stop too (indexes of the active segment rebuilt).
        let crashed = try openLog(dir.sub("crash"), config)
        let again = try populate(crashed)
        let recovered = try openLog(dir.sub("crash"), config)
        try check(recovered, again)
        _ = crashed
    }

    @Test func emptyLogHasNoTimestamps() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        #expect(try log.offsetForTimestamp(0) == nil)
        #expect(log.maxTimestampOffset() == nil)
        try log.append(batches: makeBatch(timestamp: 500))
        #expect(try log.offsetForTimestamp(501) == nil)
        #expect(try log.offsetForTimestamp(500)?.baseOffset == 0)
        #expect(log.maxTimestampOffset() == TimestampOffset(timestamp: 500, offset: 0))
    }
}
