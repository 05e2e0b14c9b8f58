/// One `.timeindex` entry: 8-byte timestamp, 4-byte offset relative to the segment base.
/// The offset is the base offset of the first batch that reached this max timestamp.
struct TimeIndexEntry: IndexEntry {
    static let size = 12
    var timestamp: Int64
    var relativeOffset: UInt32

    init(timestamp: Int64, relativeOffset: UInt32) {
        self.timestamp = timestamp
        self.relativeOffset = relativeOffset
    }

    init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) {
        timestamp = bytes.beInt64(at: offset)
        relativeOffset = bytes.beUInt32(at: offset + 8)
    }

    func encode(into writer: inout ByteWriter) {
        writer.int64(timestamp)
        writer.uint32(relativeOffset)
    }

    func follows(_ previous: TimeIndexEntry) -> Bool {
        timestamp > previous.timestamp && relativeOffset >= previous.relativeOffset
    }
}

/// The sparse time index of one segment. Entries are added only when the segment's max
/// timestamp grows, so both columns are monotonic and binary search works.
final class TimeIndex: Sendable {
    let baseOffset: Int64
    let storage: IndexFile<TimeIndexEntry>

    init(path: String, baseOffset: Int64, entries: [TimeIndexEntry]?, nextOffset: Int64?) {
        self.baseOffset = baseOffset
        storage = IndexFile(path: path, entries: entries, accept: Self.acceptor(baseOffset: baseOffset, nextOffset: nextOffset))
    }

    static func acceptor(baseOffset: Int64, nextOffset: Int64?) -> @Sendable (TimeIndexEntry) -> Bool {
        { e in
            if e.timestamp < 0 { return false }
            if let nextOffset, baseOffset + Int64(e.relativeOffset) >= nextOffset { return false }
            return true
        }
    }

    /// The offset of the last entry whose timestamp is < `timestamp`: every batch up to that
    /// offset has a max timestamp below the target, so a search may start there. Nil if
    /// the search must start at the segment's beginning.
    func lookupBefore(_ timestamp: Int64) -> Int64? {
        storage.withEntries { entries in
            var lo = 0, hi = entries.count - 1, found = -1
            while lo <= hi {
                let mid = (lo + hi) / 2
                if entries[mid].timestamp < timestamp {
                    found = mid
                    lo = mid + 1
                } else {
                    hi = mid - 1
                }
            }
            return found >= 0 ? baseOffset + Int64(entries[found].relativeOffset) : nil
        }
    }

    /// Appends unless it would not raise the max timestamp (keeps the file monotonic).
    func maybeAppend(timestamp: Int64, offset: Int64) {
        guard timestamp >= 0 else { return }
        if let last = storage.last, timestamp <= last.timestamp { return }
        storage.append(TimeIndexEntry(timestamp: timestamp, relativeOffset: UInt32(truncatingIfNeeded: offset - baseOffset)))
    }

    var count: Int { storage.count }
    var last: (timestamp: Int64, offset: Int64)? {
        storage.last.map { ($0.timestamp, baseOffset + Int64($0.relativeOffset)) }
    }
}
