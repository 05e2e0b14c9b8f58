import KafkaProtocol
import NIOCore
import Testing
@testable import Broker

/// The transaction coordinator's rules, as a state machine without I/O.
@Suite struct TransactionCoordinatorTests {
    let tp0 = TopicPartitionKey(topic: "out", partition: 0)
    let tp1 = TopicPartitionKey(topic: "out", partition: 1)

    final class Ids {
        var next: Int64 = 100
        func allocate() -> Int64 { defer { next += 1 }; return next }
    }

    func started(_ core: inout TransactionCoordinatorCore, _ ids: Ids, id: String = "tx", timeoutMs: Int32 = 60_000) -> (Int64, Int16) {
        guard case .ready(let pid, let epoch) = core.initProducerId(id, timeoutMs: timeoutMs, producerId: -1, epoch: -1, now: 0,
                                                                     newProducerId: ids.allocate) else {
            Issue.record("InitProducerId failed")
            return (-1, -1)
        }
        return (pid, epoch)
    }

    @Test func aTransactionRunsFromInitToCommit() {
        var core = TransactionCoordinatorCore()
        let ids = Ids()
        let (pid, epoch) = started(&core, ids)
        #expect(pid == 100 && epoch == 0)
        #expect(core.records.count == 1)
        #expect(core.metadata("tx")?.state == .empty)
        // Nothing may be produced before the partition is added.
        #expect(core.verifyProduce("tx", producerId: pid, epoch: epoch, partition: tp0) == .invalidTxnState)
        let added = core.addPartitions("tx", producerId: pid, epoch: epoch, partitions: [tp0, tp1], now: 5) { _ in true }
        #expect(added == [tp0: .none, tp1: .none])
        #expect(core.metadata("tx")?.state == .ongoing)
        #expect(core.metadata("tx")?.startTimestamp == 5)
        #expect(core.verifyProduce("tx", producerId: pid, epoch: epoch, partition: tp0) == nil)
        #expect(core.verifyProduce("tx", producerId: pid, epoch: epoch, partition: TopicPartitionKey(topic: "other", partition: 0)) == .invalidTxnState)

        guard case .complete(let c) = core.endTransaction("tx", producerId: pid, epoch: epoch, commit: true, now: 9) else {
            Issue.record("EndTxn did not start a completion")
            return
        }
        #expect(c.marker == .commit && c.partitions == [tp0, tp1] && c.markerEpoch == epoch && c.producerId == pid)
        #expect(core.metadata("tx")?.state == .prepareCommit)
        // While the markers are written: no produce, retries wait, the opposite outcome is refused.
        #expect(core.verifyProduce("tx", producerId: pid, epoch: epoch, partition: tp0) == .invalidTxnState)
        #expect(core.endTransaction("tx", producerId: pid, epoch: epoch, commit: true, now: 9) == .failed(.concurrentTransactions))
        #expect(core.endTransaction("tx", producerId: pid, epoch: epoch, commit: false, now: 9) == .failed(.invalidTxnState))
        #expect(core.addPartitions("tx", producerId: pid, epoch: epoch, partitions: [tp0], now: 9) { _ in true } == [tp0: .concurrentTransactions])
        #expect(core.unfinished == [c])

        core.completed(c, now: 10)
        #expect(core.metadata("tx")?.state == .completeCommit)
        #expect(core.metadata("tx")?.partitions.isEmpty == true)
        #expect(core.unfinished.isEmpty)
        #expect(core.endTransaction("tx", producerId: pid, epoch: epoch, commit: true, now: 11) == .done)
        #expect(core.endTransaction("tx", producerId: pid, epoch: epoch, commit: false, now: 11) == .failed(.invalidTxnState))
        // The next transaction begins with the next AddPartitionsToTxn.
        #expect(core.addPartitions("tx", producerId: pid, epoch: epoch, partitions: [tp1], now: 12) { _ in true } == [tp1: .none])
        #expect(core.metadata("tx")?.partitions == [tp1])
    }

    @Test func requestsAreValidated() {
        var core = TransactionCoordinatorCore()
        let ids = Ids()
        #expect(core.initProducerId("tx", timeoutMs: 0, producerId: -1, epoch: -1, now: 0, newProducerId: ids.allocate) == .failed(.invalidTransactionTimeout))
        #expect(core.initProducerId("tx", timeoutMs: 900_001, producerId: -1, epoch: -1, now: 0, newProducerId: ids.allocate) == .failed(.invalidTransactionTimeout))
        #expect(core.endTransaction("nobody", producerId: 1, epoch: 0, commit: true, now: 0) == .failed(.invalidProducerIdMapping))
        let (pid, epoch) = started(&core, ids)
        #expect(core.endTransaction("tx", producerId: pid + 1, epoch: epoch, commit: true, now: 0) == .failed(.invalidProducerIdMapping))
        #expect(core.endTransaction("tx", producerId: pid, epoch: epoch, commit: true, now: 0) == .failed(.invalidTxnState))
        // One unknown partition: nothing is added, the others are not attempted.
        let r = core.addPartitions("tx", producerId: pid, epoch: epoch, partitions: [tp0, tp1], now: 0) { $0 == self.tp0 }
        #expect(r == [tp0: .operationNotAttempted, tp1: .unknownTopicOrPartition])
        #expect(core.metadata("tx")?.state == .empty)
        // Offsets need their group added first.
        #expect(core.commitOffsets("tx", producerId: pid, epoch: epoch, groupId: "g", offsets: [tp0: CommittedOffset(offset: 5)], now: 0) == .invalidTxnState)
        #expect(core.addOffsets("tx", producerId: pid, epoch: epoch, groupId: "", now: 0) == .invalidGroupId)
    }

    @Test func aNewProducerFencesTheOldOneAndAbortsItsTransaction() {
        var core = TransactionCoordinatorCore()
        let ids = Ids()
        let (pid, epoch) = started(&core, ids)
        _ = core.addPartitions("tx", producerId: pid, epoch: epoch, partitions: [tp0], now: 1) { _ in true }
        guard case .abortFirst(let c, let newPid, let newEpoch) = core.initProducerId("tx", timeoutMs: 60_000, producerId: -1, epoch: -1, now: 2,
                                                                                  newProducerId: ids.allocate) else {
            Issue.record("the open transaction was not aborted")
            return
        }
        #expect(newPid == pid && newEpoch == epoch + 1)
        // The abort markers carry the new epoch: they fence the old producer in the partitions.
        #expect(c.marker == .abort && c.markerEpoch == epoch + 1 && c.partitions == [tp0])
        core.completed(c, now: 3)
        #expect(core.metadata("tx")?.state == .completeAbort)
        // The zombie is refused everywhere.
        #expect(core.endTransaction("tx", producerId: pid, epoch: epoch, commit: true, now: 4) == .failed(.producerFenced))
        #expect(core.addPartitions("tx", producerId: pid, epoch: epoch, partitions: [tp0], now: 4) { _ in true } == [tp0: .producerFenced])
        #expect(core.verifyProduce("tx", producerId: pid, epoch: epoch, partition: tp0) == .invalidProducerEpoch)
        #expect(core.initProducerId("tx", timeoutMs: 60_000, producerId: pid, epoch: epoch - 1, now: 4, newProducerId: ids.allocate) == .failed(.producerFenced))
        // The new one works.
        #expect(core.addPartitions("tx", producerId: newPid, epoch: newEpoch, partitions: [tp0], now: 5) { _ in true } == [tp0: .none])
    }

    @Test func initProducerIdRetriesAndEpochExhaustion() {
        var core = TransactionCoordinatorCore()
        let ids = Ids()
        let (pid, epoch) = started(&core, ids)
        // KIP-360: presenting the current id/epoch bumps it; a retry of that gets the same answer.
        #expect(core.initProducerId("tx", timeoutMs: 60_000, producerId: pid, epoch: epoch, now: 1, newProducerId: ids.allocate)
                == .ready(producerId: pid, epoch: epoch + 1))
        #expect(core.initProducerId("tx", timeoutMs: 60_000, producerId: pid, epoch: epoch, now: 1, newProducerId: ids.allocate)
                == .ready(producerId: pid, epoch: epoch + 1))
        #expect(core.initProducerId("tx", timeoutMs: 60_000, producerId: 999, epoch: 0, now: 1, newProducerId: ids.allocate) == .failed(.producerFenced))
        // An exhausted epoch rotates to a fresh producer id.
        core.replay("old", TransactionMetadata(transactionalId: "old", producerId: 7, producerEpoch: Int16.max - 1, timeoutMs: 1000, updateTimestamp: 0))
        guard case .ready(let rotated, 0) = core.initProducerId("old", timeoutMs: 1000, producerId: -1, epoch: -1, now: 1, newProducerId: ids.allocate) else {
            Issue.record("no rotation")
            return
        }
        #expect(rotated != 7)
        #expect(core.metadata("old")?.lastProducerId == 7)
    }

    @Test func timedOutTransactionsAreAbortedWithABumpedEpoch() {
        var core = TransactionCoordinatorCore()
        let ids = Ids()
        let (pid, epoch) = started(&core, ids, timeoutMs: 1_000)
        _ = core.addPartitions("tx", producerId: pid, epoch: epoch, partitions: [tp0], now: 100) { _ in true }
        #expect(core.tick(now: 1_100, newProducerId: ids.allocate).isEmpty)
        let aborts = core.tick(now: 1_101, newProducerId: ids.allocate)
        #expect(aborts.count == 1)
        #expect(aborts.first?.marker == .abort && aborts.first?.markerEpoch == epoch + 1)
        #expect(core.metadata("tx")?.state == .prepareAbort)
        core.completed(aborts[0], now: 1_102)
        #expect(core.endTransaction("tx", producerId: pid, epoch: epoch, commit: true, now: 1_103) == .failed(.producerFenced))
        // Idle ids expire; open ones never do.
        _ = started(&core, ids, id: "open")
        let open = core.metadata("open")!
        _ = core.addPartitions("open", producerId: open.producerId, epoch: open.producerEpoch, partitions: [tp1], now: 2_000) { _ in true }
        core.config.idExpirationMs = 10_000
        var c2 = core
        _ = c2.tick(now: 12_000, newProducerId: ids.allocate)
        #expect(c2.metadata("tx") == nil)
        #expect(c2.records.contains { $0.0 == "tx" && $0.1 == nil })
    }

    @Test func offsetsCommitWithTheTransactionOnly() {
        var core = TransactionCoordinatorCore()
        let ids = Ids()
        let (pid, epoch) = started(&core, ids)
        #expect(core.addOffsets("tx", producerId: pid, epoch: epoch, groupId: "g", now: 1) == .none)
        #expect(core.commitOffsets("tx", producerId: pid, epoch: epoch, groupId: "g", offsets: [tp0: CommittedOffset(offset: 42)], now: 2) == .none)
        #expect(core.pendingOffsetPartitions(groupId: "g") == [tp0])
        var aborting = core
        guard case .complete(let abort) = aborting.endTransaction("tx", producerId: pid, epoch: epoch, commit: false, now: 3),
              case .complete(let commit) = core.endTransaction("tx", producerId: pid, epoch: epoch, commit: true, now: 3) else {
            Issue.record("no completion")
            return
        }
        #expect(abort.offsets.isEmpty)
        #expect(commit.offsets == ["g": [tp0: CommittedOffset(offset: 42)]])
        core.completed(commit, now: 4)
        #expect(core.pendingOffsetPartitions(groupId: "g").isEmpty)
    }

    @Test func metadataRecordsRoundTripAndRejectGarbage() throws {
        var m = TransactionMetadata(transactionalId: "tx-é", producerId: 12, producerEpoch: 3, timeoutMs: 60_000, updateTimestamp: 99)
        m.lastProducerId = 11
        m.lastProducerEpoch = 2
        m.state = .prepareCommit
        m.partitions = [tp0, tp1]
        m.groups = ["g"]
        m.pendingOffsets = ["g": [tp0: CommittedOffset(offset: 7, leaderEpoch: 1, metadata: "meta", commitTimestamp: 5)]]
        m.startTimestamp = 50
        let (key, value) = try TransactionRecordCodec.encode(m)
        let (id, decoded) = try TransactionRecordCodec.decode(key: key, value: value)
        #expect(id == "tx-é" && decoded == m)
        #expect(try TransactionRecordCodec.decode(key: key, value: nil).1 == nil)
        // Every truncation and random bytes are refused, never a crash.
        let bytes = Array(value!.readableBytesView)
        for n in 0..<bytes.count {
            #expect(throws: (any Error).self) { try TransactionRecordCodec.decode(key: key, value: ByteBuffer(bytes: bytes.prefix(n))) }
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let junk = (0..<Int.random(in: 0..<80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? TransactionRecordCodec.decode(key: key, value: ByteBuffer(bytes: junk))
            _ = try? TransactionRecordCodec.decode(key: ByteBuffer(bytes: junk), value: nil)
        }
        // Replayed Prepare states are finished after a restart.
        var core = TransactionCoordinatorCore()
        core.replay(id, decoded)
        #expect(core.unfinished.map(\.marker) == [.commit])
    }

    /// The on-disk format, byte for byte (what a restart reads back).
    @Test func metadataRecordsKeepTheirFormat() throws {
        var m = TransactionMetadata(transactionalId: "tx-é", producerId: 12, producerEpoch: 3, timeoutMs: 60_000, updateTimestamp: 99)
        m.lastProducerId = 11
        m.lastProducerEpoch = 2
        m.state = .prepareCommit
        m.partitions = [tp0, tp1]
        m.groups = ["g", "h"]
        m.pendingOffsets = ["g": [TopicPartitionKey(topic: "in", partition: 2): CommittedOffset(offset: 7, leaderEpoch: 1, metadata: "meta", commitTimestamp: 5)]]
        m.startTimestamp = 50
        func hex(_ b: ByteBuffer?) -> String { b.map { $0.readableBytesView.map { String(format: "%02x", $0) }.joined() } ?? "" }
        let (key, value) = try TransactionRecordCodec.encode(m)
        #expect(hex(key) == "0000000574782dc3a9")
        #expect(hex(value) == "0000000000000000000c0003000000000000000b00020000ea6002000000000000003200000000000000630000000200036f75740000000000036f7574000000010000000200016700016800000001000167000000010002696e0000000200000000000000070000000100046d6574610000000000000005")
    }
}
