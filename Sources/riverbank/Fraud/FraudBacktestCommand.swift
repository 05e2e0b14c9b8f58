import ArgumentParser
import Foundation
import Fraud
import Jobs
import KafkaClient
import Streams

/// `riverbank fraud backtest`: a ruleset measured on history before it goes live. The fraud job
/// is replayed over the transactions (job replay: its own name, state and topics) with the live
/// champion deciding and the file's ruleset as the challenger beside it, so both are scored on
/// the same transactions with the same history; then the evaluation of both, as `fraud evaluate`.
struct FraudBacktestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Replay history through a ruleset and report it beside the live ruleset's decisions.",
        discussion: """
        The job file (default jobs/fraud-scoring.yaml) runs over the transactions from --from \
        (record time; default: the topic's beginning) to --to (default: what the topic holds now), \
        bounded, under its own name, into topics fraud-backtest-ID.* (deleted afterwards unless \
        --keep). Its rulesets table reads a topic of its own holding the live champion (the latest \
        champion on --rules-topic, or the job file's defaults) and the file's ruleset as challenger. \
        Customer history starts empty where the replay starts: --warm-up 7d replays a week before \
        --from first and evaluates only the transactions from --from on. Versioned tables (merchant \
        risk) are read as of each transaction's time, so what was known then is what is used.
        """)

    @Argument(help: "Ruleset file (JSON or YAML) to test.") var file: String
    @Option(help: "The fraud job file.") var job = "jobs/fraud-scoring.yaml"
    @Option(help: "Start: an instant (2026-03-01T10:00:00Z), or a time before now (-1h, now-90m); default: the beginning.") var from: String?
    @Option(help: "End (exclusive), same forms; default: the end of what the topics hold now.") var to: String?
    @Option(help: "Replay this long before --from (e.g. 7d) to build the customers' history first; only transactions from --from on are evaluated.")
    var warmUp: String?
    @Option(help: "Rulesets topic the live champion is read from.") var rulesTopic = FraudTopics.rules
    @Option(help: "Workers (default: the job file's parallelism).") var parallelism: Int?
    @Option(help: "Write the reports as JSON to this file.") var json: String?
    @Flag(help: "Keep the backtest's topics (its scores and alerts) for a look with other tools.") var keep = false
    @Flag(help: "No progress lines.") var quiet = false
    @OptionGroup var topics: FraudTopicOptions

    func run() async throws {
        let ruleset = try FraudRulesetCommand.load(file)
        var start = StreamJobConfig.Start.earliest
        var since: Int64? = nil
        if let from {
            guard let t = TimeArgument.parse(from) else { throw ValidationError("--from '\(from)' is not a time (2026-03-01T10:00:00Z, -1h, now-90m)") }
            start = .timestamp(t)
            if let warmUp {
                guard let w = DurationText.parse(warmUp), w > .zero else { throw ValidationError("--warm-up '\(warmUp)' is not a duration (12h, 7d)") }
                start = .timestamp(t - w.millis)
                since = t
            }
        } else if warmUp != nil {
            throw ValidationError("--warm-up goes with --from (from the beginning there is nothing before)")
        }
        var end: Int64? = nil
        if let to {
            guard let e = TimeArgument.parse(to) else { throw ValidationError("--to '\(to)' is not a time") }
            if case .timestamp(let s) = start, e <= s { throw ValidationError("--to must be after --from") }
            end = e
        }
        let jobFile = try JobLoading.load(path: job)
        let def = jobFile.definition
        guard let rulesTable = def.tables.first(where: { $0.topic == rulesTopic }) else {
            throw ValidationError("\(job): no table reads \(rulesTopic): it takes no rulesets to test")
        }
        let client = try topics.client()
        // The live champion, as the running job has it: the latest record keyed champion.
        var champion: [UInt8]? = nil
        do {
            champion = try await FraudRulesetCommand.inForce(rulesTopic, client: client)[.champion]
        } catch let e as KafkaError where e.kind == .unknownTopic {
            champion = nil
        } catch {
            throw ValidationError("reading \(rulesTopic) from \(topics.bootstrap): \(error)")
        }

        let id = "fraud-backtest-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        let rules = "\(id).rules"
        let admin = KafkaAdmin(config: client)
        let made = try await admin.createTopics([NewTopic(name: rules, partitions: 1, configs: ["cleanup.policy": "compact"])])
        if let (_, e) = made.first { await admin.close(); throw ValidationError("creating \(rules): \(e)") }
        var created = [rules]
        func cleanUp() async {
            if !keep { _ = try? await admin.deleteTopics(created) }
            await admin.close()
        }
        do {
            var pc = KafkaProducerConfig(bootstrapServers: client.bootstrapServers)
            pc.client = client
            pc.acks = .all
            let producer = try KafkaProducer(config: pc)
            do {
                if let champion {
                    _ = try await producer.send(ProducerRecord(topic: rules, key: Array("champion".utf8), value: champion))
                }
                _ = try await producer.send(ProducerRecord(topic: rules, key: Array("challenger".utf8), value: ruleset.jsonBytes))
            } catch {
                await producer.close()
                throw error
            }
            await producer.close()

            var o = JobPlanner.Overrides()
            o.name = id
            o.tableTopics[rulesTable.name] = rules
            for k in def.sinks { o.sinkTopics[k.name] = "\(id).\(k.name)" }
            o.lateTopic = "\(id).late"
            o.deadLetterTopic = "\(id).dead-letter"
            created += Set(o.sinkTopics.values).sorted() + [o.lateTopic!, o.deadLetterTopic!]
            guard let scoresSink = def.sinks.first(where: { $0.topic == FraudTopics.scores }) else {
                throw ValidationError("\(job): no sink writes \(FraudTopics.scores), which the evaluation reads")
            }
            let planned = try JobLoading.plan(jobFile, path: job, overrides: o)
            var config = try StreamJobConfig(bootstrap: topics.bootstrap)
            config.client = client
            config.parallelism = parallelism ?? planned.parallelism
            config.bounded = true
            config.start = start
            config.until = end
            FileHandle.standardError.write(Data(("backtest of ruleset \(ruleset.version) against the champion \(champion == nil ? "(the job file's defaults)" : String(decoding: champion!, as: UTF8.self))"
                + " over \(def.name) from \(from ?? "the beginning")\(warmUp.map { " (after a warm-up of \($0))" } ?? "") to \(to ?? "the end") (\(id))\n").utf8))
            let t0 = Date()
            let report = try await JobLoading.execute(planned.job, config: config, quiet: quiet)
            FileHandle.standardError.write(Data("replayed \(report.recordsIn) records (\(report.deadLettered) dead-lettered) in \(String(format: "%.1f", Date().timeIntervalSince(t0))) s\n".utf8))
            try await FraudEvaluateCommand.evaluate(client: client, bootstrap: topics.bootstrap, scoresTopic: o.sinkTopics[scoresSink.name]!,
                                                    labelsTopic: topics.labelsTopic, threshold: nil, json: json, since: since)
            if keep { FileHandle.standardError.write(Data("kept: \(created.joined(separator: ", "))\n".utf8)) }
        } catch {
            await cleanUp()
            throw error
        }
        await cleanUp()
    }
}
