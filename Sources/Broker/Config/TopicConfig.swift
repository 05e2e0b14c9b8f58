import Definitions
import KafkaProtocol

/// Per-topic configuration: Kafka's key names, defaults and validation. Values are kept as
/// strings (how Kafka's config APIs carry them) and parsed into typed accessors.
public struct TopicConfig: Sendable, Equatable {
    /// The keys Riverbank understands, with Kafka's defaults (the table lives in Definitions,
    /// which validates topic definitions without the broker).
    public static var keys: [String: TopicConfigKeys.Key] { TopicConfigKeys.keys }

    /// Only keys set explicitly on the topic (Kafka distinguishes them from defaults).
    public private(set) var overrides: [String: String]

    public init(overrides: [String: String] = [:]) {
        self.overrides = overrides
    }

    /// Validates and builds a config; returns the first problem as an INVALID_CONFIG message.
    public static func validated(_ values: [String: String?]) -> Result<TopicConfig, BatchValidationError> {
        var c = TopicConfig()
        for (k, v) in values {
            if let error = c.set(k, v) { return .failure(BatchValidationError(.invalidConfig, error)) }
        }
        return .success(c)
    }

    /// Sets (or with nil, deletes) one override; returns an error message if invalid.
    public mutating func set(_ key: String, _ value: String?) -> String? {
        if let problem = TopicConfigKeys.problem(key, value) { return problem }
        overrides[key] = value
        return nil
    }

    public func value(_ key: String) -> String { overrides[key] ?? Self.keys[key]?.defaultValue ?? "" }
    public func isDefault(_ key: String) -> Bool { overrides[key] == nil }

    func int64(_ key: String) -> Int64 { Int64(value(key)) ?? Int64(Self.keys[key]!.defaultValue)! }

    public var retentionMs: Int64 { int64("retention.ms") }
    public var retentionBytes: Int64 { int64("retention.bytes") }
    public var segmentBytes: Int64 { int64("segment.bytes") }
    public var segmentMs: Int64 { int64("segment.ms") }
    public var indexIntervalBytes: Int64 { int64("index.interval.bytes") }
    public var maxMessageBytes: Int { Int(int64("max.message.bytes")) }
    public var logAppendTime: Bool { value("message.timestamp.type") == "LogAppendTime" }
    public var timestampBeforeMaxMs: Int64 { int64("message.timestamp.before.max.ms") }
    public var timestampAfterMaxMs: Int64 { int64("message.timestamp.after.max.ms") }
}

import Foundation
