import Foundation
import LogStore
import Yams

/// Broker settings. Precedence: command-line flag > environment variable > config file > default.
public struct BrokerConfig: Sendable, Equatable {
    public var nodeId: Int32 = 1
    public var dataDir = "./data"
    public var listenHost = "127.0.0.1"
    public var listenPort = 9092
    /// Host/port clients are told to connect to (Metadata); defaults to the listen address.
    public var advertisedHost: String? = nil
    public var advertisedPort: Int? = nil
    /// Prometheus metrics endpoint ("host:port"); nil disables it.
    public var metricsListen: String? = nil
    /// Folder of topic definitions applied at start-up; nil skips it.
    public var topicsDir: String? = nil
    /// socket.request.max.bytes: larger frames are refused and the connection closed.
    public var maxRequestBytes = 104_857_600
    public var autoCreateTopics = true
    public var defaultPartitions: Int32 = 1
    /// Topic config overrides applied to topics created without them (e.g. log.retention.ms).
    public var defaultTopicConfig: [String: String] = [:]
    /// How often retention runs.
    public var retentionCheckIntervalMs: Int64 = 300_000
    /// How long a graceful shutdown waits for in-flight requests before closing connections.
    public var drainTimeoutMs: Int64 = 5_000
    public var logLevel = "info"
    public var clusterId: String? = nil
    /// SO_SNDBUF of client connections (Kafka's `socket.send.buffer.bytes`); -1 leaves the
    /// kernel's auto-tuning on.
    public var socketSendBufferBytes = -1
    /// Threads for disk reads that would stall an event loop (fetches of data not in the page
    /// cache, time lookups); 0 reads them on the event loops.
    public var ioThreads = 4
    /// The log cleaner for compacted topics (`log-cleaner-*` keys, Kafka's `log.cleaner.*`).
    public var cleaner = LogCleanerConfig()

    public init() {}

    public var advertised: (host: String, port: Int) {
        (advertisedHost ?? (listenHost == "0.0.0.0" || listenHost == "::" ? "127.0.0.1" : listenHost), advertisedPort ?? listenPort)
    }

    public enum ConfigError: Error, CustomStringConvertible {
        case invalid(String)
        public var description: String {
            switch self { case .invalid(let s): return s }
        }
    }

    /// Parses "host:port" (IPv6 hosts in brackets).
    public static func parseHostPort(_ s: String) throws -> (String, Int) {
        if s.hasPrefix("["), let close = s.firstIndex(of: "]") {
            let host = String(s[s.index(after: s.startIndex)..<close])
            let rest = s[s.index(after: close)...]
            guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()), (0...65535).contains(p) else { throw ConfigError.invalid("bad address '\(s)'") }
            return (host, p)
        }
        guard let colon = s.lastIndex(of: ":"), let p = Int(s[s.index(after: colon)...]), (0...65535).contains(p) else {
            throw ConfigError.invalid("bad address '\(s)': expected host:port")
        }
        return (String(s[..<colon]), p)
    }

    /// Applies a YAML config file's keys (same names as the flags, e.g. `data-dir`, `listen`).
    public mutating func apply(yaml text: String) throws {
        guard let node = try Yams.load(yaml: text) else { return }
        guard let map = node as? [String: Any] else { throw ConfigError.invalid("config file must be a mapping") }
        for (k, v) in map {
            if k == "topic-defaults" {
                guard let m = v as? [String: Any] else { throw ConfigError.invalid("topic-defaults must be a mapping") }
                for (ck, cv) in m { defaultTopicConfig[ck] = "\(cv)" }
                continue
            }
            try apply(key: k, value: "\(v)")
        }
    }

    /// Applies RIVERBANK_* environment variables (RIVERBANK_DATA_DIR, RIVERBANK_LISTEN, …).
    public mutating func apply(environment: [String: String]) throws {
        for (k, v) in environment where k.hasPrefix("RIVERBANK_") {
            let key = k.dropFirst("RIVERBANK_".count).lowercased().replacingOccurrences(of: "_", with: "-")
            if Self.knownKeys.contains(key) { try apply(key: key, value: v) }
        }
    }

    public static let knownKeys: Set<String> = [
        "node-id", "data-dir", "listen", "advertised", "metrics-listen", "topics-dir", "max-request-bytes",
        "auto-create-topics", "default-partitions", "retention-check-interval-ms", "drain-timeout-ms", "log-level", "cluster-id", "io-threads", "socket-send-buffer-bytes",
        "log-cleaner-enable", "log-cleaner-dedupe-buffer-bytes", "log-cleaner-io-max-bytes-per-second", "log-cleaner-backoff-ms",
    ]

    public mutating func apply(key: String, value: String) throws {
        func int(_ v: String) throws -> Int {
            guard let n = Int(v) else { throw ConfigError.invalid("\(key) must be a number, got '\(v)'") }
            return n
        }
        switch key {
        case "node-id": nodeId = Int32(try int(value))
        case "data-dir": dataDir = value
        case "listen": (listenHost, listenPort) = try Self.parseHostPort(value)
        case "advertised":
            let (h, p) = try Self.parseHostPort(value)
            advertisedHost = h
            advertisedPort = p
        case "metrics-listen": metricsListen = value.isEmpty || value == "off" ? nil : value
        case "topics-dir": topicsDir = value.isEmpty ? nil : value
        case "max-request-bytes": maxRequestBytes = try int(value)
        case "auto-create-topics": autoCreateTopics = ["true", "1", "yes"].contains(value.lowercased())
        case "default-partitions": defaultPartitions = Int32(try int(value))
        case "retention-check-interval-ms": retentionCheckIntervalMs = Int64(try int(value))
        case "drain-timeout-ms": drainTimeoutMs = Int64(try int(value))
        case "socket-send-buffer-bytes":
            let n = try int(value)
            guard n == -1 || n >= 4096 else { throw ConfigError.invalid("socket-send-buffer-bytes must be -1 or at least 4096, got \(n)") }
            socketSendBufferBytes = n
        case "io-threads":
            let n = try int(value)
            guard (0...64).contains(n) else { throw ConfigError.invalid("io-threads must be between 0 and 64, got \(n)") }
            ioThreads = n
        case "log-level": logLevel = value
        case "cluster-id": clusterId = value
        case "log-cleaner-enable": cleaner.enabled = ["true", "1", "yes"].contains(value.lowercased())
        case "log-cleaner-dedupe-buffer-bytes":
            let n = try int(value)
            guard n >= 1 << 20 else { throw ConfigError.invalid("log-cleaner-dedupe-buffer-bytes must be at least 1048576") }
            cleaner.dedupeBufferBytes = n
        case "log-cleaner-io-max-bytes-per-second":
            guard let d = Double(value), d > 0 else { throw ConfigError.invalid("\(key) must be a positive number, got '\(value)'") }
            cleaner.ioMaxBytesPerSecond = d
        case "log-cleaner-backoff-ms": cleaner.backoffMs = Int64(max(10, try int(value)))
        default: throw ConfigError.invalid("unknown config key '\(key)'")
        }
    }
}
