/// Gradient and hessian sums and the row count of one bin.
struct HistBin {
    var g: Double = 0
    var h: Double = 0
    var n: Int32 = 0
}

/// A node's histograms: 256 bins per feature (the last is the missing bin), owned by the grower.
struct NodeHistogram {
    static let binsPerFeature = 256
    let bins: UnsafeMutableBufferPointer<HistBin>

    init(features: Int) {
        bins = .allocate(capacity: features * Self.binsPerFeature)
        bins.initialize(repeating: HistBin())
    }

    func free() { bins.deallocate() }

    /// `self -= other`: a parent's histograms become those of the child not built.
    func subtract(_ other: NodeHistogram) {
        for i in 0..<bins.count {
            bins[i].g -= other.bins[i].g
            bins[i].h -= other.bins[i].h
            bins[i].n -= other.bins[i].n
        }
    }
}

/// The best split of a node found in its histograms.
struct SplitCandidate {
    var feature: Int
    /// Bins `0...bin` go left.
    var bin: Int
    var missingLeft: Bool
    var gain: Double
    var left: HistBin
    var right: HistBin
}

/// What makes a split acceptable and how good it is (the second-order gain of XGBoost and
/// LightGBM: G²/(H+λ) of the children minus the parent's).
struct SplitRules: Sendable {
    var lambda: Double
    var minSamplesLeaf: Int
    var minHessian: Double = 1e-3
    var minGain: Double = 1e-9

    @inline(__always)
    func score(_ g: Double, _ h: Double) -> Double { g * g / (h + lambda) }

    /// Scans feature `f`'s bins (`valueBins` of values, then the missing bin) of a node with
    /// totals `total`, keeping the best split better than `best`.
    func scan(_ hist: UnsafeMutablePointer<HistBin>, feature f: Int, valueBins: Int, total: HistBin, best: inout SplitCandidate?) {
        let missing = hist[NodeHistogram.binsPerFeature - 1]
        let parent = score(total.g, total.h)
        var cum = HistBin()
        let minLeaf = Int32(minSamplesLeaf)
        @inline(__always) func consider(_ l: HistBin, bin b: Int, missingLeft: Bool) {
            let r = HistBin(g: total.g - l.g, h: total.h - l.h, n: total.n - l.n)
            guard l.n >= minLeaf, r.n >= minLeaf, l.h >= minHessian, r.h >= minHessian else { return }
            let gain = score(l.g, l.h) + score(r.g, r.h) - parent
            // Strictly better: ties keep the earlier feature and bin (deterministic).
            guard gain > minGain, gain > (best?.gain ?? -.infinity) else { return }
            // No missing value seen here: missing rows follow the larger side.
            let ml = missing.n > 0 ? missingLeft : l.n >= r.n
            best = SplitCandidate(feature: f, bin: b, missingLeft: ml, gain: gain, left: l, right: r)
        }
        for b in 0..<valueBins {
            let x = hist[b]
            cum.g += x.g; cum.h += x.h; cum.n += x.n
            // The last bin left with missing right separates missing from present values.
            if b < valueBins - 1 || missing.n > 0 { consider(cum, bin: b, missingLeft: false) }
            if missing.n > 0 && b < valueBins - 1 {
                consider(HistBin(g: cum.g + missing.g, h: cum.h + missing.h, n: cum.n + missing.n), bin: b, missingLeft: true)
            }
        }
    }
}
