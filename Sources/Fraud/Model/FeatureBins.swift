/// Per-feature quantile bins: a value's bin is the number of edges at or below it, so bins
/// `0...b` are exactly the values `< edges[b]` (the threshold a split writes). NaN goes to
/// `missingBin`.
struct FeatureBins: Sendable {
    static let missingBin: UInt8 = 255
    /// At most 255 bins of values (0…254), 255 is the missing bin.
    static let maxValueBins = 255

    /// `edges[f]` ascending, at most `maxValueBins - 1` of them.
    var edges: [[Double]]

    init(columns: [[Double]], maxBins: Int = FeatureBins.maxValueBins) {
        let bins = min(max(maxBins, 2), Self.maxValueBins)
        edges = columns.map { Self.edges(of: $0, bins: bins) }
    }

    static func edges(of column: [Double], bins: Int) -> [Double] {
        var v = column.filter { !$0.isNaN }
        guard !v.isEmpty else { return [] }
        v.sort()
        var distinct: [Double] = []
        for x in v where distinct.last != x { distinct.append(x) }
        if distinct.count <= bins {
            // Few values: one bin each, cut halfway between neighbours (an unseen value in
            // between goes with the nearer one).
            return (1..<distinct.count).map { i in
                let a = distinct[i - 1], b = distinct[i]
                let m = a + (b - a) / 2
                return m > a && m <= b ? m : b
            }
        }
        // Quantiles: the value at each 1/bins of the sorted data, duplicates merged.
        var out: [Double] = []
        for k in 1..<bins {
            let e = v[k * v.count / bins]
            if e > v[0], out.last.map({ e > $0 }) ?? true { out.append(e) }
        }
        return out
    }

    /// The bin of `x` for feature `f`.
    @inline(__always)
    func bin(_ x: Double, feature f: Int) -> UInt8 {
        if x.isNaN { return Self.missingBin }
        return edges[f].withUnsafeBufferPointer { e in
            // Upper bound: the first edge greater than x.
            var lo = 0, hi = e.count
            while lo < hi {
                let mid = (lo + hi) >> 1
                if e[mid] <= x { lo = mid + 1 } else { hi = mid }
            }
            return UInt8(lo)
        }
    }

    /// Column-major bins (`[f * rows + r]`).
    func binned(_ columns: [[Double]]) -> [UInt8] {
        let rows = columns.first?.count ?? 0
        var out = [UInt8](repeating: 0, count: rows * columns.count)
        for (f, c) in columns.enumerated() {
            for r in 0..<rows { out[f * rows + r] = bin(c[r], feature: f) }
        }
        return out
    }

    /// The threshold of a split sending bins `0...b` left.
    func threshold(feature f: Int, bin b: Int) -> Double {
        // Every value is below the largest finite double (JSON has no infinity).
        b < edges[f].count ? edges[f][b] : .greatestFiniteMagnitude
    }
}
