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
    let stopping = ManagedAtomic(false)
    let logger: Logger

    public init(job: StreamJob, config: StreamJobConfig, logger: Logger = Logger(label: "riverbank.streams")) {
        self.job = job
        self.config = config
        var l = logger
        l[metadataKey: "job"] = "\(job.identity.name)"
        self.logger = l
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

    /// Runs the job to its end (bounded) or until `stop()`; returns what it did.
    public func execute() async throws -> JobReport {
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
        let startSpec: OffsetSpec
        switch config.start {
        case .earliest: startSpec = .earliest
        case .latest: startSpec = .latest
        case .timestamp(let t): startSpec = .timestamp(t)
        }
        let latest = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: tps.map { ($0, OffsetSpec.latest) }))
        // A time with no record at or after it lists offset -1: start at the end.
        let starts = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: tps.map { ($0, startSpec) })).mapValues { $0.offset }
            .merging(latest.mapValues(\.offset)) { s, end in s < 0 ? end : s }
        var ends: [TopicPartition: Int64] = [:]
        if config.bounded {
            for (tp, o) in latest { ends[tp] = o.offset }
            if let until = config.until {
                // Up to the first record at or after `until` (offsets by timestamp).
                for (tp, o) in try await admin.listOffsets(Dictionary(uniqueKeysWithValues: tps.map { ($0, OffsetSpec.timestamp(until)) })) where o.offset >= 0 {
                    ends[tp] = min(ends[tp] ?? o.offset, o.offset)
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
                throw error
            }
            restored = snaps
            store = s
            if !snaps.isEmpty {
                logger.info("restoring from checkpoints", metadata: ["tasks": "\(snaps.count)", "from-local-copy": "\(local)",
                                                                    "read-ms": "\((ContinuousClock.now - t0).millis)"])
            }
        }
        var pc = KafkaProducerConfig(bootstrapServers: config.client.bootstrapServers)
        pc.client = config.client
        pc.client.clientID = "\(job.identity.name)-sink"
        pc.compression = config.compression
        pc.linger = config.linger
        pc.acks = config.acks
        pc.allowAutoTopicCreation = false
        pc.bufferMemory = config.producerBufferBytes
        let refusals = SinkRefusals()
        pc.onRefused = { refusals.add($0) }
        let producer = try KafkaProducer(config: pc)
        let failures = DeliveryFailures()

        let board = WatermarkBoard(partitions: tps.count)
        let jobMetrics = JobMetrics(job: job.identity.name, factory: config.metricsFactory ?? MetricsSystem.factory)
        let workers = max(1, min(config.parallelism, partitions))
        logger.info("starting", metadata: ["partitions": "\(partitions)", "workers": "\(workers)", "bounded": "\(config.bounded)"])
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
                                                producer: producer, failures: failures, refusals: refusals, store: checkpoints, metrics: jobMetrics,
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
            await store?.close()
            throw error
        }
        await producer.close()
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
    /// Each global table's topic (made, compacted, if it does not exist yet: a lookup into
    /// an empty table finds nothing) and where its partitions end now.
    func globalTableEnds(_ admin: KafkaAdmin, partitions: Int) async throws -> [[TopicPartition: Int64]] {
        var all: [[TopicPartition: Int64]] = []
        for t in job.tables {
            var info: TopicInfo
            do {
                info = try await admin.describeTopic(t.topic)
            } catch let e as KafkaError where e.kind == .unknownTopic {
                let made = try await admin.createTopics([NewTopic(name: t.topic, partitions: config.sinkPartitions ?? Int32(partitions),
                                                                  replicationFactor: 1, configs: ["cleanup.policy": "compact"])], ifNotExists: true)
                if let (_, e) = made.first { throw StreamsError.topology("table \(t.name): cannot create its topic \(t.topic): \(e)") }
                logger.info("table topic created", metadata: ["table": "\(t.name)", "topic": "\(t.topic)"])
                info = try await admin.describeTopic(t.topic)
            }
            let tps = (0..<info.partitionCount).map { TopicPartition(t.topic, Int32($0)) }
            all.append(try await admin.listOffsets(Dictionary(uniqueKeysWithValues: tps.map { ($0, OffsetSpec.latest) })).mapValues(\.offset))
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
