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
    let table: JSONFieldTable
    var spans: JSONSpans
    /// Largest value accepted; bigger ones go to the dead-letter topic.
    public var maxBytes: Int

    public init(maxBytes: Int = 1 << 20) {
        table = T.jsonFields
        spans = JSONSpans(count: table.count)
        self.maxBytes = maxBytes
    }

    public mutating func decode(_ bytes: UnsafeRawBufferPointer) throws(FormatError) -> T {
        guard bytes.count <= maxBytes else { throw FormatError(offset: 0, "value of \(bytes.count) bytes exceeds the \(maxBytes)-byte limit") }
        spans.reset()
        var sc = JSONScanner(bytes)
        sc.skipSpace()
        guard sc.pos < sc.end else { throw FormatError(offset: 0, "empty value, expected a JSON object") }
        guard sc.byte(sc.pos) == 0x7B else { throw sc.fail("expected a JSON object, found \(sc.describe(sc.byte(sc.pos)))") }
        try JSONDecoding.scanObject(&sc, table.root, &spans, depth: 0)
        sc.skipSpace()
        guard sc.pos == sc.end else { throw sc.fail("unexpected data after the JSON object") }
        let base = sc.base
        return try withUnsafePointer(to: &spans) { (sp) throws(FormatError) -> T in
            try T(json: JSONFields(base: base, spans: sp, table: table))
        }
    }

    /// Scans an object whose '{' is at `sc.pos`, storing the spans of the fields in `nodes`.
    static func scanObject(_ sc: inout JSONScanner, _ nodes: [JSONFieldTable.Node], _ spans: inout JSONSpans, depth: Int) throws(FormatError) {
        guard depth < JSONScanner.maxDepth else { throw sc.fail("nesting deeper than \(JSONScanner.maxDepth)") }
        sc.pos += 1
        sc.skipSpace()
        if sc.pos < sc.end && sc.byte(sc.pos) == 0x7D { sc.pos += 1; return }
        var hint = 0
        while true {
            sc.skipSpace()
            guard sc.pos < sc.end, sc.byte(sc.pos) == 0x22 else { throw sc.fail("expected a field name") }
            let key = try sc.scanString()
            try sc.expect(0x3A, "':' after the field name")
            sc.skipSpace()
            // Fields usually come in the same order: try the one after the last match first.
            var match = -1
            if !key.escaped {
                let n = key.end - key.start
                if hint < nodes.count, nodes[hint].name.count == n, eq(sc.base + key.start, nodes[hint].name) {
                    match = hint
                } else {
                    for (i, node) in nodes.enumerated() where node.name.count == n && eq(sc.base + key.start, node.name) {
                        match = i
                        break
                    }
                }
            }
            if match >= 0 {
                hint = match + 1
                let node = nodes[match]
                guard sc.pos < sc.end else { throw sc.fail("unexpected end of input, expected a value") }
                if node.slot < 0 {
                    if sc.byte(sc.pos) == 0x7B {
                        try scanObject(&sc, node.children, &spans, depth: depth + 1)
                    } else {
                        _ = try sc.skipValue(depth: depth + 1)  // not an object: its members stay missing
                    }
                } else {
                    let c = sc.byte(sc.pos)
                    let start = sc.pos
                    let kind = try sc.skipValue(depth: depth + 1)
                    if c == 0x22 {
                        spans.start[node.slot] = Int32(start + 1)
                        spans.end[node.slot] = Int32(sc.pos - 1)
                    } else {
                        spans.start[node.slot] = Int32(start)
                        spans.end[node.slot] = Int32(sc.pos)
                    }
                    spans.kind[node.slot] = kind
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

    @inline(__always) static func eq(_ p: UnsafePointer<UInt8>, _ name: [UInt8]) -> Bool {
        name.withUnsafeBufferPointer { b in memcmp(p, b.baseAddress!, b.count) == 0 }
    }
}
