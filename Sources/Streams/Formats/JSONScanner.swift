/// A validating scanner for one JSON value held in memory, built for the hot path: it records
/// where each wanted field's value lies instead of building a tree, and decodes only the
/// fields a record type asks for. Every byte is checked (structure, string escapes, UTF-8 is
/// passed through, number syntax); nesting is capped so hostile input cannot exhaust the stack.
struct JSONScanner {
    static let maxDepth = 64

    let base: UnsafePointer<UInt8>
    let end: Int
    var pos = 0

    init(_ buffer: UnsafeRawBufferPointer) {
        // An empty buffer still needs a valid pointer; `end == 0` stops every read.
        self.base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? JSONScanner.emptyByte
        self.end = buffer.count
    }

    nonisolated(unsafe) private static let emptyByte: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.pointee = 0
        return UnsafePointer(p)
    }()

    @inline(__always) func byte(_ i: Int) -> UInt8 { base[i] }

    @inline(__always) mutating func skipSpace() {
        while pos < end {
            let c = base[pos]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 } else { return }
        }
    }

    func fail(_ reason: String) -> FormatError { FormatError(offset: pos, reason) }

    mutating func expect(_ c: UInt8, _ what: String) throws(FormatError) {
        skipSpace()
        guard pos < end else { throw fail("unexpected end of input, expected \(what)") }
        guard base[pos] == c else { throw fail("expected \(what), found \(describe(base[pos]))") }
        pos += 1
    }

    func describe(_ c: UInt8) -> String {
        if c >= 0x20 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
        return "byte 0x\(String(c, radix: 16))"
    }

    /// Scans a string starting at the opening quote; returns the span inside the quotes and
    /// whether it holds escapes (then it must be unescaped to be read).
    mutating func scanString() throws(FormatError) -> (start: Int, end: Int, escaped: Bool) {
        pos += 1
        let start = pos
        var escaped = false
        while pos < end {
            let c = base[pos]
            if c == 0x22 {
                let e = pos
                pos += 1
                return (start, e, escaped)
            }
            if c == 0x5C {
                escaped = true
                guard pos + 1 < end else { break }
                let n = base[pos + 1]
                switch n {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: pos += 2
                case 0x75:
                    guard pos + 5 < end else { pos = end; throw fail("unterminated \\u escape") }
                    for k in 2...5 where JSONScanner.hexValue(base[pos + k]) == nil {
                        pos += k
                        throw fail("invalid hex digit in \\u escape")
                    }
                    pos += 6
                default:
                    pos += 1
                    throw fail("invalid escape \\\(describe(n))")
                }
                continue
            }
            if c < 0x20 { throw fail("control character in string") }
            pos += 1
        }
        throw FormatError(offset: start - 1, "unterminated string")
    }

    static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x30...0x39: return UInt32(c - 0x30)
        case 0x41...0x46: return UInt32(c - 0x41 + 10)
        case 0x61...0x66: return UInt32(c - 0x61 + 10)
        default: return nil
        }
    }

    /// Scans a number per RFC 8259's grammar (no leading zeros, no bare '.', no NaN).
    mutating func scanNumber() throws(FormatError) {
        let start = pos
        if pos < end && base[pos] == 0x2D { pos += 1 }
        guard pos < end, base[pos] >= 0x30 && base[pos] <= 0x39 else { throw fail("invalid number") }
        if base[pos] == 0x30 {
            pos += 1
            if pos < end && base[pos] >= 0x30 && base[pos] <= 0x39 { throw FormatError(offset: start, "leading zero in number") }
        } else {
            while pos < end && base[pos] >= 0x30 && base[pos] <= 0x39 { pos += 1 }
        }
        if pos < end && base[pos] == 0x2E {
            pos += 1
            guard pos < end, base[pos] >= 0x30 && base[pos] <= 0x39 else { throw fail("digit expected after '.'") }
            while pos < end && base[pos] >= 0x30 && base[pos] <= 0x39 { pos += 1 }
        }
        if pos < end && (base[pos] == 0x65 || base[pos] == 0x45) {
            pos += 1
            if pos < end && (base[pos] == 0x2B || base[pos] == 0x2D) { pos += 1 }
            guard pos < end, base[pos] >= 0x30 && base[pos] <= 0x39 else { throw fail("digit expected in exponent") }
            while pos < end && base[pos] >= 0x30 && base[pos] <= 0x39 { pos += 1 }
        }
    }

    /// `scanNumber` that also accumulates the value: the decimal digits as an integer, how
    /// many of them follow the point, and whether the fast conversions apply (no exponent, at
    /// most 19 digits).
    @inline(__always)
    mutating func scanNumberValue() throws(FormatError) -> (mantissa: UInt64, digits: Int32, scale: Int32, negative: Bool, simple: Bool) {
        let start = pos
        var neg = false
        if pos < end && base[pos] == 0x2D { neg = true; pos += 1 }
        guard pos < end, base[pos] >= 0x30 && base[pos] <= 0x39 else { throw fail("invalid number") }
        var mant: UInt64 = 0
        var digits: Int32 = 0
        var scale: Int32 = 0
        if base[pos] == 0x30 {
            pos += 1
            if pos < end && base[pos] >= 0x30 && base[pos] <= 0x39 { throw FormatError(offset: start, "leading zero in number") }
        } else {
            while pos < end, case let d = base[pos] &- 0x30, d <= 9 {
                mant = mant &* 10 &+ UInt64(d)
                digits += 1
                pos += 1
            }
        }
        if pos < end && base[pos] == 0x2E {
            pos += 1
            guard pos < end, base[pos] >= 0x30 && base[pos] <= 0x39 else { throw fail("digit expected after '.'") }
            while pos < end, case let d = base[pos] &- 0x30, d <= 9 {
                mant = mant &* 10 &+ UInt64(d)
                digits += 1
                scale += 1
                pos += 1
            }
        }
        var simple = digits <= 19
        if pos < end && (base[pos] == 0x65 || base[pos] == 0x45) {
            simple = false
            pos += 1
            if pos < end && (base[pos] == 0x2B || base[pos] == 0x2D) { pos += 1 }
            guard pos < end, base[pos] >= 0x30 && base[pos] <= 0x39 else { throw fail("digit expected in exponent") }
            while pos < end && base[pos] >= 0x30 && base[pos] <= 0x39 { pos += 1 }
        }
        return (mant, digits, scale, neg, simple)
    }

    mutating func scanLiteral(_ word: StaticString) throws(FormatError) {
        let n = word.utf8CodeUnitCount
        guard pos + n <= end else { throw fail("invalid literal") }
        let w = word.utf8Start
        for i in 0..<n where base[pos + i] != w[i] { throw fail("invalid literal") }
        pos += n
    }

    /// Skips any value (validating it) and returns its kind.
    mutating func skipValue(depth: Int) throws(FormatError) -> JSONKind {
        skipSpace()
        guard pos < end else { throw fail("unexpected end of input, expected a value") }
        switch base[pos] {
        case 0x22:
            let s = try scanString()
            return s.escaped ? .escapedString : .string
        case 0x7B:
            guard depth < JSONScanner.maxDepth else { throw fail("nesting deeper than \(JSONScanner.maxDepth)") }
            pos += 1
            skipSpace()
            if pos < end && base[pos] == 0x7D { pos += 1; return .object }
            while true {
                skipSpace()
                guard pos < end, base[pos] == 0x22 else { throw fail("expected a field name") }
                _ = try scanString()
                try expect(0x3A, "':'")
                _ = try skipValue(depth: depth + 1)
                skipSpace()
                guard pos < end else { throw fail("unexpected end of input in object") }
                if base[pos] == 0x2C { pos += 1; continue }
                if base[pos] == 0x7D { pos += 1; return .object }
                throw fail("expected ',' or '}', found \(describe(base[pos]))")
            }
        case 0x5B:
            guard depth < JSONScanner.maxDepth else { throw fail("nesting deeper than \(JSONScanner.maxDepth)") }
            pos += 1
            skipSpace()
            if pos < end && base[pos] == 0x5D { pos += 1; return .array }
            while true {
                _ = try skipValue(depth: depth + 1)
                skipSpace()
                guard pos < end else { throw fail("unexpected end of input in array") }
                if base[pos] == 0x2C { pos += 1; continue }
                if base[pos] == 0x5D { pos += 1; return .array }
                throw fail("expected ',' or ']', found \(describe(base[pos]))")
            }
        case 0x74: try scanLiteral("true"); return .bool
        case 0x66: try scanLiteral("false"); return .bool
        case 0x6E: try scanLiteral("null"); return .null
        case 0x2D, 0x30...0x39: try scanNumber(); return .number
        default: throw fail("unexpected \(describe(base[pos]))")
        }
    }
}

enum JSONKind: UInt8, Sendable {
    case missing, null, bool, number, string, escapedString, object, array

    var name: String {
        switch self {
        case .missing: return "missing"
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string, .escapedString: return "string"
        case .object: return "object"
        case .array: return "array"
        }
    }
}
