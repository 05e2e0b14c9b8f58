import ArgumentParser
import Broker
import Foundation

/// The broker's flags, shared by `riverbank broker` and `riverbank run`.
struct BrokerOptions: ParsableArguments {
    @Option(help: "YAML config file (keys as the flags: data-dir, listen, advertised, …).") var config: String?
    @Option(help: "Directory holding the partition logs.") var dataDir: String?
    @Option(help: "Address to listen on, host:port.") var listen: String?
    @Option(help: "Address given to clients in Metadata, host:port (default: the listen address).") var advertised: String?
    @Option(help: "Prometheus endpoint address host:port ('off' to disable).") var metricsListen: String?
    @Option(help: "Folder of topic definitions applied at start-up.") var topicsDir: String?
    @Option(help: "Largest request frame accepted, in bytes.") var maxRequestBytes: Int?
    @Option(help: "Partitions of auto-created topics.") var defaultPartitions: Int?
    @Option(help: "trace, debug, info, notice, warning, error, critical.") var logLevel: String?

    /// `defaults` (the command's own), then the config file, the environment, the flags.
    func resolvedConfig(defaults: BrokerConfig = BrokerConfig()) throws -> BrokerConfig {
        var c = defaults
        if let config { try c.apply(yaml: String(contentsOfFile: config, encoding: .utf8)) }
        try c.apply(environment: ProcessInfo.processInfo.environment)
        let flags: [(String, String?)] = [
            ("data-dir", dataDir), ("listen", listen), ("advertised", advertised), ("metrics-listen", metricsListen),
            ("topics-dir", topicsDir), ("max-request-bytes", maxRequestBytes.map(String.init)),
            ("default-partitions", defaultPartitions.map(String.init)), ("log-level", logLevel),
        ]
        for (k, v) in flags { if let v { try c.apply(key: k, value: v) } }
        return c
    }
}
