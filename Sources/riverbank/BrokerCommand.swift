import ArgumentParser
import Broker

struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run the Kafka-compatible broker alone.",
        discussion: """
        Settings come from flags, then RIVERBANK_* environment variables (RIVERBANK_DATA_DIR, RIVERBANK_LISTEN, \
        RIVERBANK_ADVERTISED, RIVERBANK_METRICS_LISTEN, RIVERBANK_TOPICS_DIR, …), then the --config YAML file. \
        `riverbank run` hosts the same broker together with the rest of Riverbank.
        """
    )

    @OptionGroup var options: BrokerOptions

    func run() async throws {
        let config = try options.resolvedConfig()
        let host = ProcessHost(logLevel: config.logLevel)
        let broker = RiverbankBroker(config: config, logger: host.logger(label: "riverbank.broker"), registry: host.registry)
        try await host.run([broker], readyWhen: broker)
    }
}
