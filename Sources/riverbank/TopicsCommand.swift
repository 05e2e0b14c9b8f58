import ArgumentParser
import Broker

struct TopicsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Work with topic definition files.",
        subcommands: [Validate.self]
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
}
