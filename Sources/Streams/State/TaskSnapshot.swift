import CRC32C

/// One task's checkpoint: where each of its source partitions is (next offset, largest event
/// time seen), its watermark, and each stateful operator's state by name.
struct TaskSnapshot: Equatable, Sendable {
    static let magic: UInt64 = 0x5242_434B_5054_0002  // "RBCKPT" v2

    struct Input: Equatable, Sendable {
        var topic: String
        var partition: Int32
        var nextOffset: Int64
        var maxEventTime: Millis
    }

    var job: String
    var version: String
    var checkpointID: Int64
    var partition: Int32
    var watermark: Millis
    var inputs: [Input]
    /// Each stateful operator: its stable name, what kind of state it keeps (a window spec, an
    /// OVER's measures), the state.
    var operators: [(name: String, kind: String, state: ArraySlice<UInt8>)]

    static func == (a: TaskSnapshot, b: TaskSnapshot) -> Bool {
        a.job == b.job && a.version == b.version && a.checkpointID == b.checkpointID && a.partition == b.partition
            && a.watermark == b.watermark && a.inputs == b.inputs
            && a.operators.map(\.name) == b.operators.map(\.name) && a.operators.map(\.kind) == b.operators.map(\.kind)
            && a.operators.map(\.state) == b.operators.map(\.state)
    }

    func encode() -> [UInt8] { Array(encodeParts().joined()) }

    /// The encoding as consecutive parts: small headers and the operator states themselves,
    /// not copied (a large state is written to the topic and the disk from where it lies).
    func encodeParts() -> [ArraySlice<UInt8>] {
        var w = StateWriter()
        w.uint(Self.magic)
        w.string(job); w.string(version)
        w.int(checkpointID); w.int(Int64(partition)); w.int(watermark)
        w.int(inputs.count)
        for i in inputs { w.string(i.topic); w.int(Int64(i.partition)); w.int(i.nextOffset); w.int(i.maxEventTime) }
        w.int(operators.count)
        var parts: [ArraySlice<UInt8>] = []
        for o in operators {
            w.string(o.name); w.string(o.kind); w.int(o.state.count)
            parts.append(w.bytes[...])
            parts.append(o.state)
            w = StateWriter()
        }
        if !w.bytes.isEmpty { parts.append(w.bytes[...]) }
        return parts
    }

    init(job: String, version: String, checkpointID: Int64, partition: Int32, watermark: Millis, inputs: [Input], operators: [(name: String, kind: String, state: ArraySlice<UInt8>)]) {
        self.job = job
        self.version = version
        self.checkpointID = checkpointID
        self.partition = partition
        self.watermark = watermark
        self.inputs = inputs
        self.operators = operators
    }

    init(decoding bytes: [UInt8]) throws(StateError) {
        var r = StateReader(bytes)
        guard try r.uint() == Self.magic else { throw StateError("not a Riverbank task checkpoint (bad magic)") }
        job = try r.string(); version = try r.string()
        checkpointID = try r.int()
        partition = Int32(truncatingIfNeeded: try r.int())
        watermark = try r.int()
        inputs = []
        for _ in 0..<(try r.count(max: 1 << 16)) {
            inputs.append(Input(topic: try r.string(), partition: Int32(truncatingIfNeeded: try r.int()), nextOffset: try r.int(), maxEventTime: try r.int()))
        }
        operators = []
        for _ in 0..<(try r.count(max: 1 << 16)) { operators.append((try r.string(), try r.string(), try r.blobSlice())) }
        guard r.atEnd else { throw StateError("trailing bytes after the checkpoint") }
    }
}

/// How a checkpoint body is checksummed: CRC-32C (hardware-accelerated; a 1 GB state is
/// checked in a fraction of a second). Manifests written before it say nothing and used
/// FNV-1a, which is still read.
enum ChecksumKind: Int64 {
    case fnv1a = 1
    case crc32c = 2

    func of(_ bytes: [UInt8]) -> UInt64 { of([bytes[...]]) }

    /// The checksum of the parts' concatenation.
    func of(_ parts: [ArraySlice<UInt8>]) -> UInt64 {
        switch self {
        case .fnv1a:
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for p in parts { h = Streams.fnv1a(p, h) }
            return h
        case .crc32c:
            var c: UInt32 = 0
            for p in parts { c = p.withUnsafeBytes { rb_crc32c(c, $0.baseAddress, $0.count) } }
            return UInt64(c)
        }
    }
}

/// FNV-1a, 64 bits (the checksum of older checkpoints), continuing from `h`.
func fnv1a<C: Collection>(_ bytes: C, _ start: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 where C.Element == UInt8 {
    var h = start
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}
