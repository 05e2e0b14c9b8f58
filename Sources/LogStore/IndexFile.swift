/// A fixed-width entry of an index file.
protocol IndexEntry: Sendable, Equatable {
    static var size: Int { get }
    /// Decodes the entry at `offset` (the caller guarantees `size` bytes are there).
    init(decoding bytes: UnsafeRawBufferPointer, at offset: Int)
    func encode(into writer: inout ByteWriter)
    /// Entries must strictly increase; used to reject a damaged file's tail.
    func follows(_ previous: Self) -> Bool
}

/// The storage shared by the offset and time indexes: entries in memory, appended to the
/// file lazily.
///
/// Why lazy both ways: start-up must not read every closed segment's index (there may be
/// thousands), so entries load on the first lookup; and the active segment's new entries
/// are written only when the segment is sealed or the log closes, because after a crash
/// the active segment's indexes are rebuilt from the log anyway. Thread-safe on its own
/// lock so lookups never take the partition lock.
final class IndexFile<Entry: IndexEntry>: @unchecked Sendable {
    let file: SegmentFile
    /// Rejects entries that point outside the segment (checked when loading from disk).
    private let accept: @Sendable (Entry) -> Bool

    private struct State {
        var entries: [Entry]?
        var persisted = 0
        var needsSync = false
        var needsRewrite = false
    }
    private let state: Locked<State>

    /// `entries`: the complete content when known (a new or rebuilt index); nil to load
    /// from the file on first use.
    init(path: String, entries: [Entry]?, accept: @escaping @Sendable (Entry) -> Bool) {
        self.file = SegmentFile(path: path, create: true)
        self.accept = accept
        var s = State()
        s.entries = entries
        s.needsRewrite = entries != nil
        self.state = Locked(s)
    }

    var path: String { file.path }

    /// Runs `body` on the entries, loading them from disk first if needed.
    func withEntries<R>(_ body: ([Entry]) throws -> R) rethrows -> R {
        try state.withLock { s in
            if s.entries == nil { load(&s) }
            return try body(s.entries ?? [])
        }
    }

    func append(_ entry: Entry) {
        state.withLock { s in
            if s.entries == nil { load(&s) }
            s.entries?.append(entry)
        }
    }

    /// Entries are in memory (a lookup will not read the file).
    var isLoaded: Bool { state.withLock { $0.entries != nil } }

    var count: Int { withEntries { $0.count } }
    var last: Entry? { withEntries { $0.last } }

    /// Writes entries not yet in the file. No fsync (see `sync`).
    func persist() throws {
        try state.withLock { (s: inout State) throws in
            guard let entries = s.entries else { return }
            if s.needsRewrite {
                var w = ByteWriter(capacity: entries.count * Entry.size)
                for e in entries { e.encode(into: &w) }
                try file.truncate(to: 0)
                try file.write(w.bytes, at: 0)
                s.persisted = entries.count
                s.needsRewrite = false
                s.needsSync = true
                return
            }
            guard s.persisted < entries.count else { return }
            var w = ByteWriter(capacity: (entries.count - s.persisted) * Entry.size)
            for e in entries[s.persisted...] { e.encode(into: &w) }
            try file.write(w.bytes, at: Int64(s.persisted * Entry.size))
            s.persisted = entries.count
            s.needsSync = true
        }
    }

    /// fsyncs the file if anything was written since the last sync.
    func sync() throws {
        let needed = state.withLock { s -> Bool in
            defer { s.needsSync = false }
            return s.needsSync
        }
        if needed {
            do { try file.sync() } catch {
                state.withLock { $0.needsSync = true }
                throw error
            }
        }
    }

    /// Loads and validates the file; a damaged tail is dropped (the index is sparse, so a
    /// prefix is still correct) and the file is cut back to match. A missing or unreadable
    /// file yields an empty index: lookups then start at the segment's beginning.
    private func load(_ s: inout State) {
        var entries: [Entry] = []
        let bytes: [UInt8]
        do {
            // Bounded so a hostile file cannot make us allocate without limit; 64 MiB is
            // far above what the entry limit of a segment allows.
            let size = min(try file.size(), 64 << 20)
            bytes = try file.read(at: 0, count: Int(size))
        } catch {
            s.entries = []
            s.persisted = 0
            s.needsRewrite = true
            return
        }
        let whole = bytes.count / Entry.size
        entries.reserveCapacity(whole)
        bytes.withUnsafeBytes { raw in
            for i in 0..<whole {
                let e = Entry(decoding: raw, at: i * Entry.size)
                if !accept(e) { break }
                if let prev = entries.last, !e.follows(prev) { break }
                entries.append(e)
            }
        }
        if entries.count * Entry.size != bytes.count {
            try? file.truncate(to: Int64(entries.count * Entry.size))
        }
        s.entries = entries
        s.persisted = entries.count
    }
}

extension IndexFile {
    /// Cheap start-up check of an index file without loading it: the size must be a whole
    /// number of entries and the last entry must be acceptable. Returns the last entry
    /// (nil for an empty file) or throws if the file is missing or fails the check.
    static func checkLastEntry(path: String, accept: (Entry) -> Bool) -> Result<Entry?, CheckFailure> {
        guard let size = FileSystem.fileSize(path) else { return .failure(.missing) }
        if size % Int64(Entry.size) != 0 { return .failure(.badSize(size)) }
        if size == 0 { return .success(nil) }
        let bytes: [UInt8]
        do {
            guard let b = try FileSystem.readTail(path, count: Entry.size), b.count == Entry.size else {
                return .failure(.unreadable)
            }
            bytes = b
        } catch {
            return .failure(.unreadable)
        }
        let entry = bytes.withUnsafeBytes { Entry(decoding: $0, at: 0) }
        return accept(entry) ? .success(entry) : .failure(.badLastEntry)
    }
}

enum CheckFailure: Error, CustomStringConvertible {
    case missing, badSize(Int64), unreadable, badLastEntry
    var description: String {
        switch self {
        case .missing: return "missing"
        case .badSize(let s): return "size \(s) is not a whole number of entries"
        case .unreadable: return "unreadable"
        case .badLastEntry: return "last entry points outside the segment"
        }
    }
}
