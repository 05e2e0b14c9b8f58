@testable import Fraud
import Testing

@Suite struct FraudEvaluationTests {
    static func score(_ id: String, _ customer: String, risk: Double, bank: Double = 0, amount: Double = 10, at t: Int64 = 0,
                      hits: Set<String> = [], components: [Double] = []) -> ScoreRecord {
        ScoreRecord(transactionId: id, customerId: customer, riskScore: risk, bankScore: bank,
                    hits: FraudRules.hits.map { hits.contains($0) }, components: components.isEmpty ? [0, 0, 0, 0, 0, 0, 0, risk] : components,
                    amount: amount, eventMillis: t, producedMillis: t, detectedMillis: t + 5)
    }

    @Test func confusionCountsPatternsAndAmountsAreCountedByHand() {
        // 6 transactions: frauds t1 (velocity), t2 (velocity), t5 (amount-spike); alerts t1, t3, t5.
        let scores = [
            Self.score("t1", "a", risk: 0.9, amount: 100, at: 1000, hits: ["velocity_hit"]),
            Self.score("t2", "a", risk: 0.5, amount: 50, at: 2000, hits: ["velocity_hit"]),
            Self.score("t3", "b", risk: 0.85, amount: 20, at: 3000),
            Self.score("t4", "b", risk: 0.1, at: 4000),
            Self.score("t5", "c", risk: 1.0, amount: 900, at: 5000, hits: ["spike_hit"], components: [0.5, 0.5, 0, 0, 0, 0, 0, 0.9]),
            Self.score("t6", "d", risk: 0.0, at: 6000),
        ]
        let labels = [
            FraudLabel(transactionId: "t1", customerId: "a", pattern: .velocityAttack, amount: 100, timeMillis: 1000),
            FraudLabel(transactionId: "t2", customerId: "a", pattern: .velocityAttack, amount: 50, timeMillis: 2000),
            FraudLabel(transactionId: "t5", customerId: "c", pattern: .amountSpike, amount: 900, timeMillis: 5000),
            FraudLabel(transactionId: "t9", customerId: "e", pattern: .amountSpike, amount: 1, timeMillis: 9000),
        ]
        let r = FraudEvaluation.evaluate(scores: Dictionary(uniqueKeysWithValues: scores.map { ($0.transactionId, $0) }),
                                         labels: Dictionary(uniqueKeysWithValues: labels.map { ($0.transactionId, $0) }),
                                         ruleset: .recommended, budgets: [2])
        #expect(r.transactions == 6 && r.frauds == 3 && r.unscoredFrauds == 1)
        #expect(r.quality.truePositives == 2 && r.quality.falsePositives == 1 && r.quality.falseNegatives == 1 && r.quality.trueNegatives == 2)
        #expect(abs(r.quality.precision - 2.0 / 3) < 1e-12 && abs(r.quality.recall - 2.0 / 3) < 1e-12)
        #expect(abs(r.quality.falsePositiveRate - 1.0 / 3) < 1e-12)
        #expect(r.patterns.map(\.pattern) == ["velocity-attack", "amount-spike"])
        #expect(r.patterns.map(\.caught) == [1, 1])
        #expect(r.fraudAmountCaught == 1000 && r.fraudAmountMissed == 50)
        #expect(r.defraudedCards == 2 && r.cardsDetected == 2)
        // Ranked: t5 1.0 F, t1 .9 F, t3 .85 N, t2 .5 F, t4 .1 N, t6 0 N.
        // AP = 1·(1/3) + 1·(1/3) + (3/4)·(1/3) = 0.91666…
        #expect(abs(r.averagePrecision - 11.0 / 12) < 1e-12)
        // AUC: pairs (F above N) — t5: 3, t1: 3, t2: 2 → 8 of 9.
        #expect(abs(r.rocAUC - 8.0 / 9) < 1e-12)
        #expect(r.precisionAtK["2"] == 1.0)
        let velocity = r.rules.first { $0.rule == "velocity_hit" }!
        #expect(velocity.hits == 2 && velocity.fraudHits == 2)
        // Without the model (risk = 0.3 × rules): nothing is above 0.8.
        #expect(r.rules.first { $0.rule == "score_model" }!.recallWithout == 0)
        // Without score_velocity: t1 (model 0.9) and t5 (0.3 × 0.5 + 0.9) still alert; t2 does not.
        let without = r.rules.first { $0.rule == "score_velocity" }!
        #expect(abs(without.recallWithout! - 2.0 / 3) < 1e-12)
        #expect(r.latencyP50Millis == 5)
    }

    @Test func latencyHistogramPercentilesAreWithinTheirBucket() {
        var h = LatencyHistogram()
        for i in 1...1000 { h.record(Double(i)) }
        #expect(abs(h.percentile(0.5)! - 500) / 500 < 0.02)
        #expect(abs(h.percentile(0.99)! - 990) / 990 < 0.02)
        #expect(h.percentile(0.05)! == 50.5)
    }
}
