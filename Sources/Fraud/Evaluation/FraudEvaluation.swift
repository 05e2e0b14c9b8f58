/// Detection quality of scored transactions against the generator's labels: what a bank asks
/// before it trusts a ruleset. Pure: the CLI reads the topics, this computes.
public enum FraudEvaluation {
    /// Confusion counts and the rates a fraud team quotes.
    public struct Quality: Sendable, Codable, Equatable {
        public var alerts = 0
        public var truePositives = 0
        public var falsePositives = 0
        public var falseNegatives = 0
        public var trueNegatives = 0
        public var precision: Double { alerts == 0 ? 0 : Double(truePositives) / Double(alerts) }
        public var recall: Double { truePositives + falseNegatives == 0 ? 0 : Double(truePositives) / Double(truePositives + falseNegatives) }
        public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }
        public var falsePositiveRate: Double {
            falsePositives + trueNegatives == 0 ? 0 : Double(falsePositives) / Double(falsePositives + trueNegatives)
        }

        mutating func add(alerted: Bool, fraud: Bool) {
            if alerted { alerts += 1 }
            switch (alerted, fraud) {
            case (true, true): truePositives += 1
            case (true, false): falsePositives += 1
            case (false, true): falseNegatives += 1
            case (false, false): trueNegatives += 1
            }
        }

        enum CodingKeys: String, CodingKey {
            case alerts, truePositives = "true_positives", falsePositives = "false_positives",
                 falseNegatives = "false_negatives", trueNegatives = "true_negatives"
        }
    }

    public struct PatternRecall: Sendable, Codable, Equatable {
        public var pattern: String
        public var frauds: Int
        public var caught: Int
        public var recall: Double { frauds == 0 ? 0 : Double(caught) / Double(frauds) }
    }

    public struct RuleFigures: Sendable, Codable, Equatable {
        public var rule: String
        public var hits: Int
        public var fraudHits: Int
        public var hitRate: Double
        /// Of the transactions the rule flags, the fraction that are fraud.
        public var precision: Double { hits == 0 ? 0 : Double(fraudHits) / Double(hits) }
        /// Recall and precision of the ruleset when this rule's component is taken out (nil for
        /// flags that are not a component of the score).
        public var recallWithout: Double?
        public var precisionWithout: Double?

        enum CodingKeys: String, CodingKey {
            case rule, hits, fraudHits = "fraud_hits", hitRate = "hit_rate", recallWithout = "recall_without", precisionWithout = "precision_without"
        }
    }

    public struct Report: Sendable, Codable, Equatable {
        public var ruleset: String
        /// nil: alerted as the job decided (under the ruleset in force at each transaction).
        public var threshold: Double?
        /// The ruleset versions that scored these transactions.
        public var versions: [String] = []
        public var transactions: Int
        public var frauds: Int
        /// Labels whose transaction has no score (not yet scored, or dead-lettered).
        public var unscoredFrauds: Int
        public var quality: Quality
        public var patterns: [PatternRecall]
        public var rules: [RuleFigures]
        /// Average precision (area under the precision–recall curve) and ROC AUC of the score.
        public var averagePrecision: Double
        public var rocAUC: Double
        public var fraudAmountCaught: Double
        public var fraudAmountMissed: Double
        /// Customers (cards) with fraud, those with at least one alert on a fraudulent transaction,
        /// and the delay from their first fraudulent transaction to that alert (event time).
        public var defraudedCards: Int
        public var cardsDetected: Int
        public var cardDelayP50Seconds: Double?
        /// Of the k highest-scored transactions (the analysts' daily budget), the fraction that are fraud.
        public var precisionAtK: [String: Double]
        /// Scoring latency inside the pipeline: the job's detection time − the producer's send time.
        public var latencyP50Millis: Double?
        public var latencyP99Millis: Double?

        enum CodingKeys: String, CodingKey {
            case ruleset, threshold, versions, transactions, frauds, unscoredFrauds = "unscored_frauds", quality, patterns, rules,
                 averagePrecision = "average_precision", rocAUC = "roc_auc", fraudAmountCaught = "fraud_amount_caught",
                 fraudAmountMissed = "fraud_amount_missed", defraudedCards = "defrauded_cards", cardsDetected = "cards_detected",
                 cardDelayP50Seconds = "card_delay_p50_s", precisionAtK = "precision_at_k",
                 latencyP50Millis = "latency_p50_ms", latencyP99Millis = "latency_p99_ms"
        }
    }

    public enum Ruleset: String, Sendable, CaseIterable {
        /// risk_score: the recommended ruleset the job alerts on.
        case recommended
        /// bank_score: the bank's four rules with their default weights.
        case bank
        /// shadow_score: the challenger ruleset, on the transactions it scored.
        case shadow

        func score(_ s: ScoreRecord) -> Double? {
            switch self {
            case .recommended: s.riskScore
            case .bank: s.bankScore
            case .shadow: s.shadowScore
            }
        }

        /// The job's decision when it recorded one (the ruleset's own threshold), else score > threshold.
        func alerted(_ s: ScoreRecord, _ score: Double, threshold: Double?) -> Bool {
            if let threshold { return score > threshold }
            switch self {
            case .recommended: return s.alert ?? (score > 0.8)
            case .bank: return score > 0.8
            case .shadow: return s.shadowAlert ?? (score > 0.8)
            }
        }
    }

    /// `scores` by transaction id (a re-delivered score counts once: the caller keeps the last).
    /// `threshold` nil takes each transaction's alert as the job decided it; `onlyShadowed`
    /// keeps the transactions a challenger scored too, so that two rulesets are compared on
    /// the same ones.
    public static func evaluate(scores: [String: ScoreRecord], labels: [String: FraudLabel], ruleset: Ruleset,
                                threshold: Double? = nil, onlyShadowed: Bool = false, budgets: [Int] = [100, 1000]) -> Report {
        var q = Quality()
        var caught: [FraudPattern: Int] = [:], total: [FraudPattern: Int] = [:]
        var amountCaught = 0.0, amountMissed = 0.0
        var hits = [Int](repeating: 0, count: FraudRules.hits.count)
        var fraudHits = hits
        var without = [Quality](repeating: Quality(), count: FraudRules.components.count)
        var ranked: [(Double, Bool)] = []
        ranked.reserveCapacity(scores.count)
        var firstFraud: [String: Int64] = [:], firstCaught: [String: Int64] = [:]
        var latencies: [Double] = []
        var considered = 0, fraudsConsidered = 0
        var versions = Set<String>()
        for s in scores.values {
            guard let score = ruleset.score(s), !onlyShadowed || s.shadowScore != nil else { continue }
            considered += 1
            let label = labels[s.transactionId]
            let fraud = label != nil
            if fraud { fraudsConsidered += 1 }
            if let v = ruleset == .shadow ? s.shadowRuleset : s.ruleset, ruleset != .bank { versions.insert(v) }
            let alerted = ruleset.alerted(s, score, threshold: threshold)
            q.add(alerted: alerted, fraud: fraud)
            ranked.append((score, fraud))
            for (i, h) in s.hits.enumerated() where h && i < hits.count {
                hits[i] += 1
                if fraud { fraudHits[i] += 1 }
            }
            if ruleset == .recommended {
                for i in 0..<min(s.components.count, without.count) {
                    without[i].add(alerted: FraudRules.risk(s.components, without: i) > (threshold ?? 0.8), fraud: fraud)
                }
            }
            if let l = label {
                total[l.pattern, default: 0] += 1
                firstFraud[s.customerId] = min(firstFraud[s.customerId] ?? .max, s.eventMillis)
                if alerted {
                    caught[l.pattern, default: 0] += 1
                    amountCaught += s.amount
                    firstCaught[s.customerId] = min(firstCaught[s.customerId] ?? .max, s.eventMillis)
                } else {
                    amountMissed += s.amount
                }
            }
            if alerted, let p = s.producedMillis, let d = s.detectedMillis { latencies.append(Double(d - p)) }
        }
        let unscored = labels.keys.reduce(0) { $0 + (scores[$1] == nil ? 1 : 0) }
        let n = max(considered, 1)
        var rules: [RuleFigures] = []
        for (i, name) in FraudRules.hits.enumerated() {
            rules.append(RuleFigures(rule: name, hits: hits[i], fraudHits: fraudHits[i], hitRate: Double(hits[i]) / Double(n)))
        }
        if ruleset == .recommended {
            for (i, name) in FraudRules.components.enumerated() {
                rules.append(RuleFigures(rule: name, hits: without[i].alerts, fraudHits: 0, hitRate: 0,
                                         recallWithout: without[i].recall, precisionWithout: without[i].precision))
            }
        }
        let delays = firstCaught.compactMap { c, t in firstFraud[c].map { Double(t - $0) / 1000 } }.sorted()
        ranked.sort { $0.0 > $1.0 }
        var atK: [String: Double] = [:]
        for k in budgets where k > 0 {
            let top = ranked.prefix(k)
            atK["\(k)"] = top.isEmpty ? 0 : Double(top.filter(\.1).count) / Double(top.count)
        }
        latencies.sort()
        return Report(
            ruleset: ruleset.rawValue, threshold: threshold, versions: versions.sorted(), transactions: considered, frauds: fraudsConsidered,
            unscoredFrauds: unscored, quality: q,
            patterns: FraudPattern.allCases.compactMap { p in
                total[p].map { PatternRecall(pattern: p.rawValue, frauds: $0, caught: caught[p] ?? 0) }
            },
            rules: rules, averagePrecision: averagePrecision(ranked), rocAUC: rocAUC(ranked),
            fraudAmountCaught: amountCaught, fraudAmountMissed: amountMissed,
            defraudedCards: firstFraud.count, cardsDetected: firstCaught.count,
            cardDelayP50Seconds: percentile(delays, 0.5), precisionAtK: atK,
            latencyP50Millis: percentile(latencies, 0.5), latencyP99Millis: percentile(latencies, 0.99))
    }

    /// Nearest-rank percentile of sorted values.
    public static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// Σ over distinct thresholds of precision × Δrecall (scikit-learn's average_precision),
    /// ties in score taken together. `ranked` is sorted by score, descending.
    static func averagePrecision(_ ranked: [(Double, Bool)]) -> Double {
        let positives = ranked.filter(\.1).count
        guard positives > 0 else { return 0 }
        var tp = 0, seen = 0, ap = 0.0, lastRecall = 0.0
        var i = 0
        while i < ranked.count {
            let s = ranked[i].0
            while i < ranked.count && ranked[i].0 == s {
                seen += 1
                if ranked[i].1 { tp += 1 }
                i += 1
            }
            let recall = Double(tp) / Double(positives)
            ap += Double(tp) / Double(seen) * (recall - lastRecall)
            lastRecall = recall
        }
        return ap
    }

    /// The probability that a random fraud scores above a random genuine transaction (ties
    /// count half): the Mann–Whitney form of the ROC AUC.
    static func rocAUC(_ ranked: [(Double, Bool)]) -> Double {
        let positives = ranked.filter(\.1).count
        let negatives = ranked.count - positives
        guard positives > 0, negatives > 0 else { return 0 }
        // Walking from the lowest score up: negatives below each positive.
        var below = 0.0, sum = 0.0
        var i = ranked.count - 1
        while i >= 0 {
            let s = ranked[i].0
            var pos = 0, neg = 0
            while i >= 0 && ranked[i].0 == s {
                if ranked[i].1 { pos += 1 } else { neg += 1 }
                i -= 1
            }
            sum += Double(pos) * (below + Double(neg) / 2)
            below += Double(neg)
        }
        return sum / (Double(positives) * Double(negatives))
    }
}
