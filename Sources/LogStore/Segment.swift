import KafkaProtocol

/// The files of one segment: `<base>.log`, `<base>.index`, `<base>.timeindex`, where
/// `<base>` is the first offset of the segment, zero-padded to 20 digits as in Kafka.
///
/// This class holds only what never changes plus self-locking file objects, so readers can
/// use it outside the partition lock. The mutable bookkeeping (size, next offset, max
/// timestamp) lives in `SegmentInfo`, inside the partition's locked state.
final class Segment: Sendable {
    let baseOffset: Int64
    let directory: String
    let log: SegmentFile
    let offsetIndex: OffsetIndex
    let timeIndex: TimeIndex

    init(directory: String, baseOffset: Int64, log: SegmentFile, offsetIndex: OffsetIndex, timeIndex: TimeIndex) {
        self.directory = directory
        self.baseOffset = baseOffset
        self.log = log
        self.offsetIndex = offsetIndex
        self.timeIndex = timeIndex
    }

    static func fileName(_ baseOffset: Int64, _ suffix: String) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    static func path(_ directory: String, _ baseOffset: Int64, _ suffix: String) -> String {
        directory + "/" + fileName(baseOffset, suffix)
    }

    /// Parses `<20 digits><suffix>`; nil for anything else.
    static func baseOffset(fromFileName name: String, suffix: String) -> Int64? {
        guard name.hasSuffix(suffix) else { return nil }
        let digits = name.dropLast(suffix.count)
        guard digits.count == 20, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        guard let value = Int64(digits), value >= 0 else { return nil }
        return value
    }

    /// Removes the segment's files. The log descriptor is pinned first so that readers
    /// holding this segment keep reading the (now unlinked) data.
    func deleteFiles() throws {
        log.pin()
        try FileSystem.remove(log.path)
        try FileSystem.remove(offsetIndex.storage.path)
        try FileSystem.remove(timeIndex.storage.path)
    }

    /// Writes pending index entries and fsyncs the index files.
    func persistIndexes(sync: Bool) throws {
        try offsetIndex.storage.persist()
        try timeIndex.storage.persist()
        if sync {
            try offsetIndex.storage.sync()
            try timeIndex.storage.sync()
        }
    }
}

enum SegmentSuffix {
    static let log = ".log"
    static let index = ".index"
    static let timeIndex = ".timeindex"
    static let snapshot = ".snapshot"
}

/// Decides which batches get index entries, exactly as Kafka's LogSegment.append does:
/// an offset entry when more than `indexIntervalBytes` were written since the last one,
/// and a time entry at the same moment if the max timestamp grew. Used both when appending
/// and when rebuilding indexes from the log, so both produce identical files.
struct SegmentIndexer: Sendable {
    var bytesSinceLastIndexEntry = 0
    var maxTimestamp: Int64 = -1
    var offsetOfMaxTimestamp: Int64 = -1
    var lastTimeIndexTimestamp: Int64 = -1

    /// Records a batch at `position`; returns whether to add index entries for it.
    mutating func observe(_ header: RecordBatchHeader, position: Int64, interval: Int)
        -> (offsetEntry: (offset: Int64, position: Int64)?, timeEntry: (timestamp: Int64, offset: Int64)?)
    {
        if header.maxTimestamp > maxTimestamp {
            maxTimestamp = header.maxTimestamp
            offsetOfMaxTimestamp = header.baseOffset
        }
        var offsetEntry: (Int64, Int64)?
        var timeEntry: (Int64, Int64)?
        if bytesSinceLastIndexEntry > interval {
            offsetEntry = (header.baseOffset, position)
            if maxTimestamp > lastTimeIndexTimestamp {
                timeEntry = (maxTimestamp, offsetOfMaxTimestamp)
                lastTimeIndexTimestamp = maxTimestamp
            }
            bytesSinceLastIndexEntry = 0
        }
        bytesSinceLastIndexEntry += header.totalSize
        return (offsetEntry, timeEntry)
    }

    /// The time entry to write when the segment stops being active, if any (Kafka appends
    /// the final max timestamp so a closed segment's largest timestamp is its last entry).
    mutating func finalTimeEntry() -> (timestamp: Int64, offset: Int64)? {
        guard maxTimestamp > lastTimeIndexTimestamp, maxTimestamp >= 0 else { return nil }
        lastTimeIndexTimestamp = maxTimestamp
        return (maxTimestamp, offsetOfMaxTimestamp)
    }
}

/// A segment plus the bookkeeping the partition keeps for it under its lock.
struct SegmentInfo: Sendable {
    let segment: Segment
    /// Bytes of valid log data (the readable end; appends write at this position).
    var size: Int64
    /// One past the last offset in the segment (the next segment's base when closed).
    var nextOffset: Int64
    var indexer: SegmentIndexer
    /// Wall-clock time of the first append since this process opened the segment, for
    /// `segmentMs` rolling; nil while empty.
    var firstAppendTimeMs: Int64?

    var baseOffset: Int64 { segment.baseOffset }
    var maxTimestamp: Int64 { indexer.maxTimestamp }
    var offsetOfMaxTimestamp: Int64 { indexer.offsetOfMaxTimestamp }
}
