import Foundation
import KafkaClient
import Logging
import ServiceLifecycle
import Streams
import Synchronization

/// Runs deployed jobs against a Kafka cluster (the embedded broker of `riverbank run`, or any
/// other with `riverbank runner`): watches the definitions topic and starts a job, restarts it
/// when a new generation is deployed (its state carries over through its checkpoints), stops
/// it when asked; reports every job's status to the status topic about once a second.
///
/// A swift-service-lifecycle `Service`: `run()` owns its jobs in a task group (one supervisor
/// task per job, plus the status reporter); a graceful shutdown stops every job after its
/// current batch, with a last checkpoint.
public final class JobsRunner: Service, Sendable {
    public struct Config: Sendable {
        /// Where the cluster is, resolved when the runner starts (the embedded broker's port
        /// is known only once it listens).
        public var bootstrap: @Sendable () async throws -> String
        public var runnerID: String
        /// Local copies of the jobs' checkpoints (`<root>/<job>`), for fast restarts here.
        public var stateRoot: String?
        public var statusInterval: Duration = .seconds(1)
        /// Job files deployed when the runner starts, unless the same text already runs.
        public var deployAtStart: [String] = []
        /// How long a runner that died holds on to its jobs before another takes them over
        /// (the lease group's session timeout).
        public var leaseSessionTimeout: Duration = .seconds(6)

        public init(bootstrap: @escaping @Sendable () async throws -> String, runnerID: String = JobsRunner.defaultID(),
                    stateRoot: String? = nil) {
            self.bootstrap = bootstrap
            self.runnerID = runnerID
            self.stateRoot = stateRoot
        }
    }

    public let config: Config
    let logger: Logger
    let slots = Mutex<[String: JobSlot]>([:])
    let shuttingDown = Atomic<Bool>(false)

    public init(config: Config, logger: Logger = Logger(label: "riverbank.jobs")) {
        self.config = config
        self.logger = logger
    }

    public static func defaultID() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await self.serve()
        } onGracefulShutdown: {
            self.shutdown()
        }
    }

    /// Stops every job (each writes a last checkpoint) and then the runner.
    public func shutdown() {
        shuttingDown.store(true, ordering: .relaxed)
        for slot in slots.withLock({ Array($0.values) }) {
            slot.state.withLock { $0.runner }?.stop()
            slot.wake.yield()
        }
    }

    var stopping: Bool { shuttingDown.load(ordering: .relaxed) }

    func serve() async throws {
        let bootstrap = try await config.bootstrap()
        let client = try KafkaClientConfig(bootstrap: bootstrap)
        let registry = JobRegistry(client: client)
        // The embedded broker may still be starting: retry for a while.
        var attempt = 0
        while true {
            do {
                try await registry.ensureTopics()
                break
            } catch {
                attempt += 1
                if attempt >= 60 || stopping { throw error }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        for file in config.deployAtStart { await deployAtStart(file, registry) }
        var pc = KafkaProducerConfig(bootstrapServers: client.bootstrapServers)
        pc.client = client
        pc.linger = .milliseconds(1)
        let statusProducer = try KafkaProducer(config: pc)
        let reporter = StatusReporter(runner: self, client: client, producer: statusProducer)
        logger.info("job runner started", metadata: ["runner": "\(config.runnerID)", "bootstrap": "\(bootstrap)"])

        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await reporter.run() }
            var cc = KafkaConsumerConfig(bootstrapServers: client.bootstrapServers)
            cc.client = client
            cc.enableAutoCommit = false
            let consumer = try KafkaConsumer(config: cc)
            try await consumer.assign(offsets: [TopicPartition(JobTopics.definitions, 0): 0])
            var it = consumer.records.makeAsyncIterator()
            let decoder = JSONDecoder()
            while !stopping && !Task.isCancelled {
                let chunk: [ConsumerRecord]
                do {
                    guard let c = try await it.nextChunk(until: .now + .milliseconds(200)) else { break }
                    chunk = c
                } catch {
                    if stopping || Task.isCancelled { break }
                    logger.warning("reading job definitions failed; retrying", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
                for r in chunk {
                    guard let name = r.keyString else { continue }
                    let def = r.valueBytes.flatMap { try? decoder.decode(DeployedJob.self, from: Data($0)) }
                    if r.valueBytes != nil && def == nil {
                        logger.warning("a job definition record does not decode; ignored", metadata: ["job": "\(name)", "offset": "\(r.offset)"])
                        continue
                    }
                    let (slot, isNew) = slots.withLock { s -> (JobSlot, Bool) in
                        if let existing = s[name] { return (existing, false) }
                        let n = JobSlot(name: name)
                        s[name] = n
                        return (n, true)
                    }
                    slot.update(def)
                    if isNew {
                        let lease = try JobLease(job: name, client: client, runnerID: config.runnerID, sessionTimeout: config.leaseSessionTimeout) {
                            await slot.stopAndWait()
                        }
                        slot.state.withLock { $0.lease = lease }
                        group.addTask { await lease.run() }
                        group.addTask { await self.supervise(slot, reporter) }
                    }
                }
            }
            await consumer.close()
            shutdown()
            for slot in slots.withLock({ Array($0.values) }) {
                slot.wake.finish()
                // Leave the lease groups once the job has stopped: another runner takes over at once.
                await slot.stopAndWait()
                await slot.state.withLock { $0.lease }?.close()
            }
        }
        await statusProducer.flush()
        await statusProducer.close()
        logger.info("job runner stopped")
    }

    /// One job's life on this runner: runs each new generation of its definition to its end,
    /// one at a time (a redeploy waits for the old run's last checkpoint before it starts).
    func supervise(_ slot: JobSlot, _ reporter: StatusReporter) async {
        for await _ in slot.wakes {
            while !stopping {
                let (d, handled) = slot.state.withLock { ($0.desired, $0.handled) }
                guard let d, d.generation != handled else { break }
                if d.desired == .stopped {
                    slot.state.withLock { $0.handled = d.generation }
                    if slot.leaseHeld { await reporter.publish(slot.status(d, state: .stopped, runner: config.runnerID)) }
                    continue
                }
                // Only the runner holding the job's lease runs it; the others wait their turn.
                if !slot.leaseHeld {
                    try? await Task.sleep(for: .milliseconds(100))
                    continue
                }
                slot.state.withLock { $0.handled = d.generation }
                let retry = await runGeneration(d, slot, reporter)
                // The lease moved away mid-run: run it again when (if) it comes back.
                if !slot.leaseHeld { slot.state.withLock { if $0.desired?.generation == d.generation { $0.handled = -1 } } }
                if retry {
                    // Its source topics are missing, or the cluster is unreachable: try again
                    // in a while, unless a new deploy or a stop comes first.
                    for _ in 0..<20 where !stopping && slot.state.withLock({ $0.desired?.generation }) == d.generation {
                        try? await Task.sleep(for: .milliseconds(250))
                    }
                    slot.state.withLock { if $0.desired?.generation == d.generation { $0.handled = -1 } }
                }
            }
            if stopping { break }
        }
    }

    /// Runs one generation to its end; true when it failed in a way worth retrying as it is.
    func runGeneration(_ d: DeployedJob, _ slot: JobSlot, _ reporter: StatusReporter) async -> Bool {
        let runnerID = config.runnerID
        await reporter.publish(slot.status(d, state: .starting, runner: runnerID))
        let planned: PlannedJob
        switch JobFile.check(d.text, file: d.file) {
        case .failure(let problems):
            await reporter.publish(slot.status(d, state: .failed, runner: runnerID, error: problems.rendered))
            return false
        case .success(let file):
            do {
                planned = try JobPlanner.plan(file)
            } catch {
                await reporter.publish(slot.status(d, state: .failed, runner: runnerID, error: error.rendered))
                return false
            }
        }
        var jc: StreamJobConfig
        do {
            jc = try StreamJobConfig(bootstrap: reporter.client.bootstrapServers.map(\.description).joined(separator: ","))
        } catch {
            await reporter.publish(slot.status(d, state: .failed, runner: runnerID, error: "\(error)"))
            return false
        }
        jc.client = reporter.client
        jc.parallelism = planned.parallelism
        jc.checkpointInterval = planned.checkpointInterval
        jc.delivery = planned.delivery
        jc.allowDroppedState = d.allowDroppedState ?? false
        jc.stateDirectory = config.stateRoot.map { "\($0)/\(d.name)" }
        var log = logger
        log[metadataKey: "job"] = "\(d.name)"
        let runner = StreamJobRunner(job: planned.job, config: jc, logger: log)
        slot.started(runner, generation: d.generation)
        // A stop or a redeploy that came while this one was being planned.
        if stopping || slot.state.withLock({ $0.desired?.generation }) != d.generation { runner.stop() }
        logger.info("job starting", metadata: ["job": "\(d.name)", "version": "\(d.version)", "generation": "\(d.generation)"])
        do {
            _ = try await runner.execute()
            slot.finished(runner.overall.report)
            // Stopped because the lease moved: the new holder reports it from now on.
            if slot.leaseHeld || stopping {
                await reporter.publish(slot.status(d, state: .stopped, runner: runnerID, report: runner.overall.report))
            }
            logger.info("job stopped", metadata: ["job": "\(d.name)", "generation": "\(d.generation)"])
            return false
        } catch {
            slot.finished(runner.overall.report)
            let retry = Self.retryable(error)
            await reporter.publish(slot.status(d, state: .failed, runner: runnerID, error: "\(error)\(retry ? " (retrying every 5 s)" : "")",
                                               report: runner.overall.report))
            logger.error("job failed", metadata: ["job": "\(d.name)", "generation": "\(d.generation)", "error": "\(error)", "retrying": "\(retry)"])
            return retry
        }
    }

    /// A missing source topic (not created yet) or an unreachable cluster: not the definition's fault.
    static func retryable(_ error: any Error) -> Bool {
        if case StreamsError.topology(let m)? = error as? StreamsError { return m.contains("unknown topic") || m.contains("no partitions") }
        if let k = error as? KafkaError { return k.isRetriable }
        return false
    }

    /// `riverbank run --job FILE`: deploys the file unless the same text already runs. A file
    /// that does not check is logged, not deployed (the broker keeps running).
    func deployAtStart(_ path: String, _ registry: JobRegistry) async {
        switch JobFile.load(path: path) {
        case .failure(let problems):
            logger.error("job file not deployed", metadata: ["file": "\(path)", "problems": "\(problems.rendered)"])
        case .success(let file):
            do {
                _ = try JobPlanner.plan(file)
                let current = try await registry.definitions()[file.definition.name]
                if let c = current, c.text == file.text, c.desired == .running { return }
                try await registry.write(DeployedJob(name: file.definition.name, version: file.definition.version, file: path,
                                                     text: file.text, desired: .running, generation: (current?.generation ?? 0) + 1,
                                                     deployedBy: config.runnerID))
            } catch {
                logger.error("job file not deployed", metadata: ["file": "\(path)", "error": "\(error)"])
            }
        }
    }
}

/// What the runner knows of one job: the definition it should run, the run in progress.
final class JobSlot: Sendable {
    struct State: Sendable {
        var desired: DeployedJob?
        /// The generation last acted on (run, or stopped).
        var handled: Int64 = -1
        var runner: StreamJobRunner?
        var generation: Int64 = -1
        var startedAt: Double?
        /// What the last run did (a stopped job reports it).
        var lastReport: JobReport?
        var lease: JobLease?
    }

    var leaseHeld: Bool { state.withLock { $0.lease }?.held ?? false }

    /// Stops the run in progress, if any, and waits for it to end (its last checkpoint written).
    func stopAndWait() async {
        guard let r = state.withLock({ $0.runner }) else { return }
        r.stop()
        while state.withLock({ $0.runner }) != nil { try? await Task.sleep(for: .milliseconds(20)) }
    }

    let name: String
    let state = Mutex<State>(State())
    let wake: AsyncStream<Void>.Continuation
    let wakes: AsyncStream<Void>

    init(name: String) {
        self.name = name
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// A new record for the job: a run of an older generation, or of a stopped job, is asked
    /// to stop (its supervisor then starts what the record says).
    func update(_ d: DeployedJob?) {
        let toStop = state.withLock { s -> StreamJobRunner? in
            s.desired = d
            guard let r = s.runner, d == nil || d!.generation != s.generation else { return nil }
            return r
        }
        toStop?.stop()
        wake.yield()
    }

    func started(_ r: StreamJobRunner, generation: Int64) {
        state.withLock {
            $0.runner = r
            $0.generation = generation
            $0.startedAt = Date().timeIntervalSince1970
        }
    }

    func finished(_ report: JobReport) {
        state.withLock {
            $0.runner = nil
            $0.lastReport = report
        }
    }

    func status(_ d: DeployedJob, state st: JobStatus.State, runner: String, error: String? = nil, report: JobReport? = nil,
                eventsPerSecond: Double = 0, partitions: [JobStatus.Partition] = []) -> JobStatus {
        let (started, lastReport) = state.withLock { ($0.startedAt, $0.lastReport) }
        let r = report ?? lastReport ?? .empty
        let now = Date().timeIntervalSince1970
        return JobStatus(name: d.name, version: d.version, generation: d.generation, state: st, error: error, runner: runner,
                         updatedAt: now, startedAt: started, firstOutputAt: r.firstOutputAt, recordsIn: r.recordsIn,
                         recordsOut: r.recordsOut, late: r.late, deadLettered: r.deadLettered, eventsPerSecond: eventsPerSecond,
                         watermark: r.watermark, watermarkDelayMs: r.watermark.map { Int64(now * 1000) - $0 },
                         checkpoints: r.checkpoints, lastCheckpointAt: r.lastCheckpointAt, lastCheckpointBytes: r.lastCheckpointBytes,
                         restoredTasks: r.restoredTasks, partitions: partitions)
    }
}

/// Writes each running job's status about once a second (and every change of state when it
/// happens), with the lag of each source partition.
struct StatusReporter: Sendable {
    let runner: JobsRunner
    let client: KafkaClientConfig
    let producer: KafkaProducer

    func publish(_ s: JobStatus) async {
        guard let bytes = try? JobTopics.encoder.encode(s) else { return }
        do {
            _ = try await producer.send(ProducerRecord(topic: JobTopics.status, key: Array(s.name.utf8), value: Array(bytes)))
        } catch {
            runner.logger.warning("status not written", metadata: ["job": "\(s.name)", "error": "\(error)"])
        }
    }

    func run() async {
        let admin = KafkaAdmin(config: client)
        var last: [String: (count: Int, at: ContinuousClock.Instant)] = [:]
        while !runner.stopping && !Task.isCancelled {
            try? await Task.sleep(for: runner.config.statusInterval)
            let running = runner.slots.withLock { $0.values.compactMap { slot -> (JobSlot, DeployedJob, StreamJobRunner)? in
                slot.state.withLock { s in
                    guard let r = s.runner, let d = s.desired, d.generation == s.generation else { return nil }
                    return (slot, d, r)
                }
            } }
            for (slot, d, r) in running {
                let (report, positions) = r.overall
                var ends: [TopicPartition: Int64] = [:]
                if !positions.isEmpty, let listed = try? await admin.listOffsets(Dictionary(uniqueKeysWithValues: positions.keys.map { ($0, OffsetSpec.latest) })) {
                    ends = listed.mapValues(\.offset)
                }
                let parts = positions.sorted { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }.map {
                    JobStatus.Partition(topic: $0.key.topic, partition: $0.key.partition, position: $0.value, end: ends[$0.key])
                }
                let now = ContinuousClock.now
                var eps = 0.0
                if let l = last[d.name] {
                    let secs = Double((now - l.at).components.attoseconds) / 1e18 + Double((now - l.at).components.seconds)
                    if secs > 0 { eps = Double(report.recordsIn - l.count) / secs }
                }
                last[d.name] = (report.recordsIn, now)
                await publish(slot.status(d, state: .running, runner: runner.config.runnerID, report: report, eventsPerSecond: eps, partitions: parts))
            }
        }
        await admin.close()
    }
}
