import NIOCore

/// One description of a message's fields serves both directions: a message type writes
/// `mutating func code<C: KafkaCoder>(_ c: inout C)` once, listing its fields with the versions
/// they exist in, and that same function decodes requests and encodes responses (and the
/// reverse for the client). This keeps each API's layout declarative and in one place.
public protocol KafkaCoder {
    /// The API version being coded.
    var version: Int16 { get }
    /// Flexible versions use compact strings/arrays/bytes and tagged fields (KIP-482).
    var flexible: Bool { get }
    var isDecoding: Bool { get }

    mutating func int8(_ v: inout Int8) throws
    mutating func int16(_ v: inout Int16) throws
    mutating func uint16(_ v: inout UInt16) throws
    mutating func int32(_ v: inout Int32) throws
    mutating func int64(_ v: inout Int64) throws
    mutating func bool(_ v: inout Bool) throws
    mutating func float64(_ v: inout Double) throws
    mutating func uuid(_ v: inout KafkaUUID) throws
    mutating func string(_ v: inout String) throws
    mutating func nullableString(_ v: inout String?) throws
    mutating func bytes(_ v: inout ByteBuffer) throws
    mutating func nullableBytes(_ v: inout ByteBuffer?) throws
    /// Number of elements of an array about to be coded; nil means a null array.
    mutating func arrayCount(_ count: Int?) throws -> Int?
    /// Tagged fields of the current structure: unknown tags are skipped when decoding;
    /// `known` lets a structure encode/decode the tags it understands.
    mutating func taggedFields(_ known: inout TaggedFields) throws
}

/// Tagged fields as raw payloads keyed by tag; the few messages that use known tags read or
/// write them through this, everything else passes an empty set.
public struct TaggedFields: Sendable, Equatable {
    public var fields: [(tag: UInt32, data: ByteBuffer)] = []
    public init() {}
    public static func == (a: TaggedFields, b: TaggedFields) -> Bool {
        a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.tag == $1.tag && $0.data == $1.data }
    }
    public func value(for tag: UInt32) -> ByteBuffer? { fields.first { $0.tag == tag }?.data }
}

/// A structure that can be coded field by field.
public protocol KafkaStruct: Sendable {
    init()
    mutating func code<C: KafkaCoder>(_ c: inout C) throws
}

extension KafkaCoder {
    /// Tagged-field section for structures with no known tags.
    @inlinable
    public mutating func tags() throws {
        if flexible {
            var t = TaggedFields()
            try taggedFields(&t)
        }
    }

    @inlinable
    public mutating func array<T: KafkaStruct>(_ v: inout [T]) throws {
        let n = try arrayCount(v.count) ?? 0
        if isDecoding {
            var out = [T]()
            out.reserveCapacity(n)
            for _ in 0..<n {
                var e = T()
                try e.code(&self)
                out.append(e)
            }
            v = out
        } else {
            for i in v.indices { try v[i].code(&self) }
        }
    }

    @inlinable
    public mutating func nullableArray<T: KafkaStruct>(_ v: inout [T]?) throws {
        let n = try arrayCount(v?.count)
        guard let n else { v = nil; return }
        if isDecoding {
            var out = [T]()
            out.reserveCapacity(n)
            for _ in 0..<n {
                var e = T()
                try e.code(&self)
                out.append(e)
            }
            v = out
        } else if var arr = v {
            for i in arr.indices { try arr[i].code(&self) }
        }
    }

    @inlinable
    public mutating func int32Array(_ v: inout [Int32]) throws {
        let n = try arrayCount(v.count) ?? 0
        if isDecoding {
            var out = [Int32]()
            out.reserveCapacity(n)
            for _ in 0..<n { var x: Int32 = 0; try int32(&x); out.append(x) }
            v = out
        } else {
            for var x in v { try int32(&x) }
        }
    }

    @inlinable
    public mutating func int64Array(_ v: inout [Int64]) throws {
        let n = try arrayCount(v.count) ?? 0
        if isDecoding {
            var out = [Int64]()
            out.reserveCapacity(n)
            for _ in 0..<n { var x: Int64 = 0; try int64(&x); out.append(x) }
            v = out
        } else {
            for var x in v { try int64(&x) }
        }
    }

    @inlinable
    public mutating func stringArray(_ v: inout [String]) throws {
        let n = try arrayCount(v.count) ?? 0
        if isDecoding {
            var out = [String]()
            out.reserveCapacity(n)
            for _ in 0..<n { var x = ""; try string(&x); out.append(x) }
            v = out
        } else {
            for var x in v { try string(&x) }
        }
    }

    @inlinable
    public mutating func nullableStringArray(_ v: inout [String]?) throws {
        let n = try arrayCount(v?.count)
        guard let n else { v = nil; return }
        if isDecoding {
            var out = [String]()
            out.reserveCapacity(n)
            for _ in 0..<n { var x = ""; try string(&x); out.append(x) }
            v = out
        } else if let arr = v {
            for var x in arr { try string(&x) }
        }
    }

    /// Codes a nested structure (not an array): its own tagged fields included.
    @inlinable
    public mutating func `struct`<T: KafkaStruct>(_ v: inout T) throws {
        try v.code(&self)
    }
}

// MARK: - Decoder

public struct KafkaDecoder: KafkaCoder {
    public var buffer: ByteBuffer
    public let version: Int16
    public let flexible: Bool
    public var isDecoding: Bool { true }

    public init(buffer: ByteBuffer, version: Int16, flexible: Bool) {
        self.buffer = buffer
        self.version = version
        self.flexible = flexible
    }

    @inlinable public mutating func int8(_ v: inout Int8) throws { v = try buffer.readKafkaInt(Int8.self, "int8") }
    @inlinable public mutating func int16(_ v: inout Int16) throws { v = try buffer.readKafkaInt(Int16.self, "int16") }
    @inlinable public mutating func uint16(_ v: inout UInt16) throws { v = try buffer.readKafkaInt(UInt16.self, "uint16") }
    @inlinable public mutating func int32(_ v: inout Int32) throws { v = try buffer.readKafkaInt(Int32.self, "int32") }
    @inlinable public mutating func int64(_ v: inout Int64) throws { v = try buffer.readKafkaInt(Int64.self, "int64") }
    @inlinable public mutating func bool(_ v: inout Bool) throws { v = try buffer.readKafkaInt(UInt8.self, "bool") != 0 }
    @inlinable public mutating func float64(_ v: inout Double) throws {
        v = Double(bitPattern: try buffer.readKafkaInt(UInt64.self, "float64"))
    }
    @inlinable public mutating func uuid(_ v: inout KafkaUUID) throws {
        v = KafkaUUID(high: try buffer.readKafkaInt(UInt64.self, "uuid"), low: try buffer.readKafkaInt(UInt64.self, "uuid"))
    }

    /// Length of a string/bytes: -1 (or compact 0) is null.
    @inlinable mutating func readLength(_ what: String, short: Bool) throws -> Int? {
        if flexible {
            let n = try buffer.readUnsignedVarint()
            if n == 0 { return nil }
            return Int(n - 1)
        }
        let n = short ? Int(try buffer.readKafkaInt(Int16.self, what)) : Int(try buffer.readKafkaInt(Int32.self, what))
        if n == -1 { return nil }
        guard n >= 0 else { throw KafkaDecodingError.invalidLength(what, n) }
        return n
    }

    @inlinable public mutating func string(_ v: inout String) throws {
        guard let n = try readLength("string", short: true) else { throw KafkaDecodingError.invalidValue("null for non-nullable string") }
        v = try buffer.readKafkaString(length: n, "string")
    }
    @inlinable public mutating func nullableString(_ v: inout String?) throws {
        guard let n = try readLength("string", short: true) else { v = nil; return }
        v = try buffer.readKafkaString(length: n, "string")
    }
    @inlinable public mutating func bytes(_ v: inout ByteBuffer) throws {
        guard let n = try readLength("bytes", short: false) else { throw KafkaDecodingError.invalidValue("null for non-nullable bytes") }
        v = try buffer.readKafkaSlice(length: n, "bytes")
    }
    @inlinable public mutating func nullableBytes(_ v: inout ByteBuffer?) throws {
        guard let n = try readLength("bytes", short: false) else { v = nil; return }
        v = try buffer.readKafkaSlice(length: n, "bytes")
    }

    @inlinable public mutating func arrayCount(_ count: Int?) throws -> Int? {
        let n: Int
        if flexible {
            let raw = try buffer.readUnsignedVarint()
            if raw == 0 { return nil }
            n = Int(raw) - 1
        } else {
            let raw = try buffer.readKafkaInt(Int32.self, "array length")
            if raw == -1 { return nil }
            n = Int(raw)
        }
        // Each element takes at least one byte: a count beyond the remaining bytes is a lie
        // that would otherwise make us reserve gigabytes.
        guard n >= 0, n <= buffer.readableBytes else { throw KafkaDecodingError.invalidLength("array", n) }
        return n
    }

    public mutating func taggedFields(_ known: inout TaggedFields) throws {
        guard flexible else { return }
        let count = try buffer.readUnsignedVarint()
        guard Int(count) <= buffer.readableBytes else { throw KafkaDecodingError.invalidLength("tagged fields", Int(count)) }
        known.fields.removeAll()
        var last: Int64 = -1
        for _ in 0..<count {
            let tag = try buffer.readUnsignedVarint()
            guard Int64(tag) > last else { throw KafkaDecodingError.invalidValue("tagged fields out of order") }
            last = Int64(tag)
            let size = try buffer.readUnsignedVarint()
            let data = try buffer.readKafkaSlice(length: Int(size), "tagged field")
            known.fields.append((tag, data))
        }
    }
}

// MARK: - Encoder

public struct KafkaEncoder: KafkaCoder {
    public var buffer: ByteBuffer
    public let version: Int16
    public let flexible: Bool
    public var isDecoding: Bool { false }

    public init(buffer: ByteBuffer, version: Int16, flexible: Bool) {
        self.buffer = buffer
        self.version = version
        self.flexible = flexible
    }

    @inlinable public mutating func int8(_ v: inout Int8) throws { buffer.writeInteger(v) }
    @inlinable public mutating func int16(_ v: inout Int16) throws { buffer.writeInteger(v, endianness: .big) }
    @inlinable public mutating func uint16(_ v: inout UInt16) throws { buffer.writeInteger(v, endianness: .big) }
    @inlinable public mutating func int32(_ v: inout Int32) throws { buffer.writeInteger(v, endianness: .big) }
    @inlinable public mutating func int64(_ v: inout Int64) throws { buffer.writeInteger(v, endianness: .big) }
    @inlinable public mutating func bool(_ v: inout Bool) throws { buffer.writeInteger(UInt8(v ? 1 : 0)) }
    @inlinable public mutating func float64(_ v: inout Double) throws { buffer.writeInteger(v.bitPattern, endianness: .big) }
    @inlinable public mutating func uuid(_ v: inout KafkaUUID) throws {
        buffer.writeInteger(v.high, endianness: .big)
        buffer.writeInteger(v.low, endianness: .big)
    }

    @inlinable mutating func writeLength(_ n: Int?, short: Bool) {
        if flexible {
            buffer.writeUnsignedVarint(n.map { UInt32($0 + 1) } ?? 0)
        } else if short {
            buffer.writeInteger(Int16(n ?? -1), endianness: .big)
        } else {
            buffer.writeInteger(Int32(n ?? -1), endianness: .big)
        }
    }

    @inlinable public mutating func string(_ v: inout String) throws {
        let n = v.utf8.count
        guard n <= Int(Int16.max) else { throw KafkaDecodingError.invalidLength("string", n) }
        writeLength(n, short: true)
        buffer.writeString(v)
    }
    @inlinable public mutating func nullableString(_ v: inout String?) throws {
        guard var s = v else { writeLength(nil, short: true); return }
        try string(&s)
    }
    @inlinable public mutating func bytes(_ v: inout ByteBuffer) throws {
        writeLength(v.readableBytes, short: false)
        buffer.writeImmutableBuffer(v)
    }
    @inlinable public mutating func nullableBytes(_ v: inout ByteBuffer?) throws {
        guard var b = v else { writeLength(nil, short: false); return }
        try bytes(&b)
    }
    @inlinable public mutating func arrayCount(_ count: Int?) throws -> Int? {
        if flexible {
            buffer.writeUnsignedVarint(count.map { UInt32($0 + 1) } ?? 0)
        } else {
            buffer.writeInteger(Int32(count ?? -1), endianness: .big)
        }
        return count
    }
    public mutating func taggedFields(_ known: inout TaggedFields) throws {
        guard flexible else { return }
        buffer.writeUnsignedVarint(UInt32(known.fields.count))
        for (tag, data) in known.fields.sorted(by: { $0.tag < $1.tag }) {
            buffer.writeUnsignedVarint(tag)
            buffer.writeUnsignedVarint(UInt32(data.readableBytes))
            buffer.writeImmutableBuffer(data)
        }
    }
}
