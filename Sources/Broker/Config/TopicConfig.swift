import Definitions
import KafkaProtocol

/// Per-topic configuration: Kafka's key names, defaults and validation. Values are kept as
/// strings (how Kafka's config APIs carry them) and parsed into typed accessors.
public struct TopicConfig: Sendable, Equatable {
    /// The keys Riverbank understands, with Kafka's defaults (the table lives in Definitions,
    /// which validates topic definitions without the broker).
    public static var keys: [String: TopicConfigKeys.Key] { TopicConfigKeys.keys }

    /// Keys Kafka still accepts but that have no effect here; setting one is logged.
    public static var deprecatedKeys: Set<String> { TopicConfigKeys.deprecatedKeys }

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
    /// Kafka 3.6+: the deprecated difference.max.ms applies where before/after are not set.
    public var timestampBeforeMaxMs: Int64 {
        overrides["message.timestamp.before.max.ms"] == nil && overrides["message.timestamp.difference.max.ms"] != nil
            ? int64("message.timestamp.difference.max.ms") : int64("message.timestamp.before.max.ms")
    }
    public var timestampAfterMaxMs: Int64 {
        overrides["message.timestamp.after.max.ms"] == nil && overrides["message.timestamp.difference.max.ms"] != nil
            ? int64("message.timestamp.difference.max.ms") : int64("message.timestamp.after.max.ms")
    }

    public var cleanupPolicies: Set<String> {
        Set(value("cleanup.policy").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
    }
    public var compact: Bool { cleanupPolicies.contains("compact") }
    public var deleteRetentionMs: Int64 { int64("delete.retention.ms") }
    public var minCompactionLagMs: Int64 { int64("min.compaction.lag.ms") }
    public var maxCompactionLagMs: Int64 { int64("max.compaction.lag.ms") }
    public var minCleanableDirtyRatio: Double { Double(value("min.cleanable.dirty.ratio")) ?? 0.5 }
    public var segmentIndexBytes: Int64 { int64("segment.index.bytes") }

    /// The codec batches are stored with; nil for `producer` (stored as produced).
    public var storedCompression: CompressionCodec? {
        let v = value("compression.type")
        if v == "producer" { return nil }
        if v == "uncompressed" { return CompressionCodec.none }
        return CompressionCodec(name: v)
    }

    /// The level for `storedCompression`, nil for the codec's default.
    public var compressionLevel: Int? {
        switch storedCompression {
        case .gzip?: let l = int64("compression.gzip.level"); return l < 0 ? nil : Int(l)
        case .lz4?: return Int(int64("compression.lz4.level"))
        case .zstd?: return Int(int64("compression.zstd.level"))
        default: return nil
        }
    }
}

import Foundation
