import KafkaProtocol

/// Per-topic configuration: Kafka's key names, defaults and validation. Values are kept as
/// strings (how Kafka's config APIs carry them) and parsed into typed accessors.
public struct TopicConfig: Sendable, Equatable {
    /// One known topic config key.
    public struct Key: Sendable {
        public let name: String
        public let defaultValue: String
        public let type: ConfigType
        /// Returns an error message for an invalid value.
        public let validate: @Sendable (String) -> String?
        public let doc: String
    }

    public enum ConfigType: Int8, Sendable {
        case boolean = 1, string = 2, int = 3, short = 4, long = 5, double = 6, list = 7, classType = 8, password = 9
    }

    static func long(_ name: String, _ def: Int64, min: Int64, _ doc: String) -> Key {
        Key(name: name, defaultValue: String(def), type: .long, validate: { v in
            guard let n = Int64(v) else { return "\(name) must be a long, got '\(v)'" }
            return n < min ? "\(name) must be at least \(min)" : nil
        }, doc: doc)
    }

    static func int(_ name: String, _ def: Int32, min: Int32, _ doc: String) -> Key {
        Key(name: name, defaultValue: String(def), type: .int, validate: { v in
            guard let n = Int32(v) else { return "\(name) must be an int, got '\(v)'" }
            return n < min ? "\(name) must be at least \(min)" : nil
        }, doc: doc)
    }

    static func oneOf(_ name: String, _ def: String, _ allowed: [String], list: Bool = false, _ doc: String) -> Key {
        Key(name: name, defaultValue: def, type: list ? .list : .string, validate: { v in
            let parts = list ? v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } : [v]
            for p in parts where !allowed.contains(p) { return "\(name) must be one of \(allowed), got '\(p)'" }
            return parts.isEmpty ? "\(name) may not be empty" : nil
        }, doc: doc)
    }

    static let bool: @Sendable (String) -> String? = { ["true", "false"].contains($0) ? nil : "must be true or false" }

    /// Keys Kafka still accepts but that have no effect here; setting one is logged.
    public static let deprecatedKeys: Set<String> = ["message.format.version", "message.downconversion.enable",
                                                       "message.timestamp.difference.max.ms"]

    /// The keys Riverbank understands, with Kafka's defaults.
    public static let keys: [String: Key] = {
        let list: [Key] = [
            oneOf("cleanup.policy", "delete", ["delete", "compact"], list: true,
                  "delete: closed segments go by retention.ms/bytes; compact: the log cleaner keeps the latest record per key (both: both)"),
            long("retention.ms", 604_800_000, min: -1, "how long a closed segment is kept (-1: forever)"),
            long("retention.bytes", -1, min: -1, "size a partition may grow to before old segments go (-1: no limit)"),
            int("segment.bytes", 1_073_741_824, min: 14, "segment file size before a new one is rolled"),
            long("segment.ms", 604_800_000, min: 1, "age of a segment before a new one is rolled"),
            int("segment.index.bytes", 10_485_760, min: 4, "maximum size of a segment's offset index"),
            int("index.interval.bytes", 4096, min: 0, "bytes of log between two offset-index entries"),
            int("max.message.bytes", 1_048_588, min: 0, "largest record batch accepted"),
            oneOf("message.timestamp.type", "CreateTime", ["CreateTime", "LogAppendTime"], "which timestamp records carry"),
            long("message.timestamp.before.max.ms", Int64.max, min: 0, "how far in the past a CreateTime may be"),
            long("message.timestamp.after.max.ms", 3_600_000, min: 0, "how far in the future a CreateTime may be"),
            long("message.timestamp.difference.max.ms", Int64.max, min: 0,
                 "deprecated (Kafka 3.6): used for before/after.max.ms when those are not set"),
            oneOf("compression.type", "producer", ["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"],
                  "producer: batches are stored as the producer compressed them; otherwise re-compressed on append"),
            int("compression.gzip.level", -1, min: -1, "gzip level for compression.type=gzip (-1: default 6)"),
            int("compression.lz4.level", 9, min: 1, "lz4 level for compression.type=lz4"),
            Key(name: "compression.zstd.level", defaultValue: "3", type: .int,
                validate: { Int32($0) == nil ? "compression.zstd.level must be an int" : nil }, doc: "zstd level for compression.type=zstd"),
            int("min.insync.replicas", 1, min: 1, "single node: always satisfied"),
            long("flush.messages", Int64.max, min: 1, "acks=all batches are always fsynced before the answer"),
            long("flush.ms", Int64.max, min: 0, "acks=all batches are always fsynced before the answer"),
            long("file.delete.delay.ms", 60000, min: 0, "segments are unlinked at once; readers keep their open descriptors"),
            long("delete.retention.ms", 86_400_000, min: 0, "compacted topics: how long a tombstone stays after it is first cleaned"),
            long("min.compaction.lag.ms", 0, min: 0, "compacted topics: a record stays uncompacted at least this long"),
            long("max.compaction.lag.ms", Int64.max, min: 1,
                 "compacted topics: a record is compacted at most this long after it was written (caps segment.ms)"),
            Key(name: "min.cleanable.dirty.ratio", defaultValue: "0.5", type: .double,
                validate: { v in
                    guard let d = Double(v), d >= 0, d <= 1 else { return "min.cleanable.dirty.ratio must be a double in [0, 1]" }
                    return nil
                }, doc: "compacted topics: clean once this share of the cleanable log is dirty"),
            Key(name: "unclean.leader.election.enable", defaultValue: "false", type: .boolean,
                validate: bool, doc: "single node: no effect"),
            Key(name: "preallocate", defaultValue: "false", type: .boolean, validate: bool, doc: "accepted; segments are not preallocated"),
            long("segment.jitter.ms", 0, min: 0, "accepted; a single node needs no roll jitter"),
            Key(name: "leader.replication.throttled.replicas", defaultValue: "", type: .list, validate: { _ in nil },
                doc: "single node: no replication to throttle"),
            Key(name: "follower.replication.throttled.replicas", defaultValue: "", type: .list, validate: { _ in nil },
                doc: "single node: no replication to throttle"),
            Key(name: "remote.storage.enable", defaultValue: "false", type: .boolean,
                validate: { $0 == "false" ? nil : "remote.storage.enable: tiered storage is not supported by this broker" },
                doc: "tiered storage is not supported"),
            long("local.retention.ms", -2, min: -2, "tiered storage only: no effect"),
            long("local.retention.bytes", -2, min: -2, "tiered storage only: no effect"),
            // Removed or deprecated in Kafka 3.x, still sent by older tools: accepted, no effect.
            Key(name: "message.format.version", defaultValue: "3.0-IV1", type: .string, validate: { _ in nil },
                doc: "deprecated since Kafka 3.0 and ignored: batches are always magic 2"),
            Key(name: "message.downconversion.enable", defaultValue: "true", type: .boolean, validate: bool,
                doc: "deprecated and ignored: this broker never down-converts"),
        ]
        return Dictionary(uniqueKeysWithValues: list.map { ($0.name, $0) })
    }()

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
        guard let spec = Self.keys[key] else { return "unknown topic config '\(key)'" }
        guard let value else { overrides[key] = nil; return nil }
        if let problem = spec.validate(value) { return problem }
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
