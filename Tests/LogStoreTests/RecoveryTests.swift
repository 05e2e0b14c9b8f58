import Foundation
import Testing
@testable import LogStore

@Suite struct RecoveryTests {
    let config = LogConfig(indexIntervalBytes: 40)

    /// Six idempotent batches (producer 5, sequences continuing), closed cleanly so every
    /// file (indexes, snapshot, recovery point) exists; returns the batches as stored.
    func makeSource(_ dir: TempDirectory) throws -> [[UInt8]] {
        let log = try openLog(dir.path, config)
        var stored: [[UInt8]] = []
        var sequence: Int32 = 0
        for i in 0..<6 {
            let b = makeBatch(records: i + 1, timestamp: Int64(100 * i), payload: 20 + i * 5,
                              producerId: 5, producerEpoch: 0, baseSequence: sequence, seed: i)
            sequence += Int32(i + 1)
            let info = try log.append(batches: b)
            stored.append(withBaseOffset(b, info.firstOffset))
        }
        try log.close()
        return stored
    }

    /// Copies the source's files except the clean-shutdown marker (so the copy looks like a
    /// crash), with the segment's data replaced by `data`.
    func crashedCopy(of source: TempDirectory, data: [UInt8]) throws -> TempDirectory {
        let dir = TempDirectory()
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where name != LogRecovery.cleanShutdownFile {
            try FileManager.default.copyItem(atPath: source.sub(name), toPath: dir.sub(name))
        }
        writeFile(logPath(dir.path, 0), data)
        return dir
    }

    /// Reopens `dir` and checks it holds exactly `kept` and continues correctly after it.
    func expectRecovered(_ dir: TempDirectory, kept: [[UInt8]], _ note: String) throws {
        let log = try openLog(dir.path, config)
        let end = kept.last.flatMap(header).map { $0.lastOffset + 1 } ?? 0
        #expect(log.logEndOffset == end, "\(note)")
        #expect(try readAll(log) == kept, "\(note)")
        #expect(FileSystem.fileSize(logPath(dir.path, 0)) == Int64(kept.reduce(0) { $0 + $1.count }), "\(note)")

        // Producer state is rebuilt from what survived (the stale snapshot is ignored).
        let lastSequence = Int32(end) - 1
        #expect(log.producerState(for: 5)?.lastSequence == (kept.isEmpty ? nil : lastSequence), "\(note)")
        if let last = kept.last, let h = header(last) {
            let retry = try log.append(batches: last)
            #expect(retry == .duplicate(firstOffset: h.baseOffset, lastOffset: h.lastOffset), "\(note)")
        }
        let next = makeBatch(records: 2, timestamp: 5000, producerId: 5, producerEpoch: 0, baseSequence: lastSequence + 1, seed: 77)
        #expect(try log.append(batches: next) == .appended(firstOffset: end, lastOffset: end + 1), "\(note)")
        for offset in 0..<(end + 2) {
            let r = try log.read(from: offset, maxBytes: 1)
            let h = try #require(header(r.records))
            #expect(h.baseOffset <= offset && offset <= h.lastOffset, "\(note) offset \(offset)")
        }
        try log.close()
        let again = try openLog(dir.path, config)
        #expect(try readAll(again) == kept + [withBaseOffset(next, end)], "\(note)")
    }

    @Test func lastBatchCutAtEveryBytePosition() throws {
        let source = TempDirectory()
        let stored = try makeSource(source)
        let prefix = stored.dropLast().flatMap { $0 }
        let last = try #require(stored.last)
        for cut in 0..<last.count {
            let dir = try crashedCopy(of: source, data: prefix + last[0..<cut])
            try expectRecovered(dir, kept: Array(stored.dropLast()), "cut at \(cut)")
        }
        // And the whole log with nothing cut.
        let whole = try crashedCopy(of: source, data: stored.flatMap { $0 })
        try expectRecovered(whole, kept: stored, "uncut")
    }

    @Test func garbageAfterTheLastBatchIsDropped() throws {
        let source = TempDirectory()
        let stored = try makeSource(source)
        let all = stored.flatMap { $0 }
        var badCRC = makeBatch(baseOffset: 21, records: 1)
        badCRC[badCRC.count - 1] ^= 1
        var pseudoRandom: [UInt8] = []
        var x: UInt32 = 12345
        for _ in 0..<3000 {
            x = x &* 1_103_515_245 &+ 12345
            pseudoRandom.append(UInt8(truncatingIfNeeded: x >> 16))
        }
        let tails: [(String, [UInt8])] = [
            ("zeros (preallocated blocks)", [UInt8](repeating: 0, count: 4096)),
            ("random bytes", pseudoRandom),
            ("batch with bad CRC", badCRC),
            ("valid batch with a gap in offsets", makeBatch(baseOffset: 30, records: 1)),
            ("valid batch repeating offsets", makeBatch(baseOffset: 15, records: 1)),
            ("a header only", Array(makeBatch(baseOffset: 21).prefix(61))),
        ]
        for (name, tail) in tails {
            let dir = try crashedCopy(of: source, data: all + tail)
            try expectRecovered(dir, kept: stored, name)
        }
    }

    @Test func flippedByteInTheLastBatch() throws {
        let source = TempDirectory()
        let stored = try makeSource(source)
        let prefix = stored.dropLast().flatMap { $0 }
        let last = try #require(stored.last)
        for position in 0..<last.count {
            var damaged = last
            damaged[position] ^= 0x5a
            let dir = try crashedCopy(of: source, data: prefix + damaged)
            // partitionLeaderEpoch (bytes 12..<16) is outside the CRC, as in Kafka: the
            // batch stays. Every other byte is covered by a check.
            let leaderEpoch = (12..<16).contains(position)
            let kept = leaderEpoch ? Array(stored.dropLast()) + [damaged] : Array(stored.dropLast())
            try expectRecovered(dir, kept: kept, "flipped byte \(position)")
        }
    }

    @Test func damageInAnEarlierBatchDropsEverythingAfterIt() throws {
        let source = TempDirectory()
        let stored = try makeSource(source)
        var data = stored.flatMap { $0 }
        data[stored[0].count + stored[1].count + 70] ^= 1  // inside batch 2's records
        let dir = try crashedCopy(of: source, data: data)
        try expectRecovered(dir, kept: Array(stored.prefix(2)), "damaged batch 2")
    }

    /// 20 batches of 200 bytes in segments 0, 5, 10, 15, left without close().
    func crashedMultiSegmentLog(_ dir: TempDirectory) throws -> [[UInt8]] {
        let log = try openLog(dir.path, LogConfig(segmentBytes: 1024))
        var stored: [[UInt8]] = []
        for i in 0..<20 {
            let b = makeBatch(timestamp: Int64(i), payload: 139, producerId: 3, producerEpoch: 1, baseSequence: Int32(i), seed: i)
            stored.append(withBaseOffset(b, try log.append(batches: b).firstOffset))
        }
        #expect(log.segmentBaseOffsets == [0, 5, 10, 15])
        return stored
    }

    @Test func uncleanOpenValidatesOnlySegmentsFromTheRecoveryPoint() throws {
        let dir = TempDirectory()
        let stored = try crashedMultiSegmentLog(dir)
        #expect(LogRecovery.readRecoveryPoint(directory: dir.path, logger: .silent) == 15)
        // Cut the active segment inside batch 17.
        let active = logPath(dir.path, 15)
        writeFile(active, Array(fileBytes(active).prefix(2 * 200 + 150)))
        let log = try openLog(dir.path, LogConfig(segmentBytes: 1024))
        let closed = log.state.withLock { $0.segments.dropLast().map(\.segment) }
        #expect(closed.map { $0.log.isOpen } == [false, false, false])  // their data was not read
        #expect(log.logEndOffset == 17)
        #expect(try readAll(log) == Array(stored.prefix(17)))
        #expect(log.producerState(for: 3)?.lastSequence == 16)
        #expect(try log.append(batches: makeBatch(producerId: 3, producerEpoch: 1, baseSequence: 17)).firstOffset == 17)
    }

    @Test func withoutARecoveryPointEverySegmentIsValidated() throws {
        let dir = TempDirectory()
        let stored = try crashedMultiSegmentLog(dir)
        try FileManager.default.removeItem(atPath: dir.sub(LogRecovery.recoveryPointFile))
        // Damage batch 7 (in segment 5): segments 10 and 15 no longer follow and must go.
        let path = logPath(dir.path, 5)
        var bytes = fileBytes(path)
        bytes[2 * 200 + 100] ^= 0xff
        writeFile(path, bytes)
        let log = try openLog(dir.path, LogConfig(segmentBytes: 1024))
        #expect(log.logEndOffset == 7)
        #expect(log.segmentBaseOffsets == [0, 5])
        #expect(!FileManager.default.fileExists(atPath: logPath(dir.path, 10)))
        #expect(!FileManager.default.fileExists(atPath: logPath(dir.path, 15)))
        #expect(try readAll(log) == Array(stored.prefix(7)))
        // No offset is served twice: appends continue at 7, and the snapshots taken at
        // offsets 10 and 15 (now beyond the log end) are not used.
        #expect(log.producerState(for: 3)?.lastSequence == 6)
        #expect(try log.append(batches: makeBatch(payload: 139, producerId: 3, producerEpoch: 1, baseSequence: 7)).firstOffset == 7)
        try log.close()
        let again = try openLog(dir.path, LogConfig(segmentBytes: 1024))
        #expect(again.logEndOffset == 8)
        #expect(again.producerState(for: 3)?.lastSequence == 7)
    }

    @Test func strayFilesAreCleanedUp() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        try log.append(batches: makeBatch())
        try log.close()
        writeFile(dir.sub("00000000000000000000.snapshot.tmp"), [1, 2, 3])
        writeFile(logPath(dir.path, 500, ".index"), [0, 0, 0, 0, 0, 0, 0, 0])
        writeFile(dir.sub("notes.txt"), [1])
        let reopened = try openLog(dir.path)
        #expect(reopened.logEndOffset == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.sub("00000000000000000000.snapshot.tmp")))
        #expect(!FileManager.default.fileExists(atPath: logPath(dir.path, 500, ".index")))
    }

    @Test func damagedSnapshotFallsBackToTheLog() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        for i in 0..<10 { try log.append(batches: makeBatch(producerId: 8, producerEpoch: 2, baseSequence: Int32(i))) }
        let state = log.producerState(for: 8)
        try log.close()
        let snapshot = logPath(dir.path, 10, ".snapshot")
        var bytes = fileBytes(snapshot)
        #expect(ProducerSnapshot.decode(bytes) != nil)
        bytes[bytes.count - 3] ^= 1
        #expect(ProducerSnapshot.decode(bytes) == nil)
        writeFile(snapshot, bytes)
        let reopened = try openLog(dir.path)
        #expect(reopened.producerState(for: 8)?.batches == state?.batches)
        #expect(reopened.producerState(for: 8)?.producerEpoch == 2)
    }

    @Test func snapshotDecoderRejectsHostileInput() throws {
        var s = ProducerStateManager()
        s.replay(try #require(header(makeBatch(records: 3, producerId: 1, producerEpoch: 0, baseSequence: 0))), now: 0)
        let good = ProducerSnapshot.encode(s, offset: 3)
        #expect(ProducerSnapshot.decode(good)?.state.producers == s.producers)
        for length in 0..<good.count {
            #expect(ProducerSnapshot.decode(Array(good.prefix(length))) == nil)
        }
        // A count field claiming billions of producers, with a valid CRC.
        var body = ByteWriter()
        body.int64(3)
        body.uint32(UInt32.max)
        var forged = ByteWriter()
        forged.bytes = ProducerSnapshot.magic
        forged.uint16(ProducerSnapshot.version)
        forged.uint32(crc32c(body.bytes))
        forged.bytes += body.bytes
        #expect(ProducerSnapshot.decode(forged.bytes) == nil)
    }
}
