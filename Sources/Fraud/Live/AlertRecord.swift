import Streams

/// An alert as `fraud-alerts` carries it (jobs/fraud-scoring.yaml's `alerts` sink), with what
/// a person reads first.
public struct AlertRecord: Sendable, Equatable {
    public var transactionId: String
    public var customerId: String
    public var riskScore: Double
    public var rules: String
    public var evidence: String
    public var card: String
    public var amount: Double
    public var currency: String
    public var merchantCategory: String
    public var city: String
    public var country: String
    public var eventTime: String
    public var producedMillis: Int64?

    /// `0.95  c-000042   1240.00 USD  **** 1234  jewellery  Lagos NG  velocity amount | 7 transactions in 60 min > 5; …  (12 ms)`
    public func line(latencyMillis: Int64?) -> String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
        let when = eventTime.count >= 19 ? String(eventTime.dropFirst(11).prefix(8)) : eventTime
        let amountText = String(Double(Int((amount * 100).rounded())) / 100)
        var s = "\(when)  \(String(format2: riskScore))  \(pad(customerId, 9)) \(lpad(amountText, 10)) \(pad(currency, 3))  \(card)  "
        s += "\(pad(merchantCategory, 13)) \(pad("\(city) \(country)", 18)) \(rules.trimmingSpaces) | \(evidence.trimmingSpaces)"
        if let l = latencyMillis { s += "  (\(l) ms)" }
        return s
    }
}

/// Reads alert records; one per consumer loop (it reuses its buffers).
public struct AlertDecoder {
    static let fields = ["transaction_id", "customer_id", "risk_score", "rules", "evidence", "card", "amount", "currency",
                         "merchant_category", "city", "country", "event_time", "produced_at"]
    var objects = JSONObjectDecoding(table: JSONFieldTable(fields))

    public init() {}

    public mutating func decode(_ bytes: [UInt8]) throws -> AlertRecord {
        try bytes.withUnsafeBytes { (raw) throws -> AlertRecord in
            try objects.decode(raw) { (f) throws(FormatError) -> AlertRecord in
                AlertRecord(transactionId: try f.string(0), customerId: try f.stringOrNil(1) ?? "",
                            riskScore: try f.doubleOrNil(2) ?? 0, rules: try f.stringOrNil(3) ?? "",
                            evidence: try f.stringOrNil(4) ?? "", card: try f.stringOrNil(5) ?? "",
                            amount: try f.doubleOrNil(6) ?? 0, currency: try f.stringOrNil(7) ?? "",
                            merchantCategory: try f.stringOrNil(8) ?? "", city: try f.stringOrNil(9) ?? "",
                            country: try f.stringOrNil(10) ?? "", eventTime: try f.stringOrNil(11) ?? "",
                            producedMillis: f.has(12) ? try f.timestamp(12).millis : nil)
            }
        }
    }
}

extension String {
    init(format2 v: Double) {
        let c = Int((v * 100).rounded())
        self = "\(c / 100).\(c % 100 < 10 ? "0" : "")\(c % 100)"
    }

    var trimmingSpaces: String {
        var s = Substring(self)
        while s.last == " " || s.last == ";" { s = s.dropLast() }
        while s.first == " " { s = s.dropFirst() }
        return String(s)
    }
}
