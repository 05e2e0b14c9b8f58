import Jobs
import Streams

/// A card transaction as the `transactions` topic carries it (the event of PRODUCT.md): JSON,
/// keyed by `customer_id`, event time in `timestamp` with the customer's local UTC offset.
public struct Transaction: Sendable, Equatable {
    public struct Location: Sendable, Equatable {
        public var lat: Double
        public var lon: Double
        public var city: String
        public var country: String
        public init(lat: Double, lon: Double, city: String, country: String) {
            self.lat = lat
            self.lon = lon
            self.city = city
            self.country = country
        }
    }

    public var transactionId: String
    public var customerId: String
    /// In the currency's major unit, two decimals.
    public var amount: Double
    public var currency: String
    public var merchantId: String
    public var merchantCategory: String
    /// pos, ecommerce, mobile, atm.
    public var channel: String
    /// PII: only the generator and the job see it; outputs show the last four digits.
    public var cardNumber: String
    /// Event time, UTC milliseconds.
    public var timeMillis: Int64
    /// The customer's local UTC offset when it happened (the local hour comes from it).
    public var utcOffsetMinutes: Int
    public var location: Location

    public init(transactionId: String, customerId: String, amount: Double, currency: String, merchantId: String,
                merchantCategory: String, channel: String, cardNumber: String, timeMillis: Int64,
                utcOffsetMinutes: Int, location: Location) {
        self.transactionId = transactionId
        self.customerId = customerId
        self.amount = amount
        self.currency = currency
        self.merchantId = merchantId
        self.merchantCategory = merchantCategory
        self.channel = channel
        self.cardNumber = cardNumber
        self.timeMillis = timeMillis
        self.utcOffsetMinutes = utcOffsetMinutes
        self.location = location
    }

    /// `2026-12-02T09:15:03.123+01:00`.
    public var timestampText: String { Timestamp(millis: timeMillis, offsetMinutes: Int16(utcOffsetMinutes)).iso8601 }

    /// The record's value, in the field order of PRODUCT.md.
    public func json(into w: inout JSONWriter) {
        w.begin()
        w.field("transaction_id", transactionId)
        w.field("customer_id", customerId)
        w.field("amount", amount)
        w.field("currency", currency)
        w.field("merchant_id", merchantId)
        w.field("merchant_category", merchantCategory)
        w.field("channel", channel)
        w.field("card_number", cardNumber)
        w.field("timestamp", timestampText)
        var loc = JSONWriter(capacity: 96)
        loc.begin()
        loc.field("lat", location.lat)
        loc.field("lon", location.lon)
        loc.field("city", location.city)
        loc.field("country", location.country)
        loc.end()
        w.field("location", raw: loc.bytes)
        w.end()
    }

    public var jsonBytes: [UInt8] {
        var w = JSONWriter(capacity: 320)
        json(into: &w)
        return w.bytes
    }
}

/// The fraud patterns the generator injects; every fraudulent transaction carries one.
public enum FraudPattern: String, Sendable, CaseIterable, Codable {
    /// A burst of card-testing or cash-out transactions within minutes.
    case velocityAttack = "velocity-attack"
    /// A transaction far away shortly after one at home, faster than any airliner.
    case impossibleTravel = "impossible-travel"
    /// One amount far above the customer's usual spend.
    case amountSpike = "amount-spike"
    /// Activity in the small hours of the customer's own time zone.
    case unusualHours = "unusual-hours"
    /// Spend in merchant categories the customer never uses (jewellery, electronics, gift cards).
    case categoryDeviation = "category-deviation"
    /// Many customers defrauded at one breached merchant or terminal.
    case compromisedMerchant = "compromised-merchant"
    /// The account taken over: from some moment on, the customer's transactions are the fraudster's.
    case accountTakeover = "account-takeover"
}

/// The ground truth of one fraudulent transaction, on a labels topic that the job does not
/// read (keyed by customer id). Transactions without a label are genuine.
public struct FraudLabel: Sendable, Equatable {
    public var transactionId: String
    public var customerId: String
    public var pattern: FraudPattern
    public var amount: Double
    public var timeMillis: Int64

    public init(transactionId: String, customerId: String, pattern: FraudPattern, amount: Double, timeMillis: Int64) {
        self.transactionId = transactionId
        self.customerId = customerId
        self.pattern = pattern
        self.amount = amount
        self.timeMillis = timeMillis
    }

    public var jsonBytes: [UInt8] {
        var w = JSONWriter(capacity: 160)
        w.begin()
        w.field("transaction_id", transactionId)
        w.field("customer_id", customerId)
        w.field("fraud", true)
        w.field("pattern", pattern.rawValue)
        w.field("amount", amount)
        w.field("timestamp_ms", timeMillis)
        w.end()
        return w.bytes
    }
}

/// The topics the fraud pipeline reads and writes by default.
public enum FraudTopics {
    public static let transactions = "transactions"
    public static let labels = "transactions-labels"
    public static let feedback = "fraud-feedback"
    public static let customers = "customers"
    public static let alerts = "fraud-alerts"
    public static let scores = "fraud-scores"
    public static let deadLetters = "transactions-dlq"
    public static let rules = "fraud-rules"
    public static let shadowAlerts = "fraud-alerts-shadow"
}
