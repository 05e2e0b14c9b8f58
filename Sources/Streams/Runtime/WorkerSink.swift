import Atomics
import KafkaClient

/// Where a worker's output (sink, late and dead-letter records) goes.
///
/// At least once: the job's shared producer; after a crash the output since the last
/// checkpoint is produced again.
///
/// Exactly once (Kafka Streams' exactly_once_v2, Flink's two-phase commit sink): two
/// transactional producers of the worker's own take turns. The output between two
/// checkpoints is one transaction; at a checkpoint that producer's output is acknowledged
/// (so it precedes, in every partition, whatever follows), the other producer opens the
/// next transaction and processing goes on with it, while the checkpoint is written and
/// committed — its manifests inside the first producer's transaction — off the processing
/// path. read_committed consumers see a checkpoint's output when, and only when, the state
/// that produced it is committed; after a kill -9 the restart fences both transactional ids
/// (aborting what was open) and resumes from the last committed checkpoint.
final class WorkerSink: Sendable {
    let shared: KafkaProducer?
    let pair: [KafkaProducer]
    private let turn = ManagedAtomic<Int>(0)

    init(shared: KafkaProducer) {
        self.shared = shared
        pair = []
    }

    init(transactional pair: [KafkaProducer]) {
        precondition(pair.count == 2)
        shared = nil
        self.pair = pair
    }

    var exactlyOnce: Bool { shared == nil }

    /// The producer this moment's output goes to.
    var producer: KafkaProducer { shared ?? pair[turn.load(ordering: .relaxed)] }

    /// The transactional ids of a worker's two producers: stable across restarts, so that a
    /// restart fences the previous run's.
    static func transactionalIDs(job: String, worker: Int) -> [String] {
        ["\(job).worker-\(worker).a", "\(job).worker-\(worker).b"]
    }

    /// Fences the previous run's producers (aborting their open transactions) and opens the
    /// first transaction. Call before the checkpoints are read.
    func fence() async throws {
        for p in pair { try await p.initTransactions() }
    }

    func begin() throws {
        guard exactlyOnce else { return }
        try producer.beginTransaction()
    }

    /// The first producer's output is being acknowledged and the second's held back: refused
    /// records are re-sent (or dead-lettered) by the rotation, into the first one's transaction.
    private let handingOver = ManagedAtomic<Bool>(false)
    var isHandingOver: Bool { handingOver.load(ordering: .acquiring) }

    /// At a checkpoint: what follows goes to the other producer's new transaction at once,
    /// its sends held until the output so far is acknowledged (refused records re-sent or
    /// dead-lettered into the same transaction), so that in every partition the first
    /// transaction's records come first — without holding processing up for the
    /// acknowledgements. Returns the producer whose open transaction holds the output before
    /// the checkpoint, to commit with its manifests once `handover` is done (nil: at least once).
    func rotate(_ refusals: SinkRefusals, _ runner: StreamJobRunner,
                _ onDelivery: @escaping @Sendable (DeliveryResult) -> Void) throws -> (producer: KafkaProducer, handover: Task<Void, any Error>)? {
        guard exactlyOnce else { return nil }
        let old = producer
        let next = pair[1 - turn.load(ordering: .relaxed)]
        next.holdSends()
        try next.beginTransaction()
        handingOver.store(true, ordering: .releasing)
        turn.store(1 - turn.load(ordering: .relaxed), ordering: .relaxed)
        let handover = Task { [handingOver] in
            defer {
                handingOver.store(false, ordering: .releasing)
                next.releaseSends()
            }
            await old.flush()
            while refusals.outstanding.load(ordering: .relaxed) > 0 {
                try await refusals.send(old, runner, onDelivery)
                await old.flush()
            }
        }
        return (old, handover)
    }

    /// The end of a bounded run without a checkpoint to commit with: the open transaction
    /// commits on its own.
    func commitOpen() async throws {
        guard exactlyOnce else { return }
        try await producer.commitTransaction()
    }

    func close() async {
        for p in pair { await p.close() }
    }
}
