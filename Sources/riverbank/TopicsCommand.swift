import ArgumentParser
import Definitions
import KafkaClient

struct TopicsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Work with topic definition files.",
        subcommands: [Validate.self, Apply.self]
    )

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check every definition in a topics folder.")
        @Argument(help: "Folder of topic definitions.") var directory = "topics"
        func run() throws {
            do {
                let defs = try TopicDefinition.load(directory: directory)
                for d in defs {
                    print("\(d.name): \(d.partitions) partitions, \(d.configs.count) configs (\(d.source))")
                }
            } catch {
                print("invalid: \(error)")
                throw ExitCode.failure
            }
        }
    }

    /// Applies topic definitions to a running cluster (Riverbank or any Kafka): creates missing
    /// topics, raises partition counts, sets configs that differ. Never deletes or lowers.
    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or update a cluster's topics from a topics folder (any Kafka broker).",
            discussion: """
            Missing topics are created; a topic with fewer partitions than its definition gets more; \
            configs named in a definition are set where the cluster's value differs (others are left \
            alone). Nothing is deleted and partition counts are never lowered (Kafka cannot): such a \
            difference is reported and the command exits non-zero. --dry-run prints the plan only.
            """
        )
        @Argument(help: "Folder of topic definitions.") var directory = "topics"
        @Option(help: "Broker(s) to bootstrap from, host:port[,host:port…].") var bootstrap: String
        @Flag(help: "Print what would change without changing it.") var dryRun = false
        @Option(help: "Replication factor of created topics (-1: the cluster's default).") var replicationFactor: Int16 = -1
        @OptionGroup(title: "Security") var security: ClientSecurityOptions

        func run() async throws {
            let defs: [TopicDefinition]
            do { defs = try TopicDefinition.load(directory: directory) } catch { fail("\(error)") }
            var config: KafkaClientConfig
            do { config = try KafkaClientConfig(bootstrap: bootstrap) } catch { fail("\(error)") }
            security.apply(to: &config)
            let admin = KafkaAdmin(config: config)
            var problems = 0
            do {
                let existing = Dictionary(try await admin.listTopics().map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
                let prefix = dryRun ? "would " : ""
                for d in defs {
                    guard let current = existing[d.name] else {
                        let configs = d.configs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
                        print("\(d.name): \(prefix)create with \(d.partitions) partitions\(configs.isEmpty ? "" : " (\(configs))")")
                        if !dryRun {
                            let errors = try await admin.createTopics([NewTopic(name: d.name, partitions: d.partitions,
                                                                                replicationFactor: replicationFactor, configs: d.configs)])
                            if let e = errors[d.name] { print("\(d.name): FAILED: \(e)"); problems += 1 }
                        }
                        continue
                    }
                    var changed = false
                    if Int(d.partitions) > current.partitionCount {
                        print("\(d.name): \(prefix)raise partitions \(current.partitionCount) → \(d.partitions)")
                        changed = true
                        if !dryRun, let e = try await admin.createPartitions([d.name: d.partitions])[d.name] {
                            print("\(d.name): FAILED: \(e)"); problems += 1
                        }
                    } else if Int(d.partitions) < current.partitionCount {
                        print("\(d.name): has \(current.partitionCount) partitions, the definition says \(d.partitions): partitions cannot be removed")
                        problems += 1
                    }
                    if !d.configs.isEmpty {
                        let now = try await admin.describeConfigs(.topic(d.name), keys: Array(d.configs.keys))
                        let values = Dictionary(now.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
                        var set = [String: KafkaAdmin.ConfigChange]()
                        for (k, v) in d.configs.sorted(by: { $0.key < $1.key }) where values[k] ?? nil != v {
                            print("\(d.name): \(prefix)set \(k)=\(v) (now \(values[k].flatMap { $0 } ?? "unset"))")
                            set[k] = .set(v)
                        }
                        if !set.isEmpty {
                            changed = true
                            if !dryRun {
                                do { try await admin.incrementalAlterConfigs(.topic(d.name), set) } catch {
                                    print("\(d.name): FAILED: \(error)"); problems += 1
                                }
                            }
                        }
                    }
                    if !changed { print("\(d.name): up to date") }
                }
            } catch {
                await admin.close()
                fail("\(error)")
            }
            await admin.close()
            if problems > 0 { fail("\(problems) problem(s) applying \(directory)") }
        }
    }
}
