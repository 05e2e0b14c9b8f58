/// The wanted values of the record being decoded, by slot: numbers and booleans decoded,
/// strings and bytes as spans into the value. Reused across records (one per decoder).
final class AvroSlots {
    let count: Int
    let kind: UnsafeMutablePointer<AvroSlotKind>
    /// An integer's bits, a double's bit pattern, a boolean (0/1), an enum index.
    let bits: UnsafeMutablePointer<UInt64>
    let start: UnsafeMutablePointer<Int32>
    let end: UnsafeMutablePointer<Int32>
    /// The schema node the value was read as (a union's branch): logical types, enum symbols.
    let node: UnsafeMutablePointer<Int32>
    /// The wanted paths, for messages.
    let paths: [String]

    init(paths: [String]) {
        self.paths = paths
        count = paths.count
        let c = max(1, count)
        kind = .allocate(capacity: c)
        kind.initialize(repeating: .missing, count: c)
        bits = .allocate(capacity: c)
        bits.initialize(repeating: 0, count: c)
        start = .allocate(capacity: c)
        start.initialize(repeating: 0, count: c)
        end = .allocate(capacity: c)
        end.initialize(repeating: 0, count: c)
        node = .allocate(capacity: c)
        node.initialize(repeating: 0, count: c)
    }

    deinit {
        kind.deallocate()
        bits.deallocate()
        start.deallocate()
        end.deallocate()
        node.deallocate()
    }

    @inline(__always) func reset() {
        for i in 0..<count { kind[i] = .missing }
    }
}

enum AvroSlotKind: UInt8 {
    case missing, null, bool, integer, double, string, bytes, symbol
}

/// A decoded Avro record as seen by a record type's initializer: typed accessors by slot (the
/// index of the path in the type's `avroFields`), with `JSONFields`' names and semantics.
/// Valid only inside that call. A field inside an optional nested record that is null is
/// missing: `…OrNil` returns nil.
public struct AvroFields {
    let base: UnsafePointer<UInt8>
    let kinds: UnsafeMutablePointer<AvroSlotKind>
    let bits: UnsafeMutablePointer<UInt64>
    let start: UnsafeMutablePointer<Int32>
    let end: UnsafeMutablePointer<Int32>
    let nodes: UnsafeMutablePointer<Int32>
    // The decoder keeps both alive while the record's initializer runs: no counting per record.
    unowned(unsafe) let slots: AvroSlots
    unowned(unsafe) let schema: AvroSchema

    init(base: UnsafePointer<UInt8>, slots: AvroSlots, schema: AvroSchema) {
        self.base = base
        self.kinds = slots.kind
        self.bits = slots.bits
        self.start = slots.start
        self.end = slots.end
        self.nodes = slots.node
        self.slots = slots
        self.schema = schema
    }

    func name(_ slot: Int) -> String { slots.paths[slot] }
    @inline(__always) func node(_ slot: Int) -> AvroNode { schema.node(nodes[slot]) }
    @inline(__always) func int(_ slot: Int) -> Int64 { Int64(bitPattern: bits[slot]) }
    @inline(__always) func dbl(_ slot: Int) -> Double { Double(bitPattern: bits[slot]) }
    @inline(__always) func span(_ slot: Int) -> (UnsafePointer<UInt8>, Int) { (base + Int(start[slot]), Int(end[slot] - start[slot])) }

    func found(_ slot: Int) -> String {
        switch kinds[slot] {
        case .missing: return "missing"
        case .null: return "null"
        default: return schema.typeName(nodes[slot])
        }
    }

    func typeError(_ slot: Int, _ want: String) -> FormatError {
        FormatError(offset: Int(start[slot]), "field \(name(slot)): expected \(want), found \(found(slot))")
    }

    @inline(__always) func isDecimal(_ slot: Int) -> Bool { kinds[slot] == .bytes && node(slot).logical == .decimal }

    /// Whether the field is there and not null.
    public func has(_ slot: Int) -> Bool {
        let k = kinds[slot]
        return k != .missing && k != .null
    }

    public func int64(_ slot: Int) throws(FormatError) -> Int64 {
        guard let v = try int64OrNil(slot) else { throw typeError(slot, "an integer") }
        return v
    }

    /// From int and long; from float, double and decimal when exact; from a string of digits.
    public func int64OrNil(_ slot: Int) throws(FormatError) -> Int64? {
        switch kinds[slot] {
        case .integer: return int(slot)
        case .missing, .null: return nil
        case .double:
            let d = dbl(slot)
            guard d == d.rounded(), abs(d) < 9.2e18 else { throw FormatError(offset: Int(start[slot]), "field \(name(slot)): \(d) is not an integer in range") }
            return Int64(d)
        case .string:
            let (p, n) = span(slot)
            guard let v = FormatText.int64(p, n) else { throw typeError(slot, "an integer") }
            return v
        case .bytes where isDecimal(slot):
            let d = decimal(slot)
            guard d == d.rounded(), abs(d) < 9.2e18 else { throw FormatError(offset: Int(start[slot]), "field \(name(slot)): decimal \(d) is not an integer in range") }
            return Int64(d)
        default: throw typeError(slot, "an integer")
        }
    }

    public func double(_ slot: Int) throws(FormatError) -> Double {
        guard let v = try doubleOrNil(slot) else { throw typeError(slot, "a number") }
        return v
    }

    /// From float, double, int, long, decimal, and a string holding a number ("12.50").
    public func doubleOrNil(_ slot: Int) throws(FormatError) -> Double? {
        switch kinds[slot] {
        case .double: return dbl(slot)
        case .integer: return Double(int(slot))
        case .missing, .null: return nil
        case .string:
            let (p, n) = span(slot)
            guard let v = JSONNumbers.parseDouble(p, n), v.isFinite else { throw typeError(slot, "a number") }
            return v
        case .bytes where isDecimal(slot):
            let d = decimal(slot)
            guard d.isFinite else { throw FormatError(offset: Int(start[slot]), "field \(name(slot)): decimal out of range of a double") }
            return d
        default: throw typeError(slot, "a number")
        }
    }

    public func string(_ slot: Int) throws(FormatError) -> String {
        guard let v = try stringOrNil(slot) else { throw typeError(slot, "a string") }
        return v
    }

    /// A string (or bytes holding UTF-8), an enum's symbol, or a number's or boolean's text.
    public func stringOrNil(_ slot: Int) throws(FormatError) -> String? {
        switch kinds[slot] {
        case .missing, .null: return nil
        case .string, .bytes:
            if isDecimal(slot) { return decimalText(slot) }
            let (p, n) = span(slot)
            guard let s = FormatText.string(p, n) else { throw FormatError(offset: Int(start[slot]), "field \(name(slot)): invalid UTF-8") }
            return s
        case .symbol: return schema.symbols[Int(node(slot).first) + Int(bits[slot])]
        case .integer: return String(int(slot))
        case .double: return node(slot).kind == .float ? Float(dbl(slot)).description : dbl(slot).description
        case .bool: return bits[slot] != 0 ? "true" : "false"
        }
    }

    public func bool(_ slot: Int) throws(FormatError) -> Bool {
        guard let v = try boolOrNil(slot) else { throw typeError(slot, "a boolean") }
        return v
    }

    public func boolOrNil(_ slot: Int) throws(FormatError) -> Bool? {
        switch kinds[slot] {
        case .bool: return bits[slot] != 0
        case .missing, .null: return nil
        default: throw typeError(slot, "a boolean")
        }
    }

    /// The bytes of a bytes or fixed field (copied), or a string's UTF-8.
    public func bytesOrNil(_ slot: Int) throws(FormatError) -> [UInt8]? {
        switch kinds[slot] {
        case .missing, .null: return nil
        case .bytes, .string:
            let (p, n) = span(slot)
            return Array(UnsafeBufferPointer(start: p, count: n))
        default: throw typeError(slot, "bytes")
        }
    }

    /// An event time: timestamp-millis/-micros/-nanos, date (midnight UTC), a long or int of
    /// epoch milliseconds, or an ISO-8601 string with a UTC offset. A local-timestamp has no
    /// offset and is refused.
    public func timestamp(_ slot: Int) throws(FormatError) -> EventTime {
        guard let v = try timestampOrNil(slot) else { throw typeError(slot, "a timestamp (epoch millis or ISO-8601)") }
        return v
    }

    public func timestampOrNil(_ slot: Int) throws(FormatError) -> EventTime? {
        switch kinds[slot] {
        case .missing, .null: return nil
        case .integer:
            let v = int(slot)
            switch node(slot).logical {
            case .timestampMicros: return EventTime(millis: AvroFields.floorDiv(v, 1000))
            case .timestampNanos: return EventTime(millis: AvroFields.floorDiv(v, 1_000_000))
            case .date: return EventTime(millis: v * 86_400_000)  // an int: cannot overflow
            case .localTimestamp: throw FormatError(offset: Int(start[slot]), "field \(name(slot)): a local-timestamp has no UTC offset")
            default: return EventTime(millis: v)
            }
        case .double:
            let d = dbl(slot)
            guard d == d.rounded(), abs(d) < 9.2e18 else { throw FormatError(offset: Int(start[slot]), "field \(name(slot)): epoch milliseconds must be an integer") }
            return EventTime(millis: Int64(d))
        case .string:
            let (p, n) = span(slot)
            do {
                return try ISO8601.parse(UnsafeBufferPointer(start: p, count: n))
            } catch {
                throw FormatError(offset: Int(start[slot]) + error.offset, "field \(name(slot)): \(error.reason)")
            }
        default: throw typeError(slot, "a timestamp (epoch millis or ISO-8601)")
        }
    }

    @inline(__always) static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && a < 0) ? q - 1 : q
    }

    /// A decimal's value: the big-endian two's-complement unscaled integer over 10^scale
    /// (exact up to 2^53, rounded beyond).
    func decimal(_ slot: Int) -> Double {
        let (p, n) = span(slot)
        guard n > 0 else { return 0 }
        var v: Double
        if n <= 8 {
            var i = Int64(Int8(bitPattern: p[0]))
            for k in 1..<n { i = i << 8 | Int64(p[k]) }
            v = Double(i)
        } else {
            v = Double(Int8(bitPattern: p[0]))
            for k in 1..<n { v = v * 256 + Double(p[k]) }
        }
        var s = Int(node(slot).scale)
        while s > 22 { v /= 1e22; s -= 22 }
        return v / JSONNumbers.pow10(s)
    }

    /// A decimal as exact text when its unscaled value fits 64 bits ("-12.50").
    func decimalText(_ slot: Int) -> String {
        let (p, n) = span(slot)
        guard n > 0, n <= 8 else { return decimal(slot).description }
        var i = Int64(Int8(bitPattern: p[0]))
        for k in 1..<n { i = i << 8 | Int64(p[k]) }
        let scale = Int(node(slot).scale)
        var digits = String(i.magnitude)
        guard scale > 0 else { return i < 0 ? "-" + digits : digits }
        if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
        let cut = digits.index(digits.endIndex, offsetBy: -scale)
        return (i < 0 ? "-" : "") + digits[..<cut] + "." + digits[cut...]
    }
}
