/// Numbers as text: Java's Double.toString (what Flink's CAST(x AS STRING) prints), decimal
/// rounding of doubles on their shortest decimal form (Flink's ROUND goes through BigDecimal,
/// so ROUND(1.005, 2) is 1.01, not the 1.0 that scaling by 100 gives), and CAST's parsing.
enum NumberText {
    /// The shortest decimal digits of a finite non-zero |d| and its exponent: |d| = 0.DIGITS × 10^exp.
    static func shortestDigits(_ d: Double) -> (digits: [UInt8], exponent: Int) {
        // Swift's description is the shortest round-tripping form: "1.005", "1e-05", "1.5e+20".
        let text = Array(d.magnitude.description.utf8)
        var mantissa: [UInt8] = []
        var pointAt: Int? = nil
        var exp = 0
        var i = 0
        while i < text.count {
            let c = text[i]
            if c == 0x2E {
                pointAt = mantissa.count
            } else if c == 0x65 || c == 0x45 {
                var sign = 1
                var j = i + 1
                if j < text.count, text[j] == 0x2B || text[j] == 0x2D { sign = text[j] == 0x2D ? -1 : 1; j += 1 }
                var e = 0
                while j < text.count { e = e * 10 + Int(text[j] - 0x30); j += 1 }
                exp = sign * e
                break
            } else {
                mantissa.append(c - 0x30)
            }
            i += 1
        }
        var intDigits = pointAt ?? mantissa.count
        while let f = mantissa.first, f == 0, !mantissa.isEmpty {
            mantissa.removeFirst()
            intDigits -= 1
        }
        while let l = mantissa.last, l == 0 { mantissa.removeLast() }
        return (mantissa, intDigits + exp)
    }

    /// Java's Double.toString: plain between 1e-3 and 1e7 ("100.0", "0.001"), otherwise
    /// "1.0E7", "1.23E-4"; "NaN", "Infinity", "-0.0".
    static func javaDouble(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        let sign = d.sign == .minus ? "-" : ""
        if d == 0 { return sign + "0.0" }
        let (digits, exp) = shortestDigits(d)
        let ds = String(decoding: digits.map { $0 + 0x30 }, as: UTF8.self)
        let mag = d.magnitude
        if mag >= 1e-3 && mag < 1e7 {
            if exp <= 0 {
                return sign + "0." + String(repeating: "0", count: -exp) + ds
            }
            if digits.count <= exp {
                return sign + ds + String(repeating: "0", count: exp - digits.count) + ".0"
            }
            let cut = ds.index(ds.startIndex, offsetBy: exp)
            return sign + ds[..<cut] + "." + ds[cut...]
        }
        let first = ds.prefix(1)
        let rest = digits.count > 1 ? String(ds.dropFirst()) : "0"
        return sign + first + "." + rest + "E" + String(exp - 1)
    }

    /// Rounds half away from zero to `places` decimal places (negative: tens, hundreds …).
    static func round(_ x: Double, _ places: Int64) -> Double {
        roundDecimal(x, places, truncate: false)
    }

    static func roundDecimal(_ x: Double, _ places: Int64, truncate: Bool) -> Double {
        guard x.isFinite, x != 0 else { return x }
        let (digits, exp) = shortestDigits(x)
        let keepWide = Int64(exp) + places
        if keepWide >= Int64(digits.count) { return x }
        if keepWide < 0 { return x.sign == .minus ? -0.0 : 0 }
        let keep = Int(keepWide)
        var kept = Array(digits[0..<keep])
        var e = exp
        if !truncate, digits[keep] >= 5 {
            var k = kept.count - 1
            while k >= 0 {
                if kept[k] == 9 { kept[k] = 0; k -= 1 } else { kept[k] += 1; break }
            }
            if k < 0 { kept.insert(1, at: 0); e += 1 }
        }
        if kept.isEmpty { return x.sign == .minus ? -0.0 : 0 }
        let text = (x.sign == .minus ? "-0." : "0.") + String(decoding: kept.map { $0 + 0x30 }, as: UTF8.self) + "e\(e)"
        return Double(text) ?? x
    }

    /// ROUND on integers: places ≥ 0 leave them alone; -1 rounds to tens, half away from zero.
    static func round(_ v: Int64, _ places: Int64) -> Int64 {
        guard places < 0 else { return v }
        guard places > -19 else { return 0 }
        var p: Int64 = 1
        for _ in 0..<Int(-places) { p &*= 10 }
        let r = v % p
        let down = v - r
        if r.magnitude * 2 >= p.magnitude { return r < 0 ? down &- p : down &+ p }
        return down
    }

    /// Flink's CAST(string AS BIGINT): blanks trimmed, optional sign, digits, and a fraction
    /// that is dropped ('12.5' → 12); nil on anything else or overflow.
    static func parseInteger<S: StringProtocol>(_ text: S) -> Int64? {
        let b = Array(text.utf8)
        var i = 0
        var end = b.count
        while i < end, isBlank(b[i]) { i += 1 }
        while end > i, isBlank(b[end - 1]) { end -= 1 }
        guard i < end else { return nil }
        var neg = false
        if b[i] == 0x2B || b[i] == 0x2D { neg = b[i] == 0x2D; i += 1 }
        var v: Int64 = 0
        var any = false
        while i < end, b[i] >= 0x30 && b[i] <= 0x39 {
            let d = Int64(b[i] - 0x30)
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = neg ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
            if o1 || o2 { return nil }
            v = a
            any = true
            i += 1
        }
        if i < end, b[i] == 0x2E {
            i += 1
            while i < end, b[i] >= 0x30 && b[i] <= 0x39 { any = true; i += 1 }
        }
        guard any, i == end else { return nil }
        return v
    }

    /// CAST(string AS DOUBLE): blanks trimmed, then decimal or exponent notation, NaN, Infinity.
    static func parseDouble<S: StringProtocol>(_ text: S) -> Double? {
        let t = trimmed(text)
        guard !t.isEmpty else { return nil }
        if let d = Double(t) { return d }
        switch t {
        case "NaN": return .nan
        case "Infinity", "+Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return nil
        }
    }

    /// CAST(string AS BOOLEAN), as Flink reads it: true/t/yes/y/1 and false/f/no/n/0, any case.
    static func parseBool<S: StringProtocol>(_ text: S) -> Bool? {
        switch text.lowercased() {
        case "true", "t", "yes", "y", "1": return true
        case "false", "f", "no", "n", "0": return false
        default: return nil
        }
    }

    @inline(__always) static func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }

    static func trimmed<S: StringProtocol>(_ text: S) -> String {
        let b = Array(text.utf8)
        var i = 0
        var end = b.count
        while i < end, isBlank(b[i]) { i += 1 }
        while end > i, isBlank(b[end - 1]) { end -= 1 }
        return String(decoding: b[i..<end], as: UTF8.self)
    }

    /// Java's (int) / (long) cast of a double: truncation, saturating, NaN → 0.
    @inline(__always) static func toInt64(_ d: Double) -> Int64 {
        if d.isNaN { return 0 }
        if d >= 9.223372036854775807e18 { return .max }
        if d <= -9.223372036854775808e18 { return .min }
        return Int64(d.rounded(.towardZero))
    }
}
