import Streams

/// The rule flags and score components the fraud job writes to `fraud-scores`, by name.
public enum FraudRules {
    /// The bank's four rules and the recommended ruleset's additions (jobs/fraud-scoring.yaml).
    public static let hits = ["velocity_hit", "amount_hit", "location_hit", "time_hit", "travel_hit", "burst_hit",
                              "spike_hit", "night_hit", "new_country_hit", "new_category_hit", "merchant_hit"]
    /// The recommended ruleset's components: its risk score is their sum, capped at 1.
    public static let components = ["score_velocity", "score_amount", "score_location", "score_time",
                                    "score_country", "score_category", "score_merchant", "score_model"]
    /// The job's totals: risk = min(rulesWeight × min(Σ rule components, 1) + score_model, 1),
    /// where score_model = modelWeight × the model's probability (jobs/fraud-scoring.yaml).
    public static let rulesWeight = 0.3
    public static let modelWeight = 1.4

    /// The risk score from components (the last is the model's), as the job computes it.
    public static func risk(_ c: [Double], without skip: Int? = nil) -> Double {
        var rules = 0.0
        var model = 0.0
        for (i, v) in c.enumerated() where i != skip {
            if i == components.count - 1 { model = v } else { rules += v }
        }
        let r = (min(rules, 1) * 10_000).rounded() / 10_000
        return (min(rulesWeight * r + model, 1) * 10_000).rounded() / 10_000
    }
}

/// One scored transaction as read back from `fraud-scores` (or an alert from `fraud-alerts`).
public struct ScoreRecord: Sendable, Equatable {
    public var transactionId: String
    public var customerId: String
    public var riskScore: Double
    public var bankScore: Double
    /// Per `FraudRules.hits`.
    public var hits: [Bool]
    /// Per `FraudRules.components` (zeros when the record has none).
    public var components: [Double]
    public var amount: Double
    public var eventMillis: Int64
    /// When the producer sent the transaction (its record timestamp) and when the job scored it.
    public var producedMillis: Int64?
    public var detectedMillis: Int64?
    /// The job's own decision and the ruleset that made it (nil in records from before rulesets).
    public var alert: Bool?
    public var ruleset: String?
    /// The challenger's score and decision on the same transaction, while one runs.
    public var shadowScore: Double?
    public var shadowAlert: Bool?
    public var shadowRuleset: String?

    public init(transactionId: String, customerId: String, riskScore: Double, bankScore: Double, hits: [Bool],
                components: [Double], amount: Double, eventMillis: Int64, producedMillis: Int64? = nil, detectedMillis: Int64? = nil,
                alert: Bool? = nil, ruleset: String? = nil, shadowScore: Double? = nil, shadowAlert: Bool? = nil, shadowRuleset: String? = nil) {
        self.transactionId = transactionId
        self.customerId = customerId
        self.riskScore = riskScore
        self.bankScore = bankScore
        self.hits = hits
        self.components = components
        self.amount = amount
        self.eventMillis = eventMillis
        self.producedMillis = producedMillis
        self.detectedMillis = detectedMillis
        self.alert = alert
        self.ruleset = ruleset
        self.shadowScore = shadowScore
        self.shadowAlert = shadowAlert
        self.shadowRuleset = shadowRuleset
    }
}

/// Reads `fraud-scores` records; one per task or command (it reuses its buffers).
public struct ScoreRecordDecoder {
    static let fixed = ["transaction_id", "customer_id", "risk_score", "bank_score", "amount", "event_time", "produced_at", "detected_at",
                        "alert", "ruleset", "shadow_score", "shadow_alert", "shadow_ruleset"]
    var objects = JSONObjectDecoding(table: JSONFieldTable(fixed + FraudRules.hits + FraudRules.components))

    public init() {}

    public mutating func decode(_ bytes: [UInt8]) throws -> ScoreRecord {
        try bytes.withUnsafeBytes { (raw) throws -> ScoreRecord in
            try objects.decode(raw) { (f) throws(FormatError) -> ScoreRecord in
                let h = Self.fixed.count
                let c = h + FraudRules.hits.count
                func time(_ i: Int) throws(FormatError) -> Int64? { f.has(i) ? try f.timestamp(i).millis : nil }
                return ScoreRecord(
                    transactionId: try f.string(0), customerId: try f.stringOrNil(1) ?? "",
                    riskScore: try f.doubleOrNil(2) ?? 0, bankScore: try f.doubleOrNil(3) ?? 0,
                    hits: try (0..<FraudRules.hits.count).map { (i) throws(FormatError) -> Bool in f.has(h + i) ? try f.bool(h + i) : false },
                    components: try (0..<FraudRules.components.count).map { (i) throws(FormatError) -> Double in try f.doubleOrNil(c + i) ?? 0 },
                    amount: try f.doubleOrNil(4) ?? 0, eventMillis: try time(5) ?? 0,
                    producedMillis: try time(6), detectedMillis: try time(7),
                    alert: f.has(8) ? try f.bool(8) : nil, ruleset: try f.stringOrNil(9), shadowScore: try f.doubleOrNil(10),
                    shadowAlert: f.has(11) ? try f.bool(11) : nil, shadowRuleset: try f.stringOrNil(12))
            }
        }
    }
}

/// Reads label records (`FraudLabel.jsonBytes`).
public struct FraudLabelDecoder {
    var objects = JSONObjectDecoding(table: JSONFieldTable(["transaction_id", "customer_id", "pattern", "amount", "timestamp_ms"]))

    public init() {}

    public mutating func decode(_ bytes: [UInt8]) throws -> FraudLabel {
        try bytes.withUnsafeBytes { (raw) throws -> FraudLabel in
            try objects.decode(raw) { (f) throws(FormatError) -> FraudLabel in
                let p = try f.string(2)
                guard let pattern = FraudPattern(rawValue: p) else { throw FormatError(offset: 0, "unknown fraud pattern '\(p)'") }
                return FraudLabel(transactionId: try f.string(0), customerId: try f.stringOrNil(1) ?? "", pattern: pattern,
                                  amount: try f.doubleOrNil(3) ?? 0, timeMillis: try f.int64OrNil(4) ?? 0)
            }
        }
    }
}
