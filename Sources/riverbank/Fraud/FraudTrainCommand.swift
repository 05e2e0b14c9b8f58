import ArgumentParser
import Foundation
import Fraud
import Jobs
import KafkaClient

/// `riverbank fraud train`: a gradient-boosted tree model from the job's scored features and the labels.
struct FraudTrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a gradient-boosted tree model (MODEL_SCORE) on fraud-scores features and the fraud labels.",
        discussion: """
        Rows are fraud-scores records (JSON lines, or the topic with --bootstrap); a row is \
        positive when its transaction has a label. The last --validation share of the rows (in \
        file order, i.e. time order) is held out to measure precision and recall and to choose \
        the alert threshold: the highest recall with precision at least --target-precision. With \
        --validation 0 the model learns from every row and the threshold comes from a preliminary \
        model trained without the last --threshold-holdout share.
        """)

    @Option(help: "fraud-scores records as JSON lines.") var scores: String?
    @Option(help: "Fraud labels as JSON lines.") var labels: String?
    @Option(help: "Read the scores and labels topics of this cluster (HOST:PORT[,…]) instead of files.") var bootstrap: String?
    @Option(help: "Scores topic (with --bootstrap).") var scoresTopic = FraudTopics.scores
    @Option(help: "Labels topic (with --bootstrap).") var labelsTopic = FraudTopics.labels
    @OptionGroup var security: ClientSecurityOptions

    @Option(help: "Fields of the scores records to learn from, comma-separated (strings become categories).")
    var features = ScoreFeatureReader.defaultFeatures.joined(separator: ",")
    @Option(help: "Trees.") var trees = 200
    @Option(help: "Depth of each tree.") var maxDepth = 6
    @Option(help: "Learning rate (shrinks each tree's leaf values).") var learningRate = 0.1
    @Option(help: "Fewest training rows in a leaf.") var minSamplesLeaf = 20
    @Option(help: "L2 regularisation of leaf values.") var lambda = 1.0
    @Option(help: "Share of the rows, the last ones, held out for validation (0: none).") var validation = 0.25
    @Option(help: "With --validation 0: the share of rows (the last ones) a preliminary model is measured on to choose the threshold (0: on the training rows).")
    var thresholdHoldout = 0.25
    @Option(help: "Precision the chosen threshold must reach on the validation rows.") var targetPrecision = 0.9
    @Option(help: "Model name.") var name = "fraud-gbdt"
    @Option(help: "Model version (default: <name>-<UTC yyyyMMddTHHmmZ>).") var version: String?
    @Option(help: "Model file to write (default: models/<name>.json).") var output: String?
    @Option(help: "Also score these fraud-scores JSON lines with the trained model and report precision and recall.") var evaluate: String?
    @Option(help: "Labels of --evaluate (JSON lines).") var evaluateLabels: String?

    func validate() throws {
        if bootstrap == nil && (scores == nil || labels == nil) { throw ValidationError("give --scores and --labels, or --bootstrap") }
        if bootstrap != nil && (scores != nil || labels != nil) { throw ValidationError("--bootstrap reads the topics: no --scores or --labels with it") }
        if (evaluate == nil) != (evaluateLabels == nil) { throw ValidationError("--evaluate and --evaluate-labels go together") }
        guard validation >= 0, validation < 1, thresholdHoldout >= 0, thresholdHoldout < 1 else {
            throw ValidationError("--validation and --threshold-holdout are shares in [0, 1)")
        }
        guard trees >= 1, maxDepth >= 1, minSamplesLeaf >= 1, learningRate > 0, lambda >= 0 else {
            throw ValidationError("--trees, --max-depth and --min-samples-leaf at least 1, --learning-rate above 0, --lambda not negative")
        }
    }

    func run() async throws {
        let out = StdoutLines()
        let clock = ContinuousClock()
        let t0 = clock.now
        let featureNames = features.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !featureNames.isEmpty else { throw ValidationError("--features names no field") }

        var reader = ScoreFeatureReader(features: featureNames)
        var labelled: [String: FraudPattern] = [:]
        var bad = 0
        if let bootstrap {
            let client = try security.client(bootstrap: bootstrap)
            var ld = FraudLabelDecoder()
            do {
                try await TopicScan.readToEnd(scoresTopic, client: client) { r in
                    guard let b = r.valueBytes else { bad += 1; return }
                    do { try b.withUnsafeBytes { try reader.add($0) } } catch { bad += 1 }
                }
                try await TopicScan.readToEnd(labelsTopic, client: client) { r in
                    guard let b = r.valueBytes, let l = try? ld.decode(b) else { bad += 1; return }
                    labelled[l.transactionId] = l.pattern
                }
            } catch {
                throw ValidationError("reading \(scoresTopic) and \(labelsTopic) from \(bootstrap): \(error)")
            }
        } else {
            bad += try Self.readScores(scores!, into: &reader)
            bad += try Self.readLabels(labels!, into: &labelled)
        }
        let n = reader.rowCount
        let y = reader.transactionIds.map { labelled[$0] != nil }
        let positives = y.reduce(0) { $0 + ($1 ? 1 : 0) }
        out.write("read \(n) rows (\(positives) positive, \(labelled.count) labels) in \(Self.seconds(clock.now - t0)) s"
                  + (bad > 0 ? ", \(bad) unreadable lines skipped" : ""))
        guard n > 0, positives > 0, positives < n else { throw ValidationError("need rows of both classes (\(n) rows, \(positives) positive)") }

        let table = reader.table
        let nTrain = n - Int((Double(n) * validation).rounded())
        var p = GradientBoosting.Parameters()
        p.trees = trees
        p.maxDepth = maxDepth
        p.learningRate = learningRate
        p.minSamplesLeaf = minSamplesLeaf
        p.lambda = lambda
        let modelVersion = version ?? "\(name)-\(Self.utcStamp())"
        func fit(_ rows: Int) -> GradientBoosting.Result {
            let t1 = clock.now
            out.write("training \(trees) trees of depth \(maxDepth) on \(rows) rows, \(featureNames.count) inputs")
            let r = GradientBoosting(p).train(rows == n ? table : table.rows(0..<rows), labels: Array(y[0..<rows]),
                                              name: name, version: modelVersion) { t, loss in
                out.write("  trees \(t): train log loss \(String(format: "%.5f", loss))  (\(Self.seconds(clock.now - t1)) s)")
            }
            out.write("trained in \(Self.seconds(clock.now - t1)) s: \(r.model.featureCount) features after one-hot expansion")
            return r
        }
        /// Precision and recall at 0.5 and the chosen threshold, on the rows after `rows` (or on the training rows when none are left).
        func assess(_ r: GradientBoosting.Result, trainedOn rows: Int) -> (ThresholdQuality, ThresholdQuality) {
            let heldOut = rows < n
            let probs = heldOut ? r.model.probabilities(table.rows(rows..<n).features(for: r.model.inputs)) : (0..<rows).map { r.trainProbability($0) }
            let ys = heldOut ? Array(y[rows...]) : Array(y[0..<rows])
            let what = heldOut ? "validation (last \(n - rows) rows)" : "training rows (in-sample: optimistic)"
            let atHalf = ThresholdQuality(probabilities: probs, labels: ys, threshold: 0.5)
            let best = ThresholdQuality.best(probabilities: probs, labels: ys, targetPrecision: targetPrecision)
            if best == nil { out.write("no threshold reaches precision \(targetPrecision) on the \(what): keeping 0.5") }
            out.write("\(what): at 0.5 " + Self.render(atHalf))
            out.write("\(what): at the chosen threshold " + Self.render(best ?? atHalf))
            return (atHalf, best ?? atHalf)
        }

        var chosenFrom: (ThresholdQuality, ThresholdQuality)? = nil
        if nTrain == n, thresholdHoldout > 0 {
            // No validation split: the threshold comes from a model trained on the first rows
            // and measured on the rest, as the in-sample one would promise too much.
            let rows = n - Int((Double(n) * thresholdHoldout).rounded())
            out.write("choosing the threshold on the last \(n - rows) rows with a model of the first \(rows)")
            chosenFrom = assess(fit(rows), trainedOn: rows)
        }
        let result = fit(nTrain)
        var model = result.model
        let (atHalf, ownChosen) = assess(result, trainedOn: nTrain)
        let chosen = chosenFrom?.1 ?? ownChosen
        let reported = chosenFrom?.0 ?? atHalf

        out.write("splits per input (importance):")
        let counts = model.splitCounts
        var perInput: [(String, Int)] = []
        var f = 0
        for input in model.inputs {
            let w = input.categories?.count ?? 1
            perInput.append((input.name, counts[f..<f + w].reduce(0, +)))
            f += w
        }
        for (name, c) in perInput.sorted(by: { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }) {
            out.write("  \(name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(c)")
        }

        model.training?["rows"] = Double(n)
        model.training?["positives"] = Double(positives)
        model.training?["train_rows"] = Double(nTrain)
        model.training?["validation_rows"] = Double(n - nTrain)
        model.training?["validation_precision"] = reported.precision
        model.training?["validation_recall"] = reported.recall
        model.training?["threshold"] = chosen.threshold
        model.training?["threshold_precision"] = chosen.precision
        model.training?["threshold_recall"] = chosen.recall
        model.training?["target_precision"] = targetPrecision
        let path = output ?? "models/\(name).json"
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try model.validate()
        try model.write(to: path)
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        out.write("wrote \(path) (\(model.version), \(model.trees.count) trees, \(size) bytes)")

        if let evaluate, let evaluateLabels {
            try Self.evaluate(model: model, scores: evaluate, labels: evaluateLabels, features: featureNames,
                              threshold: chosen.threshold, out: out)
        }
    }

    /// Scores another labelled dataset: precision and recall at 0.5 and at `threshold`, overall and per pattern.
    static func evaluate(model: TreeModel, scores: String, labels: String, features: [String], threshold: Double, out: StdoutLines) throws {
        var reader = ScoreFeatureReader(features: features)
        var labelled: [String: FraudPattern] = [:]
        let bad = try readScores(scores, into: &reader) + readLabels(labels, into: &labelled)
        let probs = model.probabilities(reader.table.features(for: model.inputs))
        let patterns = reader.transactionIds.map { labelled[$0] }
        let ys = patterns.map { $0 != nil }
        out.write("evaluate \(scores): \(reader.rowCount) rows, \(ys.filter { $0 }.count) positive" + (bad > 0 ? ", \(bad) unreadable lines skipped" : ""))
        for t in [0.5, threshold] {
            let q = ThresholdQuality(probabilities: probs, labels: ys, threshold: t)
            out.write("  at \(String(format: "%.4f", t)): " + render(q))
            for pattern in FraudPattern.allCases {
                var caught = 0, total = 0
                for (i, p) in patterns.enumerated() where p == pattern {
                    total += 1
                    if probs[i] > t { caught += 1 }
                }
                guard total > 0 else { continue }
                out.write("    \(pattern.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0)) recall \(String(format: "%.3f", Double(caught) / Double(total)))  (\(caught)/\(total))")
            }
        }
    }

    static func render(_ q: ThresholdQuality) -> String {
        "p > \(String(format: "%.4f", q.threshold)): precision \(String(format: "%.3f", q.precision))  recall \(String(format: "%.3f", q.recall))"
            + "  (\(q.truePositives) caught, \(q.falsePositives) false alarms, \(q.positives) frauds)"
    }

    /// Returns the lines it could not read.
    static func readScores(_ path: String, into reader: inout ScoreFeatureReader) throws -> Int {
        let data = try mapped(path)
        var bad = 0
        data.withUnsafeBytes { raw in
            JSONLines.forEach(raw) { line in
                do { try reader.add(line) } catch { bad += 1 }
            }
        }
        return bad
    }

    static func readLabels(_ path: String, into labelled: inout [String: FraudPattern]) throws -> Int {
        let data = try mapped(path)
        var ld = FraudLabelDecoder()
        var bad = 0
        data.withUnsafeBytes { raw in
            JSONLines.forEach(raw) { line in
                guard let l = try? ld.decode(Array(line)) else { bad += 1; return }
                labelled[l.transactionId] = l.pattern
            }
        }
        return bad
    }

    static func mapped(_ path: String) throws -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw ValidationError("\(path): cannot read it (\(error.localizedDescription))")
        }
    }

    static func seconds(_ d: Duration) -> String {
        String(format: "%.1f", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }

    static func utcStamp() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmm'Z'"
        return f.string(from: Date())
    }
}
