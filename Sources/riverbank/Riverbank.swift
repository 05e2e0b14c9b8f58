import ArgumentParser

@main
struct Riverbank: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "riverbank",
        abstract: "A Kafka-compatible broker and stream processor for fraud detection.",
        subcommands: [RunCommand.self, BrokerCommand.self, TopicsCommand.self, StreamsCommand.self, JobCommand.self, RunnerCommand.self, FraudCommand.self] + ClientCommands.all
    )
}
