/// String functions with Flink's semantics. Positions and lengths count Unicode code points
/// (Flink's strings are UTF-8 and count code points too).
enum Strings {
    static func length(_ s: String) -> Int64 { Int64(s.unicodeScalars.count) }

    /// SUBSTRING(s, pos [, len]) as Flink computes it: pos 0 counts as 1, a negative pos
    /// counts from the end, a negative length gives NULL, out-of-range parts are cut off.
    static func substring(_ s: String, _ pos: Int64, _ len: Int64?) -> String? {
        if let len, len < 0 { return nil }
        let scalars = s.unicodeScalars
        let n = Int64(scalars.count)
        var start = pos > 0 ? pos - 1 : (pos < 0 ? n + pos : 0)
        let end = len.map { start &+ $0 } ?? n
        start = max(start, 0)
        if start >= end || start >= n { return "" }
        let stop = min(end, n)
        let a = scalars.index(scalars.startIndex, offsetBy: Int(start))
        let b = scalars.index(a, offsetBy: Int(stop - start))
        return String(scalars[a..<b])
    }

    /// POSITION(needle IN haystack): 1-based, 0 when absent, 1 for an empty needle.
    static func position(_ needle: String, _ haystack: String) -> Int64 {
        let n = Array(needle.unicodeScalars), h = Array(haystack.unicodeScalars)
        if n.isEmpty { return 1 }
        guard n.count <= h.count else { return 0 }
        for i in 0...(h.count - n.count) where h[i] == n[0] {
            if Array(h[i..<(i + n.count)]) == n { return Int64(i + 1) }
        }
        return 0
    }

    /// REPLACE(s, from, to): every occurrence, left to right; an empty `from` inserts `to`
    /// between all characters (as Java's String.replace, which Flink uses).
    static func replace(_ s: String, _ from: String, _ to: String) -> String {
        let h = Array(s.unicodeScalars), f = Array(from.unicodeScalars)
        var out = String.UnicodeScalarView()
        if f.isEmpty {
            out.append(contentsOf: to.unicodeScalars)
            for c in h {
                out.append(c)
                out.append(contentsOf: to.unicodeScalars)
            }
            return String(out)
        }
        var i = 0
        while i < h.count {
            if i + f.count <= h.count, h[i] == f[0], Array(h[i..<(i + f.count)]) == f {
                out.append(contentsOf: to.unicodeScalars)
                i += f.count
            } else {
                out.append(h[i])
                i += 1
            }
        }
        return String(out)
    }

    /// LPAD/RPAD(s, n, pad): pads with repetitions of `pad` to n characters, or cuts s to n.
    /// A negative n or an empty pad gives NULL.
    static func pad(_ s: String, _ n: Int64, _ pad: String, left: Bool) -> String? {
        guard n >= 0 else { return nil }
        let chars = Array(s.unicodeScalars)
        if n <= Int64(chars.count) { return String(String.UnicodeScalarView(chars.prefix(Int(n)))) }
        let p = Array(pad.unicodeScalars)
        guard !p.isEmpty else { return nil }
        // Bound what one row can allocate: a pad to a billion characters is a mistake.
        guard n <= 1_000_000 else { return nil }
        let need = Int(n) - chars.count
        var fill: [Unicode.Scalar] = []
        fill.reserveCapacity(need)
        while fill.count < need { fill.append(p[fill.count % p.count]) }
        return String(String.UnicodeScalarView(left ? fill + chars : chars + fill))
    }

    /// TRIM: removes the characters of `chars` (a set; default a space) from the ends.
    static func trim(_ s: String, _ chars: String, leading: Bool, trailing: Bool) -> String {
        let set = Set(chars.unicodeScalars)
        let c = Array(s.unicodeScalars)
        var a = 0, b = c.count
        if leading { while a < b, set.contains(c[a]) { a += 1 } }
        if trailing { while b > a, set.contains(c[b - 1]) { b -= 1 } }
        return String(String.UnicodeScalarView(c[a..<b]))
    }
}
