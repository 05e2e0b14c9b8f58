/// Precision and recall of "positive when the probability exceeds a threshold".
public struct ThresholdQuality: Sendable, Equatable {
    public var threshold: Double
    public var truePositives = 0
    public var falsePositives = 0
    public var positives = 0

    public var precision: Double { truePositives + falsePositives == 0 ? 0 : Double(truePositives) / Double(truePositives + falsePositives) }
    public var recall: Double { positives == 0 ? 0 : Double(truePositives) / Double(positives) }

    public init(threshold: Double, truePositives: Int = 0, falsePositives: Int = 0, positives: Int = 0) {
        self.threshold = threshold
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.positives = positives
    }

    /// Flags `p > threshold`.
    public init(probabilities: [Double], labels: [Bool], threshold: Double) {
        self.threshold = threshold
        for (p, y) in zip(probabilities, labels) {
            if y { positives += 1 }
            if p > threshold { if y { truePositives += 1 } else { falsePositives += 1 } }
        }
    }

    /// The threshold with the highest recall whose precision is at least `targetPrecision`
    /// (ties: the highest such threshold), or nil when no threshold reaches it.
    public static func best(probabilities: [Double], labels: [Bool], targetPrecision: Double = 0.9) -> ThresholdQuality? {
        let order = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }
        let positives = labels.reduce(0) { $0 + ($1 ? 1 : 0) }
        var tp = 0, fp = 0
        var best: ThresholdQuality? = nil
        var k = 0
        while k < order.count {
            // Rows of equal probability are flagged together.
            let p = probabilities[order[k]]
            while k < order.count && probabilities[order[k]] == p {
                if labels[order[k]] { tp += 1 } else { fp += 1 }
                k += 1
            }
            let precision = Double(tp) / Double(tp + fp)
            guard precision >= targetPrecision, tp > (best?.truePositives ?? 0) else { continue }
            // Halfway to the next lower probability: p itself is flagged, the next is not.
            let below = k < order.count ? probabilities[order[k]] : 0
            let mid = below + (p - below) / 2
            best = ThresholdQuality(threshold: mid < p ? mid : below, truePositives: tp, falsePositives: fp, positives: positives)
        }
        return best
    }
}
