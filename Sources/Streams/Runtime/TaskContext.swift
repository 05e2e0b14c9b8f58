import KafkaClient
import KafkaProtocol
import NIOCore

/// Pushes one element with its event time to the next operator of a task.
public typealias Emit<T> = (T, Millis) -> Void

/// A source record's place, as integers: source (index in the job's sources), partition, offset.
struct SourcePosition: Equatable {
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
    var outbox: [ProducerRecord] = []
    var watermarkHandlers: [(Millis) -> Void] = []
    var counters = TaskCounters()
    let lateTopic: String
    let deadLetterTopic: String

    init(job: JobIdentity, partition: Int32, sourceTopics: [String], lateTopic: String, deadLetterTopic: String) {
        self.job = job
        self.sourceTopics = sourceTopics
        self.partition = partition
        self.lateTopic = lateTopic
        self.deadLetterTopic = deadLetterTopic
    }

    /// Operators that react to time register here; called in pipeline order (sources first).
    func onWatermark(_ h: @escaping (Millis) -> Void) { watermarkHandlers.append(h) }

    func advance(to w: Millis) {
        guard w > watermark else { return }
        watermark = w
        position = nil
        // Registered sink-first while the pipeline was built: run them source-first.
        for h in watermarkHandlers.reversed() { h(w) }
    }

    func emitRecord(topic: String, key: [UInt8]?, value: [UInt8], timestamp: Millis?) {
        var headers: [RecordHeader] = []
        if let l = position {
            headers.append(RecordHeader(key: "riverbank.source", value: ByteBuffer(string: "\(sourceTopics[Int(l.source)])/\(l.partition)/\(l.offset)")))
        }
        outbox.append(ProducerRecord(topic: topic, key: key, value: value, headers: headers,
                                     timestamp: timestamp.flatMap { $0 == .max || $0 == .min ? nil : $0 }))
        counters.sinkOut += 1
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
        guard let r = current else { return }
        var headers = r.headers
        headers.append(RecordHeader(key: "riverbank.\(kind).reason", value: ByteBuffer(string: reason)))
        headers.append(RecordHeader(key: "riverbank.\(kind).operator", value: ByteBuffer(string: operatorName)))
        headers.append(RecordHeader(key: "riverbank.source", value: ByteBuffer(string: "\(r.topic)/\(r.partition)/\(r.offset)")))
        headers.append(RecordHeader(key: "riverbank.job", value: ByteBuffer(string: "\(job.name)@\(job.version)")))
        outbox.append(ProducerRecord(topic: topic, key: r.key, value: r.value, headers: headers, timestamp: r.timestamp))
    }
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
