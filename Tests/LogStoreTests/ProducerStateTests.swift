import Foundation
import Testing
@testable import LogStore

@Suite struct ProducerStateTests {
    func batch(_ pid: Int64 = 1, epoch: Int16 = 0, seq: Int32, records: Int = 1, seed: Int = 0) -> [UInt8] {
        makeBatch(records: records, producerId: pid, producerEpoch: epoch, baseSequence: seq, seed: seed)
    }

    @Test func duplicateReturnsTheOriginalOffsetsAndAppendsNothing() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        try log.append(batches: makeBatch(records: 3))  // offsets 0-2, no producer
        let first = try log.append(batches: batch(seq: 0, records: 2))
        #expect(first == .appended(firstOffset: 3, lastOffset: 4))
        let second = try log.append(batches: batch(seq: 2, records: 4))
        #expect(second == .appended(firstOffset: 5, lastOffset: 8))
        let size = log.sizeInBytes
        #expect(try log.append(batches: batch(seq: 0, records: 2)) == .duplicate(firstOffset: 3, lastOffset: 4))
        #expect(try log.append(batches: batch(seq: 2, records: 4)) == .duplicate(firstOffset: 5, lastOffset: 8))
        #expect(log.sizeInBytes == size)
        #expect(log.logEndOffset == 9)
        // Only the last five batches are remembered.
        for i in 0..<5 { try log.append(batches: batch(seq: Int32(6 + i))) }
        let cached = try #require(log.producerState(for: 1)).batches
        #expect(cached.count == 5)
        #expect(cached.map(\.firstSequence) == [6, 7, 8, 9, 10])
        #expect(throws: LogError.outOfOrderSequence(producerId: 1, expected: 11, received: 2)) {
            try log.append(batches: batch(seq: 2, records: 4))
        }
    }

    @Test func outOfOrderSequenceIsRejected() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        try log.append(batches: batch(seq: 0, records: 5))
        #expect(throws: LogError.outOfOrderSequence(producerId: 1, expected: 5, received: 6)) {
            try log.append(batches: batch(seq: 6))
        }
        #expect(throws: LogError.outOfOrderSequence(producerId: 1, expected: 5, received: 3)) {
            try log.append(batches: batch(seq: 3))
        }
        #expect(log.logEndOffset == 5)
        #expect(try log.append(batches: batch(seq: 5)).firstOffset == 5)
    }

    @Test func olderEpochIsFencedAndNewerEpochRestartsAtZero() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        try log.append(batches: batch(epoch: 3, seq: 0, records: 2))
        #expect(throws: LogError.invalidProducerEpoch(producerId: 1, current: 3, received: 2)) {
            try log.append(batches: batch(epoch: 2, seq: 2))
        }
        #expect(throws: LogError.outOfOrderSequence(producerId: 1, expected: 0, received: 2)) {
            try log.append(batches: batch(epoch: 4, seq: 2))
        }
        #expect(try log.append(batches: batch(epoch: 4, seq: 0)).firstOffset == 2)
        let state = try #require(log.producerState(for: 1))
        #expect(state.producerEpoch == 4)
        #expect(state.batches.count == 1)
        // The old epoch's batch is no longer a duplicate: it is fenced.
        #expect(throws: LogError.invalidProducerEpoch(producerId: 1, current: 4, received: 3)) {
            try log.append(batches: batch(epoch: 3, seq: 0, records: 2))
        }
    }

    @Test func unknownProducerIsAcceptedAtAnySequence() throws {
        // Its state may have been removed by retention while the client kept counting.
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        #expect(try log.append(batches: batch(seq: 1234)).firstOffset == 0)
        #expect(try log.append(batches: batch(seq: 1235)).firstOffset == 1)
    }

    @Test func sequencesWrapAroundAtInt32Max() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        try log.append(batches: batch(seq: Int32.max - 1, records: 2))  // max-1, max
        #expect(log.producerState(for: 1)?.lastSequence == Int32.max)
        try log.append(batches: batch(seq: 0, records: 3))
        let wrapping = batch(seq: Int32.max, records: 3)  // max, 0, 1
        #expect(header(wrapping)?.lastSequence == 1)
        let other = try openLog(dir.sub("b"))
        try other.append(batches: batch(seq: Int32.max - 3, records: 3))
        try other.append(batches: wrapping)
        #expect(other.producerState(for: 1)?.lastSequence == 1)
        #expect(try other.append(batches: batch(seq: 2)).firstOffset == 6)
    }

    @Test func onlyTheWholeAppendIsChecked() throws {
        // Two batches of one producer in one append must follow each other.
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        try log.append(batches: batch(seq: 0))
        #expect(try log.append(batches: batch(seq: 1, records: 2) + batch(seq: 3)) == .appended(firstOffset: 1, lastOffset: 3))
        #expect(throws: LogError.self) { try log.append(batches: batch(seq: 4) + batch(seq: 9)) }
        #expect(log.logEndOffset == 4)
        #expect(log.producerState(for: 1)?.lastSequence == 3)
    }

    @Test func stateSurvivesCleanAndUncleanReopen() throws {
        let dir = TempDirectory()
        let config = LogConfig(segmentBytes: 2048)
        var state: [Int64: ProducerStateEntry] = [:]
        do {
            let log = try openLog(dir.path, config)
            for i in 0..<60 {
                for pid in Int64(1)...3 {
                    try log.append(batches: batch(pid, epoch: Int16(pid), seq: Int32(i * 2), records: 2, seed: i))
                }
            }
            #expect(log.segmentCount > 3)
            for pid in Int64(1)...3 { state[pid] = log.producerState(for: pid) }
            try log.close()
        }
        do {
            let log = try openLog(dir.path, config)
            for pid in Int64(1)...3 {
                #expect(log.producerState(for: pid)?.batches == state[pid]?.batches)
                #expect(log.producerState(for: pid)?.producerEpoch == state[pid]?.producerEpoch)
            }
            // Retry of the last batch after restart: still a duplicate.
            let retry = try log.append(batches: batch(2, epoch: 2, seq: 118, records: 2, seed: 59))
            #expect(retry.isDuplicate)
            #expect(retry.lastOffset == state[2]?.lastOffset)
            // More appends, then a crash (no close): the state is rebuilt from the last
            // roll snapshot plus the batch headers after it.
            for i in 60..<70 {
                for pid in Int64(1)...3 {
                    try log.append(batches: batch(pid, epoch: Int16(pid), seq: Int32(i * 2), records: 2, seed: i))
                }
            }
            for pid in Int64(1)...3 { state[pid] = log.producerState(for: pid) }
        }
        let log = try openLog(dir.path, config)
        for pid in Int64(1)...3 {
            #expect(log.producerState(for: pid)?.batches == state[pid]?.batches)
        }
        #expect(try log.append(batches: batch(1, epoch: 1, seq: 138, records: 2, seed: 69)).isDuplicate)
        #expect(throws: LogError.invalidProducerEpoch(producerId: 3, current: 3, received: 2)) {
            try log.append(batches: batch(3, epoch: 2, seq: 0))
        }
        #expect(try log.append(batches: batch(3, epoch: 3, seq: 140)).isDuplicate == false)
    }

    @Test func idleProducersExpire() throws {
        let dir = TempDirectory()
        let clock = TestClock()
        let log = try openLog(dir.path, LogConfig(producerIdExpirationMs: 60_000), clock: clock.function)
        try log.append(batches: batch(seq: 0))
        clock.now += 30_000
        try log.append(batches: batch(2, seq: 0))
        log.enforceRetention(now: clock.now + 40_000)
        #expect(log.producerState(for: 1) == nil)
        #expect(log.producerState(for: 2) != nil)
    }

    @Test func controlBatchesDoNotTakePartInSequences() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        try log.append(batches: batch(seq: 0, records: 2))
        // A transaction marker carries no sequence (-1) and is never a duplicate.
        try log.appendMarker(producerId: 1, producerEpoch: 0, marker: .commit)
        try log.appendMarker(producerId: 1, producerEpoch: 0, marker: .commit)
        #expect(log.logEndOffset == 4)
        #expect(try log.append(batches: batch(seq: 2)).firstOffset == 4)
    }
}
