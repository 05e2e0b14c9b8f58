import ArgumentParser
import Broker
import Foundation
import Jobs

/// `riverbank run`: the embedded default — everything Riverbank runs, in one process.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run Riverbank in one process: the broker and the job runner (and, as it lands, the console).",
        discussion: """
        Takes the broker's flags, environment and config file (see `riverbank broker --help`), with two \
        defaults of its own: --topics-dir topics when that folder exists, --metrics-listen 127.0.0.1:9644 \
        ('off' disables it). The job runner runs the jobs deployed to this broker (riverbank job deploy) \
        and the files given with --job. SIGINT/SIGTERM shut every part down gracefully: jobs first, \
        each with a last checkpoint, then the broker.
        """
    )

    @OptionGroup var options: BrokerOptions
    @Option(name: .customLong("job"), help: "Deploy this job file at start, unless the same text already runs (repeatable).")
    var jobs: [String] = []
    @Flag(help: "Do not start the job runner.") var noRunner = false

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
        // The runner connects to this broker once it listens (the port may be chosen then).
        let connectHost = ["0.0.0.0", "::", ""].contains(config.listenHost) ? "127.0.0.1" : config.listenHost
        var rc = JobsRunner.Config(bootstrap: { "\(connectHost):\(try await broker.listening())" },
                                   stateRoot: config.dataDir + "/__cluster/job-state")
        rc.deployAtStart = jobs
        let runner = JobsRunner(config: rc, logger: host.logger(label: "riverbank.jobs"))
        try await host.run([broker] + (noRunner ? [] : [runner]), readyWhen: broker)
    }
}
