/// Writes one flat JSON object into a reusable byte array (sinks encode results with it).
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    var first = true

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func begin() {
        bytes.removeAll(keepingCapacity: true)
        bytes.append(0x7B)
        first = true
    }

    public mutating func end() { bytes.append(0x7D) }

    @inline(__always) mutating func key(_ name: StaticString) {
        if !first { bytes.append(0x2C) }
        first = false
        bytes.append(0x22)
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(0x22)
        bytes.append(0x3A)
    }

    mutating func key(_ name: String) {
        if !first { bytes.append(0x2C) }
        first = false
        appendString(name)
        bytes.append(0x3A)
    }

    public mutating func field(_ name: StaticString, _ v: Int64) {
        key(name)
        appendInt(v)
    }

    public mutating func field(_ name: StaticString, _ v: Int) { field(name, Int64(v)) }

    public mutating func field(_ name: StaticString, _ v: Double) {
        key(name)
        appendDouble(v)
    }

    public mutating func field(_ name: StaticString, _ v: Double?) {
        key(name)
        if let v { appendDouble(v) } else { appendNull() }
    }

    public mutating func field(_ name: StaticString, _ v: Bool) {
        key(name)
        bytes.append(contentsOf: v ? Array("true".utf8) : Array("false".utf8))
    }

    public mutating func field(_ name: StaticString, _ v: String?) {
        key(name)
        if let v { appendString(v) } else { appendNull() }
    }

    public mutating func field(named name: String, _ v: String) {
        key(name)
        appendString(v)
    }

    /// A field name encoded once (quoted, escaped, with its colon), for writers whose field
    /// names are known only at run time (a job file's sink): `key(encoded:)` then a value.
    public static func encodedKey(_ name: String) -> [UInt8] {
        var w = JSONWriter(capacity: name.utf8.count + 3)
        w.appendString(name)
        w.bytes.append(0x3A)
        return w.bytes
    }

    @inline(__always) public mutating func key(encoded: [UInt8]) {
        if !first { bytes.append(0x2C) }
        first = false
        bytes.append(contentsOf: encoded)
    }

    @inline(__always) public mutating func value(_ v: Int64) { appendInt(v) }
    @inline(__always) public mutating func value(_ v: Double) { appendDouble(v) }
    public mutating func value(_ v: Bool) { bytes.append(contentsOf: v ? Array("true".utf8) : Array("false".utf8)) }
    public mutating func value(_ v: String) { appendString(v) }
    public mutating func valueNull() { appendNull() }

    /// Inserts already-encoded JSON (a nested object or array).
    public mutating func field(_ name: StaticString, raw: [UInt8]) {
        key(name)
        bytes.append(contentsOf: raw)
    }

    mutating func appendNull() { bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]) }

    @inline(__always) mutating func appendInt(_ v: Int64) { NumberDigits.appendInt(v, to: &bytes) }

    @inline(__always) mutating func appendDouble(_ v: Double) {
        guard v.isFinite else { appendNull(); return }  // JSON has no NaN or infinity
        NumberDigits.appendFinite(v, to: &bytes)
    }

    mutating func appendString(_ s: String) {
        bytes.append(0x22)
        for c in s.utf8 {
            switch c {
            case 0x22: bytes.append(0x5C); bytes.append(0x22)
            case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
            case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
            case 0x0D: bytes.append(0x5C); bytes.append(0x72)
            case 0x09: bytes.append(0x5C); bytes.append(0x74)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 15)]])
            default: bytes.append(c)
            }
        }
        bytes.append(0x22)
    }
}
