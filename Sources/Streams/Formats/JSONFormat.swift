#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A record type read from JSON objects: it names the fields it wants (dotted paths for nested
/// objects) and builds itself from their decoded values.
///
/// ```swift
/// struct Tx: JSONRecord {
///     static let jsonFields = JSONFieldTable(["tx_id", "customer_id", "amount", "ts_ms"])
///     var txID: Int64, customer: Int64, amount: Double, ts: Int64
///     init(json f: JSONFields) throws(FormatError) {
///         txID = try f.int64(0); customer = try f.int64(1); amount = try f.double(2); ts = try f.int64(3)
///     }
/// }
/// ```
public protocol JSONRecord: Sendable {
    static var jsonFields: JSONFieldTable { get }
    init(json: JSONFields) throws(FormatError)
}

/// Decodes JSON objects into `T`, reusing its span buffer (one decoder per task; not shared).
public struct JSONDecoding<T: JSONRecord> {
    var objects: JSONObjectDecoding
    /// Largest value accepted; bigger ones go to the dead-letter topic.
    public var maxBytes: Int {
        get { objects.maxBytes }
        set { objects.maxBytes = newValue }
    }

    public init(maxBytes: Int = 1 << 20) {
        objects = JSONObjectDecoding(table: T.jsonFields, maxBytes: maxBytes)
    }

    @inline(__always) public mutating func decode(_ bytes: UnsafeRawBufferPointer) throws(FormatError) -> T {
        try objects.decode(bytes) { (f) throws(FormatError) -> T in try T(json: f) }
    }
}

/// Decodes JSON objects against a field table known only at run time (a job file's schema):
/// `build` reads the fields by slot, as a `JSONRecord`'s initializer does.
public struct JSONObjectDecoding {
    public let table: JSONFieldTable
    let spans: JSONSpans
    /// Largest value accepted; bigger ones go to the dead-letter topic.
    public var maxBytes: Int

    public init(table: JSONFieldTable, maxBytes: Int = 1 << 20) {
        self.table = table
        spans = JSONSpans(count: table.count)
        self.maxBytes = maxBytes
    }

    @inline(__always)
    public mutating func decode<U>(_ bytes: UnsafeRawBufferPointer, _ build: (JSONFields) throws(FormatError) -> U) throws(FormatError) -> U {
        guard bytes.count <= maxBytes, bytes.count < Int(Int32.max) else { throw FormatError(offset: 0, "value of \(bytes.count) bytes exceeds the \(maxBytes)-byte limit") }
        spans.reset()
        var sc = JSONScanner(bytes)
        sc.skipSpace()
        guard sc.pos < sc.end else { throw FormatError(offset: 0, "empty value, expected a JSON object") }
        guard sc.byte(sc.pos) == 0x7B else { throw sc.fail("expected a JSON object, found \(sc.describe(sc.byte(sc.pos)))") }
        try JSONObjectDecoding.scanObject(&sc, table, 0, table.rootCount, spans, depth: 0)
        sc.skipSpace()
        guard sc.pos == sc.end else { throw sc.fail("unexpected data after the JSON object") }
        return try build(JSONFields(base: sc.base, spans: spans, table: table))
    }

    /// Scans an object whose '{' is at `sc.pos`, storing the spans of the fields among the
    /// `count` nodes starting at `first`.
    static func scanObject(_ sc: inout JSONScanner, _ table: JSONFieldTable, _ first: Int32, _ count: Int32, _ spans: JSONSpans,
                           depth: Int) throws(FormatError) {
        guard depth < JSONScanner.maxDepth else { throw sc.fail("nesting deeper than \(JSONScanner.maxDepth)") }
        sc.pos += 1
        sc.skipSpace()
        if sc.pos < sc.end && sc.byte(sc.pos) == 0x7D { sc.pos += 1; return }
        let nodes = table.nodes.baseAddress!
        let names = table.names.baseAddress!
        var hint: Int32 = 0
        while true {
            sc.skipSpace()
            guard sc.pos < sc.end, sc.byte(sc.pos) == 0x22 else { throw sc.fail("expected a field name") }
            let key = try sc.scanString()
            try sc.expect(0x3A, "':' after the field name")
            sc.skipSpace()
            // Fields usually come in the same order: try the one after the last match first.
            var match: Int32 = -1
            if !key.escaped {
                let n = Int32(key.end - key.start)
                let kp = sc.base + key.start
                if hint < count, nodes[Int(first + hint)].nameLength == n, eq(kp, names + Int(nodes[Int(first + hint)].nameOffset), Int(n)) {
                    match = hint
                } else {
                    var i: Int32 = 0
                    while i < count {
                        let node = nodes[Int(first + i)]
                        if node.nameLength == n && eq(kp, names + Int(node.nameOffset), Int(n)) { match = i; break }
                        i += 1
                    }
                }
            }
            if match >= 0 {
                hint = match + 1
                let node = nodes[Int(first + match)]
                guard sc.pos < sc.end else { throw sc.fail("unexpected end of input, expected a value") }
                if node.slot < 0 {
                    if sc.byte(sc.pos) == 0x7B {
                        try scanObject(&sc, table, node.childStart, node.childCount, spans, depth: depth + 1)
                    } else {
                        _ = try sc.skipValue(depth: depth + 1)  // not an object: its members stay missing
                    }
                } else if case let c = sc.byte(sc.pos), c == 0x2D || (c >= 0x30 && c <= 0x39) {
                    // Numbers are parsed while scanned (the accessors need not read them again).
                    let start = sc.pos
                    let n = try sc.scanNumberValue()
                    let slot = Int(node.slot)
                    spans.start[slot] = Int32(start)
                    spans.end[slot] = Int32(sc.pos)
                    spans.kind[slot] = .number
                    spans.mantissa[slot] = n.mantissa
                    spans.scale[slot] = n.simple && n.digits <= 19 ? n.scale : -1
                    spans.negative[slot] = n.negative
                } else {
                    let c = sc.byte(sc.pos)
                    let start = sc.pos
                    let kind = try sc.skipValue(depth: depth + 1)
                    let slot = Int(node.slot)
                    if c == 0x22 {
                        spans.start[slot] = Int32(start + 1)
                        spans.end[slot] = Int32(sc.pos - 1)
                    } else {
                        spans.start[slot] = Int32(start)
                        spans.end[slot] = Int32(sc.pos)
                    }
                    spans.kind[slot] = kind
                }
            } else {
                _ = try sc.skipValue(depth: depth + 1)
            }
            sc.skipSpace()
            guard sc.pos < sc.end else { throw sc.fail("unexpected end of input in object") }
            let c = sc.byte(sc.pos)
            if c == 0x2C { sc.pos += 1; continue }
            if c == 0x7D { sc.pos += 1; return }
            throw sc.fail("expected ',' or '}', found \(sc.describe(c))")
        }
    }

    /// Short keys: a byte loop beats a call to memcmp.
    @inline(__always) static func eq(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        while i < n {
            if a[i] != b[i] { return false }
            i += 1
        }
        return true
    }
}
