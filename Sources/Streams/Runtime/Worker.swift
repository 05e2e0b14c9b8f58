import Atomics
import CoreMetrics
import KafkaClient
import KafkaProtocol
import Logging
import NIOCore

/// One worker: a consumer assigned the partitions of its tasks, and the tasks (one per
/// partition, each with its own operators and state), in two child tasks joined by a bounded
/// channel. The reader fetches chunks (one partition's records each), decodes them and tracks
/// the ends of bounded inputs and idleness; the processor pushes decoded chunks through their
/// task, publishes the partition's watermark, advances every task to the job's combined
/// watermark, hands the outbox to the producer — awaiting it when its buffer is full, which
/// through the full channel is how a slow sink slows the consumer — and checkpoints.
struct Worker: Sendable {
    let index: Int
    let partitions: [Int32]
    let partitionCount: Int
    let runner: StreamJobRunner
    let board: WatermarkBoard
    /// Where output goes (the shared producer, or this worker's transactional pair).
    let sink: WorkerSink
    let failures: DeliveryFailures
    let refusals: SinkRefusals
    let store: CheckpointStore?
    let metrics: JobMetrics
    /// Snapshots of this worker's tasks to start from.
    let restored: [Int32: TaskSnapshot]
    let starts: [TopicPartition: Int64]
    /// Bounded run: stop at these offsets.
    let ends: [TopicPartition: Int64]?

    /// What the reader sends the processor.
    enum Event: Sendable {
        case batch(input: Int, chunk: [ConsumerRecord], decoded: AnyDecodedBatch)
        /// A bounded input has nothing more (sent after its last batch).
        case finished(input: Int)
    }

    /// A source partition as the processor tracks it.
    struct Input {
        let tp: TopicPartition
        let slot: Int
        let task: Int
        let source: Int
        let push: (AnyDecodedBatch, [ConsumerRecord]) -> Void
        var watermark: PartitionWatermark
        let idleTimeout: Duration?
        var finished = false
        let end: Int64?
        /// A repartition topic: time and the end of a bounded run come from the previous
        /// stage's watermark records.
        let repartition: Bool
        /// Offset after the last record pushed (what a checkpoint records).
        var nextOffset: Int64 = 0
    }

    /// What the reader knows of an input.
    struct ReaderInput: Sendable {
        let tp: TopicPartition
        let slot: Int
        let source: Int
        let idleTimeout: Duration?
        let end: Int64?
        var finished: Bool
        var lastData = ContinuousClock.now
    }

    func run() async throws {
        let job = runner.job
        let config = runner.config

        // Tasks: one per partition, the whole graph instantiated for each.
        var contexts: [TaskContext] = []
        var builders: [TaskBuilder] = []
        var inputs: [Input] = []
        for (t, p) in partitions.enumerated() {
            let ctx = TaskContext(job: job.identity, partition: p, sourceTopics: job.contextTopics,
                                  lateTopic: job.lateTopic, deadLetterTopic: job.deadLetterTopic)
            ctx.partitionCount = Int32(partitionCount)
            let b = TaskBuilder(ctx: ctx)
            contexts.append(ctx)
            builders.append(b)
            for (si, s) in job.sources.enumerated() {
                let tp = TopicPartition(s.topic, p)
                inputs.append(Input(tp: tp, slot: si * partitionCount + Int(p), task: t, source: si, push: s.makePusher(b),
                                    watermark: s.repartition ? PartitionWatermark(origins: partitionCount) : PartitionWatermark(outOfOrderness: s.outOfOrderness),
                                    idleTimeout: s.idleTimeout, end: ends?[tp], repartition: s.repartition))
            }
        }
        let factory = config.metricsFactory ?? MetricsSystem.factory
        let taskMetrics = zip(contexts, builders).map {
            TaskMetrics(job: job.identity.name, partition: $0.0.partition, operators: $0.1.counters.names, factory: factory)
        }
        var checkpointID: Int64 = 0
        let restoreStarted = ContinuousClock.now
        for (t, p) in partitions.enumerated() {
            guard let snap = restored[p] else { continue }
            try restore(snap, contexts[t], builders[t], &inputs)
            checkpointID = max(checkpointID, snap.checkpointID)
            runner.progress.restoredTasks.wrappingIncrement(ordering: .relaxed)
            metrics.restoredTasks.increment()
        }
        if checkpointID > 0 {
            runner.logger.info("state restored", metadata: ["worker": "\(index)", "checkpoint": "\(checkpointID)",
                                                           "restore-ms": "\((ContinuousClock.now - restoreStarted).millis)"])
        }
        var offsets: [TopicPartition: Int64] = [:]
        for i in inputs.indices {
            let tp = inputs[i].tp
            let start = restored[tp.partition] != nil ? inputs[i].nextOffset : (starts[tp] ?? 0)
            inputs[i].nextOffset = start
            offsets[tp] = start
            runner.progress.read(tp, upTo: start)
            if let e = inputs[i].end, e <= start { finish(&inputs[i]) }
        }
        let readerInputs = inputs.map {
            ReaderInput(tp: $0.tp, slot: $0.slot, source: $0.source, idleTimeout: $0.idleTimeout, end: $0.end, finished: $0.finished)
        }

        var cc = KafkaConsumerConfig(bootstrapServers: config.client.bootstrapServers)
        cc.client = config.client
        cc.client.clientID = "\(job.identity.name)-worker-\(index)"
        cc.autoOffsetReset = config.start == .earliest ? .earliest : .latest
        cc.enableAutoCommit = false
        cc.maxPartitionFetchBytes = config.maxPartitionFetchBytes
        cc.maxBufferedBytes = config.consumerBufferBytes
        cc.fetchMaxWait = .milliseconds(100)
        // Exactly once: never what an aborted upstream transaction wrote (a repartition
        // stage's output included).
        if sink.exactlyOnce { cc.isolationLevel = .readCommitted }
        let consumer = try KafkaConsumer(config: cc)
        try sink.begin()
        try await consumer.assign(offsets: offsets)
        let paused = readerInputs.filter(\.finished).map(\.tp)
        if !paused.isEmpty { await consumer.pause(paused) }

        let channel = BoundedChannel<Event>(capacity: 4)
        // Batches handed to the processor and not yet pushed, per input: a partition with some
        // is not idle, however long ago they were read.
        let inFlight = InFlightCounts(inputs.count)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    defer { channel.close() }
                    try await read(consumer, readerInputs, channel, inFlight)
                }
                defer { channel.close() }
                try await process(channel, inFlight, contexts, builders, taskMetrics, &inputs, &checkpointID)
                group.cancelAll()
            }
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
    }

    /// The reader: fetch, decode, hand over; ends of bounded inputs; idleness.
    func read(_ consumer: KafkaConsumer, _ start: [ReaderInput], _ channel: BoundedChannel<Event>, _ inFlight: InFlightCounts) async throws {
        let config = runner.config
        var inputs = start
        var index: [TopicPartition: Int] = [:]
        for (i, x) in inputs.enumerated() { index[x.tp] = i }
        let decoders = runner.job.sources.map { $0.makeDecoder() }
        var it = consumer.records.makeAsyncIterator()
        while !Task.isCancelled && !runner.stopping.load(ordering: .relaxed) {
            if inputs.allSatisfy(\.finished) { return }
            guard var chunk = try await it.nextChunk(until: .now + config.tick) else { return }
            // A bounded run that ends before the topic does (a replay up to a time): records
            // from the end on are not this run's.
            if let first = chunk.first, let i = index[first.topicPartition], let e = inputs[i].end, chunk.last!.offset >= e {
                chunk.removeAll { $0.offset >= e }
                if chunk.isEmpty, !inputs[i].finished {
                    inputs[i].finished = true
                    await consumer.pause([inputs[i].tp])
                    guard await channel.send(.finished(input: i)) else { return }
                    continue
                }
            }
            if let first = chunk.first, let i = index[first.topicPartition] {
                inputs[i].lastData = .now
                // It has data: it counts again (its old watermark holds time back until pushed).
                if board.isIdle(inputs[i].slot) { board.setIdle(inputs[i].slot, false) }
                let decoded = decoders[inputs[i].source](chunk)
                inFlight.add(i, 1)
                let t0 = ContinuousClock.now
                guard await channel.send(.batch(input: i, chunk: chunk, decoded: decoded)) else { return }
                let waited = ContinuousClock.now - t0
                if waited > .microseconds(50) { metrics.backpressureSeconds.increment(by: Double(waited.micros) / 1e6) }
                if let e = inputs[i].end, !inputs[i].finished {
                    let pos = chunk.last!.offset + 1 >= e ? e : (await consumer.position(inputs[i].tp) ?? 0)
                    if pos >= e {
                        inputs[i].finished = true
                        await consumer.pause([inputs[i].tp])
                        guard await channel.send(.finished(input: i)) else { return }
                    }
                }
            } else if chunk.isEmpty {
                // Offsets can end in a gap (compaction, transaction markers): go by position.
                for i in inputs.indices where !inputs[i].finished {
                    if let e = inputs[i].end, (await consumer.position(inputs[i].tp) ?? 0) >= e {
                        inputs[i].finished = true
                        await consumer.pause([inputs[i].tp])
                        guard await channel.send(.finished(input: i)) else { return }
                    }
                }
            }
            await detectIdleness(&inputs, consumer, inFlight)
        }
    }

    /// A partition with no data for its idle timeout, nothing waiting on the broker for it
    /// (lag 0) and nothing waiting in the channel stops holding the watermark back. One that is
    /// behind is back-pressured, not idle.
    func detectIdleness(_ inputs: inout [ReaderInput], _ consumer: KafkaConsumer, _ inFlight: InFlightCounts) async {
        let now = ContinuousClock.now
        for i in inputs.indices {
            guard let t = inputs[i].idleTimeout, !inputs[i].finished, !board.isIdle(inputs[i].slot),
                  now - inputs[i].lastData >= t, inFlight.get(i) == 0 else { continue }
            let lag = await consumer.lag(inputs[i].tp)
            if lag == 0 || (lag == nil && now - inputs[i].lastData >= t * 2) {
                board.setIdle(inputs[i].slot, true)
                runner.logger.debug("partition idle", metadata: ["partition": "\(inputs[i].tp)"])
            }
        }
    }

    /// The processor: push, watermarks, outbox, checkpoints.
    func process(_ channel: BoundedChannel<Event>, _ inFlight: InFlightCounts, _ contexts: [TaskContext], _ builders: [TaskBuilder],
                 _ taskMetrics: [TaskMetrics], _ inputs: inout [Input], _ checkpointID: inout Int64) async throws {
        let config = runner.config
        let onDelivery: @Sendable (DeliveryResult) -> Void = { [failures] r in failures.record(r) }
        var combined = Millis.min
        let bounded = ends != nil
        var nextCheckpoint = config.checkpointInterval.map { ContinuousClock.now + $0 }
        var upload: Upload? = nil
        // Failing: a checkpoint still being completed stops (it may be waiting for dead letters
        // that no processor will send now).
        defer { upload?.task.cancel() }
        var slowest = SlowestSteps()
        processing: while !runner.stopping.load(ordering: .relaxed) {
            let allMineDone = bounded && inputs.allSatisfy(\.finished)
            if allMineDone && combined == .max { break }
            let deadline = ContinuousClock.now + (allMineDone ? .milliseconds(5) : config.tick)
            let event = await channel.receive(until: deadline)
            let stepStarted = ContinuousClock.now
            switch event {
            case .batch(let i, let chunk, let decoded):
                let ctx = contexts[inputs[i].task]
                inputs[i].push(decoded, chunk)
                ctx.counters.sourceIn += chunk.count - decoded.originWatermarks.count
                inputs[i].watermark.observe(decoded.maxEventTime)
                for o in decoded.originWatermarks { inputs[i].watermark.observe(origin: Int(o.origin), o.watermark) }
                if let last = chunk.last {
                    inputs[i].nextOffset = last.offset + 1
                    runner.progress.read(inputs[i].tp, upTo: last.offset + 1)
                }
                if !inputs[i].finished { board.publish(inputs[i].slot, watermark: inputs[i].watermark.watermark) }
                // Bounded: the previous stage has sent the end of time, nothing more comes.
                if bounded && inputs[i].repartition && !inputs[i].finished && inputs[i].watermark.watermark == .max { finish(&inputs[i]) }
                inFlight.add(i, -1)
            case .finished(let i):
                finish(&inputs[i])
            case nil:
                // The reader ended (it saw the stop first, or failed): what is pushed is all
                // there is; a stop still writes its last checkpoint below.
                if !bounded && channel.isClosed { break processing }
            }
            let w = board.combined()
            if w > combined {
                combined = w
                if w < .max { runner.progress.watermark.store(w, ordering: .relaxed) }
                for ctx in contexts { ctx.advance(to: w) }
            }
            let now = JobProgress.nowMicros() / 1000
            for ctx in contexts { ctx.advanceProcessingTime(to: now) }
            try await drain(contexts, builders, taskMetrics, onDelivery)
            slowest.note(since: stepStarted)
            // One checkpoint at a time: while the previous one is being written, the next
            // waits and processing does not.
            if let due = nextCheckpoint, ContinuousClock.now >= due, let store, upload?.isDone ?? true {
                try await finishUpload(&upload, checkpointID)
                checkpointID += 1
                let transaction = try sink.rotate(refusals, runner, onDelivery)
                upload = Upload(freeze(checkpointID, contexts, builders, inputs, transaction), worker: self, store)
                runner.logger.debug("checkpoint taken", metadata: ["id": "\(checkpointID)", "worker": "\(index)",
                                                                  "slowest-step-ms": "\(slowest.overall.millis)",
                                                                  "slowest-step-after-previous-ms": "\(slowest.afterCheckpoint.millis)"])
                slowest = SlowestSteps()
                nextCheckpoint = ContinuousClock.now + config.checkpointInterval!
            }
        }
        try await awaitUpload(&upload, checkpointID, onDelivery)
        // Stopped (not at the end of a bounded input): a last checkpoint, so that a restart —
        // of this version or an upgraded one — continues exactly here (Flink's stop with a
        // savepoint).
        if runner.stopping.load(ordering: .relaxed), let store {
            try await drain(contexts, builders, taskMetrics, onDelivery)
            checkpointID += 1
            let transaction = try sink.rotate(refusals, runner, onDelivery)
            upload = Upload(freeze(checkpointID, contexts, builders, inputs, transaction), worker: self, store)
            try await awaitUpload(&upload, checkpointID, onDelivery)
            runner.logger.info("stopped with a checkpoint", metadata: ["worker": "\(index)", "id": "\(checkpointID)"])
        } else if sink.exactlyOnce {
            // The end of a bounded run (or a stop without checkpoints): what is open commits.
            try await drain(contexts, builders, taskMetrics, onDelivery)
            try await sink.commitOpen()
        }
        runner.logger.debug("worker done", metadata: ["worker": "\(index)", "watermark": "\(combined)"])
    }

    /// A checkpoint taken between batches: each task's positions and watermark, and its
    /// operators' state frozen (not copied, not written yet).
    struct FrozenCheckpoint: Sendable {
        struct TaskState: Sendable {
            var partition: Int32
            var watermark: Millis
            var inputs: [TaskSnapshot.Input]
            var operators: [(name: String, kind: String, state: FrozenState)]
        }
        var id: Int64
        var tasks: [TaskState]
        var taken: ContinuousClock.Instant
        /// How long taking it held processing up.
        var pauseMicros: Int64
        /// Exactly once: the producer whose open transaction holds the output before it, and
        /// the hand-over to the next one (its acknowledgements).
        var transaction: (producer: KafkaProducer, handover: Task<Void, any Error>)?
    }

    /// The only part of a checkpoint that holds processing up: O(operators), whatever the
    /// state's size.
    func freeze(_ id: Int64, _ contexts: [TaskContext], _ builders: [TaskBuilder], _ inputs: [Input],
                _ transaction: (producer: KafkaProducer, handover: Task<Void, any Error>)? = nil) -> FrozenCheckpoint {
        let t0 = ContinuousClock.now
        var tasks: [FrozenCheckpoint.TaskState] = []
        for (t, ctx) in contexts.enumerated() {
            let ops = builders[t].stateful.map { (name: $0.name, kind: $0.stateKind, state: $0.freeze()) }
            let ins = inputs.filter { $0.task == t }.map {
                TaskSnapshot.Input(topic: $0.tp.topic, partition: $0.tp.partition, nextOffset: $0.nextOffset, maxEventTime: $0.watermark.maxEventTime)
            }
            tasks.append(.init(partition: ctx.partition, watermark: ctx.watermark, inputs: ins, operators: ops))
        }
        let pause = (ContinuousClock.now - t0).micros
        metrics.checkpointPause.recordMicroseconds(pause)
        return FrozenCheckpoint(id: id, tasks: tasks, taken: t0, pauseMicros: pause, transaction: transaction)
    }

    /// Off the processing path (Flink's asynchronous snapshot phase): waits until the sink's
    /// records from before the checkpoint are acknowledged — what its offsets promise is then
    /// on the broker — writes the frozen state out and stores it. Complete when its manifests
    /// are written.
    func complete(_ c: FrozenCheckpoint, _ store: CheckpointStore) async throws {
        if let t = c.transaction {
            // Exactly once: the output before it (and its dead letters) acknowledged.
            try await t.handover.value
        } else {
            let producer = sink.producer
            await producer.flush()
            // Refused records from before it are handed over by now; their dead letters must be
            // on the broker too (the processor sends them).
            while refusals.outstanding.load(ordering: .relaxed) > 0 { try await Task.sleep(for: .milliseconds(2)) }
            await producer.flush()
        }
        if let f = failures.first() { throw StreamsError.deliveryFailed("sink: \(f)") }
        let t1 = ContinuousClock.now
        // On a thread of its own, not the cooperative pool: writing out a large state takes
        // hundreds of milliseconds, and the processors and the clients' tasks share that
        // pool's one thread per core; at a lower priority, so that it takes no core from them.
        let (job, version) = (runner.job.identity.name, runner.job.identity.version)
        let (snaps, bytes) = try await BackgroundThread.checkpoints.run {
            var bytes = 0
            let snaps = c.tasks.map { t in
                let ops = t.operators.map { o -> (name: String, kind: String, state: ArraySlice<UInt8>) in
                    var w = StateWriter(capacity: 64 << 10)
                    o.state(&w)
                    bytes += w.bytes.count
                    return (o.name, o.kind, w.bytes[...])
                }
                return TaskSnapshot(job: job, version: version, checkpointID: c.id,
                                    partition: t.partition, watermark: t.watermark, inputs: t.inputs, operators: ops)
            }
            return (snaps, bytes)
        }
        let t2 = ContinuousClock.now
        try await store.save(snaps, transaction: c.transaction?.producer)
        let us = (ContinuousClock.now - c.taken).micros
        runner.progress.checkpointed(micros: c.pauseMicros, bytes: bytes)
        metrics.checkpointDuration.recordMicroseconds(us)
        metrics.checkpointBytes.record(bytes)
        runner.logger.debug("checkpoint complete", metadata: ["id": "\(c.id)", "worker": "\(index)", "bytes": "\(bytes)", "pause-us": "\(c.pauseMicros)",
                                                             "sink-flush-ms": "\((t1 - c.taken).millis)", "serialise-ms": "\((t2 - t1).millis)",
                                                             "store-ms": "\((ContinuousClock.now - t2).millis)"])
    }

    /// A checkpoint being completed off the processing path.
    struct Upload {
        let task: Task<Void, any Error>
        let done: ManagedAtomic<Bool>
        var isDone: Bool { done.load(ordering: .acquiring) }

        init(_ c: FrozenCheckpoint, worker: Worker, _ store: CheckpointStore) {
            let done = ManagedAtomic(false)
            self.done = done
            task = Task {
                defer { done.store(true, ordering: .releasing) }
                try await worker.complete(c, store)
            }
        }
    }

    /// Waits for the checkpoint being completed, sending refused output to the dead-letter
    /// topic meanwhile (the checkpoint waits for that).
    func awaitUpload(_ upload: inout Upload?, _ id: Int64, _ onDelivery: @escaping @Sendable (DeliveryResult) -> Void) async throws {
        while let u = upload, !u.isDone {
            if !sink.isHandingOver { try await refusals.send(sink.producer, runner, onDelivery) }
            try await Task.sleep(for: .milliseconds(2))
        }
        try await finishUpload(&upload, id)
    }

    /// Collects a completed checkpoint's outcome. A failed store leaves the state in memory:
    /// the next interval tries again. A sink failure fails the job.
    func finishUpload(_ upload: inout Upload?, _ id: Int64) async throws {
        guard let u = upload else { return }
        upload = nil
        do {
            try await u.task.value
        } catch {
            // The sink could not deliver: the job fails (no checkpoint may pass output that
            // is not on the broker).
            if case StreamsError.deliveryFailed = error { throw error }
            metrics.checkpointFailures.increment()
            // Exactly once: the transaction of that checkpoint's output is in doubt; the
            // restart fences it and resumes from the last committed checkpoint.
            if sink.exactlyOnce {
                runner.logger.error("checkpoint failed; exactly-once output cannot go on past it", metadata: ["id": "\(id)", "error": "\(error)"])
                throw error
            }
            runner.logger.error("checkpoint failed", metadata: ["id": "\(id)", "error": "\(error)"])
        }
    }

    func restore(_ snap: TaskSnapshot, _ ctx: TaskContext, _ b: TaskBuilder, _ inputs: inout [Input]) throws {
        ctx.watermark = snap.watermark
        for i in inputs.indices {
            guard let si = snap.inputs.first(where: { $0.topic == inputs[i].tp.topic && $0.partition == inputs[i].tp.partition }) else { continue }
            inputs[i].nextOffset = si.nextOffset
            inputs[i].watermark.maxEventTime = si.maxEventTime
            board.publish(inputs[i].slot, watermark: inputs[i].watermark.watermark)
        }
        let states = Dictionary(snap.operators.map { ($0.name, $0.state) }, uniquingKeysWith: { a, _ in a })
        for op in b.stateful {
            guard let st = states[op.name] else { continue }  // an operator new in this version starts empty
            var r = StateReader(st)
            do {
                try op.restore(from: &r)
            } catch {
                throw StreamsError.invalidJob("state of operator \(op.name) in checkpoint \(snap.checkpointID) (partition \(snap.partition)) cannot be read: \(error)")
            }
        }
    }

    func finish(_ input: inout Input) {
        input.finished = true
        // End of a bounded input: nothing more will come, time runs to the end (Flink's
        // MAX_WATERMARK at the end of a bounded split).
        board.publish(input.slot, watermark: .max)
        board.setIdle(input.slot, false)
    }

    func drain(_ contexts: [TaskContext], _ builders: [TaskBuilder], _ taskMetrics: [TaskMetrics],
               _ onDelivery: @escaping @Sendable (DeliveryResult) -> Void) async throws {
        let now = JobProgress.nowMicros() / 1000
        let producer = sink.producer
        // While a checkpoint's output is handed over, its refused records go back into its own
        // transaction (the rotation sends them).
        if !sink.isHandingOver { try await refusals.send(producer, runner, onDelivery) }
        for (t, ctx) in contexts.enumerated() {
            let any = ctx.hasOutput
            if any {
                for r in ctx.takeOutput() {
                    do {
                        guard try !producer.tryProduce(r, onDelivery: onDelivery) else { continue }
                        // The producer's buffer is full: the sink is slower than the sources.
                        let t0 = ContinuousClock.now
                        try await producer.produce(r, onDelivery: onDelivery)
                        metrics.backpressureSeconds.increment(by: Double((ContinuousClock.now - t0).micros) / 1e6)
                    } catch let e as KafkaError where e.kind == .recordTooLarge {
                        try await SinkRefusals.deadLetter(r, reason: "\(e)", producer, runner, onDelivery)
                    }
                }
            }
            runner.progress.add(ctx.counters, outputs: any)
            taskMetrics[t].flush(ctx.counters, builders[t].counters, ctx: ctx,
                                 state: builders[t].stateProbes.reduce(0) { $0 + $1() }, nowMillis: now)
            ctx.counters = TaskCounters()
        }
    }
}

/// The processor's slowest step (one batch or tick: push, time, sink) since the last
/// checkpoint, and in the first second after it (what a checkpoint costs the latency).
struct SlowestSteps {
    let since = ContinuousClock.now
    var overall = Duration.zero
    var afterCheckpoint = Duration.zero

    mutating func note(since start: ContinuousClock.Instant) {
        let now = ContinuousClock.now
        let d = now - start
        if d > overall { overall = d }
        if d > afterCheckpoint, now - since < .seconds(1) { afterCheckpoint = d }
    }
}

/// Per-input counters shared by a worker's reader and processor.
final class InFlightCounts: Sendable {
    let counts: [ManagedAtomic<Int>]
    init(_ n: Int) { counts = (0..<n).map { _ in ManagedAtomic(0) } }
    func add(_ i: Int, _ d: Int) { counts[i].wrappingIncrement(by: d, ordering: .relaxed) }
    func get(_ i: Int) -> Int { counts[i].load(ordering: .relaxed) }
}
