import KafkaClient
import KafkaProtocol
import NIOCore

/// One task of a job driven by hand, without brokers: records go in, the outbox comes out.
/// The runtime's own code path (source entry, watermarks, operators, sinks) — for tests and
/// for dry runs of a job over a few records.
final class LocalPipeline {
    let job: StreamJob
    let ctx: TaskContext
    var decoders: [String: ([ConsumerRecord]) -> AnyDecodedBatch] = [:]
    var pushers: [String: (AnyDecodedBatch, [ConsumerRecord]) -> Void] = [:]
    var watermarks: [String: PartitionWatermark] = [:]
    var offsets: [String: Int64] = [:]
    var idle: Set<String> = []
    let builder: TaskBuilder

    init(job: StreamJob, partition: Int32 = 0) throws {
        try job.validate()
        self.job = job
        ctx = TaskContext(job: job.identity, partition: partition, sourceTopics: job.contextTopics,
                          lateTopic: job.lateTopic, deadLetterTopic: job.deadLetterTopic)
        ctx.watermarkInterval = 0
        let b = TaskBuilder(ctx: ctx)
        builder = b
        for s in job.sources {
            decoders[s.topic] = s.makeDecoder()
            pushers[s.topic] = s.makePusher(b)
            watermarks[s.topic] = s.repartition ? PartitionWatermark(origins: 1) : PartitionWatermark(outOfOrderness: s.outOfOrderness)
        }
        // The stages after a repartition, one task each: what this one writes to their topics
        // is handed to them as it is drained.
        stages = try job.stages.map { try LocalPipeline(job: $0, partition: 0) }
    }

    var stages: [LocalPipeline] = []

    /// The task's state as a checkpoint would write it.
    func snapshot(id: Int64 = 1) -> TaskSnapshot {
        let ops = builder.stateful.map { op -> (name: String, kind: String, state: ArraySlice<UInt8>) in
            var w = StateWriter()
            op.snapshot(into: &w)
            return (op.name, op.stateKind, w.bytes[...])
        }
        let inputs = job.sources.map {
            TaskSnapshot.Input(topic: $0.topic, partition: ctx.partition, nextOffset: offsets[$0.topic, default: 0],
                               maxEventTime: watermarks[$0.topic]!.maxEventTime)
        }
        return TaskSnapshot(job: job.identity.name, version: job.identity.version, checkpointID: id, partition: ctx.partition,
                            watermark: ctx.watermark, inputs: inputs, operators: ops)
    }

    /// A fresh task started from a snapshot (as after a restart).
    convenience init(job: StreamJob, restoring snap: TaskSnapshot) throws {
        try self.init(job: job, partition: snap.partition)
        ctx.watermark = snap.watermark
        for i in snap.inputs {
            offsets[i.topic] = i.nextOffset
            watermarks[i.topic]?.maxEventTime = i.maxEventTime
        }
        let states = Dictionary(snap.operators.map { ($0.name, $0.state) }, uniquingKeysWith: { a, _ in a })
        for op in builder.stateful {
            guard let st = states[op.name] else { continue }
            var r = StateReader(st)
            try op.restore(from: &r)
        }
    }

    /// Pushes one record; advances the watermark afterwards when `advance` (as a worker does
    /// after each chunk).
    func push(topic: String, value: [UInt8]?, key: [UInt8]? = nil, timestamp: Millis = 0, advance: Bool = true) {
        guard let decode = decoders[topic], let push = pushers[topic] else { preconditionFailure("no source on \(topic)") }
        let off = offsets[topic, default: 0]
        offsets[topic] = off + 1
        let r = ConsumerRecord(topic: topic, partition: ctx.partition, offset: off, timestamp: timestamp,
                               key: key.map { ByteBuffer(bytes: $0) }, value: value.map { ByteBuffer(bytes: $0) }, headers: [])
        let batch = decode([r])
        push(batch, [r])
        if batch.count > 0 {
            watermarks[topic]!.observe(batch.maxEventTime)
            idle.remove(topic)
        }
        for o in batch.originWatermarks { watermarks[topic]!.observe(origin: Int(o.origin), o.watermark) }
        if advance { advanceWatermark() }
    }

    /// Applies records to the job's global tables over `topic`, as their reader would (key,
    /// value; a nil value deletes); returns why it could not read those it could not.
    @discardableResult
    func loadTable(topic: String, _ records: [(key: String?, json: String?)]) -> [String] {
        let rs = records.enumerated().map { i, r in
            ConsumerRecord(topic: topic, partition: 0, offset: Int64(i), timestamp: 0, key: r.key.map { ByteBuffer(string: $0) },
                           value: r.json.map { ByteBuffer(string: $0) })
        }
        return job.tables.filter { $0.topic == topic }.flatMap { $0.makeLoader()(rs).failures.map(\.reason) }
    }

    func push(topic: String, json: String, advance: Bool = true) {
        push(topic: topic, value: Array(json.utf8), advance: advance)
    }

    /// Marks a source idle (its partition stops holding time back), as the worker does after
    /// the idle timeout.
    func setIdle(_ topic: String) { idle.insert(topic) }

    /// The combined watermark over the sources, as `WatermarkBoard.combined`.
    var combinedWatermark: Millis {
        let active = watermarks.filter { !idle.contains($0.key) }.map(\.value.watermark)
        return active.isEmpty ? (watermarks.map(\.value.watermark).max() ?? .min) : active.min()!
    }

    func advanceWatermark() { ctx.advance(to: combinedWatermark) }

    /// Processing time passes (fires processing-time timers due by `now`).
    func advanceProcessingTime(to now: Millis) { ctx.advanceProcessingTime(to: now) }

    /// End of input: time runs out and every window fires.
    func finish() { ctx.advance(to: .max) }

    /// Takes what the sinks, late and dead-letter outputs produced so far.
    func drain() -> [ProducerRecord] {
        let out = ctx.takeOutput()
        guard !stages.isEmpty else { return out }
        var rest: [ProducerRecord] = []
        for r in out {
            guard let next = stages.first(where: { $0.decoders[r.topic] != nil }) else { rest.append(r); continue }
            next.push(topic: r.topic, value: r.value.map { Array($0.readableBytesView) }, key: r.key.map { Array($0.readableBytesView) },
                      timestamp: r.timestamp ?? 0)
        }
        for s in stages { rest += s.drain() }
        return rest
    }
}
