import ArgumentParser
import Foundation
import Jobs
import KafkaClient
import Logging
import Streams
import UnixSignals

extension JobCommand {
    /// Runs one job file in this process against any Kafka cluster (the embedded broker of
    /// `riverbank run`, or another): until stopped, or to the end of its input with `--bounded`.
    /// SIGTERM or SIGINT stops it gracefully, with a last checkpoint when it checkpoints.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a job file in the foreground until stopped (Ctrl-C stops it with a last checkpoint).")
        @Argument(help: "The job file.") var file: String
        @Option(help: "Bootstrap servers.") var bootstrap = "127.0.0.1:9092"
        @Option(help: "Where a first run starts reading: earliest or latest (a rerun resumes from its checkpoint).") var from = "earliest"
        @Flag(help: "Stop at the end of what the source topics hold at start (a backfill).") var bounded = false
        @Option(help: "Workers (default: the file's parallelism).") var parallelism: Int?
        @Option(help: "A local copy of the checkpoints, for a fast restart on this machine.") var stateDir: String?
        @Option(help: "Run under another name (its own state and checkpoints).") var name: String?
        @Option(help: "Read a source from another topic: SOURCE=TOPIC (repeatable).") var source: [String] = []
        @Option(help: "Write a sink to another topic: SINK=TOPIC (repeatable).") var sink: [String] = []
        @Option(help: "Write the run's counts as JSON to this file at the end.") var stats: String?
        @Flag(help: "No progress lines.") var quiet = false

        func run() async throws {
            var overrides = JobPlanner.Overrides()
            overrides.name = name
            overrides.sourceTopics = try Self.pairs(source, "--source")
            overrides.sinkTopics = try Self.pairs(sink, "--sink")
            let planned = try JobLoading.plan(path: file, overrides: overrides)
            var config = try StreamJobConfig(bootstrap: bootstrap)
            config.parallelism = parallelism ?? planned.parallelism
            config.bounded = bounded
            config.checkpointInterval = planned.checkpointInterval
            config.delivery = planned.delivery
            config.stateDirectory = stateDir
            switch from {
            case "earliest": config.start = .earliest
            case "latest": config.start = .latest
            default: throw ValidationError("--from is earliest or latest, not '\(from)'")
            }
            let d = planned.definition
            FileHandle.standardError.write(Data("job \(planned.job.identity.name) v\(d.version): \(d.sources.map(\.topic).joined(separator: ", ")) → \(d.sinks.map(\.topic).joined(separator: ", ")), \(config.parallelism) worker(s)\n".utf8))
            let report = try await JobLoading.execute(planned.job, config: config, quiet: quiet)
            try JobLoading.writeStats(report, to: stats, parallelism: config.parallelism, t0: nil)
            print("job \(planned.job.identity.name): \(report.recordsIn) records in, \(report.recordsOut) out, \(report.late) late, \(report.deadLettered) dead-lettered")
        }

        static func pairs(_ items: [String], _ flag: String) throws -> [String: String] {
            var out: [String: String] = [:]
            for i in items {
                let parts = i.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw ValidationError("\(flag) takes NAME=TOPIC, not '\(i)'") }
                out[parts[0]] = parts[1]
            }
            return out
        }
    }
}

/// Loading, planning and running job files, shared by `job run` and `streams bench --job-file`.
enum JobLoading {
    /// The planned job, or every problem printed (as `job validate` prints them) and a failure.
    static func plan(path: String, overrides: JobPlanner.Overrides) throws -> PlannedJob {
        try plan(load(path: path), path: path, overrides: overrides)
    }

    static func load(path: String) throws -> JobFile {
        switch JobFile.load(path: path) {
        case .failure(let problems):
            print(problems.rendered)
            print("\(path): \(problems.count) problem\(problems.count == 1 ? "" : "s")")
            throw ExitCode.failure
        case .success(let file):
            return file
        }
    }

    static func plan(_ file: JobFile, path: String, overrides: JobPlanner.Overrides) throws -> PlannedJob {
        do {
            return try JobPlanner.plan(file, overrides: overrides)
        } catch {
            print(error.rendered)
            print("\(path): \(error.count) problem\(error.count == 1 ? "" : "s")")
            throw ExitCode.failure
        }
    }

    /// Runs a job until its end (bounded), or until SIGTERM/SIGINT stop it gracefully; prints a
    /// progress line a second unless quiet.
    static func execute(_ job: StreamJob, config: StreamJobConfig, quiet: Bool) async throws -> JobReport {
        var logger = Logger(label: "riverbank.jobs")
        logger.logLevel = ProcessInfo.processInfo.environment["RIVERBANK_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let runner = StreamJobRunner(job: job, config: config, logger: logger)
        let started = ContinuousClock.now
        return try await withThrowingTaskGroup(of: JobReport?.self) { group in
            group.addTask { try await runner.execute() }
            group.addTask {
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
                        let secs = (ContinuousClock.now - started).components.seconds
                        FileHandle.standardError.write(Data("[\(secs)s] in \(s.recordsIn) (+\(s.recordsIn - last)/s) out \(s.recordsOut) late \(s.late) dead-lettered \(s.deadLettered)\n".utf8))
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
    }

    /// The counts the benchmarks read (`t0` is when the harness started the process).
    static func writeStats(_ report: JobReport, to path: String?, parallelism: Int, t0: Double?) throws {
        guard let path else { return }
        var out: [String: Any] = ["n_in": report.recordsIn, "n_out": report.recordsOut, "t_end": Date().timeIntervalSince1970,
                                  "late": report.late, "dead_lettered": report.deadLettered, "parallelism": parallelism,
                                  "checkpoints": report.checkpoints, "checkpoint_s": report.checkpointSeconds,
                                  "last_checkpoint_bytes": report.lastCheckpointBytes, "restored_tasks": report.restoredTasks]
        out["t0"] = t0
        out["t_first"] = report.firstRecordAt
        out["t_last_out"] = report.lastOutputAt
        let json = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
        try json.write(to: URL(fileURLWithPath: path))
    }
}
