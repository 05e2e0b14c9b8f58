import Foundation
import KafkaProtocol
import NIOCore
import Testing
@testable import LogStore

/// `batch` with the transactional attribute set (and its CRC recomputed), as a transactional
/// producer sends it.
func transactional(_ batch: [UInt8]) -> [UInt8] {
    var b = batch
    b[22] |= UInt8(RecordBatchHeader.transactionalBit)
    let crc = crc32c(Array(b[21...]))
    withUnsafeBytes(of: crc.bigEndian) { raw in for i in 0..<4 { b[17 + i] = raw[i] } }
    return b
}

/// What a read_committed consumer sees: the records below the last stable offset, minus
/// those of aborted transactions (the consumer's side of the protocol, written out here
/// from Kafka's rules, independently of the log's own code).
func consumeCommitted(_ log: PartitionLog) throws -> [Seen] {
    var out: [Seen] = []
    var offset = log.logStartOffset
    while offset < log.lastStableOffset {
        let r = try log.read(from: offset, maxBytes: 4096, readCommitted: true)
        guard !r.records.isEmpty else { break }
        var aborting: [Int64: Int64] = [:]  // producer -> first offset of the aborted transaction it is in
        let aborted = r.abortedTransactions.sorted { $0.firstOffset < $1.firstOffset }
        var next = offset
        try RecordBatch.forEachBatch(in: ByteBuffer(bytes: r.records)) { header, batch in
            defer { next = max(next, header.lastOffset + 1) }
            if header.isControl {
                aborting[header.producerId] = nil
                return
            }
            if header.isTransactional,
               let a = aborted.last(where: { $0.producerId == header.producerId && $0.firstOffset <= header.baseOffset }),
               header.baseOffset <= a.lastOffset {
                aborting[header.producerId] = a.firstOffset
            }
            if aborting[header.producerId] != nil { return }
            for rec in try RecordBatch.records(ofBatch: batch, header: header) where rec.offset >= offset {
                out.append(Seen(offset: rec.offset, key: rec.key.map { String(buffer: $0) } ?? "",
                                value: rec.value.map { String(buffer: $0) }, timestamp: rec.timestamp))
            }
        }
        offset = next
    }
    return out
}

@Suite struct TransactionLogTests {
    func txBatch(_ entries: [(String, String?)], pid: Int64, epoch: Int16 = 0, seq: Int32) throws -> [UInt8] {
        transactional(try keyedBatch(entries, producerId: pid, producerEpoch: epoch, baseSequence: seq))
    }

    @Test func openTransactionHoldsTheLastStableOffsetUntilItsMarker() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        try log.append(batches: keyedBatch([("a", "plain")]))                      // 0
        try log.append(batches: txBatch([("b", "t1"), ("c", "t1")], pid: 7, seq: 0))  // 1-2
        try log.append(batches: keyedBatch([("d", "after")]))                      // 3
        #expect(log.lastStableOffset == 1)
        #expect(log.openTransactions == [7: 1])
        // read_committed stops before the open transaction; read_uncommitted does not.
        #expect(try consumeCommitted(log).map(\.key) == ["a"])
        #expect(try consumeAll(log).map(\.key) == ["a", "b", "c", "d"])
        #expect(try log.read(from: 1, maxBytes: 4096, readCommitted: true).records.isEmpty)

        let marker = try log.appendMarker(producerId: 7, producerEpoch: 0, marker: .commit)  // 4
        #expect(marker == 4)
        #expect(log.lastStableOffset == 5)
        #expect(log.openTransactions.isEmpty)
        #expect(try consumeCommitted(log).map(\.key) == ["a", "b", "c", "d"])
        #expect(log.abortedTransactions(from: 0, upTo: 10).isEmpty)
    }

    @Test func abortedTransactionsAreNamedToReadCommittedReads() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        try log.append(batches: txBatch([("x", "1")], pid: 1, seq: 0))        // 0
        try log.append(batches: txBatch([("y", "2")], pid: 2, seq: 0))        // 1
        try log.append(batches: txBatch([("x", "3")], pid: 1, seq: 1))        // 2
        try log.appendMarker(producerId: 1, producerEpoch: 0, marker: .abort) // 3
        #expect(log.lastStableOffset == 1)  // producer 2 is still open
        try log.appendMarker(producerId: 2, producerEpoch: 0, marker: .commit) // 4
        #expect(log.lastStableOffset == 5)
        #expect(log.abortedTransactions(from: 0, upTo: 5) == [AbortedTransaction(producerId: 1, firstOffset: 0, lastOffset: 3)])
        #expect(log.abortedTransactions(from: 4, upTo: 5).isEmpty)
        let read = try log.read(from: 0, maxBytes: 1 << 20, readCommitted: true)
        #expect(read.abortedTransactions == [AbortedTransaction(producerId: 1, firstOffset: 0, lastOffset: 3)])
        #expect(try consumeCommitted(log).map { "\($0.key)=\($0.value ?? "")" } == ["y=2"])
        // The next transaction of producer 1 starts afresh.
        try log.append(batches: txBatch([("x", "4")], pid: 1, seq: 2))        // 5
        #expect(log.openTransactions == [1: 5])
        try log.appendMarker(producerId: 1, producerEpoch: 0, marker: .commit)
        #expect(try consumeCommitted(log).map { "\($0.key)=\($0.value ?? "")" } == ["y=2", "x=4"])
    }

    @Test func writesThatDoNotFitTheTransactionAreRefused() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        try log.append(batches: txBatch([("a", "1")], pid: 3, epoch: 2, seq: 0))
        // A non-transactional batch of the same producer inside its transaction.
        #expect(throws: LogError.self) { try log.append(batches: keyedBatch([("a", "x")], producerId: 3, producerEpoch: 2, baseSequence: 1)) }
        // A marker of an older epoch (a coordinator fences by bumping first).
        #expect(throws: LogError.invalidProducerEpoch(producerId: 3, current: 2, received: 1)) {
            try log.appendMarker(producerId: 3, producerEpoch: 1, marker: .abort)
        }
        // Clients may not write control batches.
        let control = RecordBatch.buildControl(producerId: 3, producerEpoch: 2, type: .commit, coordinatorEpoch: 0, timestamp: 1)
        #expect(throws: LogError.self) { try log.append(batches: Array(control.readableBytesView)) }
        // A bumped-epoch abort fences the producer: its old epoch is refused afterwards.
        try log.appendMarker(producerId: 3, producerEpoch: 3, marker: .abort)
        #expect(throws: LogError.invalidProducerEpoch(producerId: 3, current: 3, received: 2)) {
            try log.append(batches: txBatch([("a", "late")], pid: 3, epoch: 2, seq: 1))
        }
        #expect(log.lastStableOffset == log.logEndOffset)
    }

    @Test(arguments: [true, false])
    func transactionStateSurvivesAReopen(clean: Bool) throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        try log.append(batches: txBatch([("a", "1")], pid: 1, seq: 0))          // 0
        try log.appendMarker(producerId: 1, producerEpoch: 0, marker: .abort)   // 1
        try log.append(batches: txBatch([("b", "2")], pid: 2, seq: 0))          // 2
        try log.append(batches: txBatch([("c", "3")], pid: 1, seq: 1))          // 3
        try log.appendMarker(producerId: 1, producerEpoch: 0, marker: .commit)  // 4
        let aborted = log.abortedTransactions(from: 0, upTo: 10)
        #expect(try consumeCommitted(log).isEmpty)  // "a" aborted, "b" open
        // Unclean: no close, no snapshot: the state comes back from a walk of the batches,
        // which reads each marker for its type.
        if clean { try log.close() }
        let reopened = try openLog(dir.path)
        #expect(reopened.openTransactions == [2: 2])
        #expect(reopened.lastStableOffset == 2)
        #expect(reopened.abortedTransactions(from: 0, upTo: 10) == aborted)
        try reopened.appendMarker(producerId: 2, producerEpoch: 0, marker: .commit)
        #expect(try consumeCommitted(reopened).map(\.key) == ["b", "c"])
    }

    @Test func cleanerDropsAbortedRecordsAndStopsAtOpenTransactions() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, compactConfig)
        try log.append(batches: keyedBatch([("k", "committed")]))
        try log.append(batches: txBatch([("k", "aborted")], pid: 9, seq: 0))
        try log.appendMarker(producerId: 9, producerEpoch: 0, marker: .abort)
        try log.append(batches: keyedBatch([("j", "v1")]))
        try rollEverything(log)
        _ = try #require(try log.clean(now: 1_000_000, cleaner: LogCleanerConfig(), force: true))
        // The aborted write neither survives nor supersedes the committed value.
        // (consumeAll also returns the marker's record, whose key is binary.)
        let seen = try consumeAll(log).filter { $0.key != "roll" && !$0.key.hasPrefix("\0") }
        #expect(seen.map { "\($0.key)=\($0.value ?? "")" } == ["k=committed", "j=v1"])

        // An open transaction: nothing from its segment on is cleaned.
        let dir2 = TempDirectory()
        let open = try openLog(dir2.path, compactConfig)
        try open.append(batches: txBatch([("k", "open")], pid: 4, seq: 0))
        try open.append(batches: keyedBatch([("k", "later")]))
        try rollEverything(open)
        #expect(open.cleanableRange(now: 1_000_000)?.firstUncleanableOffset == 0)
    }

    @Test func producersInsideATransactionDoNotExpire() throws {
        let dir = TempDirectory()
        let clock = TestClock()
        let log = try openLog(dir.path, LogConfig(producerIdExpirationMs: 60_000), clock: clock.function)
        try log.append(batches: txBatch([("a", "1")], pid: 1, seq: 0))
        try log.append(batches: keyedBatch([("b", "2")], producerId: 2, producerEpoch: 0, baseSequence: 0))
        log.enforceRetention(now: clock.now + 120_000)
        #expect(log.producerState(for: 1) != nil)
        #expect(log.producerState(for: 2) == nil)
        #expect(log.lastStableOffset == 0)
    }

    @Test func snapshotsKeepOpenAndAbortedTransactions() throws {
        var s = ProducerStateManager()
        let h = try #require(header(try txBatch([("a", "1")], pid: 5, epoch: 1, seq: 0)))
        s.commit([5: ProducerStateManager.applied(h, firstOffset: 10, now: 1, to: nil)],
                 aborted: [AbortedTransaction(producerId: 6, firstOffset: 2, lastOffset: 8)])
        let bytes = ProducerSnapshot.encode(s, offset: 11)
        let decoded = try #require(ProducerSnapshot.decode(bytes))
        #expect(decoded.state.producers == s.producers)
        #expect(decoded.state.ongoing == [5: 10])
        #expect(decoded.state.aborted == [AbortedTransaction(producerId: 6, firstOffset: 2, lastOffset: 8)])
        for length in [bytes.count - 1, bytes.count - 24, 12] {
            #expect(ProducerSnapshot.decode(Array(bytes.prefix(length))) == nil)
        }
    }
}
