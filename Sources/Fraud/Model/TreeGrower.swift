import Dispatch
import Jobs

/// Pointers the histogram workers share; each worker writes only its own features' bins.
struct SharedBuffers: @unchecked Sendable {
    let bins: UnsafePointer<UInt8>
    let rows: UnsafePointer<Int32>
    let g: UnsafePointer<Double>
    let h: UnsafePointer<Double>
    let rowCount: Int
}

/// Grows one tree depth-wise on binned data: histograms per node (the smaller child built, the
/// larger one its parent minus it), best second-order split per node.
struct TreeGrower {
    struct Node {
        var start: Int
        var end: Int
        var depth: Int
        var sums: HistBin
        var index: Int
        var hist: NodeHistogram?
    }

    let bins: UnsafePointer<UInt8>
    let rowCount: Int
    let featureCount: Int
    let featureBins: FeatureBins
    let rules: SplitRules
    let maxDepth: Int
    let learningRate: Double
    let workers: Int

    /// Rows of each node, contiguous (stable partitions keep them ascending).
    var rows: UnsafeMutableBufferPointer<Int32>
    var scratch: UnsafeMutableBufferPointer<Int32>
    /// Gradients and hessians in `rows` order for the node being histogrammed.
    var gOrdered: UnsafeMutableBufferPointer<Double>
    var hOrdered: UnsafeMutableBufferPointer<Double>

    init(bins: UnsafePointer<UInt8>, rowCount: Int, featureCount: Int, featureBins: FeatureBins, rules: SplitRules,
         maxDepth: Int, learningRate: Double, workers: Int) {
        self.bins = bins
        self.rowCount = rowCount
        self.featureCount = featureCount
        self.featureBins = featureBins
        self.rules = rules
        self.maxDepth = maxDepth
        self.learningRate = learningRate
        self.workers = max(1, workers)
        rows = .allocate(capacity: max(rowCount, 1))
        scratch = .allocate(capacity: max(rowCount, 1))
        gOrdered = .allocate(capacity: max(rowCount, 1))
        hOrdered = .allocate(capacity: max(rowCount, 1))
    }

    func free() {
        rows.deallocate(); scratch.deallocate(); gOrdered.deallocate(); hOrdered.deallocate()
    }

    func splittable(_ n: Node) -> Bool { n.depth < maxDepth && n.end - n.start >= 2 * rules.minSamplesLeaf }

    /// Grows a tree on gradients `g` and hessians `h`, adding each row's leaf value to `raw`.
    mutating func grow(g: UnsafePointer<Double>, h: UnsafePointer<Double>, raw: UnsafeMutablePointer<Double>) -> TreeModel.Tree {
        var tree = TreeModel.Tree(feature: [-1], threshold: [0], left: [0], right: [0], missingLeft: [false], value: [0])
        for r in 0..<rowCount { rows[r] = Int32(r) }
        var total = HistBin()
        for r in 0..<rowCount { total.g += g[r]; total.h += h[r] }
        total.n = Int32(rowCount)
        var root = Node(start: 0, end: rowCount, depth: 0, sums: total, index: 0, hist: nil)
        if splittable(root) {
            let hist = NodeHistogram(features: featureCount)
            build([(root, hist)], g: g, h: h, identity: true)
            root.hist = hist
        }
        var level = [root]
        var leaves: [Node] = []
        while !level.isEmpty {
            var next: [Node] = []
            var toBuild: [(Node, NodeHistogram)] = []
            var derived: [(small: Int, large: Int, parent: NodeHistogram)] = []
            for node in level {
                guard splittable(node), let hist = node.hist, let s = bestSplit(hist, node.sums) else {
                    node.hist?.free()
                    leaves.append(node)
                    continue
                }
                let mid = partition(node, s)
                let li = tree.feature.count, ri = li + 1
                tree.feature[node.index] = Int32(s.feature)
                tree.threshold[node.index] = featureBins.threshold(feature: s.feature, bin: s.bin)
                tree.left[node.index] = Int32(li)
                tree.right[node.index] = Int32(ri)
                tree.missingLeft[node.index] = s.missingLeft
                for _ in 0..<2 {
                    tree.feature.append(-1); tree.threshold.append(0); tree.left.append(0); tree.right.append(0)
                    tree.missingLeft.append(false); tree.value.append(0)
                }
                var l = Node(start: node.start, end: mid, depth: node.depth + 1, sums: s.left, index: li, hist: nil)
                var r = Node(start: mid, end: node.end, depth: node.depth + 1, sums: s.right, index: ri, hist: nil)
                if splittable(l) || splittable(r) {
                    // Build the smaller child; the parent's histograms minus it are the larger's.
                    let small = NodeHistogram(features: featureCount)
                    if l.end - l.start <= r.end - r.start {
                        l.hist = small; r.hist = hist
                        toBuild.append((l, small))
                        derived.append((next.count, next.count + 1, hist))
                    } else {
                        r.hist = small; l.hist = hist
                        toBuild.append((r, small))
                        derived.append((next.count + 1, next.count, hist))
                    }
                } else {
                    hist.free()
                }
                next.append(l)
                next.append(r)
            }
            if !toBuild.isEmpty {
                for (n, _) in toBuild {
                    for i in n.start..<n.end { let r = Int(rows[i]); gOrdered[i] = g[r]; hOrdered[i] = h[r] }
                }
                build(toBuild, g: g, h: h, identity: false)
                for d in derived { d.parent.subtract(next[d.small].hist!) }
            }
            level = next
        }
        for leaf in leaves {
            let v = -learningRate * leaf.sums.g / (leaf.sums.h + rules.lambda)
            tree.value[leaf.index] = v
            for i in leaf.start..<leaf.end { raw[Int(rows[i])] += v }
        }
        return tree
    }

    func bestSplit(_ hist: NodeHistogram, _ sums: HistBin) -> SplitCandidate? {
        var best: SplitCandidate? = nil
        let base = hist.bins.baseAddress!
        for f in 0..<featureCount {
            let valueBins = featureBins.edges[f].count + 1
            rules.scan(base + f * NodeHistogram.binsPerFeature, feature: f, valueBins: valueBins, total: sums, best: &best)
        }
        return best
    }

    /// Stable partition of the node's rows: left ones first. Returns where the right ones start.
    func partition(_ node: Node, _ s: SplitCandidate) -> Int {
        let col = bins + s.feature * rowCount
        let cut = UInt8(s.bin)
        var li = node.start, ri = 0
        for i in node.start..<node.end {
            let r = rows[i]
            let b = col[Int(r)]
            let left = b == FeatureBins.missingBin ? s.missingLeft : b <= cut
            if left { rows[li] = r; li += 1 } else { scratch[ri] = r; ri += 1 }
        }
        for k in 0..<ri { rows[li + k] = scratch[k] }
        return li
    }

    /// Fills the histograms of `nodes`, features split among the workers. `identity`: the root,
    /// whose rows are 0..<n in order (read straight, no gather).
    func build(_ nodes: [(Node, NodeHistogram)], g: UnsafePointer<Double>, h: UnsafePointer<Double>, identity: Bool) {
        let shared = SharedBuffers(bins: bins, rows: UnsafePointer(rows.baseAddress!),
                                   g: identity ? g : UnsafePointer(gOrdered.baseAddress!),
                                   h: identity ? h : UnsafePointer(hOrdered.baseAddress!), rowCount: rowCount)
        let jobs = nodes.map { (start: $0.0.start, end: $0.0.end, hist: SendableHist(bins: $0.1.bins.baseAddress!)) }
        let work = jobs.reduce(0) { $0 + $1.end - $1.start } * featureCount
        let nf = featureCount
        // Splitting small nodes costs more than it saves.
        let w = work < 200_000 ? 1 : min(workers, nf)
        let body: @Sendable (Int) -> Void = { k in
            let lo = k * nf / w, hi = (k + 1) * nf / w
            // Four interleaved copies: consecutive rows in the same bin (a one-hot feature's
            // zeros) do not wait on each other's sums.
            let lanes = UnsafeMutablePointer<HistBin>.allocate(capacity: 4 * NodeHistogram.binsPerFeature)
            defer { lanes.deallocate() }
            for job in jobs {
                for f in lo..<hi {
                    let col = shared.bins + f * shared.rowCount
                    let hf = job.hist.bins + f * NodeHistogram.binsPerFeature
                    @inline(__always) func bin(_ i: Int) -> Int { identity ? Int(col[i]) : Int(col[Int(shared.rows[i])]) }
                    var i = job.start
                    if job.end - job.start >= 4096 {
                        lanes.initialize(repeating: HistBin(), count: 4 * NodeHistogram.binsPerFeature)
                        let l1 = lanes + NodeHistogram.binsPerFeature, l2 = l1 + NodeHistogram.binsPerFeature, l3 = l2 + NodeHistogram.binsPerFeature
                        while i + 4 <= job.end {
                            let b0 = bin(i), b1 = bin(i + 1), b2 = bin(i + 2), b3 = bin(i + 3)
                            lanes[b0].g += shared.g[i]; lanes[b0].h += shared.h[i]; lanes[b0].n &+= 1
                            l1[b1].g += shared.g[i + 1]; l1[b1].h += shared.h[i + 1]; l1[b1].n &+= 1
                            l2[b2].g += shared.g[i + 2]; l2[b2].h += shared.h[i + 2]; l2[b2].n &+= 1
                            l3[b3].g += shared.g[i + 3]; l3[b3].h += shared.h[i + 3]; l3[b3].n &+= 1
                            i += 4
                        }
                        for b in 0..<NodeHistogram.binsPerFeature {
                            // Fixed order: the sums do not depend on the worker count.
                            hf[b].g += ((lanes[b].g + l1[b].g) + (l2[b].g + l3[b].g))
                            hf[b].h += ((lanes[b].h + l1[b].h) + (l2[b].h + l3[b].h))
                            hf[b].n &+= lanes[b].n &+ l1[b].n &+ l2[b].n &+ l3[b].n
                        }
                    }
                    while i < job.end {
                        let b = bin(i)
                        hf[b].g += shared.g[i]; hf[b].h += shared.h[i]; hf[b].n &+= 1
                        i += 1
                    }
                }
            }
        }
        if w == 1 { body(0) } else { DispatchQueue.concurrentPerform(iterations: w, execute: body) }
    }
}

/// A histogram's bins handed to a worker (disjoint feature ranges per worker).
struct SendableHist: @unchecked Sendable {
    let bins: UnsafeMutablePointer<HistBin>
}
