import NIOCore

// Kafka's primitive encodings on top of NIO's ByteBuffer. Every read validates the remaining
// length first: input comes from the network and is hostile until proven otherwise.
extension ByteBuffer {
    @inlinable
    public mutating func readKafkaInt<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String = "integer") throws -> T {
        guard let v = readInteger(endianness: .big, as: T.self) else { throw KafkaDecodingError.truncated(what()) }
        return v
    }

    /// Unsigned LEB128 varint, at most 5 bytes (Kafka's UNSIGNED_VARINT is 32-bit).
    @inlinable
    public mutating func readUnsignedVarint() throws -> UInt32 {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        while true {
            guard let byte = readInteger(as: UInt8.self) else { throw KafkaDecodingError.truncated("varint") }
            if shift == 28 && byte > 0x0F { throw KafkaDecodingError.invalidValue("varint longer than 5 bytes") }
            result |= UInt32(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    @inlinable
    public mutating func readUnsignedVarlong() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard let byte = readInteger(as: UInt8.self) else { throw KafkaDecodingError.truncated("varlong") }
            if shift == 63 && byte > 0x01 { throw KafkaDecodingError.invalidValue("varlong longer than 10 bytes") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// Zig-zag signed varint (record fields).
    @inlinable
    public mutating func readVarint() throws -> Int32 {
        let u = try readUnsignedVarint()
        return Int32(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    @inlinable
    public mutating func readVarlong() throws -> Int64 {
        let u = try readUnsignedVarlong()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    @inlinable
    @discardableResult
    public mutating func writeUnsignedVarint(_ value: UInt32) -> Int {
        var v = value
        var n = 0
        while v >= 0x80 {
            writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
            n += 1
        }
        writeInteger(UInt8(truncatingIfNeeded: v))
        return n + 1
    }

    @inlinable
    @discardableResult
    public mutating func writeUnsignedVarlong(_ value: UInt64) -> Int {
        var v = value
        var n = 0
        while v >= 0x80 {
            writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
            n += 1
        }
        writeInteger(UInt8(truncatingIfNeeded: v))
        return n + 1
    }

    @inlinable
    @discardableResult
    public mutating func writeVarint(_ value: Int32) -> Int {
        writeUnsignedVarint(UInt32(bitPattern: (value << 1) ^ (value >> 31)))
    }

    @inlinable
    @discardableResult
    public mutating func writeVarlong(_ value: Int64) -> Int {
        writeUnsignedVarlong(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// Reads `length` bytes as a slice (no copy), checking the length against what is there.
    @inlinable
    public mutating func readKafkaSlice(length: Int, _ what: @autoclosure () -> String) throws -> ByteBuffer {
        guard length >= 0 else { throw KafkaDecodingError.invalidLength(what(), length) }
        guard let s = readSlice(length: length) else { throw KafkaDecodingError.truncated(what()) }
        return s
    }

    @inlinable
    public mutating func readKafkaString(length: Int, _ what: @autoclosure () -> String) throws -> String {
        guard length >= 0 else { throw KafkaDecodingError.invalidLength(what(), length) }
        guard let s = readString(length: length) else { throw KafkaDecodingError.truncated(what()) }
        return s
    }
}

/// Size of an unsigned varint encoding, for precomputing lengths.
@inlinable
public func unsignedVarintSize(_ value: UInt32) -> Int {
    var v = value
    var n = 1
    while v >= 0x80 { v >>= 7; n += 1 }
    return n
}

@inlinable
public func varintSize(_ value: Int32) -> Int { unsignedVarintSize(UInt32(bitPattern: (value << 1) ^ (value >> 31))) }

@inlinable
public func varlongSize(_ value: Int64) -> Int {
    var v = UInt64(bitPattern: (value << 1) ^ (value >> 63))
    var n = 1
    while v >= 0x80 { v >>= 7; n += 1 }
    return n
}
