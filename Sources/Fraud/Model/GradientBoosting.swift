import Foundation
import Jobs

/// Histogram gradient boosting for binary classification with logistic loss (the method of
/// LightGBM and scikit-learn's HistGradientBoostingClassifier), writing a `TreeModel`.
public struct GradientBoosting: Sendable {
    public struct Parameters: Sendable, Equatable {
        public var trees = 200
        public var maxDepth = 6
        public var minSamplesLeaf = 20
        /// L2 regularisation of the leaf values.
        public var lambda = 1.0
        public var learningRate = 0.1
        /// Value bins per feature (a missing bin comes on top), at most 255.
        public var maxBins = 255
        public var maxCategories = 64
        /// Histogram workers (features are split among them); results do not depend on it.
        public var workers = ProcessInfo.processInfo.activeProcessorCount
        public init() {}
    }

    public struct Result: Sendable {
        public var model: TreeModel
        /// The model's log-odds of each training row, as training summed them.
        public var trainMargins: [Double]
        /// Log loss on the training rows after each `progressEvery` trees and at the end.
        public var lossHistory: [(trees: Int, loss: Double)]

        public func trainProbability(_ row: Int) -> Double { 1 / (1 + Foundation.exp(-trainMargins[row])) }
    }

    public var parameters: Parameters
    public init(_ parameters: Parameters = Parameters()) { self.parameters = parameters }

    /// Trains on `table` (its categories become the model's) with `labels` (true = positive).
    /// `progress` is called after every `progressEvery` trees with the count and training log loss.
    public func train(_ table: TrainingTable, labels: [Bool], name: String, version: String,
                      progressEvery: Int = 20, progress: (Int, Double) -> Void = { _, _ in }) -> Result {
        let p = parameters
        precondition(labels.count == table.rowCount, "one label per row")
        let inputs = table.inputs(maxCategories: p.maxCategories)
        let columns = table.features(for: inputs)
        let n = table.rowCount, nf = columns.count
        let fb = FeatureBins(columns: columns, maxBins: p.maxBins)
        let binned = fb.binned(columns)

        let positives = labels.reduce(0) { $0 + ($1 ? 1 : 0) }
        // Log-odds of the positive rate, clamped so an all-one-class table stays finite.
        let rate = min(max(Double(positives) / Double(max(n, 1)), 1e-12), 1 - 1e-12)
        let base = Foundation.log(rate / (1 - rate))
        let y = labels.map { $0 ? 1.0 : 0.0 }
        var raw = [Double](repeating: base, count: n)
        var g = [Double](repeating: 0, count: n)
        var h = [Double](repeating: 0, count: n)
        var trees: [TreeModel.Tree] = []
        var history: [(trees: Int, loss: Double)] = []
        let rules = SplitRules(lambda: p.lambda, minSamplesLeaf: max(1, p.minSamplesLeaf))

        binned.withUnsafeBufferPointer { xb in
            var grower = TreeGrower(bins: xb.baseAddress ?? UnsafePointer(bitPattern: 1)!, rowCount: n, featureCount: nf,
                                    featureBins: fb, rules: rules, maxDepth: max(0, p.maxDepth),
                                    learningRate: p.learningRate, workers: p.workers)
            defer { grower.free() }
            for t in 0..<max(0, p.trees) {
                for i in 0..<n {
                    let pr = 1 / (1 + Foundation.exp(-raw[i]))
                    g[i] = pr - y[i]
                    // Floor: a saturated row still has a positive weight.
                    h[i] = max(pr * (1 - pr), 1e-16)
                }
                let tree = g.withUnsafeBufferPointer { gb in
                    h.withUnsafeBufferPointer { hb in
                        raw.withUnsafeMutableBufferPointer { rb in
                            grower.grow(g: gb.baseAddress!, h: hb.baseAddress!, raw: rb.baseAddress!)
                        }
                    }
                }
                trees.append(tree)
                if (t + 1) % max(progressEvery, 1) == 0 || t + 1 == p.trees {
                    let loss = Self.logLoss(margins: raw, y: y)
                    history.append((t + 1, loss))
                    progress(t + 1, loss)
                }
            }
        }
        var model = TreeModel(name: name, version: version, inputs: inputs, baseScore: base, trees: trees)
        model.training = ["rows": Double(n), "positives": Double(positives), "trees": Double(trees.count),
                          "max_depth": Double(p.maxDepth), "learning_rate": p.learningRate]
        if let last = history.last { model.training?["train_log_loss"] = last.loss }
        return Result(model: model, trainMargins: raw, lossHistory: history)
    }

    static func logLoss(margins: [Double], y: [Double]) -> Double {
        guard !margins.isEmpty else { return 0 }
        var s = 0.0
        // log(1 + e^m) - y m, computed without overflow.
        for (m, t) in zip(margins, y) { s += max(m, 0) + Foundation.log1p(Foundation.exp(-abs(m))) - t * m }
        return s / Double(margins.count)
    }
}

extension TreeModel {
    /// Splits per expanded feature (how often the trees use it: a simple importance).
    public var splitCounts: [Int] {
        var c = [Int](repeating: 0, count: featureCount)
        for t in trees { for f in t.feature where f >= 0 { c[Int(f)] += 1 } }
        return c
    }

    /// The expanded features' names: the input's, or `input=category`.
    public var featureNames: [String] {
        inputs.flatMap { i in i.categories.map { $0.map { "\(i.name)=\($0)" } } ?? [i.name] }
    }

    /// Probabilities of a table's rows (column-major features as `TrainingTable.features` makes them).
    public func probabilities(_ columns: [[Double]]) -> [Double] {
        let n = columns.first?.count ?? 0
        var x = [Double](repeating: 0, count: columns.count)
        return (0..<n).map { r in
            for f in columns.indices { x[f] = columns[f][r] }
            return probability(x)
        }
    }
}
