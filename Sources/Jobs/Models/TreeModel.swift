import Foundation

/// A gradient-boosted tree ensemble for binary classification (logistic loss), as
/// `riverbank fraud train` writes it and `MODEL_SCORE('file', …)` in a job file evaluates it.
///
/// The file is JSON. `inputs` are the function's arguments in order: a numeric input is one
/// feature (NULL → missing), a categorical one (`categories` given) is one 0/1 feature per
/// category (an unknown or NULL value → all 0). Trees are node arrays: node `i` is a leaf when
/// `feature[i] < 0` (its `value` is added to the log-odds), else it sends a row `left` when
/// the feature is below `threshold` (or missing and `missingLeft`), `right` otherwise. The
/// score is the logistic of `baseScore` + the leaves reached.
public struct TreeModel: Codable, Sendable, Equatable {
    public static let formatName = "riverbank-gbdt"
    public static let maxBytes = 64 << 20

    public struct Input: Codable, Sendable, Equatable {
        public var name: String
        /// nil: numeric.
        public var categories: [String]?
        public init(name: String, categories: [String]? = nil) {
            self.name = name
            self.categories = categories
        }
        var width: Int { categories?.count ?? 1 }
    }

    public struct Tree: Codable, Sendable, Equatable {
        public var feature: [Int32]
        public var threshold: [Double]
        public var left: [Int32]
        public var right: [Int32]
        public var missingLeft: [Bool]
        public var value: [Double]
        public init(feature: [Int32], threshold: [Double], left: [Int32], right: [Int32], missingLeft: [Bool], value: [Double]) {
            self.feature = feature
            self.threshold = threshold
            self.left = left
            self.right = right
            self.missingLeft = missingLeft
            self.value = value
        }
    }

    public var format = TreeModel.formatName
    public var formatVersion = 1
    public var name: String
    /// The model's own version (alerts name it, with the ruleset's).
    public var version: String
    public var inputs: [Input]
    public var baseScore: Double
    public var trees: [Tree]
    /// What training measured (sizes, holdout precision and recall, …), for people.
    public var training: [String: Double]? = nil

    public init(name: String, version: String, inputs: [Input], baseScore: Double, trees: [Tree], training: [String: Double]? = nil) {
        self.name = name
        self.version = version
        self.inputs = inputs
        self.baseScore = baseScore
        self.trees = trees
        self.training = training
    }

    /// Features after one-hot expansion.
    public var featureCount: Int { inputs.reduce(0) { $0 + $1.width } }

    /// Every structural promise the evaluator relies on, checked once at load: a hostile or
    /// damaged file is an error, never a crash or a loop.
    public func validate() throws(ModelError) {
        guard format == Self.formatName else { throw ModelError("format is '\(format)', not \(Self.formatName)") }
        guard formatVersion == 1 else { throw ModelError("format version \(formatVersion) is not supported (1 is)") }
        guard !inputs.isEmpty, inputs.count <= 256 else { throw ModelError("\(inputs.count) inputs (1 to 256)") }
        for i in inputs where (i.categories?.count ?? 1) < 1 || (i.categories?.count ?? 1) > 1024 {
            throw ModelError("input \(i.name): 1 to 1024 categories")
        }
        guard trees.count <= 100_000 else { throw ModelError("\(trees.count) trees (at most 100,000)") }
        guard baseScore.isFinite else { throw ModelError("base score is not finite") }
        let nf = Int32(featureCount)
        for (t, tree) in trees.enumerated() {
            let n = tree.feature.count
            guard n >= 1, n <= 1 << 20, tree.threshold.count == n, tree.left.count == n, tree.right.count == n,
                  tree.missingLeft.count == n, tree.value.count == n else {
                throw ModelError("tree \(t): node arrays of different lengths (or none, or over 1,048,576 nodes)")
            }
            for i in 0..<n {
                if tree.feature[i] < 0 {
                    guard tree.value[i].isFinite else { throw ModelError("tree \(t) node \(i): leaf value is not finite") }
                    continue
                }
                guard tree.feature[i] < nf else { throw ModelError("tree \(t) node \(i): feature \(tree.feature[i]) of \(nf)") }
                guard !tree.threshold[i].isNaN else { throw ModelError("tree \(t) node \(i): threshold is NaN") }
                // Children after their parent: every walk ends.
                for c in [tree.left[i], tree.right[i]] where c <= Int32(i) || c >= Int32(n) {
                    throw ModelError("tree \(t) node \(i): child \(c) is not a later node of the tree")
                }
            }
        }
    }

    public static func load(path: String) throws(ModelError) -> TreeModel {
        let data: Data
        do {
            let attrs = try FileManager.default.attributesOfItem(atPath: path)
            if let size = attrs[.size] as? Int, size > maxBytes { throw ModelError("\(size) bytes exceeds the \(maxBytes)-byte limit") }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let e as ModelError {
            throw ModelError("\(path): \(e.message)")
        } catch {
            throw ModelError("\(path): cannot read it (\(error.localizedDescription))")
        }
        let m: TreeModel
        do { m = try JSONDecoder().decode(TreeModel.self, from: data) } catch {
            throw ModelError("\(path): not a model file (\(error))")
        }
        do { try m.validate() } catch { throw ModelError("\(path): \(error.message)") }
        return m
    }

    public func write(to path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        try enc.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Log-odds of a feature vector (after expansion; NaN = missing).
    @inline(__always)
    public func margin(_ x: UnsafeBufferPointer<Double>) -> Double {
        var sum = baseScore
        for tree in trees {
            var n = 0
            tree.feature.withUnsafeBufferPointer { f in
                while f[n] >= 0 {
                    let v = x[Int(f[n])]
                    let goLeft = v.isNaN ? tree.missingLeft[n] : v < tree.threshold[n]
                    n = Int(goLeft ? tree.left[n] : tree.right[n])
                }
            }
            sum += tree.value[n]
        }
        return sum
    }

    public func probability(_ x: [Double]) -> Double {
        x.withUnsafeBufferPointer { 1 / (1 + Foundation.exp(-margin($0))) }
    }

    /// Writes the features of one row's inputs into `out` (numbers, or strings for categorical
    /// inputs; nil = NULL).
    public func expand(_ values: [InputValue], into out: inout [Double]) {
        out.removeAll(keepingCapacity: true)
        for (i, input) in inputs.enumerated() {
            let v = i < values.count ? values[i] : .missing
            if let cats = input.categories {
                let s: String? = if case .text(let t) = v { t } else { nil }
                for c in cats { out.append(s == c ? 1 : 0) }
            } else {
                switch v {
                case .number(let d): out.append(d)
                case .text, .missing: out.append(.nan)
                }
            }
        }
    }

    public enum InputValue: Sendable, Equatable {
        case number(Double)
        case text(String)
        case missing
    }
}

public struct ModelError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A model's trees laid out for scoring: every node of every tree in one contiguous array with
/// absolute child indices, walked through one buffer pointer. `TreeModel.margin` touches six
/// arrays per tree (a retain and a bounds check each); this is what MODEL_SCORE runs per event.
struct FlatForest: Sendable {
    struct Node {
        /// The split's threshold, or the leaf's value.
        var threshold: Double
        /// The feature compared, or -1 at a leaf.
        var feature: Int32
        var left: Int32
        var right: Int32
        var missingLeft: Bool
    }

    let nodes: [Node]
    let roots: [Int32]
    let baseScore: Double

    /// The model's structure is checked at load (`TreeModel.validate`): children within the
    /// tree; the 64 MiB file limit keeps the node count far below Int32's range.
    init(_ m: TreeModel) {
        var nodes: [Node] = []
        var roots: [Int32] = []
        for t in m.trees {
            let base = Int32(nodes.count)
            roots.append(base)
            for i in t.feature.indices {
                let leaf = t.feature[i] < 0
                nodes.append(Node(threshold: leaf ? t.value[i] : t.threshold[i], feature: leaf ? -1 : t.feature[i],
                                  left: leaf ? 0 : base + t.left[i], right: leaf ? 0 : base + t.right[i], missingLeft: t.missingLeft[i]))
            }
        }
        self.nodes = nodes
        self.roots = roots
        baseScore = m.baseScore
    }

    /// Log-odds of a feature vector (after expansion; NaN = missing), as `TreeModel.margin`.
    func margin(_ x: UnsafeBufferPointer<Double>) -> Double {
        nodes.withUnsafeBufferPointer { ns in
            roots.withUnsafeBufferPointer { rs in
                var sum = baseScore
                for r in rs {
                    var n = Int(r)
                    while true {
                        let node = ns[n]
                        if node.feature < 0 { break }
                        let v = x[Int(node.feature)]
                        n = Int((v.isNaN ? node.missingLeft : v < node.threshold) ? node.left : node.right)
                    }
                    sum += ns[n].threshold
                }
                return sum
            }
        }
    }
}
