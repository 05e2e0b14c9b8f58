import Foundation
@testable import Jobs
import Testing

/// MODEL_SCORE over a hand-built tree model: the walk, one-hot categories, missing values,
/// and every way a model file or a call can be wrong, reported at its place.
@Suite struct ModelFunctionTests {
    /// x < 0.5 (missing: left) → −2; else channel = 'ecommerce' → 3, otherwise 1. Plus a
    /// second tree adding 0.5 when flag is set.
    static func model() -> TreeModel {
        let t1 = TreeModel.Tree(feature: [0, -1, 2, -1, -1], threshold: [0.5, 0, 0.5, 0, 0], left: [1, 0, 3, 0, 0], right: [2, 0, 4, 0, 0],
                                missingLeft: [true, false, false, false, false], value: [0, -2, 0, 1, 3])
        let t2 = TreeModel.Tree(feature: [3, -1, -1], threshold: [0.5, 0, 0], left: [1, 0, 0], right: [2, 0, 0],
                                missingLeft: [false, false, false], value: [0, 0, 0.5])
        return TreeModel(name: "test", version: "test-1",
                         inputs: [.init(name: "x"), .init(name: "channel", categories: ["atm", "ecommerce"]), .init(name: "flag")],
                         baseScore: -0.25, trees: [t1, t2])
    }

    static let path: String = {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("riverbank-model-\(getpid()).json").path
        try! model().write(to: p)
        return p
    }()

    static func sigmoid(_ z: Double) -> Double { 1 / (1 + exp(-z)) }

    @Test func scoresFollowTheTreesCategoriesAndMissingValues() throws {
        let p = Self.path
        func score(_ x: String, _ channel: String, _ flag: String) -> Double? {
            if case .double(let d)? = eval("MODEL_SCORE('\(p)', \(x), \(channel), \(flag))") { return d }
            return nil
        }
        #expect(score("0.2", "'pos'", "FALSE") == Self.sigmoid(-0.25 - 2))
        #expect(score("CAST(NULL AS DOUBLE)", "'pos'", "FALSE") == Self.sigmoid(-0.25 - 2))   // missing goes left
        #expect(score("0.9", "'pos'", "FALSE") == Self.sigmoid(-0.25 + 1))
        #expect(score("0.9", "'ecommerce'", "FALSE") == Self.sigmoid(-0.25 + 3))
        #expect(score("0.9", "channel", "TRUE") == Self.sigmoid(-0.25 + 1 + 0.5))           // a column: 'pos'
        #expect(score("n", "'ecommerce'", "flag") == Self.sigmoid(-0.25 + 3 + 0.5))          // BIGINT 7, flag TRUE
        // A NULL category is no category; a NULL flag is missing, which tree 2 sends right.
        #expect(score("0.9", "CAST(NULL AS STRING)", "CAST(NULL AS BOOLEAN)") == Self.sigmoid(-0.25 + 1 + 0.5))
        // The same as the model's own evaluation.
        let m = try TreeModel.load(path: p)
        #expect(m == Self.model())
        #expect(m.probability([0.9, 0, 1, 1]) == Self.sigmoid(-0.25 + 3 + 0.5))
    }

    @Test func callsThatDoNotFitTheModelAreErrorsAtTheirPlace() {
        let p = Self.path
        func problems(_ text: String) -> [String] { messages(text) }
        #expect(problems("MODEL_SCORE('\(p)', amount, channel)").first?.contains("takes 3 inputs (x, channel, flag), got 2") == true)
        #expect(problems("MODEL_SCORE('\(p)', amount, n, flag)").first?.contains("input 2 (channel) is categorical") == true)
        #expect(problems("MODEL_SCORE('\(p)', channel, channel, flag)").first?.contains("input 1 (x) is numeric") == true)
        #expect(problems("MODEL_SCORE(channel, amount)").first?.contains("string literal") == true)
        #expect(problems("MODEL_SCORE('/nonexistent/model.json', amount)").first?.contains("/nonexistent/model.json: cannot read it") == true)
    }

    /// The flat layout MODEL_SCORE walks gives the trees' own margin, to the bit, on the
    /// shipped fraud model (200 trees) over random vectors with missing values.
    @Test func theFlatForestGivesTheTreesMarginExactly() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let m = try TreeModel.load(path: repo.appendingPathComponent("models/fraud-gbdt.json").path)
        let flat = FlatForest(m)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let x = (0..<m.featureCount).map { _ in Int.random(in: 0..<6, using: &rng) == 0 ? Double.nan : Double.random(in: -5...3000, using: &rng) }
            let (a, b) = x.withUnsafeBufferPointer { (m.margin($0), flat.margin($0)) }
            #expect(a == b)
        }
        let small = Self.model()
        let x: [Double] = Array(repeating: .nan, count: small.featureCount)
        #expect(x.withUnsafeBufferPointer { small.margin($0) == FlatForest(small).margin($0) })
    }

    @Test func damagedModelFilesAreRefused() throws {
        var m = Self.model()
        m.trees[0].left[0] = 0    // a loop back to the root
        #expect(throws: ModelError.self) { try m.validate() }
        m = Self.model()
        m.trees[1].feature[0] = 9  // beyond the 4 features
        #expect(throws: ModelError.self) { try m.validate() }
        m = Self.model()
        m.trees[0].value.removeLast()
        #expect(throws: ModelError.self) { try m.validate() }
        let junk = FileManager.default.temporaryDirectory.appendingPathComponent("riverbank-junk-\(getpid()).json").path
        try Data("{\"format\": 3}".utf8).write(to: URL(fileURLWithPath: junk))
        #expect(throws: ModelError.self) { try TreeModel.load(path: junk) }
        try? Self.model().validate()
    }
}
