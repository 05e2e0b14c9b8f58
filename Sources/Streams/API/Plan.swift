import KafkaClient

/// What a task is built from: the per-task context and the operators already made for it (a
/// node with several inputs — a union — is made once and shared by them).
final class TaskBuilder {
    let ctx: TaskContext
    var memo: [ObjectIdentifier: Any] = [:]
    /// Gauges of state size, read after each batch.
    var stateProbes: [() -> Int] = []
    /// Operators whose state checkpoints carry, in pipeline order.
    var stateful: [StatefulOperator] = []
    let counters = OperatorCounters()

    init(ctx: TaskContext) { self.ctx = ctx }
}

/// An identity for what a task builds once and several inputs share (a join operator).
final class MemoToken: Sendable {}

/// A node of the job graph carrying elements of type T; its outputs make the downstream
/// operators of one task. Mutated only while the job is defined, then read by every task.
final class Node<T>: @unchecked Sendable {
    let name: String
    var outputs: [@Sendable (TaskBuilder) -> Emit<T>] = []

    init(name: String) { self.name = name }

    func instantiate(_ b: TaskBuilder) -> Emit<T> {
        let id = ObjectIdentifier(self)
        if let e = b.memo[id] as? Emit<T> { return e }
        let outs = outputs.map { $0(b) }
        let e: Emit<T>
        switch outs.count {
        case 0: e = { _, _ in }
        case 1: e = outs[0]
        default: e = { v, ts in for o in outs { o(v, ts) } }
        }
        b.memo[id] = e
        return e
    }
}

/// Decoded records of one chunk, on their way from a worker's reader to its processor.
class AnyDecodedBatch: @unchecked Sendable {
    /// Chunk indexes of records that could not be decoded, with the reason (dead letters).
    var failures: [(index: Int32, reason: String)] = []
    var maxEventTime: Millis = .min
    /// Watermark records read from a repartition topic: (task of the previous stage, watermark).
    var originWatermarks: [(origin: Int32, watermark: Millis)] = []
    var count: Int { 0 }
}

final class DecodedBatch<T>: AnyDecodedBatch, @unchecked Sendable {
    var values: [T] = []
    var times: [Millis] = []
    var indexes: [Int32] = []
    /// From a repartition topic: where each element came from (else empty).
    var origins: [RepartitionOrigin] = []
    override var count: Int { values.count }
}

/// A source as the runtime sees it: a topic; a decoder (made once per reader: it may keep
/// buffers) turning a chunk into elements with event times; and per task a pusher feeding
/// decoded elements into that task's pipeline. Decoding runs in the worker's reader task,
/// pushing in its processor: two cores at parallelism 1.
struct SourcePlan: Sendable {
    var index: Int32
    var topic: String
    var outOfOrderness: Millis
    var idleTimeout: Duration?
    /// Reads a repartition topic written by the job's previous stage: its watermark comes from
    /// that stage's watermark records, and its end (in a bounded run) from their end of time.
    var repartition = false
    var makeDecoder: @Sendable () -> ([ConsumerRecord]) -> AnyDecodedBatch
    var makePusher: @Sendable (TaskBuilder) -> (AnyDecodedBatch, [ConsumerRecord]) -> Void
}

/// Builds the plan of a source from its element decoder (nil: skip the record).
func sourcePlan<T>(index: Int32, topic: String, node: Node<T>, outOfOrderness: Duration, idleTimeout: Duration?,
                   decoder: @escaping @Sendable () -> (ConsumerRecord) throws(FormatError) -> (T, Millis)?) -> SourcePlan {
    SourcePlan(index: index, topic: topic, outOfOrderness: outOfOrderness.millis, idleTimeout: idleTimeout, makeDecoder: {
        let decode = decoder()
        return { chunk in
            let b = DecodedBatch<T>()
            b.values.reserveCapacity(chunk.count)
            b.times.reserveCapacity(chunk.count)
            b.indexes.reserveCapacity(chunk.count)
            var maxTs = Millis.min
            for i in chunk.indices {
                do throws(FormatError) {
                    // nil: a record that is no element (a CSV header): no dead letter either.
                    guard let (v, ts) = try decode(chunk[i]) else { continue }
                    guard ts > -(1 << 53) && ts < (1 << 53) else { throw FormatError(offset: 0, "event time \(ts) out of range") }
                    b.values.append(v)
                    b.times.append(ts)
                    b.indexes.append(Int32(i))
                    if ts > maxTs { maxTs = ts }
                } catch {
                    b.failures.append((Int32(i), error.description))
                }
            }
            b.maxEventTime = maxTs
            return b
        }
    }, makePusher: { builder in
        let push = node.instantiate(builder)
        let ctx = builder.ctx
        let opName = "source-\(topic)"
        return { any, chunk in
            let b = any as! DecodedBatch<T>
            pushInterleavingFailures(b, chunk, ctx, opName) { j in
                ctx.position = SourcePosition(source: index, partition: chunk[Int(b.indexes[j])].partition, offset: chunk[Int(b.indexes[j])].offset)
                push(b.values[j], b.times[j])
            }
        }
    })
}
