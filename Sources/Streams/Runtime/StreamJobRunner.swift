import Atomics
import CoreMetrics
import KafkaClient
import Logging
import ServiceLifecycle

/// Runs a `StreamJob`: a swift-service-lifecycle `Service` whose `run()` owns the job's
/// workers in a task group. A graceful shutdown stops reading, lets the workers finish the
/// batch in hand and waits for the producer to deliver what was handed to it.
public final class StreamJobRunner: Service, Sendable {
    public let job: StreamJob
    public let config: StreamJobConfig
    public let progress = JobProgress()
    let stopping: ManagedAtomic<Bool>
    let logger: Logger
    /// Where a stage after a repartition starts reading its topic when it has no checkpoint:
    /// the topic's end when the job started, before the first stage wrote anything.
    let startOffsets: [TopicPartition: Int64]
    /// The runners of the stages after this job's repartitions (while it runs).
    let stageRunners = Locked<[StreamJobRunner]>([])

    public init(job: StreamJob, config: StreamJobConfig, logger: Logger = Logger(label: "riverbank.streams")) {
        self.job = job
        self.config = config
        var l = logger
        l[metadataKey: "job"] = "\(job.identity.name)"
        self.logger = l
        stopping = ManagedAtomic(false)
        startOffsets = [:]
    }

    init(stage: StreamJob, of parent: StreamJobRunner, startOffsets: [TopicPartition: Int64]) {
        job = stage
        config = parent.config
        var l = parent.logger
        l[metadataKey: "job"] = "\(stage.identity.name)"
        logger = l
        stopping = parent.stopping
        self.startOffsets = startOffsets
    }

    public func run() async throws {
        _ = try await withGracefulShutdownHandler {
            try await execute()
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// Asks the workers to stop after their current batch.
    public func stop() { stopping.store(true, ordering: .relaxed) }

    /// Runs the job to its end (bounded) or until `stop()`; returns what it did. A job with
    /// repartitions runs every stage at once (each reads what the one before writes).
    public func execute() async throws -> JobReport {
        job.stages.isEmpty ? try await executeStage() : try await executeStages()
    }

    /// Progress of every stage after the first (empty for a job without repartitions).
    public var stageProgress: [(name: String, report: JobReport)] {
        stageRunners.withLock { $0.map { ($0.job.identity.name, $0.progress.snapshot) } }
    }

    func executeStages() async throws -> JobReport {
        let stages = job.allStages
        for s in stages { try s.validate() }
        let admin = KafkaAdmin(config: config.client)
        defer { Task { await admin.close() } }
        guard let first = job.sources.first else { throw StreamsError.invalidJob("job \(job.identity.name) has no source") }
        let partitions: Int32
        do { partitions = Int32(try await admin.describeTopic(first.topic).partitionCount) } catch {
            throw StreamsError.topology("source topic \(first.topic): \(error)")
        }
        // Repartition topics: as many partitions as the sources (a stage's task i reads
        // partition i), kept a week (what the next stage has not read yet must stay).
        var ends: [TopicPartition: Int64] = [:], firsts: [TopicPartition: Int64] = [:]
        for t in stages.flatMap(\.internalTopics).sorted() {
            let made = try await admin.createTopics([NewTopic(name: t, partitions: partitions, replicationFactor: 1,
                                                              configs: ["retention.ms": "604800000"])], ifNotExists: true)
            if let (_, e) = made.first { throw StreamsError.topology("cannot create repartition topic \(t): \(e)") }
            let info = try await admin.describeTopic(t)
            guard info.partitionCount == partitions else {
                throw StreamsError.topology("repartition topic \(t) has \(info.partitionCount) partitions, the sources \(partitions): delete it (the job's stages after it start over) or give the source back its partitions")
            }
            let tps = (0..<partitions).map { TopicPartition(t, $0) }
            for (tp, o) in try await admin.listOffsets(Dictionary(uniqueKeysWithValues: tps.map { ($0, OffsetSpec.latest) })) { ends[tp] = o.offset }
            for (tp, o) in try await admin.listOffsets(Dictionary(uniqueKeysWithValues: tps.map { ($0, OffsetSpec.earliest) })) { firsts[tp] = o.offset }
        }
        // A stage with no checkpoint of its own starts where its topic ended before this run
        // (what is there is from before, not for it) — unless the stage before it has a
        // checkpoint: it then resumes, not rewriting what it wrote before that, which this
        // stage never applied: it reads the topic from its start.
        var starts: [TopicPartition: Int64] = [:]
        for s in stages.dropLast() where !s.internalTopics.isEmpty {
            let resumes = try await Self.hasCheckpoint(s.identity.name, admin)
            for t in s.internalTopics {
                for p in 0..<partitions {
                    let tp = TopicPartition(t, p)
                    starts[tp] = (resumes ? firsts[tp] : ends[tp]) ?? 0
                }
            }
        }
        let children = stages.dropFirst().map { StreamJobRunner(stage: $0, of: self, startOffsets: starts) }
        stageRunners.withLock { $0 = children }
        logger.info("starting in stages", metadata: ["stages": "\(stages.map(\.identity.name).joined(separator: " → "))"])
        let reports = try await withThrowingTaskGroup(of: (Int, JobReport).self) { group in
            group.addTask { (0, try await self.executeStage()) }
            for (i, c) in children.enumerated() { group.addTask { (i + 1, try await c.executeStage()) } }
            var out: [Int: JobReport] = [:]
            for try await (i, r) in group { out[i] = r }
            return (0..<stages.count).map { out[$0]! }
        }
        return Self.combine(reports)
    }

    /// A job in stages as one: the first stage's input, every stage's output, late records,
    /// dead letters and checkpoints, the last stage's watermark.
    static func combine(_ reports: [JobReport]) -> JobReport {
        var total = reports[0]
        for r in reports.dropFirst() {
            total.recordsOut += r.recordsOut
            total.late += r.late
            total.deadLettered += r.deadLettered
            total.checkpoints += r.checkpoints
            total.checkpointSeconds += r.checkpointSeconds
            total.lastCheckpointBytes += r.lastCheckpointBytes
            total.restoredTasks += r.restoredTasks
            total.lastOutputAt = [total.lastOutputAt, r.lastOutputAt].compactMap { $0 }.max()
            total.firstOutputAt = [total.firstOutputAt, r.firstOutputAt].compactMap { $0 }.min()
            total.lastCheckpointAt = [total.lastCheckpointAt, r.lastCheckpointAt].compactMap { $0 }.max()
        }
        if reports.count > 1 { total.watermark = reports.last!.watermark }
        return total
    }

    /// The job's progress as a whole while it runs (every stage), and the positions of every
    /// stage's inputs (a repartition topic's lag is the second stage's).
    public var overall: (report: JobReport, positions: [TopicPartition: Int64]) {
        let children = stageRunners.withLock { $0 }
        var positions = progress.positions
        for c in children { positions.merge(c.progress.positions) { a, _ in a } }
        return (Self.combine([progress.snapshot] + children.map(\.progress.snapshot)), positions)
    }

    /// Whether the job's checkpoint topic holds anything.
    static func hasCheckpoint(_ job: String, _ admin: KafkaAdmin) async throws -> Bool {
        let topic = "\(job).checkpoints"
        let info: TopicInfo
        do { info = try await admin.describeTopic(topic) } catch let e as KafkaError where e.kind == .unknownTopic { return false }
        let tps = (0..<info.partitionCount).map { TopicPartition(topic, Int32($0)) }
        let latest = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: tps.map { ($0, OffsetSpec.latest) }))
        return latest.values.contains { $0.offset > 0 }
    }

    /// Runs this one stage.
    func executeStage() async throws -> JobReport {
        try job.validate()
        let admin = KafkaAdmin(config: config.client)
        defer { Task { await admin.close() } }
        // Sources must be co-partitioned: task i reads partition i of each.
        var partitions = -1
        for s in job.sources {
            let info: TopicInfo
            do { info = try await admin.describeTopic(s.topic) } catch {
                throw StreamsError.topology("source topic \(s.topic): \(error)")
            }
            if partitions >= 0 && info.partitionCount != partitions {
                throw StreamsError.topology("source topics are not co-partitioned: \(s.topic) has \(info.partitionCount) partitions, others \(partitions)")
            }
            partitions = info.partitionCount
        }
        guard partitions > 0 else { throw StreamsError.topology("source topics have no partitions") }
        let outTopics = job.sinkTopics.union([job.lateTopic, job.deadLetterTopic])
        let created = try await admin.createTopics(outTopics.sorted().map {
            NewTopic(name: $0, partitions: config.sinkPartitions ?? Int32(partitions), replicationFactor: 1)
        }, ifNotExists: true)
        if let (t, e) = created.first { throw StreamsError.topology("cannot create output topic \(t): \(e)") }

        let tps = job.sources.flatMap { s in (0..<partitions).map { TopicPartition(s.topic, Int32($0)) } }
        // A repartition topic ends when the stage before it says so (its watermark records).
        let internalTopics = Set(job.sources.filter(\.repartition).map(\.topic))
        let boundedTps = tps.filter { !internalTopics.contains($0.topic) }
        let startSpec: OffsetSpec
        switch config.start {
        case .earliest: startSpec = .earliest
        case .latest: startSpec = .latest
        case .timestamp(let t): startSpec = .timestamp(t)
        }
        // Exactly once reads committed data only: a bounded run ends at the last stable offset.
        let latest = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: tps.map { ($0, OffsetSpec.latest) }),
                                                 isolationLevel: config.delivery == .exactlyOnce ? .readCommitted : .readUncommitted)
        // A time with no record at or after it lists offset -1: start at the end.
        let starts = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: tps.map { ($0, startSpec) })).mapValues { $0.offset }
            .merging(latest.mapValues(\.offset)) { s, end in s < 0 ? end : s }
            .merging(startOffsets.filter { internalTopics.contains($0.key.topic) }) { _, o in o }
        var ends: [TopicPartition: Int64] = [:]
        if config.bounded {
            for (tp, o) in latest where !internalTopics.contains(tp.topic) { ends[tp] = o.offset }
            if let until = config.until, !boundedTps.isEmpty {
                // Up to the first record at or after `until` (offsets by timestamp).
                for (tp, o) in try await admin.listOffsets(Dictionary(uniqueKeysWithValues: boundedTps.map { ($0, OffsetSpec.timestamp(until)) })) where o.offset >= 0 {
                    ends[tp] = min(ends[tp] ?? o.offset, o.offset)
                }
            }
        }

        let workers = max(1, min(config.parallelism, partitions))
        let exactlyOnce = config.delivery == .exactlyOnce
        if exactlyOnce && config.checkpointInterval == nil && !config.bounded {
            throw StreamsError.invalidJob("exactly-once delivery commits output with checkpoints: give the job a checkpoint interval")
        }
        let refusals = SinkRefusals()
        // Exactly once: each worker's transactional pair, fenced (the previous run's open
        // transactions aborted) before the checkpoints are read.
        var sinks: [WorkerSink] = []
        if exactlyOnce {
            for w in 0..<workers {
                var pairs: [KafkaProducer] = []
                for id in WorkerSink.transactionalIDs(job: job.identity.name, worker: w) {
                    var pc = sinkProducerConfig(refusals)
                    pc.client.clientID = id
                    pc.transactionalID = id
                    // Longer than any checkpoint takes; a killed run's transaction ends at the latest then.
                    pc.transactionTimeout = max(.seconds(60), (config.checkpointInterval ?? .zero) * 6)
                    pairs.append(try KafkaProducer(config: pc))
                }
                let sink = WorkerSink(transactional: pairs)
                sinks.append(sink)
                do { try await sink.fence() } catch {
                    for s in sinks { await s.close() }
                    throw StreamsError.topology("exactly-once delivery: cannot register the worker's transactional producers (\(error))")
                }
            }
        }
        var store: CheckpointStore? = nil
        var restored: [Int32: TaskSnapshot] = [:]
        if config.checkpointInterval != nil {
            try await CheckpointStore.createTopic(job: job.identity.name, admin: admin)
            let s = try CheckpointStore(job: job.identity.name, client: config.client, localDirectory: config.stateDirectory, logger: logger)
            let t0 = ContinuousClock.now
            let snaps: [Int32: TaskSnapshot], local: Int
            do {
                (snaps, local) = try await s.load()
                // Refused before anything runs: state that this version cannot take.
                try Self.checkCompatible(snaps, job: job, allowDropped: config.allowDroppedState)
            } catch {
                await s.close()
                for s in sinks { await s.close() }
                throw error
            }
            restored = snaps
            store = s
            if !snaps.isEmpty {
                logger.info("restoring from checkpoints", metadata: ["tasks": "\(snaps.count)", "from-local-copy": "\(local)",
                                                                    "read-ms": "\((ContinuousClock.now - t0).millis)"])
            }
        }
        var pc = sinkProducerConfig(refusals)
        pc.client.clientID = "\(job.identity.name)-sink"
        let producer = try KafkaProducer(config: pc)
        let failures = DeliveryFailures()

        let board = WatermarkBoard(partitions: tps.count)
        let jobMetrics = JobMetrics(job: job.identity.name, factory: config.metricsFactory ?? MetricsSystem.factory)
        logger.info("starting", metadata: ["partitions": "\(partitions)", "workers": "\(workers)", "bounded": "\(config.bounded)",
                                           "delivery": "\(config.delivery.rawValue)"])
        let workerSinks = sinks
        let workerEnds = config.bounded ? ends : nil
        let (partitionCount, snapshots, checkpoints) = (partitions, restored, store)
        do {
            let tableEnds = try await globalTableEnds(admin, partitions: partitions)
            // Global tables' readers run beside the workers for the whole job; the workers
            // start once every table is loaded, and when they are done the readers stop.
            try await withThrowingTaskGroup(of: Bool.self) { group in
                var loads: [AsyncStream<Void>] = []
                for (plan, ends) in zip(job.tables, tableEnds) {
                    let (loaded, signal) = AsyncStream<Void>.makeStream()
                    loads.append(loaded)
                    let reader = GlobalTableReader(plan: plan, runner: self, producer: producer, failures: failures, ends: ends, loaded: signal)
                    group.addTask { try await reader.run(); return false }
                }
                let tablesLoaded = loads
                group.addTask {
                    for l in tablesLoaded { for await _ in l {} }
                    guard !Task.isCancelled else { return true }
                    try await withThrowingTaskGroup(of: Void.self) { workerGroup in
                        for w in 0..<workers {
                            let mine = stride(from: w, to: partitionCount, by: workers).map { Int32($0) }
                            let worker = Worker(index: w, partitions: mine, partitionCount: partitionCount, runner: self, board: board,
                                                sink: workerSinks.isEmpty ? WorkerSink(shared: producer) : workerSinks[w],
                                                failures: failures, refusals: refusals, store: checkpoints, metrics: jobMetrics,
                                                restored: snapshots.filter { mine.contains($0.key) },
                                                starts: starts, ends: workerEnds)
                            workerGroup.addTask { try await worker.run() }
                        }
                        try await workerGroup.waitForAll()
                    }
                    return true
                }
                while let workersDone = try await group.next() {
                    if workersDone { group.cancelAll(); break }
                }
            }
        } catch {
            await producer.close()
            for s in sinks { await s.close() }
            await store?.close()
            throw error
        }
        // Output refused after the workers' last look at it: its dead letters (or, for its
        // batch neighbours, the records again) before the run reports done.
        let onDelivery: @Sendable (DeliveryResult) -> Void = { failures.record($0) }
        do {
            while true {
                await producer.flush()
                guard refusals.outstanding.load(ordering: .relaxed) > 0 else { break }
                try await refusals.send(producer, self, onDelivery)
            }
        } catch {
            await producer.close()
            for s in sinks { await s.close() }
            await store?.close()
            throw error
        }
        await producer.close()
        for s in sinks { await s.close() }
        await store?.close()
        if let f = failures.first() {
            throw StreamsError.deliveryFailed("\(failures.count.load(ordering: .relaxed)) records not delivered; first: \(f)")
        }
        let report = progress.snapshot
        logger.info("finished", metadata: ["in": "\(report.recordsIn)", "out": "\(report.recordsOut)", "late": "\(report.late)", "dead-lettered": "\(report.deadLettered)"])
        return report
    }
}

extension StreamJobRunner {
    /// The sink producers' settings (the shared one's and, exactly once, the workers' pairs').
    func sinkProducerConfig(_ refusals: SinkRefusals) -> KafkaProducerConfig {
        var pc = KafkaProducerConfig(bootstrapServers: config.client.bootstrapServers)
        pc.client = config.client
        pc.compression = config.compression
        pc.linger = config.linger
        pc.acks = config.delivery == .exactlyOnce ? .all : config.acks
        pc.allowAutoTopicCreation = false
        pc.bufferMemory = config.producerBufferBytes
        pc.onRefused = { refusals.add($0) }
        return pc
    }

    /// Each global table's topic (made, compacted, if it does not exist yet: a lookup into
    /// an empty table finds nothing; a versioned table's is kept for its history instead, as
    /// compaction would leave only each key's latest version) and where its partitions end now.
    func globalTableEnds(_ admin: KafkaAdmin, partitions: Int) async throws -> [[TopicPartition: Int64]] {
        var all: [[TopicPartition: Int64]] = []
        for t in job.tables {
            var info: TopicInfo
            do {
                info = try await admin.describeTopic(t.topic)
            } catch let e as KafkaError where e.kind == .unknownTopic {
                let configs = t.history.map { ["cleanup.policy": "delete", "retention.ms": "\(max($0, 3_600_000))"] } ?? ["cleanup.policy": "compact"]
                let made = try await admin.createTopics([NewTopic(name: t.topic, partitions: config.sinkPartitions ?? Int32(partitions),
                                                                  replicationFactor: 1, configs: configs)], ifNotExists: true)
                if let (_, e) = made.first { throw StreamsError.topology("table \(t.name): cannot create its topic \(t.topic): \(e)") }
                logger.info("table topic created", metadata: ["table": "\(t.name)", "topic": "\(t.topic)"])
                info = try await admin.describeTopic(t.topic)
            }
            let tps = (0..<info.partitionCount).map { TopicPartition(t.topic, Int32($0)) }
            // Where a read-committed table reader's loading ends: the last stable offset.
            all.append(try await admin.listOffsets(Dictionary(uniqueKeysWithValues: tps.map { ($0, OffsetSpec.latest) }),
                                                   isolationLevel: config.delivery == .exactlyOnce ? .readCommitted : .readUncommitted)
                .mapValues(\.offset))
        }
        return all
    }

    /// A checkpoint from another version of the job must name only operators this version has
    /// (state is bound to operator names): said before anything runs.
    static func checkCompatible(_ snaps: [Int32: TaskSnapshot], job: StreamJob, allowDropped: Bool = false) throws {
        guard let any = snaps.values.first else { return }
        let kinds = Dictionary(job.stateLayout.map { ($0.name, $0.kind) }, uniquingKeysWith: { a, _ in a })
        let orphans = any.operators.map(\.name).filter { kinds[$0] == nil }
        if !orphans.isEmpty && !allowDropped {
            throw StreamsError.invalidJob("the checkpoint (job \(any.job) version \(any.version)) holds state of operators this job does not have: \(orphans.joined(separator: ", ")); rename them back or start without the checkpoint")
        }
        let changed = any.operators.filter { kinds[$0.name] != $0.kind }
        if let c = changed.first {
            throw StreamsError.invalidJob("operator \(c.name) keeps \(kinds[c.name]!) in this job, but its state in the checkpoint (version \(any.version)) is \(c.kind): give the changed operator a new name to start it empty")
        }
    }
}

/// Records the producer could not deliver (after its retries): the job fails rather than
/// pretend they were written.
final class DeliveryFailures: Sendable {
    let count = ManagedAtomic<Int>(0)
    let firstError = Locked<String?>(nil)

    func record(_ r: DeliveryResult) {
        // A refused record handed to the dead-letter path is not lost.
        if case .failure(let e) = r, e.kind != .refused {
            if count.loadThenWrappingIncrement(ordering: .relaxed) == 0 { firstError.withLock { $0 = "\(e)" } }
        }
    }

    func first() -> String? { count.load(ordering: .relaxed) == 0 ? nil : firstError.withLock { $0 } ?? "unknown" }
}
