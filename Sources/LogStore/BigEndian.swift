/// Big-endian loads and stores on raw memory. Callers check bounds first; these never
/// assume alignment because batch fields sit at odd offsets.
extension UnsafeRawBufferPointer {
    @inline(__always) func beInt64(at offset: Int) -> Int64 {
        Int64(bigEndian: loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }
    @inline(__always) func beInt32(at offset: Int) -> Int32 {
        Int32(bigEndian: loadUnaligned(fromByteOffset: offset, as: Int32.self))
    }
    @inline(__always) func beUInt32(at offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    @inline(__always) func beInt16(at offset: Int) -> Int16 {
        Int16(bigEndian: loadUnaligned(fromByteOffset: offset, as: Int16.self))
    }
}

/// Appends big-endian fields to a byte array (index files, snapshots).
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func int64(_ v: Int64) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func int32(_ v: Int32) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func uint32(_ v: UInt32) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func int16(_ v: Int16) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func uint16(_ v: UInt16) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func uint8(_ v: UInt8) { bytes.append(v) }
}

/// Reads big-endian fields from untrusted bytes; every read is bounds-checked and returns
/// nil past the end instead of trapping.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var position: Int = 0

    init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var remaining: Int { bytes.count - position }

    private mutating func take<T: FixedWidthInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        let value = bytes.withUnsafeBytes { T(bigEndian: $0.loadUnaligned(fromByteOffset: position, as: T.self)) }
        position += size
        return value
    }

    mutating func int64() -> Int64? { take(Int64.self) }
    mutating func int32() -> Int32? { take(Int32.self) }
    mutating func uint32() -> UInt32? { take(UInt32.self) }
    mutating func int16() -> Int16? { take(Int16.self) }
    mutating func uint16() -> UInt16? { take(UInt16.self) }
    mutating func uint8() -> UInt8? { take(UInt8.self) }
}
