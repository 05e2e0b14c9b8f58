/// Numbers as text, for the JSON and CSV writers: integers digit by digit, doubles with few
/// decimals (amounts) digit by digit when they read back exactly, else Swift's shortest form.
enum NumberDigits {
    static func appendInt(_ v: Int64, to bytes: inout [UInt8]) {
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

    /// `v` must be finite (what stands for NaN and infinity is the format's choice).
    static func appendFinite(_ v: Double, to bytes: inout [UInt8]) {
        if v == v.rounded(), abs(v) < 1e15 {
            // 12.0 reads as a number everywhere; keep the ".0" so it stays a float for typed readers.
            appendInt(Int64(v), to: &bytes)
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
                    appendInt(Int64(digits / p), to: &bytes)
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
}
