import KafkaClient
import Logging

/// One worker: a consumer assigned the partitions of its tasks, and the tasks (one per
/// partition, each with its own operators and state). It reads a chunk (one partition's
/// records), pushes it through that partition's task, publishes the partition's watermark,
/// advances every task to the job's combined watermark, then hands the outbox to the producer —
/// awaiting it when its buffer is full, which is how a slow sink slows the sources.
struct Worker: Sendable {
    let index: Int
    let partitions: [Int32]
    let partitionCount: Int
    let runner: StreamJobRunner
    let board: WatermarkBoard
    let producer: KafkaProducer
    let failures: DeliveryFailures
    let store: CheckpointStore?
    /// Snapshots of this worker's tasks to start from.
    let restored: [Int32: TaskSnapshot]
    let starts: [TopicPartition: Int64]
    /// Bounded run: stop at these offsets.
    let ends: [TopicPartition: Int64]?

    /// A source partition as this worker tracks it.
    struct Input {
        let tp: TopicPartition
        let slot: Int
        let task: Int
        let entry: (ConsumerRecord) throws(FormatError) -> Millis
        var watermark: PartitionWatermark
        let idleTimeout: Duration?
        var lastData = ContinuousClock.now
        var finished = false
        let end: Int64?
        /// Offset after the last record pushed (what a checkpoint records).
        var nextOffset: Int64 = 0
    }

    func run() async throws {
        let job = runner.job
        let config = runner.config
        var logger = runner.logger
        logger[metadataKey: "worker"] = "\(index)"

        // Tasks: one per partition, the whole graph instantiated for each.
        var contexts: [TaskContext] = []
        var builders: [TaskBuilder] = []
        var inputs: [Input] = []
        var inputIndex: [TopicPartition: Int] = [:]
        for (t, p) in partitions.enumerated() {
            let ctx = TaskContext(job: job.identity, partition: p, sourceTopics: job.sources.map(\.topic),
                                  lateTopic: job.lateTopic, deadLetterTopic: job.deadLetterTopic)
            let b = TaskBuilder(ctx: ctx)
            contexts.append(ctx)
            builders.append(b)
            for (si, s) in job.sources.enumerated() {
                let tp = TopicPartition(s.topic, p)
                inputIndex[tp] = inputs.count
                inputs.append(Input(tp: tp, slot: si * partitionCount + Int(p), task: t, entry: s.makeEntry(b),
                                    watermark: PartitionWatermark(outOfOrderness: s.outOfOrderness),
                                    idleTimeout: s.idleTimeout, end: ends?[tp]))
            }
        }

        var cc = KafkaConsumerConfig(bootstrapServers: config.client.bootstrapServers)
        cc.client = config.client
        cc.client.clientID = "\(job.identity.name)-worker-\(index)"
        cc.autoOffsetReset = config.start == .earliest ? .earliest : .latest
        cc.enableAutoCommit = false
        cc.maxPartitionFetchBytes = config.maxPartitionFetchBytes
        cc.maxBufferedBytes = config.consumerBufferBytes
        cc.fetchMaxWait = .milliseconds(100)
        let consumer = try KafkaConsumer(config: cc)
        defer { Task { await consumer.close() } }

        var checkpointID: Int64 = 0
        for (t, p) in partitions.enumerated() {
            guard let snap = restored[p] else { continue }
            try restore(snap, contexts[t], builders[t], &inputs)
            checkpointID = max(checkpointID, snap.checkpointID)
            runner.progress.restoredTasks.wrappingIncrement(ordering: .relaxed)
        }
        var offsets: [TopicPartition: Int64] = [:]
        for i in inputs.indices {
            let tp = inputs[i].tp
            let start = restored[tp.partition] != nil ? inputs[i].nextOffset : (starts[tp] ?? 0)
            inputs[i].nextOffset = start
            offsets[tp] = start
            if let e = inputs[i].end, e <= start { finish(&inputs[i]) }
        }
        try await consumer.assign(offsets: offsets)
        let paused = inputs.filter(\.finished).map(\.tp)
        if !paused.isEmpty { await consumer.pause(paused) }

        let onDelivery: @Sendable (DeliveryResult) -> Void = { [failures] r in failures.record(r) }
        var it = consumer.records.makeAsyncIterator()
        var combined = Millis.min
        let bounded = ends != nil
        var nextCheckpoint = config.checkpointInterval.map { ContinuousClock.now + $0 }

        while !runner.stopping.load(ordering: .relaxed) {
            let allMineDone = bounded && inputs.allSatisfy(\.finished)
            if allMineDone && combined == .max { break }
            let deadline = ContinuousClock.now + (allMineDone ? .milliseconds(5) : config.tick)
            let chunk: [ConsumerRecord]
            if allMineDone {
                try await Task.sleep(until: deadline)
                chunk = []
            } else {
                guard let c = try await it.nextChunk(until: deadline) else { break }
                chunk = c
            }
            if let first = chunk.first, let ii = inputIndex[first.topicPartition] {
                process(chunk, &inputs[ii], contexts[inputs[ii].task])
                if let e = inputs[ii].end, !inputs[ii].finished {
                    let pos = chunk.last!.offset + 1 >= e ? e : (await consumer.position(inputs[ii].tp) ?? 0)
                    if pos >= e {
                        finish(&inputs[ii])
                        await consumer.pause([inputs[ii].tp])
                    }
                }
            } else if chunk.isEmpty && bounded {
                // Offsets can end in a gap (compaction, transaction markers): go by position.
                for i in inputs.indices where !inputs[i].finished {
                    if let e = inputs[i].end, (await consumer.position(inputs[i].tp) ?? 0) >= e {
                        finish(&inputs[i])
                        await consumer.pause([inputs[i].tp])
                    }
                }
            }
            try await detectIdleness(&inputs, consumer)
            let w = board.combined()
            if w > combined {
                combined = w
                for ctx in contexts { ctx.advance(to: w) }
            }
            try await drain(contexts, onDelivery)
            if let due = nextCheckpoint, ContinuousClock.now >= due, let store {
                checkpointID += 1
                try await checkpoint(checkpointID, contexts, builders, inputs, store)
                nextCheckpoint = ContinuousClock.now + config.checkpointInterval!
            }
        }
        logger.debug("worker done", metadata: ["watermark": "\(combined)"])
    }

    /// Snapshots every task between batches, waits until the sink's records so far are
    /// acknowledged (what the snapshot's offsets promise is then on the broker), and stores
    /// the snapshots. The worker reads nothing meanwhile: a checkpoint completes under
    /// back-pressure, it does not wait for it to clear.
    func checkpoint(_ id: Int64, _ contexts: [TaskContext], _ builders: [TaskBuilder], _ inputs: [Input], _ store: CheckpointStore) async throws {
        let t0 = ContinuousClock.now
        var snaps: [TaskSnapshot] = []
        var bytes = 0
        for (t, ctx) in contexts.enumerated() {
            var ops: [(name: String, state: [UInt8])] = []
            for op in builders[t].stateful {
                var w = StateWriter()
                op.snapshot(into: &w)
                ops.append((op.name, w.bytes))
                bytes += w.bytes.count
            }
            let ins = inputs.filter { $0.task == t }.map {
                TaskSnapshot.Input(topic: $0.tp.topic, partition: $0.tp.partition, nextOffset: $0.nextOffset, maxEventTime: $0.watermark.maxEventTime)
            }
            snaps.append(TaskSnapshot(job: runner.job.identity.name, version: runner.job.identity.version, checkpointID: id,
                                      partition: ctx.partition, watermark: ctx.watermark, inputs: ins, operators: ops))
        }
        await producer.flush()
        if let f = failures.first() { throw StreamsError.deliveryFailed("sink: \(f)") }
        try await store.save(snaps)
        let us = (ContinuousClock.now - t0).micros
        runner.progress.checkpointed(micros: us, bytes: bytes)
        runner.logger.debug("checkpoint", metadata: ["id": "\(id)", "worker": "\(index)", "bytes": "\(bytes)", "ms": "\(us / 1000)"])
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

    func process(_ chunk: [ConsumerRecord], _ input: inout Input, _ ctx: TaskContext) {
        var wm = input.watermark
        let entry = input.entry
        var n = 0
        ctx.chunk = chunk
        for i in chunk.indices {
            if let e = input.end, chunk[i].offset >= e { break }
            ctx.index = i
            do {
                let ts = try entry(chunk[i])
                wm.observe(ts)
            } catch {
                ctx.deadLetter(operator: "source-\(chunk[i].topic)", reason: error.description)
            }
            n += 1
        }
        ctx.index = -1
        ctx.chunk = []
        if n > 0 { input.nextOffset = chunk[n - 1].offset + 1 }
        ctx.counters.sourceIn += n
        input.watermark = wm
        input.lastData = .now
        if board.isIdle(input.slot) { board.setIdle(input.slot, false) }
        if !input.finished { board.publish(input.slot, watermark: wm.watermark) }
    }

    /// A partition with no data for its idle timeout, and nothing waiting on the broker for
    /// it, stops holding the watermark back. One that is behind (lag > 0) is back-pressured,
    /// not idle.
    func detectIdleness(_ inputs: inout [Input], _ consumer: KafkaConsumer) async throws {
        let now = ContinuousClock.now
        for i in inputs.indices {
            guard let t = inputs[i].idleTimeout, !inputs[i].finished, !board.isIdle(inputs[i].slot),
                  now - inputs[i].lastData >= t else { continue }
            let lag = await consumer.lag(inputs[i].tp)
            if lag == 0 || (lag == nil && now - inputs[i].lastData >= t * 2) {
                board.setIdle(inputs[i].slot, true)
                runner.logger.debug("partition idle", metadata: ["partition": "\(inputs[i].tp)"])
            }
        }
    }

    func drain(_ contexts: [TaskContext], _ onDelivery: @escaping @Sendable (DeliveryResult) -> Void) async throws {
        for ctx in contexts {
            let any = !ctx.outbox.isEmpty
            if any {
                let out = ctx.outbox
                ctx.outbox.removeAll(keepingCapacity: true)
                for r in out where try !producer.tryProduce(r, onDelivery: onDelivery) {
                    try await producer.produce(r, onDelivery: onDelivery)
                }
            }
            runner.progress.add(ctx.counters, outputs: any)
            ctx.counters = TaskCounters()
        }
    }
}
