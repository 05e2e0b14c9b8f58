import Jobs
import Streams

/// A confirmed fraud report as a bank learns it: a customer's dispute or a chargeback, days
/// after the transaction (`fraud-feedback`, keyed by customer id). Unlike `FraudLabel` (the
/// generator's ground truth, which no job may read), a report is an input a job may use — from
/// the moment it is reported, never before: its event time is `reportedAtMillis`.
public struct FraudReport: Sendable, Equatable {
    public var transactionId: String
    public var customerId: String
    public var merchantId: String
    public var amount: Double
    public var currency: String
    /// The fraudulent transaction's own time.
    public var fraudTimeMillis: Int64
    /// When the bank learnt of it (the report's event time).
    public var reportedAtMillis: Int64
    /// `customer-dispute` or `chargeback`.
    public var source: String

    public init(transactionId: String, customerId: String, merchantId: String, amount: Double, currency: String,
                fraudTimeMillis: Int64, reportedAtMillis: Int64, source: String) {
        self.transactionId = transactionId
        self.customerId = customerId
        self.merchantId = merchantId
        self.amount = amount
        self.currency = currency
        self.fraudTimeMillis = fraudTimeMillis
        self.reportedAtMillis = reportedAtMillis
        self.source = source
    }

    public var jsonBytes: [UInt8] {
        var w = JSONWriter(capacity: 240)
        w.begin()
        w.field("transaction_id", transactionId)
        w.field("customer_id", customerId)
        w.field("merchant_id", merchantId)
        w.field("amount", amount)
        w.field("currency", currency)
        w.field("fraud_time", Timestamp(millis: fraudTimeMillis).iso8601)
        w.field("reported_at", Timestamp(millis: reportedAtMillis).iso8601)
        w.field("source", source)
        w.end()
        return w.bytes
    }
}
