import KafkaClient

/// A stream job defined in Swift: sources, a graph of operators, sinks. Define it, then run it
/// with `StreamJobRunner` (a swift-service-lifecycle Service) against any Kafka cluster.
///
/// ```swift
/// let job = StreamJob(name: "hourly-spend")
/// job.source(topic: "transactions", as: Tx.self, eventTime: { $0.ts }, outOfOrderness: .seconds(5))
///    .keyBy { StreamKey($0.customer) }
///    .window(.tumbling(.hours(1))) { (acc: inout Stats, tx) in acc.add(tx.amount) }
///    .sink(topic: "hourly-spend", key: { $0.key.bytes }) { r, w in
///        w.field("customer_id", r.key.int); w.field("total", r.value.sum)
///    }
/// ```
public final class StreamJob: @unchecked Sendable {
    public let identity: JobIdentity
    var sources: [SourcePlan] = []
    var tables: [GlobalTablePlan] = []
    var sinkTopics: Set<String> = []
    /// Repartition topics this job writes for its next stages (made by the runner with as
    /// many partitions as the sources).
    var internalTopics: Set<String> = []
    /// The jobs that continue this one after a repartition (Kafka Streams' sub-topologies),
    /// each with its own tasks, watermark and checkpoints; the runner runs them all.
    public internal(set) var stages: [StreamJob] = []
    /// Topics the records of a repartition source came from (lineage names them).
    var lineageTopics: [String] = []
    var names: Set<String> = []
    var problems: [String] = []
    /// Late records (past the allowed lateness) go here unless an operator names its own.
    public var lateTopic: String
    /// Records that cannot be decoded or evaluated go here, with the raw bytes and the reason.
    public var deadLetterTopic: String

    public init(name: String, version: String = "1") {
        identity = JobIdentity(name: name, version: version)
        lateTopic = "\(name).late"
        deadLetterTopic = "\(name).dead-letter"
    }

    /// Operator names are the handles of their state (savepoints bind to them): unique.
    func register(_ name: String) -> String {
        if names.contains(name) { problems.append("operator name '\(name)' is used twice") }
        names.insert(name)
        return name
    }

    func autoName(_ kind: String) -> String {
        var i = 1
        while names.contains("\(kind)-\(i)") { i += 1 }
        return "\(kind)-\(i)"
    }

    /// Reads a topic of JSON values as `T`. Event time from the record (e.g. a field), bounded
    /// out-of-orderness, and an idle timeout after which a silent partition stops holding the
    /// watermark back.
    @discardableResult
    public func source<T: JSONRecord>(topic: String, as type: T.Type, name: String? = nil,
                                      eventTime: @escaping @Sendable (T) -> Millis,
                                      outOfOrderness: Duration = .seconds(0), idleTimeout: Duration? = nil,
                                      maxValueBytes: Int = 1 << 20) -> DataStream<T> {
        sourceSkipping(topic: topic, name: name, outOfOrderness: outOfOrderness, idleTimeout: idleTimeout) {
            var decoder = JSONDecoding<T>(maxBytes: maxValueBytes)
            return { (r: ConsumerRecord) throws(FormatError) -> (T, Millis)? in
                guard let value = r.value else { throw FormatError(offset: 0, "record has no value (tombstone)") }
                let v = try value.withUnsafeReadableBytes { (raw) throws(FormatError) -> T in try decoder.decode(raw) }
                return (v, eventTime(v))
            }
        }
    }

    /// Reads a topic with a decoder of your own (CSV, Avro, a binary format): it gets the record
    /// and returns the element and its event time, or throws FormatError (dead-letter topic).
    /// `decode` makes one decoder per reader, which may keep buffers between records.
    @discardableResult
    public func source<T>(topic: String, name: String? = nil, outOfOrderness: Duration = .seconds(0), idleTimeout: Duration? = nil,
                          decode: @escaping @Sendable () -> (ConsumerRecord) throws(FormatError) -> (T, Millis)) -> DataStream<T> {
        sourceSkipping(topic: topic, name: name, outOfOrderness: outOfOrderness, idleTimeout: idleTimeout) {
            let d = decode()
            return { (r: ConsumerRecord) throws(FormatError) -> (T, Millis)? in try d(r) }
        }
    }

    /// As `source(topic:…:decode:)`, for formats with records that are no element (a CSV
    /// header line): the decoder returns nil and the record is skipped, not dead-lettered.
    public func sourceSkipping<T>(topic: String, name: String?, outOfOrderness: Duration, idleTimeout: Duration?,
                           decodeOrSkip: @escaping @Sendable () -> (ConsumerRecord) throws(FormatError) -> (T, Millis)?) -> DataStream<T> {
        let n = Node<T>(name: register(name ?? "source-\(topic)"))
        sources.append(sourcePlan(index: Int32(sources.count), topic: topic, node: n, outOfOrderness: outOfOrderness,
                                  idleTimeout: idleTimeout, decoder: decodeOrSkip))
        return DataStream(job: self, node: n)
    }

    /// The operators that keep state, in pipeline order, with the kind of state each keeps: what
    /// a checkpoint binds to. A new version keeps the state of operators whose name and kind are
    /// unchanged; an operator's state of another kind, or of a name the job no longer has, is
    /// refused at start.
    public var stateLayout: [(name: String, kind: String)] {
        let probe = TaskBuilder(ctx: TaskContext(job: identity, partition: 0, sourceTopics: contextTopics,
                                                 lateTopic: lateTopic, deadLetterTopic: deadLetterTopic))
        for s in sources { _ = s.makePusher(probe) }
        return probe.stateful.map { ($0.name, $0.stateKind) }
    }

    /// What a task's lineage names: the sources, then the topics a repartition source's
    /// records came from.
    var contextTopics: [String] { sources.map(\.topic) + lineageTopics }

    /// The repartition topics this job writes.
    public var repartitionTopics: Set<String> { internalTopics }

    /// This job and every stage after it, upstream first.
    public var allStages: [StreamJob] { [self] + stages.flatMap(\.allStages) }

    func validate() throws(StreamsError) {
        if sources.isEmpty { throw .invalidJob("job \(identity.name) has no source") }
        if sinkTopics.isEmpty && internalTopics.isEmpty { throw .invalidJob("job \(identity.name) has no sink") }
        if let p = problems.first { throw .invalidJob(p) }
        for s in sources where sinkTopics.contains(s.topic) {
            throw .invalidJob("topic \(s.topic) is both a source and a sink of the job")
        }
        for t in tables where sinkTopics.contains(t.topic) {
            throw .invalidJob("topic \(t.topic) is both a table and a sink of the job")
        }
    }
}
