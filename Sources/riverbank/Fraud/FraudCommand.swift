import ArgumentParser
import Foundation
import Fraud
import KafkaClient

/// `riverbank fraud …`: the tools that let a bank trust the fraud job.
struct FraudCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fraud",
        abstract: "Watch fraud alerts live, and measure the fraud job against labelled traffic.",
        subcommands: [FraudWatchCommand.self, FraudEvaluateCommand.self, FraudBacktestCommand.self, FraudTrainCommand.self, FraudRulesetCommand.self])
}

struct FraudTopicOptions: ParsableArguments {
    @Option(help: "Bootstrap servers (HOST:PORT[,…]) of any Kafka cluster.") var bootstrap = "127.0.0.1:9092"
    @Option(help: "Alerts topic.") var alertsTopic = FraudTopics.alerts
    @Option(help: "Topic of the generator's fraud labels (the job never reads it).") var labelsTopic = FraudTopics.labels
    @OptionGroup var security: ClientSecurityOptions

    func client() throws -> KafkaClientConfig { try security.client(bootstrap: bootstrap) }
}

/// One line per alert and a running summary, until Ctrl-C (the main README command's view).
struct FraudWatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Show alerts as they arrive, with transactions/s, alerts/s, precision/recall so far and end-to-end latency.")

    @OptionGroup var topics: FraudTopicOptions
    @Option(help: "Topic whose offsets give transactions/s.") var transactionsTopic = FraudTopics.transactions
    @Flag(help: "Do not match alerts with labels (traffic without a labels topic).") var noLabels = false
    @Option(help: "Alert lines per second at most; the rest are counted.") var linesPerSecond = 20
    @Option(help: "Seconds between summaries.") var summaryEvery = 5
    @Option(help: "Stop after this many seconds (default: until Ctrl-C).") var duration: Int?
    @Option(help: "Also measure end-to-end latency over every record of this topic (e.g. fraud-scores).") var latencyTopic: String?
    @Option(help: "Write the final figures as JSON to this file.") var json: String?

    func run() async throws {
        var w = AlertWatch(client: try topics.client())
        w.alertsTopic = topics.alertsTopic
        w.labelsTopic = noLabels ? nil : topics.labelsTopic
        w.transactionsTopic = transactionsTopic
        w.linesPerSecond = linesPerSecond
        w.summaryEvery = .seconds(max(summaryEvery, 1))
        w.duration = duration.map { .seconds($0) }
        w.latencyTopic = latencyTopic
        let out = StdoutLines()
        let watch = w
        // Ctrl-C ends the watch with a last summary rather than killing it mid-line.
        let summary = try await withTaskCancellationOnSignals {
            try await watch.run { out.write($0) }
        }
        if let summary {
            out.write("final " + summary.line)
            if let json {
                try JSONSerialization.data(withJSONObject: summary.figures, options: [.prettyPrinted, .sortedKeys])
                    .write(to: URL(fileURLWithPath: json))
            }
        }
    }
}

/// Precision, recall and the rest, from `fraud-scores` and the labels, overall and per pattern and rule.
struct FraudEvaluateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Join labels with the job's scores and report detection quality (both rulesets).",
        discussion: """
        Reads the scores topic (every scored transaction) and the labels topic to their ends. \
        Reports precision, recall, F1 and false-positive rate at the threshold, per fraud \
        pattern and per rule (hit rate, precision, the ruleset without it), average precision \
        and ROC AUC of the score, precision at alert budgets, fraud amount caught and missed, \
        cards detected and the delay to their first alert, and the pipeline latency.
        """)

    @OptionGroup var topics: FraudTopicOptions
    @Option(help: "Scores topic.") var scoresTopic = FraudTopics.scores
    @Option(help: "Alert threshold (the score must exceed it); default: each transaction's alert as the job decided it under the ruleset in force.") var threshold: Double?
    @Option(help: "Write the reports as JSON to this file.") var json: String?

    func run() async throws {
        try await Self.evaluate(client: try topics.client(), bootstrap: topics.bootstrap, scoresTopic: scoresTopic,
                                labelsTopic: topics.labelsTopic, threshold: threshold, json: json)
    }

    /// Reads both topics to their ends and prints (and writes) the reports. With `since`, only
    /// the transactions sent at or after it (record time) count, and only their labels (a
    /// backtest's warm-up scores the ones before to build the customers' history).
    static func evaluate(client: KafkaClientConfig, bootstrap: String, scoresTopic: String, labelsTopic: String,
                         threshold: Double?, json: String?, since: Int64? = nil) async throws {
        var scores: [String: ScoreRecord] = [:]
        var labels: [String: FraudLabel] = [:]
        var bad = 0
        var sd = ScoreRecordDecoder()
        var ld = FraudLabelDecoder()
        let t0 = Date()
        do {
            try await TopicScan.readToEnd(scoresTopic, client: client) { r in
                guard let b = r.valueBytes, let s = try? sd.decode(b) else { bad += 1; return }
                scores[s.transactionId] = s
            }
            try await TopicScan.readToEnd(labelsTopic, client: client) { r in
                guard let b = r.valueBytes, let l = try? ld.decode(b) else { bad += 1; return }
                labels[l.transactionId] = l
            }
        } catch {
            throw ValidationError("reading \(scoresTopic) and \(labelsTopic) from \(bootstrap): \(error)")
        }
        if let since {
            scores = scores.filter { ($0.value.producedMillis ?? .min) >= since }
            labels = labels.filter { scores[$0.key] != nil }
        }
        FileHandle.standardError.write(Data("read \(scores.count) scores and \(labels.count) labels in \(String(format: "%.1f", Date().timeIntervalSince(t0))) s\(bad > 0 ? ", \(bad) unreadable records skipped" : "")\n".utf8))
        var reports = [FraudEvaluation.Ruleset.recommended, .bank].map {
            FraudEvaluation.evaluate(scores: scores, labels: labels, ruleset: $0, threshold: threshold)
        }
        // A challenger ran: both rulesets on the transactions it scored, and what changes.
        if scores.values.contains(where: { $0.shadowScore != nil }) {
            var champion = FraudEvaluation.evaluate(scores: scores, labels: labels, ruleset: .recommended, threshold: threshold, onlyShadowed: true)
            champion.ruleset = "champion (the challenger's transactions)"
            var challenger = FraudEvaluation.evaluate(scores: scores, labels: labels, ruleset: .shadow, threshold: threshold)
            challenger.ruleset = "challenger (shadow)"
            reports += [champion, challenger]
        }
        for r in reports { print(render(r)) }
        if reports.count == 4 { print(compare(reports[2], reports[3])) }
        if let json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try enc.encode(reports).write(to: URL(fileURLWithPath: json))
        }
    }

    /// The challenger against the champion on the same transactions.
    static func compare(_ a: FraudEvaluation.Report, _ b: FraudEvaluation.Report) -> String {
        func d(_ x: Double) -> String { String(format: "%+.3f", x) }
        return "challenger vs champion on \(b.transactions) transactions: alerts \(b.quality.alerts - a.quality.alerts >= 0 ? "+" : "")\(b.quality.alerts - a.quality.alerts), "
            + "precision \(d(b.quality.precision - a.quality.precision)), recall \(d(b.quality.recall - a.quality.recall)), "
            + "F1 \(d(b.quality.f1 - a.quality.f1)), fraud amount caught \(String(format: "%+.2f", b.fraudAmountCaught - a.fraudAmountCaught))"
    }

    static func render(_ r: FraudEvaluation.Report) -> String {
        func f(_ v: Double) -> String { String(format: "%.3f", v) }
        func money(_ v: Double) -> String { String(format: "%.2f", v) }
        let q = r.quality
        var s = "ruleset \(r.ruleset)" + (r.versions.isEmpty ? "" : " [\(r.versions.joined(separator: ", "))]")
        s += r.threshold.map { " (alert when score > \($0))\n" } ?? " (alerts as the job decided)\n"
        s += "  transactions \(r.transactions), frauds \(r.frauds)" + (r.unscoredFrauds > 0 ? " (+\(r.unscoredFrauds) labelled but not scored)" : "") + "\n"
        s += "  alerts \(q.alerts): precision \(f(q.precision))  recall \(f(q.recall))  F1 \(f(q.f1))  false-positive rate \(String(format: "%.5f", q.falsePositiveRate))\n"
        s += "  average precision \(f(r.averagePrecision))  ROC AUC \(f(r.rocAUC))  "
        s += r.precisionAtK.sorted { Int($0.key)! < Int($1.key)! }.map { "precision@\($0.key) \(f($0.value))" }.joined(separator: "  ") + "\n"
        s += "  fraud amount caught \(money(r.fraudAmountCaught)), missed \(money(r.fraudAmountMissed))\n"
        s += "  cards defrauded \(r.defraudedCards), detected \(r.cardsDetected)"
        if let d = r.cardDelayP50Seconds { s += ", median delay to the first alert \(Int(d)) s" }
        s += "\n"
        if let p50 = r.latencyP50Millis, let p99 = r.latencyP99Millis { s += "  pipeline latency (send → scored) p50 \(Int(p50)) ms, p99 \(Int(p99)) ms\n" }
        s += "  per pattern:\n"
        for p in r.patterns { s += "    \(p.pattern.padding(toLength: 22, withPad: " ", startingAt: 0)) recall \(f(p.recall))  (\(p.caught)/\(p.frauds))\n" }
        s += "  per rule:\n"
        for x in r.rules {
            if let rw = x.recallWithout, let pw = x.precisionWithout {
                s += "    without \(x.rule.padding(toLength: 16, withPad: " ", startingAt: 0)) precision \(f(pw))  recall \(f(rw))\n"
            } else {
                s += "    \(x.rule.padding(toLength: 24, withPad: " ", startingAt: 0)) hits \(x.hits) (rate \(String(format: "%.4f", x.hitRate)))  precision \(f(x.precision))\n"
            }
        }
        return s
    }
}

/// Lines to stdout, flushed each time (a live view must not sit in a buffer).
final class StdoutLines: Sendable {
    func write(_ s: String) {
        FileHandle.standardOutput.write(Data((s + "\n").utf8))
    }
}

import UnixSignals

/// Runs `body` until it returns or SIGINT/SIGTERM arrive; then it is cancelled and its result
/// (what it made of the cancellation) is returned, or nil if it threw on cancellation.
func withTaskCancellationOnSignals<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T? {
    try await withThrowingTaskGroup(of: (T?, Bool).self) { group in
        group.addTask { (try await body(), true) }
        group.addTask {
            for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) { break }
            return (nil, false)
        }
        guard let first = try await group.next() else { return nil }
        if first.1 {
            group.cancelAll()
            return first.0
        }
        // A signal: cancel the body and take what it returns.
        group.cancelAll()
        do {
            while let r = try await group.next() { if r.1 { return r.0 } }
        } catch is CancellationError {
            return nil
        }
        return nil
    }
}
