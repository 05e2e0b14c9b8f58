/// How far the cleaner got in one partition, kept in `<partition>/cleaner-checkpoint` (Kafka
/// keeps the same offsets in `cleaner-offset-checkpoint`, one file per log directory).
struct CleanerCheckpoint: Equatable, Sendable {
    static let fileName = "cleaner-checkpoint"

    /// Everything below this offset has been cleaned at least once: the dirty part starts here.
    var firstDirtyOffset: Int64 = 0
    /// The earliest delete horizon of a tombstone the cleaner kept; once it passes, the log is
    /// cleaned again even if nothing new is dirty, so tombstones go on time. Int64.max: none.
    var nextDeleteHorizonMs: Int64 = Int64.max

    func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 20)
        w.int64(firstDirtyOffset)
        w.int64(nextDeleteHorizonMs)
        w.uint32(crc32c(w.bytes))
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) -> CleanerCheckpoint? {
        guard bytes.count == 20 else { return nil }
        var r = ByteReader(bytes)
        guard let dirty = r.int64(), let horizon = r.int64(), let crc = r.uint32(),
              crc == crc32c(Array(bytes[0..<16])), dirty >= 0 else { return nil }
        return CleanerCheckpoint(firstDirtyOffset: dirty, nextDeleteHorizonMs: horizon)
    }

    /// A missing or damaged file means "nothing cleaned yet": the next pass starts from the log
    /// start, which is always safe (cleaning is idempotent), only slower.
    static func load(directory: String) -> CleanerCheckpoint {
        guard let bytes = try? FileSystem.readSmallFile(directory + "/" + fileName, limit: 64),
              let c = decode(bytes) else { return CleanerCheckpoint() }
        return c
    }

    func save(directory: String) throws {
        try FileSystem.writeAtomically(encode(), to: directory + "/" + Self.fileName, directory: directory, durable: .full)
    }
}
