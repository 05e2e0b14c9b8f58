/// Outcome of `PartitionLog.append`.
public enum AppendInfo: Sendable, Equatable {
    /// The batches were written at these offsets.
    case appended(firstOffset: Int64, lastOffset: Int64)
    /// An idempotent producer retried a batch the log already holds: nothing was written,
    /// and these are the offsets the original got (Kafka answers the retry with them).
    case duplicate(firstOffset: Int64, lastOffset: Int64)

    public var firstOffset: Int64 {
        switch self {
        case .appended(let first, _), .duplicate(let first, _): return first
        }
    }

    public var lastOffset: Int64 {
        switch self {
        case .appended(_, let last), .duplicate(_, let last): return last
        }
    }

    public var isDuplicate: Bool {
        if case .duplicate = self { return true }
        return false
    }
}

/// Outcome of `PartitionLog.read`.
public struct ReadResult: Sendable, Equatable {
    /// Whole RecordBatch v2 batches, verbatim; empty when reading at the log end.
    public var records: [UInt8]
    /// Base offset of the first batch in `records` (it may be below the requested offset:
    /// the batch containing it is returned whole, and the consumer skips earlier records).
    public var firstBatchOffset: Int64?
    /// Single node: every appended record is committed, so this is the log end offset.
    public var highWatermark: Int64
    public var logStartOffset: Int64
    public var logEndOffset: Int64
    /// Where the oldest open transaction begins (the log end when none is open).
    public var lastStableOffset: Int64
    /// For a read_committed read: the aborted transactions overlapping what may be read.
    public var abortedTransactions: [AbortedTransaction] = []
}

/// A batch found by timestamp.
public struct TimestampLookup: Sendable, Equatable {
    public var baseOffset: Int64
    public var lastOffset: Int64
    public var maxTimestamp: Int64
    /// The whole batch, for the caller to find the first record with timestamp >= target.
    public var batch: [UInt8]
}

/// A timestamp and the base offset of the batch that carries it.
public struct TimestampOffset: Sendable, Equatable {
    public var timestamp: Int64
    /// Base offset of the batch; the caller refines to the record (read from this offset).
    public var offset: Int64
}
