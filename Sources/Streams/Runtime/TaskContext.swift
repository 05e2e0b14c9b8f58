import KafkaClient
import KafkaProtocol
import NIOCore

/// Pushes one element with its event time to the next operator of a task.
public typealias Emit<T> = (T, Millis) -> Void

/// A source record's place, as integers: source (index in the job's sources), partition, offset.
struct SourcePosition: Equatable, Sendable {
    var source: Int32
    var partition: Int32
    var offset: Int64
}

/// Where a result came from: the source record (lineage headers on sink records).
public struct Lineage: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

/// The per-task side of a running job, shared by that task's operators: the watermark, the
/// record being processed, and the outbox the worker drains to the producer after each batch
/// (operators stay synchronous; waiting for the producer is where back-pressure reaches the
/// source). One per task, used by one worker at a time: not Sendable.
public final class TaskContext {
    public let job: JobIdentity
    /// The source partition this task owns.
    public let partition: Int32
    public internal(set) var watermark: Millis = .min
    /// Where what operators emit now comes from: the source record being pushed, or the
    /// buffered row an operator releases; nil for window results. Plain integers (no
    /// reference counting on the per-record path); `lineage` names the topic.
    var position: SourcePosition? = nil
    public var lineage: Lineage? {
        position.map { Lineage(topic: sourceTopics[Int($0.source)], partition: $0.partition, offset: $0.offset) }
    }
    let sourceTopics: [String]
    /// The chunk being pushed and the index of the record in it (what late records and dead
    /// letters carry); -1: none.
    var chunk: [ConsumerRecord] = []
    var index = -1
    var current: ConsumerRecord? { index >= 0 && index < chunk.count ? chunk[index] : nil }
    /// Results waiting for the producer: their bytes in one buffer (one allocation per batch
    /// of results, not two per record), described by `outs`.
    var slab = ByteBuffer()
    var outs: [PendingOutput] = []
    /// Late records and dead letters (rare).
    var sideOutbox: [ProducerRecord] = []
    var hasOutput: Bool { !outs.isEmpty || !sideOutbox.isEmpty }
    var watermarkHandlers: [(Millis) -> Void] = []
    var processingTimeHandlers: [(Millis) -> Void] = []
    var counters = TaskCounters()
    let lateTopic: String
    let deadLetterTopic: String
    /// Partitions of the job's sources (and of its repartition topics).
    var partitionCount: Int32 = 1
    /// How often a repartition sink tells the next stage its watermark while it moves
    /// (milliseconds of processing time; 0: at every advance, for driving a task by hand).
    var watermarkInterval: Millis = 20

    init(job: JobIdentity, partition: Int32, sourceTopics: [String], lateTopic: String, deadLetterTopic: String) {
        self.job = job
        self.sourceTopics = sourceTopics
        self.partition = partition
        self.lateTopic = lateTopic
        self.deadLetterTopic = deadLetterTopic
    }

    /// Operators that react to time register here; called in pipeline order (sources first).
    func onWatermark(_ h: @escaping (Millis) -> Void) { watermarkHandlers.append(h) }

    func onProcessingTime(_ h: @escaping (Millis) -> Void) { processingTimeHandlers.append(h) }

    /// Fires processing-time timers due at `now` (wall-clock milliseconds).
    func advanceProcessingTime(to now: Millis) {
        guard !processingTimeHandlers.isEmpty else { return }
        position = nil
        for h in processingTimeHandlers.reversed() { h(now) }
    }

    func advance(to w: Millis) {
        guard w > watermark else { return }
        position = nil
        // Registered sink-first while the pipeline was built (post-order): reversed, that is
        // source-first, a topological order. What an operator emits as it advances reaches the
        // ones after it before they advance, so the watermark they judge lateness by is still
        // the previous one until the loop is done (an OVER after an OVER, a window after one).
        for h in watermarkHandlers.reversed() { h(w) }
        watermark = w
    }

    func emitRecord(topic: String, key: [UInt8]?, value: [UInt8], timestamp: Millis?) {
        var headers: [RecordHeader] = []
        if let l = position {
            headers.append(RecordHeader(key: "riverbank.source", value: ByteBuffer(string: "\(sourceTopics[Int(l.source)])/\(l.partition)/\(l.offset)")))
        }
        if slab.capacity == 0 { slab.reserveCapacity(256 << 10) }
        let keyAt = slab.writerIndex
        if let key { slab.writeBytes(key) }
        let valueAt = slab.writerIndex
        slab.writeBytes(value)
        outs.append(PendingOutput(topic: topic, keyAt: Int32(keyAt), keyLength: key.map { Int32($0.count) } ?? -1,
                                  valueAt: Int32(valueAt), valueLength: Int32(value.count), headers: headers,
                                  timestamp: timestamp.flatMap { $0 == .max || $0 == .min ? nil : $0 }))
        counters.sinkOut += 1
    }

    /// A record for the job's next stage (a repartition topic): to its partition, without
    /// lineage headers (the origin is in the value) and not counted as output.
    func emitInternal(topic: String, key: [UInt8]?, value: [UInt8], partition: Int32, timestamp: Millis?) {
        if slab.capacity == 0 { slab.reserveCapacity(256 << 10) }
        let keyAt = slab.writerIndex
        if let key { slab.writeBytes(key) }
        let valueAt = slab.writerIndex
        slab.writeBytes(value)
        outs.append(PendingOutput(topic: topic, keyAt: Int32(keyAt), keyLength: key.map { Int32($0.count) } ?? -1,
                                  valueAt: Int32(valueAt), valueLength: Int32(value.count), headers: [],
                                  timestamp: timestamp.flatMap { $0 == .max || $0 == .min ? nil : $0 }, partition: partition))
    }

    /// Hands out what is waiting as producer records (slices of one buffer) and starts over.
    func takeOutput() -> [ProducerRecord] {
        var out = sideOutbox
        sideOutbox.removeAll(keepingCapacity: true)
        out.reserveCapacity(out.count + outs.count)
        for o in outs {
            let key = o.keyLength < 0 ? nil : slab.getSlice(at: Int(o.keyAt), length: Int(o.keyLength))
            out.append(ProducerRecord(topic: o.topic, key: key, value: slab.getSlice(at: Int(o.valueAt), length: Int(o.valueLength)),
                                      headers: o.headers, partition: o.partition, timestamp: o.timestamp))
        }
        outs.removeAll(keepingCapacity: true)
        // The slices keep the old storage alive until the producer has copied them.
        slab = ByteBuffer()
        return out
    }

    /// Routes the record being processed to the late topic, with the reason.
    func late(operator name: String, reason: String, topic: String? = nil) {
        counters.late += 1
        sideOutput(topic: topic ?? lateTopic, kind: "late", operatorName: name, reason: reason)
    }

    /// Routes the record being processed to the dead-letter topic, with the reason.
    func deadLetter(operator name: String, reason: String) {
        counters.deadLettered += 1
        sideOutput(topic: deadLetterTopic, kind: "dead-letter", operatorName: name, reason: reason)
    }

    private func sideOutput(topic: String, kind: String, operatorName: String, reason: String) {
        guard let r = current else {
            // Emitted while time advanced (an operator releasing what it buffered, or a
            // window's result): no source record in hand. Said all the same — never dropped
            // silently — with where it came from when the operator knows.
            var headers = [RecordHeader(key: "riverbank.\(kind).reason", value: ByteBuffer(string: reason)),
                           RecordHeader(key: "riverbank.\(kind).operator", value: ByteBuffer(string: operatorName)),
                           RecordHeader(key: "riverbank.job", value: ByteBuffer(string: "\(job.name)@\(job.version)"))]
            if let l = lineage {
                headers.append(RecordHeader(key: "riverbank.source", value: ByteBuffer(string: "\(l.topic)/\(l.partition)/\(l.offset)")))
            }
            sideOutbox.append(ProducerRecord(topic: topic, key: nil as ByteBuffer?, value: nil as ByteBuffer?, headers: headers, timestamp: nil))
            return
        }
        var headers = r.headers
        headers.append(RecordHeader(key: "riverbank.\(kind).reason", value: ByteBuffer(string: reason)))
        headers.append(RecordHeader(key: "riverbank.\(kind).operator", value: ByteBuffer(string: operatorName)))
        headers.append(RecordHeader(key: "riverbank.source", value: ByteBuffer(string: "\(r.topic)/\(r.partition)/\(r.offset)")))
        headers.append(RecordHeader(key: "riverbank.job", value: ByteBuffer(string: "\(job.name)@\(job.version)")))
        sideOutbox.append(ProducerRecord(topic: topic, key: r.key, value: r.value, headers: headers, timestamp: r.timestamp))
    }
}

/// A result in the task's output buffer.
struct PendingOutput {
    var topic: String
    var keyAt: Int32
    var keyLength: Int32
    var valueAt: Int32
    var valueLength: Int32
    var headers: [RecordHeader]
    var timestamp: Int64?
    var partition: Int32? = nil
}

/// Counts a task keeps without atomics; the worker adds them to the metrics after each batch.
struct TaskCounters {
    var sourceIn = 0
    var sinkOut = 0
    var late = 0
    var deadLettered = 0
}

/// A job's name and version, as lineage and alerts report them.
public struct JobIdentity: Sendable, Equatable {
    public var name: String
    public var version: String

    public init(name: String, version: String = "1") {
        self.name = name
        self.version = version
    }
}
