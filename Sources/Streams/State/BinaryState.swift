/// The byte format of checkpointed state: little-endian fixed-width integers and doubles,
/// length-prefixed strings and byte strings. Readers check every length against what is
/// left (a checkpoint read back from a topic or a disk is input like any other).
public struct StateWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    /// Empty again, keeping the storage (one writer reused per record).
    public mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    public mutating func int(_ v: Int64) { uint(UInt64(bitPattern: v)) }
    public mutating func int(_ v: Int) { int(Int64(v)) }
    @inline(__always) public mutating func uint(_ v: UInt64) {
        // Little-endian whatever the host; eight bytes in one append (checkpoints write
        // millions of these).
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }
    public mutating func double(_ v: Double) { uint(v.bitPattern) }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    public mutating func byte(_ v: UInt8) { bytes.append(v) }

    public mutating func string(_ s: String) {
        int(s.utf8.count)
        bytes.append(contentsOf: s.utf8)
    }

    public mutating func blob<C: Collection>(_ b: C) where C.Element == UInt8 {
        int(b.count)
        bytes.append(contentsOf: b)
    }

    public mutating func key(_ k: StreamKey) {
        if let s = k.string {
            bytes.append(1)
            string(s)
        } else {
            bytes.append(0)
            int(k.int)
        }
    }

    public mutating func stats(_ s: Stats) {
        int(s.count); double(s.sum); double(s.min); double(s.max)
    }
}

/// Why state could not be read back.
public struct StateError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ d: String) { description = d }
}

public struct StateReader {
    /// A slice, so that a task snapshot's operator states are read where they lie in the
    /// checkpoint body (a gigabyte is not copied to be parsed). `pos` and `end` are offsets
    /// from the slice's start.
    let bytes: ArraySlice<UInt8>
    var pos = 0
    let end: Int
    /// Where the slice's bytes are: `bytes` keeps them alive and is never mutated, so they do
    /// not move (one pointer instead of a slice access per field read).
    let base: UnsafeRawPointer?

    public init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    public init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        end = bytes.count
        base = bytes.withUnsafeBytes { $0.baseAddress }
    }

    public var atEnd: Bool { pos == end }

    mutating func take(_ n: Int) throws(StateError) -> ArraySlice<UInt8> {
        guard n >= 0, n <= end - pos else { throw StateError("state truncated at byte \(pos) (wanted \(n) more)") }
        defer { pos += n }
        let s = bytes.startIndex + pos
        return bytes[s..<(s + n)]
    }

    @inline(__always) public mutating func uint() throws(StateError) -> UInt64 {
        guard end - pos >= 8 else { throw StateError("state truncated at byte \(pos) (wanted 8 more)") }
        let p = pos
        pos += 8
        return UInt64(littleEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: p, as: UInt64.self))
    }

    public mutating func int() throws(StateError) -> Int64 { Int64(bitPattern: try uint()) }
    public mutating func count(max: Int = 1 << 31) throws(StateError) -> Int {
        let v = try int()
        guard v >= 0, v <= max, v <= Int64(end - pos) * 64 + 64 else { throw StateError("implausible count \(v) at byte \(pos - 8)") }
        return Int(v)
    }
    public mutating func double() throws(StateError) -> Double { Double(bitPattern: try uint()) }
    public mutating func bool() throws(StateError) -> Bool { try byte() != 0 }

    @inline(__always) public mutating func byte() throws(StateError) -> UInt8 {
        guard pos < end else { throw StateError("state truncated at byte \(pos) (wanted 1 more)") }
        defer { pos += 1 }
        return base.unsafelyUnwrapped.load(fromByteOffset: pos, as: UInt8.self)
    }

    public mutating func string() throws(StateError) -> String {
        let n = try count()
        return String(decoding: try take(n), as: UTF8.self)
    }

    public mutating func blob() throws(StateError) -> [UInt8] {
        let n = try count()
        return Array(try take(n))
    }

    /// A length-prefixed byte string as a slice of the input (no copy).
    public mutating func blobSlice() throws(StateError) -> ArraySlice<UInt8> {
        let n = try count()
        return try take(n)
    }

    public mutating func key() throws(StateError) -> StreamKey {
        switch try byte() {
        case 0: return StreamKey(try int())
        case 1: return StreamKey(try string())
        case let t: throw StateError("bad key tag \(t) at byte \(pos - 1)")
        }
    }

    public mutating func stats() throws(StateError) -> Stats {
        var s = Stats()
        s.count = try int(); s.sum = try double(); s.min = try double(); s.max = try double()
        return s
    }
}

/// A value that operators keep in checkpointed state (window accumulators, buffered rows).
/// Write and read the same fields in the same order.
/// Sendable: a checkpoint writes frozen state on another thread while processing goes on.
public protocol StateCodable: Sendable {
    func write(to w: inout StateWriter)
    init(from r: inout StateReader) throws(StateError)
}

extension Stats: StateCodable {
    public func write(to w: inout StateWriter) { w.stats(self) }
    public init(from r: inout StateReader) throws(StateError) { self = try r.stats() }
}
