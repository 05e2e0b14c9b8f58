/// One `.index` entry: 4-byte offset relative to the segment base, 4-byte file position,
/// both big-endian as in Kafka.
///
/// Unlike Kafka (which records a batch's last offset), the entry holds the batch's *base*
/// offset, so the entry found for an offset points at the batch containing it or at an
/// earlier one — never past it.
struct OffsetIndexEntry: IndexEntry {
    static let size = 8
    var relativeOffset: UInt32
    var position: UInt32

    init(relativeOffset: UInt32, position: UInt32) {
        self.relativeOffset = relativeOffset
        self.position = position
    }

    init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) {
        relativeOffset = bytes.beUInt32(at: offset)
        position = bytes.beUInt32(at: offset + 4)
    }

    func encode(into writer: inout ByteWriter) {
        writer.uint32(relativeOffset)
        writer.uint32(position)
    }

    func follows(_ previous: OffsetIndexEntry) -> Bool {
        relativeOffset > previous.relativeOffset && position > previous.position
    }
}

/// The sparse offset index of one segment: offset → file position of a batch at or before it.
final class OffsetIndex: Sendable {
    let baseOffset: Int64
    let storage: IndexFile<OffsetIndexEntry>

    /// `logSize`/`nextOffset` bound what a loaded entry may point to (nil: unbounded, for
    /// the active segment, whose entries are never loaded lazily).
    init(path: String, baseOffset: Int64, entries: [OffsetIndexEntry]?, logSize: Int64?, nextOffset: Int64?) {
        self.baseOffset = baseOffset
        let accept = Self.acceptor(baseOffset: baseOffset, logSize: logSize, nextOffset: nextOffset)
        storage = IndexFile(path: path, entries: entries, accept: accept)
    }

    static func acceptor(baseOffset: Int64, logSize: Int64?, nextOffset: Int64?) -> @Sendable (OffsetIndexEntry) -> Bool {
        { e in
            if let logSize, Int64(e.position) >= logSize { return false }
            if let nextOffset, baseOffset + Int64(e.relativeOffset) >= nextOffset { return false }
            return true
        }
    }

    /// The entry with the largest offset <= `offset`, or the segment start.
    func lookup(_ offset: Int64) -> (offset: Int64, position: Int64) {
        storage.withEntries { entries in
            let target = offset - baseOffset
            guard target >= 0, !entries.isEmpty else { return (baseOffset, 0) }
            var lo = 0, hi = entries.count - 1, found = -1
            while lo <= hi {
                let mid = (lo + hi) / 2
                if Int64(entries[mid].relativeOffset) <= target {
                    found = mid
                    lo = mid + 1
                } else {
                    hi = mid - 1
                }
            }
            guard found >= 0 else { return (baseOffset, 0) }
            return (baseOffset + Int64(entries[found].relativeOffset), Int64(entries[found].position))
        }
    }

    func append(offset: Int64, position: Int64) {
        storage.append(OffsetIndexEntry(relativeOffset: UInt32(truncatingIfNeeded: offset - baseOffset),
                                        position: UInt32(truncatingIfNeeded: position)))
    }

    var count: Int { storage.count }
}
