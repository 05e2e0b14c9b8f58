/// Text read from binary or CSV values: validated as UTF-8 (a bad byte sends the record to the
/// dead-letter topic instead of being silently replaced).
enum FormatText {
    /// The bytes as a String, or nil when they are not valid UTF-8.
    @inline(__always) static func string(_ p: UnsafePointer<UInt8>, _ n: Int) -> String? {
        let b = UnsafeBufferPointer(start: p, count: n)
        return isValidUTF8(b) ? String(decoding: b, as: UTF8.self) : nil
    }

    static func isValidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        // ASCII first: most fields are, and this loop is what they cost.
        var i = 0
        while i < b.count && b[i] < 0x80 { i += 1 }
        if i == b.count { return true }
        var it = UnsafeBufferPointer(rebasing: b[i...]).makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        while true {
            switch parser.parseScalar(from: &it) {
            case .valid: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// A decimal integer with an optional '-' (what `JSONNumbers.parseInt64` accepts); up to
    /// 18 digits cannot overflow, so they skip the overflow checks.
    @inline(__always) static func int64(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
        let neg = n > 0 && p[0] == 0x2D
        let first = neg ? 1 : 0
        guard n > first, n - first <= 18 else { return JSONNumbers.parseInt64(p, n) }
        var v: Int64 = 0
        var i = first
        while i < n {
            let d = p[i] &- 0x30
            guard d <= 9 else { return nil }
            v = v &* 10 &+ Int64(d)
            i &+= 1
        }
        return neg ? -v : v
    }

    /// At most `limit` bytes of a field for an error message (lossy, escaped).
    static func excerpt(_ p: UnsafePointer<UInt8>, _ n: Int, limit: Int = 40) -> String {
        let s = String(decoding: UnsafeBufferPointer(start: p, count: min(n, limit)), as: UTF8.self)
        return s.debugDescription.dropLast() + (n > limit ? "…\"" : "\"")
    }
}
