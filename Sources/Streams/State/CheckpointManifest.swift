/// What a task's complete checkpoint is made of, written (in partition 0 of the checkpoint
/// topic, key `task/P`) only once every chunk is acknowledged.
struct CheckpointManifest: Equatable {
    var checkpointID: Int64
    var chunks: Int
    var length: Int
    var checksum: UInt64
    var checksumKind: ChecksumKind
    /// Where the chunks are in partition 1, in order, so a restore fetches exactly them. Empty:
    /// unknown (a retried write whose offset the broker did not return, or a checkpoint from
    /// before the split, whose chunks are in partition 0): found by key.
    var chunkOffsets: [Int64]

    init(checkpointID: Int64, chunks: Int, length: Int, body: [UInt8], chunkOffsets: [Int64] = []) {
        self.init(checkpointID: checkpointID, chunks: chunks, length: length, parts: [body[...]], chunkOffsets: chunkOffsets)
    }

    init(checkpointID: Int64, chunks: Int, length: Int, parts: [ArraySlice<UInt8>], chunkOffsets: [Int64] = []) {
        self.checkpointID = checkpointID
        self.chunks = chunks
        self.length = length
        checksumKind = .crc32c
        checksum = checksumKind.of(parts)
        self.chunkOffsets = chunkOffsets
    }

    /// The partition its chunks are in: 1, but 0 for checkpoints from before the split (the
    /// only ones checksummed with FNV-1a).
    var chunkPartition: Int32 { checksumKind == .fnv1a ? 0 : 1 }

    func matches(_ body: [UInt8]) -> Bool { body.count == length && checksumKind.of(body) == checksum }

    func encode() -> [UInt8] {
        var w = StateWriter()
        w.int(checkpointID); w.int(chunks); w.int(length); w.uint(checksum); w.int(checksumKind.rawValue)
        w.int(chunkOffsets.count)
        for o in chunkOffsets { w.int(o) }
        return w.bytes
    }

    /// Reads every form written so far: four fields (FNV-1a, chunks in partition 0), then the
    /// checksum kind, then the chunk offsets.
    init(_ b: [UInt8]) throws(StateError) {
        var r = StateReader(b)
        checkpointID = try r.int()
        let c = try r.int(), l = try r.int()
        guard c >= 0, c <= 1 << 24, l >= 0, l <= Int64(c) * Int64(CheckpointStore.chunkBytes) else {
            throw StateError("manifest: implausible chunk count \(c) or length \(l)")
        }
        chunks = Int(c)
        length = Int(l)
        checksum = try r.uint()
        chunkOffsets = []
        if r.atEnd {
            checksumKind = .fnv1a
            return
        }
        let k = try r.int()
        guard let kind = ChecksumKind(rawValue: k) else { throw StateError("manifest: unknown checksum kind \(k)") }
        checksumKind = kind
        if r.atEnd { return }
        let n = try r.count(max: chunks)
        guard n == 0 || n == chunks else { throw StateError("manifest: \(n) chunk offsets for \(chunks) chunks") }
        for _ in 0..<n { chunkOffsets.append(try r.int()) }
        guard r.atEnd else { throw StateError("manifest: trailing bytes") }
    }
}

/// Written (key `task/P/writing`) before a checkpoint's chunks: if the process dies before the
/// manifest, the next start knows which chunks were left behind; if it dies after the manifest
/// but before the tombstones, it knows which chunks the checkpoint replaced (`stale`). Either
/// way the next checkpoint tombstones them.
struct CheckpointIntent: Equatable {
    var checkpointID: Int64
    var chunks: Int
    /// What this checkpoint tombstones once its manifest is written.
    var stale: [CheckpointStore.Place]

    func encode() -> [UInt8] {
        var w = StateWriter()
        w.int(checkpointID); w.int(chunks)
        w.int(stale.count)
        for p in stale { w.int(Int64(p.partition)); w.string(p.key) }
        return w.bytes
    }

    init(checkpointID: Int64, chunks: Int, stale: [CheckpointStore.Place] = []) {
        self.checkpointID = checkpointID
        self.chunks = chunks
        self.stale = stale
    }

    init(_ b: [UInt8]) throws(StateError) {
        var r = StateReader(b)
        checkpointID = try r.int()
        chunks = try r.count(max: 1 << 24)
        stale = []
        if r.atEnd { return }
        for _ in 0..<(try r.count(max: 1 << 24)) {
            stale.append(CheckpointStore.Place(partition: Int32(truncatingIfNeeded: try r.int()), key: try r.string()))
        }
    }
}
