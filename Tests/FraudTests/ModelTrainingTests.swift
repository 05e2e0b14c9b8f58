import Foundation
@testable import Fraud
import Jobs
import Testing

@Suite struct ModelTrainingTests {
    /// y = (x1 > 0.5) XOR (cat == "b"), 1 % of labels flipped; x2 (10 % missing) and x3 are noise,
    /// cat is missing in 5 % of rows (then it is not "b").
    static func xorData(rows: Int, seed: UInt64) -> (TrainingTable, [Bool]) {
        var rng = Xoshiro256(seed: seed)
        var x1: [Double] = [], x2: [Double] = [], x3: [Double] = [], cat: [String?] = [], y: [Bool] = []
        for _ in 0..<rows {
            let a = rng.uniform()
            let c: String? = rng.uniform() < 0.05 ? nil : ["a", "b", "c"][rng.int(3)]
            x1.append(a)
            x2.append(rng.uniform() < 0.1 ? .nan : rng.uniform(-5, 5))
            x3.append(Double(rng.int(10)))
            cat.append(c)
            var label = (a > 0.5) != (c == "b")
            if rng.uniform() < 0.01 { label.toggle() }
            y.append(label)
        }
        return (TrainingTable(names: ["x1", "x2", "x3", "cat"], columns: [.numeric(x1), .numeric(x2), .numeric(x3), .categorical(cat)]), y)
    }

    static func params(trees: Int = 60) -> GradientBoosting.Parameters {
        var p = GradientBoosting.Parameters()
        p.trees = trees
        return p
    }

    static func tempPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("rb-gbdt-\(name)-\(UUID().uuidString).json").path
    }

    @Test func learnsXorOfANumberAndACategoryOnHeldOutRows() {
        let (table, y) = Self.xorData(rows: 8000, seed: 7)
        let r = GradientBoosting(Self.params()).train(table.rows(0..<6000), labels: Array(y[0..<6000]), name: "t", version: "1")
        #expect(r.model.inputs.map(\.name) == ["x1", "x2", "x3", "cat"])
        #expect(r.model.inputs[3].categories == ["a", "b", "c"])
        let probs = r.model.probabilities(table.rows(6000..<8000).features(for: r.model.inputs))
        let correct = zip(probs, y[6000...]).filter { ($0 > 0.5) == $1 }.count
        #expect(Double(correct) / 2000 > 0.95)
        // The loss falls as trees are added.
        #expect(r.lossHistory.count == 3)
        #expect(r.lossHistory[0].loss > r.lossHistory[2].loss)
        // The informative inputs carry the splits.
        let c = r.model.splitCounts
        #expect(c[0] > c[1] && c[0] > c[2])
    }

    @Test func writtenModelValidatesReloadsEqualAndScoresAsTrained() throws {
        let (table, y) = Self.xorData(rows: 3000, seed: 11)
        let r = GradientBoosting(Self.params(trees: 40)).train(table, labels: y, name: "xor", version: "xor-1")
        let path = Self.tempPath("reload")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try r.model.validate()
        try r.model.write(to: path)
        let loaded = try TreeModel.load(path: path)
        #expect(loaded == r.model)
        #expect(loaded.trees.count == 40)
        let columns = table.features(for: loaded.inputs)
        let probs = loaded.probabilities(columns)
        for i in 0..<table.rowCount { #expect(probs[i] == r.trainProbability(i)) }
        // The evaluator's own expansion of raw values agrees with the table's.
        guard case .numeric(let x1) = table.columns[0], case .numeric(let x2) = table.columns[1],
              case .numeric(let x3) = table.columns[2], case .categorical(let cat) = table.columns[3] else { Issue.record("columns"); return }
        var x: [Double] = []
        for i in 0..<200 {
            let values: [TreeModel.InputValue] = [.number(x1[i]), x2[i].isNaN ? .missing : .number(x2[i]), .number(x3[i]),
                                                  cat[i].map { .text($0) } ?? .missing]
            loaded.expand(values, into: &x)
            #expect(loaded.probability(x) == r.trainProbability(i))
        }
    }

    @Test func missingValuesFollowTheLearnedDirection() {
        var rng = Xoshiro256(seed: 3)
        var x: [Double] = [], z: [Double] = [], y: [Bool] = []
        for _ in 0..<4000 {
            // Missing x means positive; missing z says nothing (y depends on x only).
            let missing = rng.uniform() < 0.2
            let v = rng.uniform()
            x.append(missing ? .nan : v)
            z.append(rng.uniform() < 0.3 ? .nan : rng.uniform())
            y.append(missing || v > 0.8)
        }
        let t = TrainingTable(names: ["x", "z"], columns: [.numeric(x), .numeric(z)])
        let m = GradientBoosting(Self.params(trees: 30)).train(t, labels: y, name: "m", version: "1").model
        #expect(m.probability([.nan, 0.5]) > 0.9)
        #expect(m.probability([0.3, 0.5]) < 0.1)
        #expect(m.probability([0.9, .nan]) > 0.9)

        // And the other way: missing means negative, even where present values are positive.
        let y2 = x.map { !$0.isNaN && $0 > 0.3 }
        let m2 = GradientBoosting(Self.params(trees: 30)).train(t, labels: y2, name: "m", version: "1").model
        #expect(m2.probability([.nan, 0.5]) < 0.1)
        #expect(m2.probability([0.9, 0.5]) > 0.9)
    }

    @Test func trainingIsDeterministicWhateverTheWorkers() throws {
        let (table, y) = Self.xorData(rows: 30_000, seed: 5)
        var p = Self.params(trees: 15)
        p.workers = 1
        let a = GradientBoosting(p).train(table, labels: y, name: "d", version: "1").model
        p.workers = 2
        let b = GradientBoosting(p).train(table, labels: y, name: "d", version: "1").model
        let c = GradientBoosting(p).train(table, labels: y, name: "d", version: "1").model
        let pa = Self.tempPath("a"), pb = Self.tempPath("b"), pc = Self.tempPath("c")
        defer { for q in [pa, pb, pc] { try? FileManager.default.removeItem(atPath: q) } }
        try a.write(to: pa); try b.write(to: pb); try c.write(to: pc)
        let da = try Data(contentsOf: URL(fileURLWithPath: pa))
        let db = try Data(contentsOf: URL(fileURLWithPath: pb)), dc = try Data(contentsOf: URL(fileURLWithPath: pc))
        #expect(da == db)
        #expect(da == dc)
    }

    @Test func binsCutBetweenValuesAndQuantiles() {
        let few = FeatureBins.edges(of: [3, 1, 2, .nan, 2, 1], bins: 255)
        #expect(few == [1.5, 2.5])
        let fb = FeatureBins(columns: [[3, 1, 2, .nan]])
        #expect(fb.bin(1, feature: 0) == 0 && fb.bin(2, feature: 0) == 1 && fb.bin(3, feature: 0) == 2)
        #expect(fb.bin(.nan, feature: 0) == FeatureBins.missingBin)
        let many = FeatureBins.edges(of: (0..<10_000).map(Double.init), bins: 255)
        #expect(many.count == 254)
        #expect(many == many.sorted())
        // Bins 0...b are the values below the threshold of b.
        let col = (0..<10_000).map { Double($0) }
        let big = FeatureBins(columns: [col])
        for v in stride(from: 0.0, to: 10_000, by: 37) {
            let b = Int(big.bin(v, feature: 0))
            #expect(v < big.threshold(feature: 0, bin: b))
            if b > 0 { #expect(!(v < big.threshold(feature: 0, bin: b - 1))) }
        }
    }

    @Test func categoriesAreTheMostFrequentSorted() {
        let values: [String?] = ["z", "y", "y", nil, "x", "x", "x", "w"]
        let t = TrainingTable(names: ["c"], columns: [.categorical(values)])
        #expect(t.inputs(maxCategories: 2)[0].categories == ["x", "y"])
        #expect(t.inputs()[0].categories == ["w", "x", "y", "z"])
        let f = t.features(for: t.inputs(maxCategories: 2))
        #expect(f == [[0, 0, 0, 0, 1, 1, 1, 0], [0, 1, 1, 0, 0, 0, 0, 0]])
    }

    @Test func thresholdWithTheMostRecallAtThePrecisionTarget() {
        let probs = [0.95, 0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2]
        let ys = [true, true, true, false, true, false, true, false]
        let half = ThresholdQuality(probabilities: probs, labels: ys, threshold: 0.5)
        #expect(half.truePositives == 4 && half.falsePositives == 1 && half.positives == 5)
        #expect(half.precision == 0.8 && half.recall == 0.8)
        // Precision ≥ 0.8 holds down to 0.6 (4 of 5), not below: the cut lies between 0.6 and 0.4.
        let b = ThresholdQuality.best(probabilities: probs, labels: ys, targetPrecision: 0.8)!
        #expect(b.truePositives == 4 && b.falsePositives == 1)
        #expect(b.threshold > 0.4 && b.threshold < 0.6)
        let strict = ThresholdQuality.best(probabilities: probs, labels: ys, targetPrecision: 0.9)!
        #expect(strict.truePositives == 3 && strict.falsePositives == 0 && strict.threshold > 0.7 && strict.threshold < 0.8)
        #expect(ThresholdQuality.best(probabilities: [0.9], labels: [false]) == nil)
    }

    @Test func readsScoreRecordsWithBooleansNullsAndStrings() throws {
        var r = ScoreFeatureReader(features: ["n", "b", "c", "absent"])
        for line in [#"{"transaction_id":"t1","n":1.5,"b":true,"c":"pos"}"#,
                     #"{"transaction_id":"t2","n":null,"b":false,"c":null}"#,
                     #"{"transaction_id":"t3","n":2,"b":true,"c":"web"}"#] {
            try Array(line.utf8).withUnsafeBytes { try r.add($0) }
        }
        #expect(r.transactionIds == ["t1", "t2", "t3"])
        let t = r.table
        guard case .numeric(let n) = t.columns[0], case .numeric(let b) = t.columns[1],
              case .categorical(let c) = t.columns[2], case .numeric(let a) = t.columns[3] else { Issue.record("kinds"); return }
        #expect(n[0] == 1.5 && n[1].isNaN && n[2] == 2)
        #expect(b == [1, 0, 1])
        #expect(c == ["pos", nil, "web"])
        #expect(a.allSatisfy { $0.isNaN })
        var lines: [String] = []
        Array("{\"a\":1}\r\n\n{\"b\":2}".utf8).withUnsafeBytes { raw in
            JSONLines.forEach(raw) { lines.append(String(decoding: $0, as: UTF8.self)) }
        }
        #expect(lines == [#"{"a":1}"#, #"{"b":2}"#])
    }
}
