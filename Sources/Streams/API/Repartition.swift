import KafkaClient
import NIOCore

/// Re-keying through an internal topic, as Kafka Streams' repartition topics: when an
/// operator's key is not the one the source topic is partitioned by, the elements are written
/// to `<job>.<name>.repartition`, partitioned by the new key, and a next stage of the job (a
/// `StreamJob` of its own: tasks, watermark, checkpoints) reads them, so one task sees every
/// element of a key.
///
/// What crosses the topic, per record value (`StateWriter` bytes):
/// - an element: tag 1, the writing task, the source index, partition and offset and the
///   element's index among the outputs of that source record (its origin), the event time,
///   the element;
/// - a watermark: tag 2, the writing task, its watermark — sent to every partition after the
///   elements it covers, at most every `watermarkInterval` while time moves, and once a second
///   while it does not (so a restarted next stage learns where time is).
///
/// The next stage's watermark on a partition is the least over the writing tasks (Flink's
/// watermark alignment across an exchange), and in a bounded run a partition ends when every
/// writing task has sent the end of time. Exactly-once state: the writing stage restarts from
/// its checkpoint and writes again what came after it; the reading stage keeps, per writing
/// task and source, the last origin it applied (checkpointed with its state) and skips what
/// it has seen. That needs the same source records to give the same elements again — true of
/// map, filter and lookup chains and OVER aggregates in arrival order (the job files allow only
/// those before a repartition); elements emitted as time passes (a window's results, rows an
/// event-time OVER releases in watermark order) may come in another order after a restart, and
/// a window's carry no origin at all.
enum RepartitionWire {
    static let element: UInt8 = 1
    static let watermark: UInt8 = 2

    /// The partition of a key: FNV-1a, stable across versions and processes.
    static func partition(of key: [UInt8], count: Int32) -> Int32 {
        var h: UInt32 = 2_166_136_261
        for b in key { h = (h ^ UInt32(b)) &* 16_777_619 }
        return Int32(h % UInt32(max(1, count)))
    }
}

/// Where an element crossing a repartition topic came from.
struct RepartitionOrigin: Sendable, Equatable {
    var task: Int32
    var source: Int32
    /// The source record's partition (the writing task's own, unless it is a later stage).
    var partition: Int32
    var offset: Int64
    var index: Int32
}

extension DataStream where T: StateCodable {
    /// Re-keys the stream: elements go through the job's repartition topic, partitioned by
    /// `key` (bytes equal for equal keys), to a next stage whose stream this returns. A key
    /// that fails to compute sends the source record to the dead-letter topic.
    public func repartition(name: String, key: @escaping @Sendable (T) throws -> [UInt8]) -> DataStream<T> {
        let n = job.register(name)
        let topic = "\(job.identity.name).\(n).repartition"
        job.internalTopics.insert(topic)
        let stage = StreamJob(name: "\(job.identity.name).\(n)", version: job.identity.version)
        stage.lateTopic = job.lateTopic
        stage.deadLetterTopic = job.deadLetterTopic
        stage.lineageTopics = job.contextTopics
        job.stages.append(stage)
        node.outputs.append { b in RepartitionWriter<T>(name: n, topic: topic, ctx: b.ctx, key: key).write }
        return stage.repartitionSource(topic: topic, name: n, as: T.self)
    }
}

/// A task's side of a repartition topic: elements to the partitions of their keys, its
/// watermark to every partition.
final class RepartitionWriter<T: StateCodable> {
    let name: String
    let topic: String
    let ctx: TaskContext
    let key: @Sendable (T) throws -> [UInt8]
    var last: SourcePosition? = nil
    var index: Int32 = 0
    var pending = Millis.min
    var sent = Millis.min
    var sentAt = ContinuousClock.now
    var w = StateWriter(capacity: 256)

    init(name: String, topic: String, ctx: TaskContext, key: @escaping @Sendable (T) throws -> [UInt8]) {
        self.name = name
        self.topic = topic
        self.ctx = ctx
        self.key = key
        ctx.onWatermark { [unowned self] w in
            pending = w
            sendWatermark(force: w == .max || ctx.watermarkInterval == 0)
        }
        ctx.onProcessingTime { [unowned self] _ in sendWatermark(force: false) }
    }

    func write(_ v: T, _ ts: Millis) {
        let k: [UInt8]
        do { k = try key(v) } catch {
            ctx.deadLetter(operator: name, reason: "repartition key: \(error)")
            return
        }
        let pos = ctx.position
        if let p = pos, p == last { index += 1 } else { index = 0; last = pos }
        w.reset()
        w.byte(RepartitionWire.element)
        w.int(Int64(ctx.partition))
        w.int(Int64(pos?.source ?? -1))
        w.int(Int64(pos?.partition ?? ctx.partition))
        w.int(pos?.offset ?? -1)
        w.int(Int64(index))
        w.int(ts)
        v.write(to: &w)
        // The event time travels in the value; the record's timestamp is the broker's (a broker
        // refuses timestamps far from now, and replayed history has old or simulated ones).
        ctx.emitInternal(topic: topic, key: k, value: w.bytes, partition: RepartitionWire.partition(of: k, count: ctx.partitionCount),
                         timestamp: nil)
    }

    /// After the elements it covers (they were emitted first, in this task's order).
    func sendWatermark(force: Bool) {
        guard pending != .min else { return }
        let now = ContinuousClock.now
        let elapsed = now - sentAt
        guard (pending > sent && (force || elapsed >= .milliseconds(ctx.watermarkInterval))) || elapsed >= .seconds(1) else { return }
        var w = StateWriter(capacity: 24)
        w.byte(RepartitionWire.watermark)
        w.int(Int64(ctx.partition))
        w.int(pending)
        for p in 0..<ctx.partitionCount {
            ctx.emitInternal(topic: topic, key: nil, value: w.bytes, partition: p, timestamp: nil)
        }
        sent = pending
        sentAt = now
    }
}

/// Per writing task, source and source partition, the last origin a reading task applied:
/// what it sees again after the writer's restart is skipped. (A writing task's records of one
/// source partition reach a reading task in their order, whatever stage the writer is.)
final class RepartitionSeen: CheckpointedOperator {
    struct Writer: Hashable, Comparable {
        var task: Int32, source: Int32, partition: Int32
        static func < (a: Writer, b: Writer) -> Bool { (a.task, a.source, a.partition) < (b.task, b.source, b.partition) }
    }
    let name: String
    var stateKind: String { "repartition-seen" }
    var last: [Writer: (offset: Int64, index: Int32)] = [:]
    var duplicates = 0

    init(name: String) { self.name = name }

    /// False: applied before.
    func accept(_ o: RepartitionOrigin) -> Bool {
        guard o.offset >= 0 else { return true }
        let k = Writer(task: o.task, source: o.source, partition: o.partition)
        if let l = last[k], (o.offset, o.index) <= (l.offset, l.index) {
            duplicates += 1
            return false
        }
        last[k] = (o.offset, o.index)
        return true
    }

    func freeze() -> FrozenState {
        let marks = last
        return { w in
            w.int(marks.count)
            for (k, v) in marks.sorted(by: { $0.key < $1.key }) {
                w.int(Int64(k.task)); w.int(Int64(k.source)); w.int(Int64(k.partition)); w.int(v.offset); w.int(Int64(v.index))
            }
        }
    }

    func restore(from r: inout StateReader) throws(StateError) {
        let n = try r.count(max: 1 << 20)
        last = [:]
        func int32() throws(StateError) -> Int32 {
            guard let v = Int32(exactly: try r.int()) else { throw StateError("repartition mark out of range") }
            return v
        }
        for _ in 0..<n {
            let k = Writer(task: try int32(), source: try int32(), partition: try int32())
            let off = try r.int()
            last[k] = (off, try int32())
        }
    }
}

extension StreamJob {
    /// The next stage's source over a repartition topic.
    func repartitionSource<T: StateCodable>(topic: String, name: String, as: T.Type) -> DataStream<T> {
        // The stage's operators may take the repartition's name (a job file's keyed operator).
        let n = Node<T>(name: register("\(name)/in"))
        let index = Int32(sources.count)
        var plan = SourcePlan(index: index, topic: topic, outOfOrderness: 0, idleTimeout: nil, makeDecoder: {
            { chunk in
                let b = DecodedBatch<T>()
                b.values.reserveCapacity(chunk.count)
                // The chunk's values in one array, each read where it lies (one copy per chunk).
                var all: [UInt8] = []
                all.reserveCapacity(chunk.reduce(0) { $0 + ($1.value?.readableBytes ?? 0) })
                var spans: [Range<Int>?] = []
                spans.reserveCapacity(chunk.count)
                for r in chunk {
                    guard let v = r.value else { spans.append(nil); continue }
                    let start = all.count
                    all.append(contentsOf: v.readableBytesView)
                    spans.append(start..<all.count)
                }
                for i in chunk.indices {
                    do throws(StateError) {
                        guard let span = spans[i] else { throw StateError("record has no value") }
                        var r = StateReader(all[span])
                        let tag = try r.byte()
                        guard let task = Int32(exactly: try r.int()) else { throw StateError("task out of range") }
                        if tag == RepartitionWire.watermark {
                            b.originWatermarks.append((task, try r.int()))
                            continue
                        }
                        guard tag == RepartitionWire.element else { throw StateError("unknown record tag \(tag)") }
                        guard let source = Int32(exactly: try r.int()) else { throw StateError("source out of range") }
                        guard let partition = Int32(exactly: try r.int()) else { throw StateError("partition out of range") }
                        let offset = try r.int()
                        guard let idx = Int32(exactly: try r.int()) else { throw StateError("index out of range") }
                        let ts = try r.int()
                        let v = try T(from: &r)
                        b.values.append(v)
                        b.times.append(ts)
                        b.indexes.append(Int32(i))
                        b.origins.append(RepartitionOrigin(task: task, source: source, partition: partition, offset: offset, index: idx))
                    } catch {
                        b.failures.append((Int32(i), "repartition record: \(error)"))
                    }
                }
                return b
            }
        }, makePusher: { builder in
            let push = n.instantiate(builder)
            let ctx = builder.ctx
            let seen = RepartitionSeen(name: "\(name):seen")
            builder.stateful.append(StatefulOperator(seen))
            // Lineage names the topic the element first came from (after this job's sources).
            let lineageBase = Int32(self.sources.count)
            let opName = "source-\(topic)"
            return { any, chunk in
                let b = any as! DecodedBatch<T>
                pushInterleavingFailures(b, chunk, ctx, opName) { j in
                    let o = b.origins[j]
                    guard seen.accept(o) else { return }
                    ctx.position = o.offset < 0 ? nil : SourcePosition(source: lineageBase + o.source, partition: o.partition, offset: o.offset)
                    push(b.values[j], b.times[j])
                }
            }
        })
        plan.repartition = true
        sources.append(plan)
        return DataStream(job: self, node: n)
    }
}

/// Pushes a decoded chunk's elements in record order, sending the records that could not be
/// decoded to the dead-letter topic where they lie among them.
func pushInterleavingFailures<T>(_ b: DecodedBatch<T>, _ chunk: [ConsumerRecord], _ ctx: TaskContext, _ opName: String,
                                 _ element: (Int) -> Void) {
    ctx.chunk = chunk
    var f = 0
    for j in b.values.indices {
        let i = b.indexes[j]
        while f < b.failures.count && b.failures[f].index < i {
            ctx.index = Int(b.failures[f].index)
            ctx.deadLetter(operator: opName, reason: b.failures[f].reason)
            f += 1
        }
        ctx.index = Int(i)
        element(j)
    }
    while f < b.failures.count {
        ctx.index = Int(b.failures[f].index)
        ctx.deadLetter(operator: opName, reason: b.failures[f].reason)
        f += 1
    }
    ctx.index = -1
    ctx.chunk = []
}
