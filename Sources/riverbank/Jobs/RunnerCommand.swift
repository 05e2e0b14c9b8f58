import ArgumentParser
import Foundation
import Jobs
import ServiceLifecycle

/// `riverbank runner --bootstrap HOST:PORT`: runs the jobs deployed to any Kafka cluster (as
/// `riverbank run` does next to its own broker), until SIGTERM or SIGINT, which stop every job
/// with a last checkpoint.
struct RunnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runner",
        abstract: "Run the jobs deployed to a Kafka cluster (riverbank job deploy), until stopped.")
    @Option(help: "Bootstrap servers.") var bootstrap = "127.0.0.1:9092"
    @Option(help: "Local copies of the jobs' checkpoints (one folder per job), for fast restarts on this machine.") var stateDir: String?
    @Option(help: "This runner's name in status reports (default host-pid).") var id: String?
    @Option(help: "Deploy these job files when starting (unless the same text already runs); repeatable.") var job: [String] = []
    @Option(help: "Log level.") var logLevel = "info"

    func run() async throws {
        let host = ProcessHost(logLevel: logLevel)
        let bootstrap = self.bootstrap
        var config = JobsRunner.Config(bootstrap: { bootstrap }, stateRoot: stateDir)
        if let id { config.runnerID = id }
        config.deployAtStart = job
        let runner = JobsRunner(config: config, logger: host.logger(label: "riverbank.jobs"))
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [runner], gracefulShutdownSignals: [.sigterm, .sigint],
                                                                          logger: host.logger(label: "riverbank")))
        try await group.run()
    }
}
