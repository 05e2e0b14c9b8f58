import Foundation
import KafkaProtocol
import NIOCore
import Testing
@testable import LogStore

/// A batch of keyed records (nil value: tombstone), as a producer sends it.
func keyedBatch(_ entries: [(String, String?)], timestamp: Int64 = 1_000, compression: CompressionCodec = .none,
                producerId: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1) throws -> [UInt8] {
    let records = entries.enumerated().map { i, e in
        Record(timestamp: timestamp + Int64(i), key: ByteBuffer(string: e.0), value: e.1.map { ByteBuffer(string: $0) })
    }
    let buf = try RecordBatch.build(records: records, compression: compression, producerId: producerId,
                                    producerEpoch: producerEpoch, baseSequence: baseSequence)
    return Array(buf.readableBytesView)
}

/// One record as a consumer sees it.
struct Seen: Equatable, CustomStringConvertible {
    var offset: Int64
    var key: String
    var value: String?
    var timestamp: Int64
    var description: String { "\(offset):\(key)=\(value.map { String($0.prefix(12)) } ?? "∅")@\(timestamp)" }
}

/// Every record in the log, read front to back the way a consumer does (next offset = last + 1).
func consumeAll(_ log: PartitionLog, maxBytes: Int = 4096) throws -> [Seen] {
    var out: [Seen] = []
    var offset = log.logStartOffset
    while offset < log.logEndOffset {
        let r = try log.read(from: offset, maxBytes: maxBytes)
        guard !r.records.isEmpty else {
            Issue.record("empty read at \(offset) below the log end \(log.logEndOffset)")
            break
        }
        var next = offset
        try RecordBatch.forEachBatch(in: ByteBuffer(bytes: r.records)) { header, batch in
            for rec in try RecordBatch.records(ofBatch: batch, header: header) where rec.offset >= offset {
                out.append(Seen(offset: rec.offset, key: rec.key.map { String(buffer: $0) } ?? "",
                                value: rec.value.map { String(buffer: $0) }, timestamp: rec.timestamp))
            }
            next = max(next, header.lastOffset + 1)
        }
        offset = next
    }
    return out
}

/// The brute-force answer: the last record per key, with its offset, in offset order.
func latestPerKey(_ writes: [Seen]) -> [Seen] {
    var last: [String: Seen] = [:]
    for w in writes { last[w.key] = w }
    return last.values.sorted { $0.offset < $1.offset }
}

/// Two more records so every earlier one is in a closed segment (4 KiB segments): the cleaner
/// never touches the active one.
func rollEverything(_ log: PartitionLog) throws {
    try log.append(batches: keyedBatch([("roll", String(repeating: "r", count: 4000))], timestamp: 50_000))
    try log.append(batches: keyedBatch([("roll", "after")], timestamp: 50_001))
}

let compactConfig = LogConfig(segmentBytes: 4096, retentionMs: -1, compact: true, minCleanableDirtyRatio: 0.01,
                              deleteRetentionMs: 10_000)

@Suite struct CleanerTests {
    /// Writes `rounds` updates of `keys` keys, one record per batch, and returns what was written.
    func populate(_ log: PartitionLog, keys: Int, rounds: Int, compression: CompressionCodec = .none,
                  tombstoneEvery: Int = 0) throws -> [Seen] {
        var written: [Seen] = []
        for round in 0..<rounds {
            for k in 0..<keys {
                let key = "key-\(k)"
                let tomb = tombstoneEvery > 0 && round == rounds - 1 && k % tombstoneEvery == 0
                let value: String? = tomb ? nil : "v\(round)-\(k)"
                let ts = Int64(1_000 + round * keys + k)
                let info = try log.append(batches: keyedBatch([(key, value)], timestamp: ts, compression: compression))
                written.append(Seen(offset: info.firstOffset, key: key, value: value, timestamp: ts))
            }
        }
        return written
    }

    @Test(arguments: CompressionCodec.allCases)
    func keepsTheLatestValueOfEveryKey(codec: CompressionCodec) throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, compactConfig)
        let written = try populate(log, keys: 50, rounds: 20, compression: codec)
        // Roll, so every write is in a closed segment.
        try rollEverything(log)
        let before = log.segmentCount
        let stats = try #require(try log.clean(now: 1_000_000, cleaner: LogCleanerConfig()))
        #expect(stats.recordsRead == Int64(written.count + 1))
        #expect(stats.recordsRetained == 51)
        let seen = try consumeAll(log)
        #expect(seen.filter { $0.key != "roll" } == latestPerKey(written))
        #expect(stats.bytesWritten < stats.bytesRead / 5)
        // Groups are sized by the segments' old sizes (as Kafka's), so the now small segments
        // merge on the next pass.
        #expect(log.segmentCount == before)
        _ = try #require(try log.clean(now: 1_000_000, cleaner: LogCleanerConfig(), force: true))
        #expect(log.segmentCount < before / 4)
        #expect(try consumeAll(log) == seen)
        // Batches keep their codec.
        let first = try log.read(from: log.logStartOffset, maxBytes: 1)
        #expect(first.records.withUnsafeBytes { RecordBatchHeader($0)?.compression } == codec)
        try log.close()
        // A clean reopen serves the same.
        let reopened = try openLog(dir.path, compactConfig)
        #expect(try consumeAll(reopened) == seen)
    }

    @Test func exactlyOneValuePerKeyOnceEverythingIsClosed() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, compactConfig)
        let written = try populate(log, keys: 200, rounds: 10)
        // Roll so every write is in a closed segment, then clean.
        try rollEverything(log)
        _ = try log.clean(now: 1_000_000, cleaner: LogCleanerConfig())
        let seen = try consumeAll(log).filter { $0.key != "roll" }
        #expect(seen == latestPerKey(written))
        #expect(Set(seen.map(\.key)).count == 200)
    }

    @Test func tombstonesStayForDeleteRetentionThenGo() throws {
        let dir = TempDirectory()
        let clock = TestClock()
        let log = try openLog(dir.path, compactConfig, clock: clock.function)
        let written = try populate(log, keys: 40, rounds: 5, tombstoneEvery: 4)
        try rollEverything(log)
        let t0: Int64 = 2_000_000
        _ = try #require(try log.clean(now: t0, cleaner: LogCleanerConfig()))
        var seen = try consumeAll(log).filter { $0.key != "roll" }
        // First pass: superseded values gone, the 10 tombstones kept (with their timestamps).
        #expect(seen == latestPerKey(written))
        #expect(seen.filter { $0.value == nil }.count == 10)
        #expect(log.cleanerCheckpoint.nextDeleteHorizonMs == t0 + 10_000)
        // Not yet past the horizon: nothing to clean.
        #expect(log.cleanableRange(now: t0 + 9_999)?.shouldClean == false)
        // Past it: the pass is forced even though nothing is dirty, and the tombstones go.
        #expect(log.cleanableRange(now: t0 + 10_000)?.shouldClean == true)
        let stats = try #require(try log.clean(now: t0 + 10_000, cleaner: LogCleanerConfig()))
        #expect(stats.tombstonesRemoved == 10)
        seen = try consumeAll(log).filter { $0.key != "roll" }
        #expect(seen == latestPerKey(written).filter { $0.value != nil })
        #expect(log.cleanerCheckpoint.nextDeleteHorizonMs == Int64.max)
    }

    @Test func readsStepOverGapsAtTheEndOfCleanedSegments() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, compactConfig)
        let written = try populate(log, keys: 30, rounds: 30)
        try rollEverything(log)
        _ = try log.clean(now: 1_000_000, cleaner: LogCleanerConfig())
        let survivors = latestPerKey(written)
        // From every offset, a read returns the first surviving record at or after it.
        for offset in stride(from: Int64(0), to: written.last!.offset, by: 7) {
            let r = try log.read(from: offset, maxBytes: 1)
            let first = try RecordBatch.records(in: ByteBuffer(bytes: r.records)).first { $0.offset >= offset }
            let want = survivors.first { $0.offset >= offset }
            if let want { #expect(first?.offset == want.offset, "read from \(offset)") }
        }
    }

    @Test func respectsTheDirtyRatioAndMinCompactionLag() throws {
        let dir = TempDirectory()
        var config = compactConfig
        config.minCleanableDirtyRatio = 0.9
        let log = try openLog(dir.path, config)
        _ = try populate(log, keys: 20, rounds: 20)
        try log.append(batches: keyedBatch([("roll", String(repeating: "r", count: 4000))], timestamp: 50_000))
        // First pass: everything is dirty (ratio 1).
        #expect(try log.clean(now: 1_000_000, cleaner: LogCleanerConfig()) != nil)
        // A few more writes: dirty ratio far below 0.9, no pass.
        _ = try populate(log, keys: 3, rounds: 1)
        try log.append(batches: keyedBatch([("roll", String(repeating: "r", count: 4000))], timestamp: 50_000))
        let range = try #require(log.cleanableRange(now: 1_000_000))
        #expect(range.dirtyBytes > 0)
        #expect(range.dirtyRatio < 0.9)
        #expect(try log.clean(now: 1_000_000, cleaner: LogCleanerConfig()) == nil)

        // min.compaction.lag.ms: segments whose newest record is younger are left alone.
        let dir2 = TempDirectory()
        var lagged = compactConfig
        lagged.minCompactionLagMs = 100_000
        let log2 = try openLog(dir2.path, lagged)
        _ = try populate(log2, keys: 20, rounds: 10)  // timestamps 1_000…1_200
        try log2.append(batches: keyedBatch([("roll", String(repeating: "r", count: 4000))], timestamp: 1_300))
        #expect(log2.cleanableRange(now: 50_000)?.dirtyBytes == 0)
        #expect(try log2.clean(now: 50_000, cleaner: LogCleanerConfig()) == nil)
        #expect(log2.cleanableRange(now: 200_000)?.shouldClean == true)
    }

    @Test func neverCleansTheActiveSegment() throws {
        let dir = TempDirectory()
        var config = compactConfig
        config.segmentBytes = 1 << 20
        let log = try openLog(dir.path, config)
        _ = try populate(log, keys: 10, rounds: 10)
        #expect(log.segmentCount == 1)
        #expect(log.cleanableRange(now: 1_000_000)?.dirtyBytes == 0)
        #expect(try log.clean(now: 1_000_000, cleaner: LogCleanerConfig()) == nil)
        #expect(try consumeAll(log).count == 100)
    }

    @Test func aSmallOffsetMapCleansInSeveralPasses() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, compactConfig)
        let written = try populate(log, keys: 300, rounds: 4)
        try rollEverything(log)
        var small = LogCleanerConfig()
        small.dedupeBufferBytes = 100 * OffsetMap.bytesPerEntry  // 90 keys a pass
        var passes = 0
        while let stats = try log.clean(now: 1_000_000, cleaner: small) {
            passes += 1
            #expect(stats.mapEntries <= 90)
            if passes > 50 { break }
        }
        #expect(passes > 5)
        #expect(try consumeAll(log).filter { $0.key != "roll" } == latestPerKey(written))
    }

    @Test func keepsTheLastBatchOfAnActiveProducer() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, compactConfig)
        // An idempotent producer writes key-a twice; a plain producer then overwrites key-a.
        try log.append(batches: keyedBatch([("key-a", "p0")], producerId: 7, producerEpoch: 0, baseSequence: 0))
        let last = try log.append(batches: keyedBatch([("key-a", "p1")], producerId: 7, producerEpoch: 0, baseSequence: 1))
        try log.append(batches: keyedBatch([("key-a", "plain")]))
        try log.append(batches: keyedBatch([("roll", String(repeating: "r", count: 4000))]))
        try log.append(batches: keyedBatch([("roll", "after")]))
        let stats = try #require(try log.clean(now: 1_000_000, cleaner: LogCleanerConfig()))
        #expect(stats.emptyBatchesRetained == 1)
        #expect(try consumeAll(log).filter { $0.key == "key-a" }.map(\.value) == ["plain"])
        try log.close()
        // Rebuild producer state from the log alone: the retry is still recognised.
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".snapshot") {
            try FileManager.default.removeItem(atPath: dir.sub(name))
        }
        let reopened = try openLog(dir.path, compactConfig)
        #expect(reopened.producerState(for: 7)?.lastSequence == 1)
        let retry = try reopened.append(batches: keyedBatch([("key-a", "p1")], producerId: 7, producerEpoch: 0, baseSequence: 1))
        #expect(retry == .duplicate(firstOffset: last.firstOffset, lastOffset: last.lastOffset))
    }

    @Test func dropsKeylessRecordsLeftFromBeforeCompaction() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, compactConfig)
        let keyless = try RecordBatch.build(records: [Record(timestamp: 1, key: nil, value: ByteBuffer(string: "no key"))])
        try log.append(batches: Array(keyless.readableBytesView))
        try log.append(batches: keyedBatch([("k", "v")]))
        try log.append(batches: keyedBatch([("roll", String(repeating: "r", count: 4000))]))
        try log.append(batches: keyedBatch([("roll", "after")]))
        let stats = try #require(try log.clean(now: 1_000_000, cleaner: LogCleanerConfig()))
        #expect(stats.keylessRemoved == 1)
        #expect(try consumeAll(log).map(\.key).prefix(1) == ["k"])
    }

    @Test func uncleanRecoveryKeepsCleanedSegmentsWithTheirGaps() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, compactConfig)
        _ = try populate(log, keys: 30, rounds: 30)
        try rollEverything(log)
        _ = try log.clean(now: 1_000_000, cleaner: LogCleanerConfig())
        let seen = try consumeAll(log)
        try log.flushNow()
        // "Crash": no close, so no clean-shutdown marker; also damage every index so the closed
        // segments are rebuilt from their (gappy) data.
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".index") {
            writeFile(dir.sub(name), [0xff, 0xff, 0xff])
        }
        let reopened = try openLog(dir.path, compactConfig)
        #expect(try consumeAll(reopened) == seen)
        #expect(reopened.logEndOffset == log.logEndOffset)
    }

    @Test func compactDeleteAlsoAppliesRetention() throws {
        let dir = TempDirectory()
        var config = compactConfig
        config.retentionMs = 10_000
        let compactOnly = try openLog(TempDirectory().path, compactConfig)
        let both = try openLog(dir.path, config)
        for log in [compactOnly, both] {
            _ = try populate(log, keys: 20, rounds: 10)
            try log.append(batches: keyedBatch([("roll", String(repeating: "r", count: 4000))], timestamp: 50_000))
        }
        #expect(compactOnly.enforceRetention(now: 10_000_000).isEmpty)
        #expect(!both.enforceRetention(now: 10_000_000).isEmpty)
    }
}

@Suite struct CleanerCrashTests {
    /// A log with closed, dirty segments and the records a consumer sees before cleaning.
    func prepared(_ dir: TempDirectory) throws -> (PartitionLog, [Seen]) {
        let log = try openLog(dir.path, compactConfig)
        let writer = CleanerTests()
        _ = try writer.populate(log, keys: 25, rounds: 12)
        try rollEverything(log)
        try log.flushNow()
        return (log, try consumeAll(log))
    }

    /// Each step of a swap, then a crash (the log object is dropped without close) and a reopen:
    /// the directory holds either the old segments or the cleaned one, and reads agree.
    @Test(arguments: ["cleanedOnly", "committed", "halfRenamed", "renamedNotDeleted"])
    func crashDuringSwap(step: String) throws {
        let dir = TempDirectory()
        let (log, before) = try prepared(dir)
        // The expected cleaned content, from a copy cleaned normally.
        let copy = TempDirectory()
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            try FileManager.default.copyItem(atPath: dir.sub(name), toPath: copy.sub(name))
        }
        let expectedLog = try openLog(copy.path, compactConfig)
        _ = try expectedLog.clean(now: 1_000_000, cleaner: LogCleanerConfig())
        let after = try consumeAll(expectedLog)
        #expect(after.count < before.count)

        // Do the first group's rewrite by hand and stop at `step`.
        let (closed, producers) = log.state.withLock { (Array($0.segments.dropLast()), $0.producers.lastOffsets) }
        let groups = PartitionLog.groups(closed, config: compactConfig)
        #expect(groups.count > 1)
        let groupEnd = groups[0].last!.nextOffset
        let work = SegmentCleaner(path: dir.path, now: 1_000_000, config: compactConfig, cleaner: LogCleanerConfig(),
                                  throttler: .unlimited, shouldStop: { false })
        var map = OffsetMap(memoryBytes: 1 << 20, expectedKeys: 1000)
        for info in closed { _ = try work.buildMap(&map, from: 0, segment: info) }
        _ = try work.rewrite(groups[0], directory: dir.path, map: map, activeProducers: producers)
        let swap = SegmentSwap(newBase: groups[0][0].baseOffset, replaced: groups[0].map(\.baseOffset))
        switch step {
        case "cleanedOnly":
            break
        case "committed":
            try swap.commit(directory: dir.path)
        case "halfRenamed":
            try swap.commit(directory: dir.path)
            let base = swap.newBase
            #expect(rename(SegmentSwap.cleanedPath(dir.path, base, ".index"), Segment.path(dir.path, base, ".index")) == 0)
            #expect(rename(SegmentSwap.cleanedPath(dir.path, base, ".log"), Segment.path(dir.path, base, ".log")) == 0)
        default:
            try swap.commit(directory: dir.path)
            for suffix in SegmentSwap.suffixes {
                _ = rename(SegmentSwap.cleanedPath(dir.path, swap.newBase, suffix), Segment.path(dir.path, swap.newBase, suffix))
            }
        }
        let reopened = try openLog(dir.path, compactConfig)
        let seen = try consumeAll(reopened)
        // Only the first group was being swapped: its range is old or cleaned, the rest is old.
        let expected = step == "cleanedOnly" ? before
            : after.filter { $0.offset < groupEnd } + before.filter { $0.offset >= groupEnd }
        #expect(seen.map(\.description) == expected.map(\.description))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".cleaned") || $0.hasSuffix(".swap") }
        #expect(leftovers.isEmpty)
        _ = log
    }
}

@Suite struct OffsetMapTests {
    @Test func murmur3MatchesTheReferenceVectors() {
        // From the reference implementation (MurmurHash3_x64_128), seed 0.
        func h(_ s: String, _ seed: UInt32 = 0) -> (UInt64, UInt64) {
            Array(s.utf8).withUnsafeBytes { Murmur3.hash128($0, seed: seed) }
        }
        #expect(h("") == (0, 0))
        #expect(h("hello") == (0xcbd8_a7b3_41bd_9b02, 0x5b1e_906a_48ae_1d19))
        #expect(h("The quick brown fox jumps over the lazy dog") == (0xe34b_bc7b_bc07_1b6c, 0x7a43_3ca9_c49a_9347))
        // The cleaner's seed, and tails of 9 and 17 bytes (python: mmh3.hash64(s, 0x5eedc1ea, signed=False)).
        #expect(h("123456789", 0x5eed_c1ea) == (0x31a1_d433_fcbf_6fbf, 0x6a2d_7128_e8fa_4e68))
        #expect(h("0123456789abcdefX", 0x5eed_c1ea) == (0xa8ab_45c9_3949_1726, 0xa263_ad8b_e196_1d84))
        #expect(h("key-42", 0x5eed_c1ea) == (0xfa1d_a3b0_8555_c69e, 0x97e2_6ef7_86e5_7945))
    }

    @Test func putGetAndCapacity() {
        var map = OffsetMap(memoryBytes: 1000 * OffsetMap.bytesPerEntry, expectedKeys: 1_000_000)
        #expect(map.capacity == 1000)
        for i in 0..<900 {
            Array("k\(i)".utf8).withUnsafeBytes { map.put($0, offset: Int64(i)) }
        }
        #expect(map.isFull)
        Array("k5".utf8).withUnsafeBytes { map.put($0, offset: 5000) }
        #expect(map.count == 900)
        #expect(Array("k5".utf8).withUnsafeBytes { map.get($0) } == 5000)
        #expect(Array("k899".utf8).withUnsafeBytes { map.get($0) } == 899)
        #expect(Array("nope".utf8).withUnsafeBytes { map.get($0) } == nil)
        #expect(map.latestOffset == 5000)
    }
}
