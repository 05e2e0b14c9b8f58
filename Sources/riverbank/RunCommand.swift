import ArgumentParser
import Broker
import Foundation

/// `riverbank run`: the embedded default — everything Riverbank runs, in one process.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run Riverbank in one process: the broker (and, as they land, the job runner and the console).",
        discussion: """
        Takes the broker's flags, environment and config file (see `riverbank broker --help`), with two \
        defaults of its own: --topics-dir topics when that folder exists, --metrics-listen 127.0.0.1:9644 \
        ('off' disables it). SIGINT/SIGTERM shut every part down gracefully.
        """
    )

    @OptionGroup var options: BrokerOptions

    static func defaults() -> BrokerConfig {
        var c = BrokerConfig()
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: "topics", isDirectory: &isDirectory), isDirectory.boolValue { c.topicsDir = "topics" }
        c.metricsListen = "127.0.0.1:9644"
        return c
    }

    func run() async throws {
        let config = try options.resolvedConfig(defaults: Self.defaults())
        let host = ProcessHost(logLevel: config.logLevel)
        let broker = RiverbankBroker(config: config, logger: host.logger(label: "riverbank.broker"), registry: host.registry)
        // One ServiceGroup: services start in this order and stop in the reverse one, so a
        // part that uses the broker is listed after it. Each new part is one line here.
        try await host.run([
            broker,
        ], readyWhen: broker)
    }
}
