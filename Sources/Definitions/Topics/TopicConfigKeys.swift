/// Topic config keys Riverbank understands: Kafka's names, defaults and value checks. Topic
/// definitions are validated against this table without the broker; the broker's
/// `TopicConfig` reads its defaults from it.
public enum TopicConfigKeys {
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

    /// What is wrong with setting `key` to `value` (nil: nothing); a nil value (delete the
    /// override) only needs a known key.
    public static func problem(_ key: String, _ value: String?) -> String? {
        guard let spec = keys[key] else { return "unknown topic config '\(key)'" }
        guard let value else { return nil }
        return spec.validate(value)
    }
}
