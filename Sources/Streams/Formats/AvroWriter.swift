/// Writes records of a schema as Avro binary into a reusable byte array (sinks encode results
/// with it), optionally behind the Confluent header. Values are given in the schema's field
/// order; the writer follows the schema, so the output always matches it:
///
/// - a union field takes its branch from the value (`null()` picks `"null"`, `double(…)` the
///   double branch), so optional fields need no branch indexes;
/// - numbers are promoted as Avro's schema resolution allows (long → float/double, string →
///   enum symbol or bytes);
/// - a value that does not fit (wrong type, int out of range, unknown enum symbol, field
///   missing at `end()`) sets `failure` and later calls do nothing: a sink dead-letters the
///   record with that reason instead of writing bad data.
///
/// ```swift
/// w.begin(); w.long(tx.id); w.double(tx.amount); w.string(tx.city); w.timestamp(tx.ts); w.end()
/// ```
public struct AvroWriter {
    public private(set) var bytes: [UInt8] = []
    /// Why the current record could not be written (nil: it was).
    public private(set) var failure: String?
    let schema: AvroSchema
    let schemaID: Int32?
    /// The record, array or map being written; `outer` holds the ones it is nested in.
    var top = Frame(node: 0)
    var outer: [Frame] = []
    /// Between `begin()` and `end()`.
    var active = false

    struct Frame {
        /// A record, array or map node.
        var node: Int32
        /// Record: fields written so far.
        var index: Int32 = 0
        /// Array/map: items still to write.
        var remaining: Int = 0
        var expectKey = true
        var hadItems = false
    }

    enum Value {
        case null, bool, long, double, string, bytes, record, array, map, timestamp, decimal

        var name: String {
            switch self {
            case .null: return "null"
            case .bool: return "a boolean"
            case .long: return "an integer"
            case .double: return "a double"
            case .string: return "a string"
            case .bytes: return "bytes"
            case .record: return "a record"
            case .array: return "an array"
            case .map: return "a map"
            case .timestamp: return "a timestamp"
            case .decimal: return "a decimal"
            }
        }
    }

    /// The schema's root must be a record; `.confluent` needs exactly one schema id.
    public init(schema: AvroSchema, wire: AvroWire = .raw, capacity: Int = 256) throws(FormatError) {
        guard schema.node(schema.root).kind == .record else {
            throw FormatError(offset: 0, "an Avro writer needs a record schema, not \(schema.typeName(schema.root))")
        }
        self.schema = schema
        switch wire {
        case .raw: schemaID = nil
        case .confluent(let ids):
            guard let ids, ids.count == 1, let id = ids.first else {
                throw FormatError(offset: 0, "an Avro writer needs exactly one Confluent schema id")
            }
            schemaID = id
        }
        bytes.reserveCapacity(capacity)
        outer.reserveCapacity(8)
    }

    public mutating func begin() {
        bytes.removeAll(keepingCapacity: true)
        outer.removeAll(keepingCapacity: true)
        failure = nil
        if let id = schemaID {
            let u = UInt32(bitPattern: id)
            bytes.append(0)
            bytes.append(UInt8(u >> 24))
            bytes.append(UInt8(truncatingIfNeeded: u >> 16))
            bytes.append(UInt8(truncatingIfNeeded: u >> 8))
            bytes.append(UInt8(truncatingIfNeeded: u))
        }
        top = Frame(node: schema.root)
        active = true
    }

    /// Checks that every field was written.
    public mutating func end() {
        guard failure == nil else { return }
        guard active else { return fail("end() without begin()") }
        guard outer.isEmpty else { return fail("\(schema.typeName(top.node)) was not ended") }
        checkComplete()
        active = false
    }

    // MARK: values

    public mutating func null() {
        _ = next(.null)
    }

    public mutating func bool(_ v: Bool?) {
        guard let v else { return null() }
        guard next(.bool) != nil else { return }
        bytes.append(v ? 1 : 0)
    }

    /// An int, long, float or double field.
    public mutating func long(_ v: Int64?) {
        guard let v else { return null() }
        guard let t = next(.long) else { return }
        switch schema.node(t).kind {
        case .int:
            guard let i = Int32(exactly: v) else { return fail("\(label): \(v) does not fit an int") }
            writeLong(Int64(i))
        case .float: writeFloat(Float(v))
        case .double: writeDouble(Double(v))
        default: writeLong(v)
        }
    }

    public mutating func int(_ v: Int?) { long(v.map(Int64.init)) }

    /// A double or float field.
    public mutating func double(_ v: Double?) {
        guard let v else { return null() }
        guard let t = next(.double) else { return }
        if schema.node(t).kind == .float { writeFloat(Float(v)) } else { writeDouble(v) }
    }

    /// A string field, an enum (by symbol) or bytes (the UTF-8).
    public mutating func string(_ v: String?) {
        guard let v else { return null() }
        guard let t = next(.string) else { return }
        let n = schema.node(t)
        if n.kind == .enumeration {
            let syms = schema.symbols[Int(n.first) ..< Int(n.first + n.count)]
            guard let i = syms.firstIndex(of: v) else { return fail("\(label): '\(v)' is not a symbol of \(schema.typeName(t))") }
            writeLong(Int64(i - Int(n.first)))
            return
        }
        var s = v
        s.withUTF8 { u in
            writeLong(Int64(u.count))
            bytes.append(contentsOf: u)
        }
    }

    /// A bytes field, or a fixed one of the same size.
    public mutating func bytes(_ v: [UInt8]?) {
        guard let v else { return null() }
        guard let t = next(.bytes) else { return }
        let n = schema.node(t)
        if n.kind == .fixed {
            guard v.count == Int(n.count) else { return fail("\(label): \(v.count) bytes for \(schema.typeName(t)) of \(n.count)") }
        } else {
            writeLong(Int64(v.count))
        }
        bytes.append(contentsOf: v)
    }

    /// An event time, in the field's unit: timestamp-millis/-micros/-nanos, date (the UTC day),
    /// a long of epoch millis, or an ISO-8601 string with the time's offset.
    public mutating func timestamp(_ v: EventTime?) {
        guard let v else { return null() }
        guard let t = next(.timestamp) else { return }
        let n = schema.node(t)
        switch (n.kind, n.logical) {
        case (.string, _): string(ISO8601.format(v.millis, utcOffsetSeconds: v.utcOffsetSeconds), resolved: true)
        case (.int, _):
            guard let day = Int32(exactly: AvroFields.floorDiv(v.millis, 86_400_000)) else { return fail("\(label): \(v.millis) ms is out of the date range") }
            writeLong(Int64(day))
        case (_, .timestampMicros), (_, .timestampNanos):
            let (m, o) = v.millis.multipliedReportingOverflow(by: n.logical == .timestampMicros ? 1000 : 1_000_000)
            guard !o else { return fail("\(label): \(v.millis) ms overflows \(n.logical.name)") }
            writeLong(m)
        default: writeLong(v.millis)
        }
    }

    /// A decimal (bytes or fixed) rounded to its scale, or a double/float field.
    public mutating func decimal(_ v: Double?) {
        guard let v else { return null() }
        guard let t = next(.decimal) else { return }
        let n = schema.node(t)
        guard n.logical == .decimal else {
            if n.kind == .float { writeFloat(Float(v)) } else { writeDouble(v) }
            return
        }
        var scaled = v
        var s = Int(n.scale)
        while s > 22 { scaled *= 1e22; s -= 22 }
        scaled = (scaled * JSONNumbers.pow10(s)).rounded()
        guard scaled.isFinite, abs(scaled) < 9.2e18 else { return fail("\(label): \(v) does not fit a 64-bit decimal") }
        let unscaled = Int64(scaled)
        // Fewest big-endian two's-complement bytes (fixed: sign-extended to its size).
        var width = 8
        while width > 1 {
            let top = unscaled >> (8 * (width - 1) - 1)
            if top == 0 || top == -1 { width -= 1 } else { break }
        }
        if n.kind == .fixed {
            guard width <= Int(n.count) else { return fail("\(label): \(v) does not fit \(schema.typeName(t))") }
            width = Int(n.count)
        } else {
            writeLong(Int64(width))
        }
        for k in stride(from: width - 1, through: 0, by: -1) {
            bytes.append(k >= 8 ? (unscaled < 0 ? 0xFF : 0) : UInt8(truncatingIfNeeded: unscaled >> (8 * k)))
        }
    }

    // MARK: nesting

    /// A nested record (or a union's record branch); its fields follow, then `endRecord()`.
    public mutating func beginRecord() {
        guard let t = next(.record) else { return }
        outer.append(top)
        top = Frame(node: t)
    }

    public mutating func endRecord() {
        guard failure == nil else { return }
        guard !outer.isEmpty, schema.node(top.node).kind == .record else {
            return fail("endRecord() without beginRecord()")
        }
        checkComplete()
        if failure == nil { top = outer.removeLast() }
    }

    /// An array of `count` items (one block); the items follow, then `endArray()`.
    public mutating func beginArray(count: Int) { beginBlock(.array, count) }

    public mutating func endArray() { endBlock(.array) }

    /// A map of `count` entries: `key(_:)` then the value, `count` times, then `endMap()`.
    public mutating func beginMap(count: Int) { beginBlock(.map, count) }

    public mutating func key(_ k: String) {
        guard failure == nil else { return }
        guard active, schema.node(top.node).kind == .map, top.expectKey else {
            return fail("key(_:) outside a map or before the previous entry's value")
        }
        guard top.remaining > 0 else { return fail("map has more entries than its count") }
        top.remaining -= 1
        top.expectKey = false
        var s = k
        s.withUTF8 { u in
            writeLong(Int64(u.count))
            bytes.append(contentsOf: u)
        }
    }

    public mutating func endMap() { endBlock(.map) }

    mutating func beginBlock(_ v: Value, _ count: Int) {
        guard let t = next(v) else { return }
        guard count >= 0 else { return fail("\(label): negative count") }
        writeLong(Int64(count))
        outer.append(top)
        top = Frame(node: t, remaining: count, hadItems: count > 0)
    }

    mutating func endBlock(_ v: Value) {
        guard failure == nil else { return }
        let kind: AvroKind = v == .array ? .array : .map
        guard !outer.isEmpty, schema.node(top.node).kind == kind else {
            return fail("end\(kind == .array ? "Array" : "Map")() without its begin")
        }
        guard top.remaining == 0, top.expectKey else {
            return fail("\(schema.typeName(top.node)) ended with \(top.remaining) items missing")
        }
        if top.hadItems { bytes.append(0) }  // the block list's end
        top = outer.removeLast()
    }

    // MARK: schema walk

    mutating func fail(_ reason: String) {
        if failure == nil { failure = reason }
    }

    /// The field being written, for messages.
    var label: String {
        guard active else { return "record" }
        let n = schema.node(top.node)
        switch n.kind {
        case .record:
            let i = max(0, Int(top.index) - 1)
            return i < Int(n.count) ? "field \(schema.childNames[Int(n.first) + i])" : "record"
        default: return "item of \(schema.typeName(top.node))"
        }
    }

    mutating func checkComplete() {
        let n = schema.node(top.node)
        if top.index < n.count {
            fail("field \(schema.childNames[Int(n.first + top.index)]) of \(schema.typeName(top.node)) not written")
        }
    }

    /// The node the next value is written as: the next field or item, through a union (its
    /// branch index written). nil when the value does not fit (then `failure` is set).
    mutating func next(_ v: Value) -> Int32? {
        guard failure == nil else { return nil }
        guard active else { fail("value written outside begin()/end()"); return nil }
        var t: Int32
        let f = schema.node(top.node)
        switch f.kind {
        case .record:
            guard top.index < f.count else {
                fail("\(schema.typeName(top.node)) has only \(f.count) fields: \(v.name) is one too many")
                return nil
            }
            t = schema.child(f, top.index)
            top.index += 1
        case .array:
            guard top.remaining > 0 else { fail("\(schema.typeName(top.node)) has more items than its count"); return nil }
            top.remaining -= 1
            t = f.first
        default:
            guard !top.expectKey else { fail("map value before its key(_:)"); return nil }
            top.expectKey = true
            t = f.first
        }
        let n = schema.node(t)
        if n.kind == .union {
            var best: Int32 = -1
            var bestScore = 0
            for i in 0..<n.count {
                let s = AvroWriter.fit(schema.node(schema.child(n, i)), v)
                if s > bestScore { best = i; bestScore = s }
            }
            guard best >= 0 else {
                fail("\(label): \(v.name) does not fit \(schema.typeName(t))")
                return nil
            }
            writeLong(Int64(best))
            t = schema.child(n, best)
        } else if AvroWriter.fit(n, v) == 0 {
            fail("\(label): expected \(schema.typeName(t)), got \(v.name)")
            return nil
        }
        return t
    }

    /// How well a value fits a type: 2 exactly (3: long for an integer, which any value fits),
    /// 1 by promotion, 0 not.
    static func fit(_ n: AvroNode, _ v: Value) -> Int {
        switch (v, n.kind) {
        case (.long, .long): return 3
        case (.null, .null), (.bool, .boolean), (.long, .int), (.double, .double),
             (.string, .string), (.bytes, .bytes), (.bytes, .fixed), (.record, .record), (.array, .array), (.map, .map):
            return 2
        case (.long, .float), (.long, .double), (.double, .float), (.string, .enumeration), (.string, .bytes):
            return 1
        case (.timestamp, .long):
            return n.logical == .none ? 1 : 2
        case (.timestamp, .int): return n.logical == .date ? 1 : 0
        case (.timestamp, .string): return 1
        case (.decimal, .bytes), (.decimal, .fixed): return n.logical == .decimal ? 2 : 0
        case (.decimal, .double), (.decimal, .float): return 1
        default: return 0
        }
    }

    /// A string already matched to a string node (timestamps written as text).
    mutating func string(_ s: String, resolved: Bool) {
        var s = s
        s.withUTF8 { u in
            writeLong(Int64(u.count))
            bytes.append(contentsOf: u)
        }
    }

    // MARK: encoding

    @inline(__always) mutating func writeLong(_ v: Int64) {
        var z = UInt64(bitPattern: (v << 1) ^ (v >> 63))
        while z >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: z) | 0x80)
            z >>= 7
        }
        bytes.append(UInt8(z))
    }

    @inline(__always) mutating func writeDouble(_ v: Double) {
        withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inline(__always) mutating func writeFloat(_ v: Float) {
        withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
