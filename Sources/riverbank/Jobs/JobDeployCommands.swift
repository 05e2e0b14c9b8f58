import ArgumentParser
import Foundation
import Jobs
import KafkaClient

/// Where the deployed jobs live: the cluster that runners watch.
struct RegistryOptions: ParsableArguments {
    @Option(help: "Bootstrap servers of the cluster the runners watch (riverbank run's broker, or any Kafka).")
    var bootstrap = "127.0.0.1:9092"

    func registry() throws -> JobRegistry { JobRegistry(client: try KafkaClientConfig(bootstrap: bootstrap)) }
}

extension JobCommand {
    /// Checks a file, then writes it to the definitions topic as a new generation; every runner
    /// watching the cluster sees it, and the one that runs the job reports its status.
    struct Deploy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deploy a job file to the runners of a cluster (a new version of a running job restarts from its state).")
        @Argument(help: "The job file.") var file: String
        @OptionGroup var registry: RegistryOptions
        @Option(help: "Seconds to wait for a runner to report the job running (0: do not wait).") var wait = 30.0
        @Flag(help: "Also wait for the job's first output record, and say how long after the deploy it came.") var waitOutput = false

        func run() async throws {
            let file = try JobLoading.load(path: file)
            _ = try JobLoading.plan(file, path: self.file, overrides: JobPlanner.Overrides())
            let reg = try registry.registry()
            try await reg.ensureTopics()
            try await JobDeploying.deploy(file, path: self.file, reg, wait: wait, waitOutput: waitOutput, bootstrap: registry.bootstrap)
        }
    }

    /// A new version of a deployed job: the state diff first (operators whose state carries
    /// over, starts empty, or cannot be kept), then the deploy — refused when state cannot be
    /// kept, unless `--from-scratch` (stop, drop the checkpoints, start empty).
    struct Upgrade: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deploy a new version of a running job, keeping the state of operators whose names and state are unchanged.")
        @Argument(help: "The job file (same name as the deployed job).") var file: String
        @OptionGroup var registry: RegistryOptions
        @Flag(help: "Start the new version without the old state when it cannot be kept.") var fromScratch = false
        @Flag(help: "Allow operators to be removed (their state is dropped); the others keep theirs.") var allowDroppedState = false
        @Option(help: "Seconds to wait for a runner to report it running (0: do not wait).") var wait = 30.0

        func run() async throws {
            let file = try JobLoading.load(path: file)
            let planned = try JobLoading.plan(file, path: self.file, overrides: JobPlanner.Overrides())
            let reg = try registry.registry()
            let name = file.definition.name
            guard let current = try await reg.definitions()[name] else {
                print("no job named \(name) is deployed: use riverbank job deploy")
                throw ExitCode.failure
            }
            let old: [(name: String, kind: String)]
            switch JobFile.check(current.text, file: current.file) {
            case .success(let f): old = (try? JobPlanner.plan(f).job.stateLayout) ?? []
            case .failure: old = []
            }
            let new = planned.job.stateLayout
            var diff = StateDiff(old: old, new: new)
            if allowDroppedState { diff.incompatible.removeAll { d in diff.dropped.contains(d) } }
            print("upgrade \(name) v\(current.version) → v\(file.definition.version): state")
            for line in diff.lines { print("  " + line) }
            if diff.compatible {
                try await JobDeploying.deploy(file, path: self.file, reg, wait: wait, waitOutput: false, bootstrap: registry.bootstrap,
                                              allowDroppedState: allowDroppedState)
                return
            }
            guard fromScratch else {
                print("refused: the state of \(diff.incompatible.joined(separator: ", ")) cannot be kept. A changed operator renamed starts empty (the old name's state is then dropped: --allow-dropped-state); --from-scratch starts every operator empty.")
                throw ExitCode.failure
            }
            var stop = current
            stop.desired = .stopped
            stop.generation += 1
            stop.deployedAt = Date().timeIntervalSince1970
            try await reg.write(stop)
            print("stopping v\(current.version) (generation \(stop.generation))")
            if current.desired == .running {
                guard try await JobWaiting.until(reg, name: name, timeout: 60, { $0.generation == stop.generation && $0.state == .stopped }) != nil else {
                    print("no runner reported it stopped within 60 s; nothing else changed")
                    throw ExitCode.failure
                }
            }
            // Every stage's checkpoints, and the repartition topics between them (what is in
            // them belongs to the state being dropped).
            let admin = KafkaAdmin(config: reg.client)
            let stages = planned.job.allStages
            let topics = stages.map { "\($0.identity.name).checkpoints" } + stages.flatMap(\.repartitionTopics).sorted()
            let errors = try await admin.deleteTopics(topics)
            await admin.close()
            for t in topics {
                if let e = errors[t], "\(e)".lowercased().contains("unknown") == false {
                    print("could not drop \(t): \(e)")
                    throw ExitCode.failure
                }
            }
            print("dropped the checkpoints (\(topics.joined(separator: ", ")))")
            try await JobDeploying.deploy(file, path: self.file, reg, wait: wait, waitOutput: false, bootstrap: registry.bootstrap)
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a deployed job after a last checkpoint (deploy it again to resume from that state).")
        @Argument(help: "The job's name.") var name: String
        @OptionGroup var registry: RegistryOptions
        @Option(help: "Seconds to wait for the runner to report it stopped (0: do not wait).") var wait = 60.0

        func run() async throws {
            let reg = try registry.registry()
            guard var d = try await reg.definitions()[name] else {
                print("no job named \(name) is deployed")
                throw ExitCode.failure
            }
            d.desired = .stopped
            d.generation += 1
            d.deployedAt = Date().timeIntervalSince1970
            try await reg.write(d)
            print("stopping job \(name) (generation \(d.generation))")
            guard wait > 0 else { return }
            let s = try await JobWaiting.until(reg, name: name, timeout: wait) { $0.generation == d.generation && $0.state == .stopped }
            guard let s else {
                print("no runner reported it stopped within \(Int(wait)) s")
                throw ExitCode.failure
            }
            let ckpt = s.lastCheckpointAt.map { " — last checkpoint \(JobFormat.ago($0)) (\(JobFormat.bytes(s.lastCheckpointBytes))); deploy again to resume from it" } ?? ""
            print("stopped after \(s.recordsIn) records in, \(s.recordsOut) out\(ckpt)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The deployed jobs and what their runners report.")
        @OptionGroup var registry: RegistryOptions

        func run() async throws {
            let reg = try registry.registry()
            let defs = try await reg.definitions()
            let statuses = try await reg.statuses()
            guard !defs.isEmpty else {
                print("no jobs deployed")
                return
            }
            let rows: [[String]] = defs.keys.sorted().map { name in
                let d = defs[name]!
                let s = statuses[name]
                let current = s.map { $0.generation == d.generation } ?? false
                return [name, d.version, "\(d.generation)", d.desired.rawValue, current ? s!.state.rawValue : "pending",
                        current ? String(Int(s!.eventsPerSecond)) : "-", current ? String(s!.lag) : "-",
                        current ? (s!.watermarkDelayMs.map(JobFormat.duration) ?? "-") : "-",
                        current ? (s!.lastCheckpointAt.map(JobFormat.ago) ?? "-") : "-", s?.runner ?? "-"]
            }
            JobFormat.table(["JOB", "VERSION", "GEN", "DESIRED", "STATE", "EVENTS/S", "LAG", "WATERMARK DELAY", "LAST CHECKPOINT", "RUNNER"], rows)
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One job's status: per partition lag, events/s, watermark, checkpoints, late and dead-lettered counts.")
        @Argument(help: "The job's name.") var name: String
        @OptionGroup var registry: RegistryOptions
        @Flag(help: "The status record as JSON.") var json = false

        func run() async throws {
            let reg = try registry.registry()
            guard let d = try await reg.definitions()[name] else {
                print("no job named \(name) is deployed")
                throw ExitCode.failure
            }
            guard let s = try await reg.statuses()[name] else {
                print("job \(name) v\(d.version) (generation \(d.generation), \(d.desired.rawValue)): no runner has reported it yet")
                return
            }
            if json {
                print(String(decoding: try JSONEncoder().encode(s), as: UTF8.self))
                return
            }
            let stale = s.generation != d.generation ? " (reported for generation \(s.generation); generation \(d.generation) is pending)" : ""
            print("job \(name) v\(s.version) generation \(s.generation): \(s.state.rawValue) on runner \(s.runner)\(stale), reported \(JobFormat.ago(s.updatedAt))")
            if let e = s.error { print("error:\n\(e)") }
            if let t = s.startedAt { print("started         \(JobFormat.ago(t))") }
            print("records         \(s.recordsIn) in, \(s.recordsOut) out, \(Int(s.eventsPerSecond)) events/s")
            print("late            \(s.late)")
            print("dead-lettered   \(s.deadLettered)")
            if let w = s.watermark {
                print("watermark       \(JobFormat.time(Double(w) / 1000)) (\(s.watermarkDelayMs.map(JobFormat.duration) ?? "-") behind the wall clock)")
            } else {
                print("watermark       none yet")
            }
            print("checkpoints     \(s.checkpoints)\(s.lastCheckpointAt.map { ", last \(JobFormat.ago($0)), \(JobFormat.bytes(s.lastCheckpointBytes))" } ?? "")\(s.restoredTasks > 0 ? "; \(s.restoredTasks) task(s) restored from one" : "")")
            if !s.partitions.isEmpty {
                print("")
                JobFormat.table(["TOPIC", "PARTITION", "POSITION", "END", "LAG"], s.partitions.map {
                    [$0.topic, "\($0.partition)", "\($0.position)", $0.end.map(String.init) ?? "-", $0.lag.map(String.init) ?? "-"]
                })
            }
        }
    }
}

/// How the state of a job's operators carries from one version to the next (by operator name
/// and state kind, as the runtime restores it).
struct StateDiff {
    var lines: [String] = []
    var incompatible: [String] = []
    var dropped: [String] = []
    var compatible: Bool { incompatible.isEmpty }

    init(old: [(name: String, kind: String)], new: [(name: String, kind: String)]) {
        let before = Dictionary(old.map { ($0.name, $0.kind) }, uniquingKeysWith: { a, _ in a })
        let after = Set(new.map(\.name))
        for op in new {
            switch before[op.name] {
            case op.kind?: lines.append("keep      \(op.name): \(op.kind)")
            case let k?:
                lines.append("CHANGED   \(op.name): \(k)\n            → \(op.kind)")
                incompatible.append(op.name)
            case nil: lines.append("new       \(op.name): starts empty")
            }
        }
        for op in old where !after.contains(op.name) {
            lines.append("DROPPED   \(op.name): \(op.kind)")
            incompatible.append(op.name)
            dropped.append(op.name)
        }
        if lines.isEmpty { lines.append("no operator keeps state") }
    }
}

enum JobDeploying {
    /// Writes the file as the job's next generation and waits for a runner to report on it.
    static func deploy(_ file: JobFile, path: String, _ reg: JobRegistry, wait: Double, waitOutput: Bool, bootstrap: String,
                       allowDroppedState: Bool = false) async throws {
        let name = file.definition.name
        let current = try await reg.definitions()[name]
        let generation = (current?.generation ?? 0) + 1
        var deployed = DeployedJob(name: name, version: file.definition.version, file: path, text: file.text,
                                   desired: .running, generation: generation, deployedBy: ProcessInfo.processInfo.hostName)
        if allowDroppedState { deployed.allowDroppedState = true }
        try await reg.write(deployed)
        print("deployed job \(name) v\(deployed.version) (generation \(generation))")
        guard wait > 0 else { return }
        let s = try await JobWaiting.until(reg, name: name, timeout: wait) { s in
            s.generation == generation && (s.state == .failed || s.state == .stopped || (s.state == .running && (!waitOutput || s.firstOutputAt != nil)))
        }
        switch s?.state {
        case .running?:
            let started = s!.startedAt.map { String(format: " %.2f s after the deploy", $0 - deployed.deployedAt) } ?? ""
            print("running on runner \(s!.runner)\(started)\(s!.restoredTasks > 0 ? ", \(s!.restoredTasks) task(s) restored from the last checkpoint" : "")")
            if waitOutput, let f = s!.firstOutputAt {
                print(String(format: "first output %.3f s after the deploy", f - deployed.deployedAt))
            }
        case .failed?:
            print("the runner could not run it:\n\(s!.error ?? "unknown error")")
            throw ExitCode.failure
        case .stopped?:
            print("it stopped at once (a newer deploy or a stop came first)")
        default:
            print("no runner reported it within \(Int(wait)) s: is a runner (riverbank run, or riverbank runner --bootstrap \(bootstrap)) watching this cluster?")
            throw ExitCode.failure
        }
    }
}

enum JobWaiting {
    /// Polls the status topic until `done` holds for the job's status, or the timeout passes.
    static func until(_ reg: JobRegistry, name: String, timeout: Double, _ done: (JobStatus) -> Bool) async throws -> JobStatus? {
        let deadline = Date().addingTimeInterval(timeout)
        var last: JobStatus? = nil
        while Date() < deadline {
            if let s = try await reg.statuses()[name] {
                last = s
                if done(s) { return s }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return last.flatMap { done($0) ? $0 : nil }
    }
}

enum JobFormat {
    static func table(_ header: [String], _ rows: [[String]]) {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        for r in all {
            print(r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }

    static func ago(_ t: Double) -> String {
        let d = Date().timeIntervalSince1970 - t
        return d < 0 ? "just now" : "\(duration(Int64(d * 1000))) ago"
    }

    static func duration(_ ms: Int64) -> String {
        if ms < 1000 { return "\(ms) ms" }
        if ms < 120_000 { return String(format: "%.1f s", Double(ms) / 1000) }
        if ms < 7_200_000 { return "\(ms / 60_000) min" }
        if ms < 172_800_000 { return "\(ms / 3_600_000) h" }
        return "\(ms / 86_400_000) d"
    }

    static func bytes(_ n: Int) -> String {
        if n < 1 << 10 { return "\(n) B" }
        if n < 1 << 20 { return String(format: "%.1f KiB", Double(n) / 1024) }
        if n < 1 << 30 { return String(format: "%.1f MiB", Double(n) / 1048576) }
        return String(format: "%.2f GiB", Double(n) / 1073741824)
    }

    static func time(_ t: Double) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date(timeIntervalSince1970: t))
    }
}
