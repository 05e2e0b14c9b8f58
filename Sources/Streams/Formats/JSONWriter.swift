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

    /// Inserts already-encoded JSON (a nested object or array).
    public mutating func field(_ name: StaticString, raw: [UInt8]) {
        key(name)
        bytes.append(contentsOf: raw)
    }

    mutating func appendNull() { bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]) }

    mutating func appendInt(_ v: Int64) {
        if v == 0 { bytes.append(0x30); return }
        var x = v.magnitude
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &tmp) { t in
            while x > 0 {
                t[19 - n] = UInt8(x % 10) + 0x30
                x /= 10
                n += 1
            }
            if v < 0 { bytes.append(0x2D) }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: t[(20 - n)...]))
        }
    }

    mutating func appendDouble(_ v: Double) {
        guard v.isFinite else { appendNull(); return }  // JSON has no NaN or infinity
        if v == v.rounded(), abs(v) < 1e15 {
            // 12.0 reads as a number everywhere; keep the ".0" so it stays a float for typed readers.
            appendInt(Int64(v))
            bytes.append(0x2E); bytes.append(0x30)
            return
        }
        // Few decimals (amounts): digits written directly, when they read back exactly as v.
        if abs(v) < 1e9 {
            var scale = 10.0
            for k in 1...6 {
                let scaled = (v * scale).rounded()
                if scaled / scale == v {
                    let m = Int64(scaled)
                    let neg = m < 0
                    let digits = m.magnitude
                    let p = UInt64(scale)
                    if neg { bytes.append(0x2D) }
                    appendInt(Int64(digits / p))
                    bytes.append(0x2E)
                    var frac = digits % p
                    var div = p / 10
                    for _ in 0..<k {
                        bytes.append(UInt8(frac / div) + 0x30)
                        frac %= div
                        div /= 10
                    }
                    return
                }
                scale *= 10
            }
        }
        bytes.append(contentsOf: v.description.utf8)
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
