import ArgumentParser
import Foundation
import Fraud
import Jobs
import KafkaClient
import Streams

extension JobCommand {
    /// Runs a definition over history — from the first record at or after `--from` in each
    /// partition (offsets by timestamp) to the end, or to `--to` — into a separate topic, at full
    /// speed and under its own name, so a new version can be compared with the live one
    /// (`job diff`) before it is deployed.
    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a job file over a past interval into a comparison topic (time travel), then stop.")
        @Argument(help: "The job file.") var file: String
        @Option(help: "Bootstrap servers.") var bootstrap = "127.0.0.1:9092"
        @Option(help: "Start: an instant (2026-03-01T10:00:00Z), or a time before now (-1h, now-90m, '2h ago').") var from: String
        @Option(help: "End (exclusive), same forms; default: the end of what the topics hold now.") var to: String?
        @Option(help: "The topic every sink writes to (one sink), or use --sink for several.") var output: String?
        @Option(help: "Write a sink to a topic: SINK=TOPIC (repeatable).") var sink: [String] = []
        @Option(help: "Workers (default: the file's parallelism).") var parallelism: Int?
        @Option(help: "Write the run's counts as JSON to this file at the end.") var stats: String?
        @Flag(help: "No progress lines.") var quiet = false

        func run() async throws {
            guard let start = TimeArgument.parse(from) else { throw ValidationError("--from '\(from)' is not a time (2026-03-01T10:00:00Z, -1h, now-90m)") }
            var end: Int64? = nil
            if let to {
                guard let e = TimeArgument.parse(to) else { throw ValidationError("--to '\(to)' is not a time") }
                guard e > start else { throw ValidationError("--to must be after --from") }
                end = e
            }
            let file = try JobLoading.load(path: file)
            var o = JobPlanner.Overrides()
            o.sinkTopics = try Run.pairs(sink, "--sink")
            if let output {
                for k in file.definition.sinks where o.sinkTopics[k.name] == nil { o.sinkTopics[k.name] = output }
            }
            let missing = file.definition.sinks.filter { o.sinkTopics[$0.name] == nil }.map(\.name)
            guard missing.isEmpty else {
                throw ValidationError("a replay writes to its own topics: give --output TOPIC, or --sink NAME=TOPIC for \(missing.joined(separator: ", "))")
            }
            let first = o.sinkTopics[file.definition.sinks[0].name]!
            // Its own name (state, checkpoints) and side topics: nothing of the live job is touched.
            o.name = "\(file.definition.name).replay-\(first)"
            o.lateTopic = "\(first).late"
            o.deadLetterTopic = "\(first).dead-letter"
            let planned = try JobLoading.plan(file, path: self.file, overrides: o)
            var config = try StreamJobConfig(bootstrap: bootstrap)
            config.parallelism = parallelism ?? planned.parallelism
            config.bounded = true
            config.start = .timestamp(start)
            config.until = end
            let span = end.map { " to \(JobFormat.time(Double($0) / 1000))" } ?? " to the end"
            FileHandle.standardError.write(Data("replay of \(file.definition.name) v\(file.definition.version) from \(JobFormat.time(Double(start) / 1000))\(span) into \(Set(o.sinkTopics.values).sorted().joined(separator: ", "))\n".utf8))
            let t0 = Date()
            let report = try await JobLoading.execute(planned.job, config: config, quiet: quiet)
            try JobLoading.writeStats(report, to: stats, parallelism: config.parallelism, t0: t0.timeIntervalSince1970)
            let secs = Date().timeIntervalSince(t0)
            print("replay: \(report.recordsIn) records in, \(report.recordsOut) out, \(report.late) late, \(report.deadLettered) dead-lettered in \(String(format: "%.1f", secs)) s")
        }
    }

    /// Compares two output topics (the live job's and a replay's): results added, removed and
    /// changed, a result being identified by its Kafka key and the `--by` fields.
    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Compare two output topics: added, removed and changed results.")
        @Argument(help: "The reference topic (e.g. the live job's output).") var before: String
        @Argument(help: "The topic to compare (e.g. a replay's output).") var after: String
        @Option(help: "Bootstrap servers.") var bootstrap = "127.0.0.1:9092"
        @Option(help: "Value fields that identify a result beside the record key (default: window_start,window_end when present).")
        var by: String?
        @Option(help: "Examples shown per kind of difference.") var examples = 5

        func run() async throws {
            let client = try KafkaClientConfig(bootstrap: bootstrap)
            let fields = by.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
            let a = try await TopicResults.read(before, client: client, by: fields)
            let b = try await TopicResults.read(after, client: client, by: fields)
            let added = b.keys.filter { a[$0] == nil }.sorted()
            let removed = a.keys.filter { b[$0] == nil }.sorted()
            let changed = a.keys.filter { b[$0] != nil && b[$0] != a[$0] }.sorted()
            print("\(before): \(a.count) results; \(after): \(b.count) results")
            print("added \(added.count), removed \(removed.count), changed \(changed.count), same \(a.count - removed.count - changed.count)")
            for (what, keys) in [("added", added), ("removed", removed), ("changed", changed)] where !keys.isEmpty {
                print("\n\(what):")
                for k in keys.prefix(examples) {
                    switch what {
                    case "added": print("  \(k): \(b[k]!)")
                    case "removed": print("  \(k): \(a[k]!)")
                    default: print("  \(k):\n    - \(a[k]!)\n    + \(b[k]!)")
                    }
                }
                if keys.count > examples { print("  … \(keys.count - examples) more") }
            }
            if !(added.isEmpty && removed.isEmpty && changed.isEmpty) { throw ExitCode(2) }
        }
    }
}

/// A topic's results read to its end: identity → the latest value (canonical JSON text), so
/// that a result re-fired as an update, or repeated after a restart, counts once.
enum TopicResults {
    static func read(_ topic: String, client: KafkaClientConfig, by: [String]?) async throws -> [String: String] {
        var out: [String: String] = [:]
        try await TopicScan.readToEnd(topic, client: client) { r in
            let value = r.valueBytes.flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] } ?? [:]
            let idFields = by ?? ["window_start", "window_end"].filter { value[$0] != nil }
            let id = ([r.keyString ?? "∅"] + idFields.map { "\($0)=\(value[$0].map { "\($0)" } ?? "null")" }).joined(separator: " ")
            let text = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "?"
            out[id] = text
        }
        return out
    }
}
