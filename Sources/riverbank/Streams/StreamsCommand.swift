import ArgumentParser
import Foundation
import Jobs
import KafkaClient
import KafkaProtocol
import Logging
import UnixSignals
import Streams

struct StreamsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams",
        abstract: "Stream-engine tools.",
        subcommands: [StreamsBenchCommand.self]
    )
}

/// Runs one of the benchmark jobs (A, B, C) as a bounded job: from the start of the input
/// topic to the end it had when the job started; the end of input closes every window.
struct StreamsBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run benchmark job A (tumbling), B (hopping), C (OVER) or R (recovery: large keyed state) over a topic and report events/s.",
        discussion: "Writes a JSON stats file (--stats, or $PEERS_STATS) with the keys the peers' harness uses: t0, t_first, t_last_out, n_in, n_out, t_end."
    )

    @Argument(help: "A, B, C or R (also S: source only, AX: A without output).") var job: String
    @Option(help: "Bootstrap servers.") var bootstrap = "127.0.0.1:9092"
    @Option(help: "Input topic.") var topic = "tx"
    @Option(help: "Output topic.") var output: String
    @Option(help: "Workers.") var parallelism = 1
    @Option(help: "Stats JSON file.") var stats: String?
    @Option(help: "Checkpoint every this many milliseconds (0: none). A rerun resumes from the last checkpoint.") var checkpointIntervalMs = 0
    @Option(help: "Local copy of the checkpoints (fast restart on this machine).") var stateDir: String?
    @Option(help: "Compression of the results: none, gzip, snappy, lz4, zstd.") var compression = "lz4"
    @Flag(help: "No progress lines.") var quiet = false
    @Option(help: "Run this job file instead of the Swift-API job (its sources read --topic, its sinks write --output).") var jobFile: String?
    @Flag(help: "Keep running at the end of the input (until SIGTERM or SIGINT, which stop it with a last checkpoint).") var unbounded = false
    @Option(help: "at-least-once, or exactly-once (output committed with each checkpoint; read it with isolation.level=read_committed).")
    var delivery = "at-least-once"

    func run() async throws {
        let t0 = ProcessInfo.processInfo.environment["PEERS_T0"].flatMap(Double.init) ?? Date().timeIntervalSince1970
        let job: StreamJob
        if let jobFile {
            let file = try JobLoading.load(path: jobFile)
            var o = JobPlanner.Overrides()
            o.name = "bench-file-\(self.job.lowercased())-\(output)"
            for s in file.definition.sources { o.sourceTopics[s.name] = topic }
            for s in file.definition.sinks { o.sinkTopics[s.name] = output }
            job = try JobLoading.plan(file, path: jobFile, overrides: o).job
        } else {
            guard let j = BenchJobs.make(self.job.uppercased(), input: topic, output: output) else {
                throw ValidationError("unknown job '\(self.job)': A, B, C or R")
            }
            job = j
        }
        var config = try StreamJobConfig(bootstrap: bootstrap)
        config.parallelism = parallelism
        config.bounded = !unbounded
        if checkpointIntervalMs > 0 { config.checkpointInterval = .milliseconds(checkpointIntervalMs) }
        config.stateDirectory = stateDir
        guard let d = StreamJobConfig.Delivery(rawValue: delivery) else { throw ValidationError("--delivery is at-least-once or exactly-once") }
        config.delivery = d
        guard let codec = CompressionCodec.allCases.first(where: { "\($0)" == compression }) else {
            throw ValidationError("unknown compression '\(compression)'")
        }
        config.compression = codec
        var logger = Logger(label: "riverbank.streams")
        logger.logLevel = ProcessInfo.processInfo.environment["RIVERBANK_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let runner = StreamJobRunner(job: job, config: config, logger: logger)
        let started = ContinuousClock.now
        let report: JobReport = try await withThrowingTaskGroup(of: JobReport?.self) { group in
            group.addTask { try await runner.execute() }
            group.addTask {
                // A graceful stop: the runner writes a last checkpoint and returns its report.
                for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                    runner.stop()
                    break
                }
                return nil
            }
            if !quiet {
                group.addTask {
                    var last = 0
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        let s = runner.progress.snapshot
                        let secs = Double((ContinuousClock.now - started).components.seconds)
                        FileHandle.standardError.write(Data("[\(Int(secs))s] in \(s.recordsIn) (+\(s.recordsIn - last)/s) out \(s.recordsOut) late \(s.late) dead-lettered \(s.deadLettered)\n".utf8))
                        last = s.recordsIn
                    }
                    return nil
                }
            }
            var result: JobReport? = nil
            for try await r in group {
                if let r {
                    result = r
                    group.cancelAll()
                }
            }
            return result!
        }
        let tEnd = Date().timeIntervalSince1970
        var out: [String: Any] = ["t0": t0, "n_in": report.recordsIn, "n_out": report.recordsOut, "t_end": tEnd,
                                  "late": report.late, "dead_lettered": report.deadLettered, "parallelism": parallelism,
                                  "checkpoints": report.checkpoints, "checkpoint_s": report.checkpointSeconds,
                                  "last_checkpoint_bytes": report.lastCheckpointBytes, "restored_tasks": report.restoredTasks]
        out["t_first"] = report.firstRecordAt
        out["t_last_out"] = report.lastOutputAt
        let json = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
        if let path = stats ?? ProcessInfo.processInfo.environment["PEERS_STATS"] {
            try json.write(to: URL(fileURLWithPath: path))
        }
        if let f = report.firstRecordAt, let l = report.lastOutputAt, l > f {
            let eps = Double(report.recordsIn) / (l - f)
            print("job \(self.job.uppercased()): \(report.recordsIn) records in, \(report.recordsOut) out, \(Int(eps)) events/s, start-up \(String(format: "%.3f", f - t0)) s")
        } else {
            print("job \(self.job.uppercased()): \(report.recordsIn) records in, \(report.recordsOut) out")
        }
    }
}
