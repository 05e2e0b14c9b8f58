/// A bounds-checked reader of Avro binary held in memory. Every length and count is checked
/// against what remains, varints against overflow and over-long encodings, so hostile input
/// fails with an error instead of reading out of bounds or looping.
struct AvroReader {
    let base: UnsafePointer<UInt8>
    let end: Int
    var pos: Int
    /// Items of zero-byte types (null, empty records) the data may still claim: a count of
    /// those costs time, not bytes.
    var emptyItemBudget = 100_000

    init(base: UnsafePointer<UInt8>, start: Int, end: Int) {
        self.base = base
        self.pos = start
        self.end = end
    }

    @inline(__always) var remaining: Int { end - pos }

    /// A zigzag varint of at most 10 bytes that fits 64 bits.
    @inline(__always) mutating func readLong() throws(AvroFailure) -> Int64 {
        guard pos < end else { throw AvroFailure.at(pos, .end("a long")) }
        let b0 = base[pos]
        if b0 < 0x80 {
            pos += 1
            return Int64(b0 >> 1) ^ -Int64(b0 & 1)
        }
        return try readLongSlow()
    }

    mutating func readLongSlow() throws(AvroFailure) -> Int64 {
        let start = pos
        var acc: UInt64 = 0
        var shift: UInt64 = 0
        if end - pos >= 10 {
            // Ten bytes are there: no bounds check per byte.
            var p = base + pos
            repeat {
                let b = p.pointee
                p += 1
                acc |= UInt64(b & 0x7F) &<< shift
                if b < 0x80 {
                    if shift == 63 && b > 1 { break }
                    pos = p - base
                    return Int64(bitPattern: (acc >> 1) ^ (0 &- (acc & 1)))
                }
                shift &+= 7
            } while shift <= 63
            throw AvroFailure.at(start, .longOverflow)
        }
        while true {
            guard pos < end else { throw AvroFailure.at(start, .varintEnd) }
            let b = base[pos]
            pos += 1
            if shift == 63 && b > 1 { throw AvroFailure.at(start, .longOverflow) }
            acc |= UInt64(b & 0x7F) &<< shift
            if b < 0x80 { break }
            shift &+= 7
        }
        return Int64(bitPattern: (acc >> 1) ^ (0 &- (acc & 1)))
    }

    /// A zigzag varint of at most 5 bytes that fits 32 bits.
    @inline(__always) mutating func readInt() throws(AvroFailure) -> Int32 {
        guard pos < end else { throw AvroFailure.at(pos, .end("an int")) }
        let b0 = base[pos]
        if b0 < 0x80 {
            pos += 1
            return Int32(b0 >> 1) ^ -Int32(b0 & 1)
        }
        let start = pos
        var acc: UInt32 = 0
        var shift: UInt32 = 0
        while true {
            guard pos < end else { throw AvroFailure.at(start, .varintEnd) }
            let b = base[pos]
            pos += 1
            if shift == 28 && b > 0x0F { throw AvroFailure.at(start, .intOverflow) }
            acc |= UInt32(b & 0x7F) &<< shift
            if b < 0x80 { break }
            shift &+= 7
        }
        return Int32(bitPattern: (acc >> 1) ^ (0 &- (acc & 1)))
    }

    /// A bytes/string length: not negative and not past the end.
    @inline(__always) mutating func readLength() throws(AvroFailure) -> Int {
        let at = pos
        let n = try readLong()
        guard n >= 0 else { throw AvroFailure.at(at, .negativeLength(n)) }
        guard n <= Int64(remaining) else { throw AvroFailure.at(at, .lengthPastEnd(n, remaining)) }
        return Int(n)
    }

    @inline(__always) mutating func skipBytes(_ n: Int) throws(AvroFailure) {
        guard n <= remaining else { throw AvroFailure.at(pos, .bytesNeeded(n, remaining)) }
        pos += n
    }

    @inline(__always) mutating func readBool() throws(AvroFailure) -> Bool {
        guard pos < end else { throw AvroFailure.at(pos, .end("a boolean")) }
        let b = base[pos]
        guard b <= 1 else { throw AvroFailure.at(pos, .badBool(b)) }
        pos += 1
        return b == 1
    }

    @inline(__always) mutating func readFixed64() throws(AvroFailure) -> UInt64 {
        guard remaining >= 8 else { throw AvroFailure.at(pos, .end("a double")) }
        let v = UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self)
        pos += 8
        return UInt64(littleEndian: v)
    }

    @inline(__always) mutating func readFixed32() throws(AvroFailure) -> UInt32 {
        guard remaining >= 4 else { throw AvroFailure.at(pos, .end("a float")) }
        let v = UnsafeRawPointer(base + pos).loadUnaligned(as: UInt32.self)
        pos += 4
        return UInt32(littleEndian: v)
    }

    /// A union's branch index, checked against the branch count.
    @inline(__always) mutating func readBranch(_ count: Int32) throws(AvroFailure) -> Int32 {
        let at = pos
        let i = try readLong()
        guard i >= 0 && i < Int64(count) else { throw AvroFailure.at(at, .branch(i, count)) }
        return Int32(i)
    }

    /// The item count of the next array/map block (0: the end). A negative count is followed
    /// by the block's size in bytes, returned so a skip can jump it.
    @inline(__always) mutating func readBlock(itemMinSize: Int32) throws(AvroFailure) -> (count: Int, bytes: Int?) {
        let at = pos
        var n = try readLong()
        var size: Int? = nil
        if n < 0 {
            guard n != .min else { throw AvroFailure.at(at, .blockCount) }
            n = -n
            let s = try readLong()
            guard s >= 0, s <= Int64(remaining) else { throw AvroFailure.at(at, .blockSize(s, remaining)) }
            size = Int(s)
        }
        if itemMinSize > 0 {
            guard n <= Int64(remaining / Int(itemMinSize)) else {
                throw AvroFailure.at(at, .blockTooBig(n, remaining))
            }
        } else {
            guard n <= Int64(emptyItemBudget) else { throw AvroFailure.at(at, .emptyItems(n)) }
            emptyItemBudget -= Int(n)
        }
        return (Int(n), size)
    }
}

/// A decoding failure on its way up: the path (record fields, array indexes) is added as it
/// unwinds, then turned into a FormatError ("field items[2].price: …").
struct AvroFailure: Error {
    var offset: Int
    var reason: String
    /// Innermost first: (record node, field index) or (-1, array index).
    var path: [(Int32, Int32)] = []

    /// Built out of line: hot paths only store the problem's numbers.
    @inline(never) static func at(_ offset: Int, _ p: AvroProblem) -> AvroFailure {
        AvroFailure(offset: offset, reason: p.reason)
    }

    func formatError(_ schema: AvroSchema) -> FormatError {
        guard !path.isEmpty else { return FormatError(offset: offset, reason) }
        var text = ""
        for (node, i) in path.reversed() {
            if node < 0 {
                text += "[\(i)]"
            } else {
                if !text.isEmpty { text += "." }
                text += schema.childNames[Int(schema.nodes[Int(node)].first + i)]
            }
        }
        return FormatError(offset: offset, "field \(text): \(reason)")
    }
}

/// What went wrong reading Avro binary, with its numbers (its text is made only on failure).
enum AvroProblem {
    case end(StaticString)
    case varintEnd, longOverflow, intOverflow
    case negativeLength(Int64)
    case lengthPastEnd(Int64, Int)
    case bytesNeeded(Int, Int)
    case badBool(UInt8)
    case branch(Int64, Int32)
    case enumIndex(Int32, Int32)
    case blockCount
    case blockSize(Int64, Int)
    case blockTooBig(Int64, Int)
    case emptyItems(Int64)
    case tooDeep(StaticString)

    var reason: String {
        switch self {
        case .end(let what): return "unexpected end of data, expected \(what)"
        case .varintEnd: return "unexpected end of data inside a varint"
        case .longOverflow: return "varint overflows 64 bits"
        case .intOverflow: return "varint overflows an int (32 bits)"
        case .negativeLength(let n): return "negative length \(n)"
        case .lengthPastEnd(let n, let left): return "length \(n) exceeds the \(left) bytes left"
        case .bytesNeeded(let n, let left): return "unexpected end of data: \(n) bytes needed, \(left) left"
        case .badBool(let b): return "boolean byte must be 0 or 1, found \(b)"
        case .branch(let i, let n): return "union branch \(i) out of range (0..<\(n))"
        case .enumIndex(let i, let n): return "enum index \(i) out of range (0..<\(n))"
        case .blockCount: return "block count out of range"
        case .blockSize(let s, let left): return "block size \(s) out of range (\(left) bytes left)"
        case .blockTooBig(let n, let left): return "block of \(n) items cannot fit in the \(left) bytes left"
        case .emptyItems(let n): return "block of \(n) empty items exceeds the limit"
        case .tooDeep(let what): return "\(what) nested deeper than \(AvroWalk.maxDepth)"
        }
    }
}
