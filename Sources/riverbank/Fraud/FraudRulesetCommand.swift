import ArgumentParser
import Foundation
import Fraud
import KafkaClient
import NIOCore

/// `riverbank fraud ruleset …`: change the fraud job's weights and thresholds while it runs.
struct FraudRulesetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ruleset",
        abstract: "Check, publish, show and retire the fraud job's rulesets (topic fraud-rules).",
        discussion: """
        A ruleset file (JSON or YAML) holds a version and any of the parameters below; the job \
        file's defaults stand for the rest. The champion decides the alerts; a challenger is \
        scored beside it on the same transactions and writes fraud-alerts-shadow.

        \(FraudRuleset.parameters.map { "  \($0.name) (\(Self.range($0.kind)), default \($0.defaultValue)): \($0.doc)" }.joined(separator: "\n"))
        """,
        subcommands: [Check.self, Publish.self, Show.self, Retire.self])

    static func range(_ k: FraudRuleset.Kind) -> String {
        switch k {
        case .double(let r): "\(r.lowerBound)…\(r.upperBound)"
        case .integer(let r): "whole, \(r.lowerBound)…\(r.upperBound)"
        }
    }

    static func load(_ file: String) throws -> FraudRuleset {
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw ValidationError("\(file): cannot read it as UTF-8 text")
        }
        do { return try FraudRuleset(text: text) } catch {
            throw ValidationError("\(file): not a valid ruleset:\n" + error.problems.map { "  \($0)" }.joined(separator: "\n"))
        }
    }

    struct RulesTopic: ParsableArguments {
        @Option(help: "Bootstrap servers (HOST:PORT[,…]) of any Kafka cluster.") var bootstrap = "127.0.0.1:9092"
        @Option(help: "Rulesets topic (compacted).") var rulesTopic = FraudTopics.rules
        @OptionGroup var security: ClientSecurityOptions

        func client() throws -> KafkaClientConfig { try security.client(bootstrap: bootstrap) }

        /// One record, acknowledged by every in-sync replica before this returns.
        func send(key: String, value: [UInt8]?) async throws -> RecordMetadata {
            let client = try client()
            var pc = KafkaProducerConfig(bootstrapServers: client.bootstrapServers)
            pc.client = client
            pc.acks = .all
            let producer = try KafkaProducer(config: pc)
            do {
                let m = try await producer.send(ProducerRecord(topic: rulesTopic, key: Array(key.utf8), value: value))
                await producer.close()
                return m
            } catch {
                await producer.close()
                throw ValidationError("writing to \(rulesTopic) on \(bootstrap): \(error)")
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate ruleset files; print what each sets.")
        @Argument(help: "Ruleset files (JSON or YAML).") var files: [String]

        func run() async throws {
            for f in files {
                let r = try FraudRulesetCommand.load(f)
                print("\(f): ruleset \(r.version), \(r.values.count) of \(FraudRuleset.parameters.count) parameters set: \(String(decoding: r.jsonBytes, as: UTF8.self))")
            }
        }
    }

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a ruleset file and make it the champion (or the challenger) of every running fraud job.")
        @Argument(help: "Ruleset file (JSON or YAML).") var file: String
        @Option(help: "champion (decides alerts) or challenger (shadow).") var slot: String = "champion"
        @OptionGroup var topic: RulesTopic

        func run() async throws {
            guard let s = FraudRuleset.Slot(rawValue: slot) else { throw ValidationError("--slot: champion or challenger, not \(slot)") }
            let r = try FraudRulesetCommand.load(file)
            let m = try await topic.send(key: s.rawValue, value: r.jsonBytes)
            print("ruleset \(r.version) is the \(s.rawValue) (\(topic.rulesTopic) partition \(m.partition) offset \(m.offset))")
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End the shadow run (challenger), or return the champion to the job file's defaults.")
        @Option(help: "challenger or champion.") var slot: String = "challenger"
        @OptionGroup var topic: RulesTopic

        func run() async throws {
            guard let s = FraudRuleset.Slot(rawValue: slot) else { throw ValidationError("--slot: champion or challenger, not \(slot)") }
            let m = try await topic.send(key: s.rawValue, value: nil)
            print("\(s.rawValue) retired (tombstone at \(topic.rulesTopic) partition \(m.partition) offset \(m.offset))")
        }
    }

    /// The rulesets in force on `topic`: the latest record of each slot, a tombstone ending it.
    static func inForce(_ topic: String, client: KafkaClientConfig) async throws -> [FraudRuleset.Slot: [UInt8]] {
        var latest: [FraudRuleset.Slot: [UInt8]] = [:]
        try await TopicScan.readToEnd(topic, client: client) { r in
            guard let k = r.keyBytes, let slot = FraudRuleset.Slot(rawValue: String(decoding: k, as: UTF8.self)) else { return }
            latest[slot] = r.valueBytes.map { Array($0) }
        }
        return latest
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the rulesets in force (the latest record of each slot).")
        @OptionGroup var topic: RulesTopic

        func run() async throws {
            let latest: [FraudRuleset.Slot: [UInt8]]
            do {
                latest = try await FraudRulesetCommand.inForce(topic.rulesTopic, client: try topic.client())
            } catch {
                throw ValidationError("reading \(topic.rulesTopic) from \(topic.bootstrap): \(error)")
            }
            for s in FraudRuleset.Slot.allCases {
                if let v = latest[s] {
                    print("\(s.rawValue): \(String(decoding: v, as: UTF8.self))")
                } else {
                    print("\(s.rawValue): none\(s == .champion ? " (the job file's defaults)" : "")")
                }
            }
        }
    }
}
