/// Per-partition log settings, named after Kafka's topic configs.
public struct LogConfig: Sendable, Equatable {
    /// `segment.bytes`: roll when the active segment would grow past this. Clamped to
    /// [1 KiB, Int32.max] so a position always fits the index's 4-byte field.
    public var segmentBytes: Int
    /// `segment.ms`: roll when the active segment's first append is older than this.
    public var segmentMs: Int64
    /// `retention.ms`: delete closed segments whose newest timestamp is older; -1 = keep forever.
    public var retentionMs: Int64
    /// `retention.bytes`: delete oldest closed segments while the log is larger; -1 = no limit.
    public var retentionBytes: Int64
    /// `index.interval.bytes`: one offset-index entry per this many bytes of log data.
    public var indexIntervalBytes: Int
    /// Entries per index file before the segment rolls (Kafka: segment.index.bytes / 8).
    public var maxIndexEntries: Int
    /// `producer.id.expiration.ms`: forget idle idempotent producers after this long.
    public var producerIdExpirationMs: Int64
    /// `cleanup.policy` contains `delete`: retention by time and size applies.
    public var deleteEnabled: Bool
    /// `cleanup.policy` contains `compact`: the log cleaner keeps the latest record per key.
    public var compact: Bool
    /// `min.cleanable.dirty.ratio`: clean once this share of the cleanable log is dirty.
    public var minCleanableDirtyRatio: Double
    /// `min.compaction.lag.ms`: a record stays uncompacted at least this long.
    public var minCompactionLagMs: Int64
    /// `max.compaction.lag.ms`: a record is compacted at most this long after it was written
    /// (also caps `segment.ms`, so the active segment rolls and becomes cleanable).
    public var maxCompactionLagMs: Int64
    /// `delete.retention.ms`: how long a tombstone stays after the cleaner first saw it.
    public var deleteRetentionMs: Int64

    public init(
        segmentBytes: Int = 1 << 30,
        segmentMs: Int64 = 7 * 24 * 3_600_000,
        retentionMs: Int64 = 7 * 24 * 3_600_000,
        retentionBytes: Int64 = -1,
        indexIntervalBytes: Int = 4096,
        maxIndexEntries: Int = (10 << 20) / 8,
        producerIdExpirationMs: Int64 = 24 * 3_600_000,
        deleteEnabled: Bool = true,
        compact: Bool = false,
        minCleanableDirtyRatio: Double = 0.5,
        minCompactionLagMs: Int64 = 0,
        maxCompactionLagMs: Int64 = Int64.max,
        deleteRetentionMs: Int64 = 86_400_000
    ) {
        self.segmentBytes = segmentBytes
        self.segmentMs = segmentMs
        self.retentionMs = retentionMs
        self.retentionBytes = retentionBytes
        self.indexIntervalBytes = indexIntervalBytes
        self.maxIndexEntries = maxIndexEntries
        self.producerIdExpirationMs = producerIdExpirationMs
        self.deleteEnabled = deleteEnabled
        self.compact = compact
        self.minCleanableDirtyRatio = minCleanableDirtyRatio
        self.minCompactionLagMs = minCompactionLagMs
        self.maxCompactionLagMs = maxCompactionLagMs
        self.deleteRetentionMs = deleteRetentionMs
    }

    /// Retention as it applies: a compact-only log keeps everything the cleaner keeps.
    var effectiveRetentionMs: Int64 { deleteEnabled ? retentionMs : -1 }
    var effectiveRetentionBytes: Int64 { deleteEnabled ? retentionBytes : -1 }

    /// Roll age of the active segment: for compacted logs no later than the max compaction
    /// lag, so the cleaner (which never touches the active segment) can meet it (as Kafka).
    var effectiveSegmentMs: Int64 { compact ? min(segmentMs, maxCompactionLagMs) : segmentMs }

    public static let `default` = LogConfig()

    /// The same config with every field forced into a range the log can work with.
    var normalized: LogConfig {
        var c = self
        c.segmentBytes = min(max(c.segmentBytes, 1024), Int(Int32.max))
        c.segmentMs = max(c.segmentMs, 1)
        if c.retentionMs < 0 { c.retentionMs = -1 }
        if c.retentionBytes < 0 { c.retentionBytes = -1 }
        c.indexIntervalBytes = max(c.indexIntervalBytes, 0)
        c.maxIndexEntries = max(c.maxIndexEntries, 2)
        c.producerIdExpirationMs = max(c.producerIdExpirationMs, 0)
        c.minCleanableDirtyRatio = min(max(c.minCleanableDirtyRatio.isNaN ? 0.5 : c.minCleanableDirtyRatio, 0), 1)
        c.minCompactionLagMs = max(c.minCompactionLagMs, 0)
        c.maxCompactionLagMs = max(c.maxCompactionLagMs, 1)
        c.deleteRetentionMs = max(c.deleteRetentionMs, 0)
        return c
    }
}
