import CoreMetrics
import KafkaClient
import KafkaProtocol
import NIOCore

/// Keeps one global table up to date: a consumer of every partition of its topic, from the
/// beginning, applying each chunk to the table. The job's workers start once the reader has
/// read up to where the topic ended when the job started (`loaded` finishes then); after that
/// it goes on applying updates until the job ends. Records it cannot read go to the job's
/// dead-letter topic with the reason; the table keeps its previous value for their keys.
struct GlobalTableReader: Sendable {
    let plan: GlobalTablePlan
    let runner: StreamJobRunner
    let producer: KafkaProducer
    let failures: DeliveryFailures
    /// The topic's end offsets when the job started.
    let ends: [TopicPartition: Int64]
    let loaded: AsyncStream<Void>.Continuation

    func run() async throws {
        defer { loaded.finish() }
        let job = runner.job
        let config = runner.config
        var cc = KafkaConsumerConfig(bootstrapServers: config.client.bootstrapServers)
        cc.client = config.client
        cc.client.clientID = "\(job.identity.name)-table-\(plan.name)"
        cc.autoOffsetReset = .earliest
        cc.enableAutoCommit = false
        cc.maxPartitionFetchBytes = config.maxPartitionFetchBytes
        // As the workers' consumers: a table loads as fast with 8 MiB in flight as with the
        // client's default 64 MiB, which would stay in the peak RSS.
        cc.maxBufferedBytes = config.consumerBufferBytes
        cc.fetchMaxWait = .milliseconds(100)
        // Exactly once: a table written by another exactly-once job holds aborted records too.
        if config.delivery == .exactlyOnce { cc.isolationLevel = .readCommitted }
        let consumer = try KafkaConsumer(config: cc)
        do {
            try await read(consumer)
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
    }

    func read(_ consumer: KafkaConsumer) async throws {
        let job = runner.job
        try await consumer.assign(Dictionary(uniqueKeysWithValues: ends.keys.map { ($0, OffsetSpec.earliest) }))
        let factory = runner.config.metricsFactory ?? MetricsSystem.factory
        let entries = Gauge(label: "riverbank_streams_table_entries", dimensions: [("job", job.identity.name), ("table", plan.name)], factory: factory)
        let load = plan.makeLoader()
        let started = ContinuousClock.now
        var pending = Set(ends.filter { $0.value > 0 }.keys)
        var records = 0
        let onDelivery: @Sendable (DeliveryResult) -> Void = { [failures] r in failures.record(r) }
        func checkLoaded() async {
            for tp in pending where (await consumer.position(tp) ?? 0) >= ends[tp]! { pending.remove(tp) }
            if pending.isEmpty {
                runner.logger.info("table loaded", metadata: ["table": "\(plan.name)", "topic": "\(plan.topic)", "entries": "\(plan.count())",
                                                             "records": "\(records)", "ms": "\((ContinuousClock.now - started).millis)"])
                loaded.finish()
            }
        }
        var isLoaded = false
        if pending.isEmpty { await checkLoaded(); isLoaded = true }
        var it = consumer.records.makeAsyncIterator()
        while !Task.isCancelled {
            guard let chunk = try await it.nextChunk(until: .now + runner.config.tick) else { return }
            if !chunk.isEmpty {
                records += chunk.count
                let (_, bad) = load(chunk)
                for f in bad {
                    try await producer.produce(deadLetter(chunk[f.index], reason: f.reason), onDelivery: onDelivery)
                    var c = TaskCounters()
                    c.deadLettered = 1
                    runner.progress.add(c, outputs: false)
                }
                entries.record(plan.count())
            }
            if !isLoaded {
                await checkLoaded()
                isLoaded = pending.isEmpty
            }
        }
    }

    func deadLetter(_ r: ConsumerRecord, reason: String) -> ProducerRecord {
        let job = runner.job
        var h = r.headers
        h.append(RecordHeader(key: "riverbank.dead-letter.reason", value: ByteBuffer(string: reason)))
        h.append(RecordHeader(key: "riverbank.dead-letter.operator", value: ByteBuffer(string: "table \(plan.name)")))
        h.append(RecordHeader(key: "riverbank.source", value: ByteBuffer(string: "\(r.topic)/\(r.partition)/\(r.offset)")))
        h.append(RecordHeader(key: "riverbank.job", value: ByteBuffer(string: "\(job.identity.name)@\(job.identity.version)")))
        return ProducerRecord(topic: job.deadLetterTopic, key: r.key, value: r.value, headers: h, timestamp: r.timestamp)
    }
}
