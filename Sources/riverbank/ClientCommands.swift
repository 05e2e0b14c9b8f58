import ArgumentParser

/// Commands built on KafkaClient (produce, consume, …), registered here as they land.
enum ClientCommands {
    static let all: [any ParsableCommand.Type] = [ProduceCommand.self, ConsumeCommand.self, PerfCommand.self, GenerateCommand.self, TransactionsCommand.self]
}
