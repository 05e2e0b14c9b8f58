/// The bank's feedback: fraud learnt of late, from customers' disputes and card-network
/// chargebacks. The delays follow what banks report: a few hours when the customer sees the
/// transaction in their app, days when they read a statement, weeks for a chargeback.
extension TransactionGenerator {
    static let day: Int64 = 86_400_000

    /// Decides whether and when the fraud transaction just emitted is reported. Its own random
    /// stream: turning reports on or off leaves the transactions byte for byte the same.
    mutating func scheduleReport(_ tx: Transaction) {
        guard config.reports, reportRng.chance(config.reportedShare) else { return }
        let u = reportRng.uniform()
        let delay: Double
        let source: String
        if u < 0.4 {
            delay = reportRng.uniform(2, 24) * Double(Self.hour)
            source = "customer-dispute"
        } else if u < 0.85 {
            delay = reportRng.uniform(1, 7) * Double(Self.day)
            source = "customer-dispute"
        } else {
            delay = reportRng.uniform(7, 30) * Double(Self.day)
            source = "chargeback"
        }
        reportSeq &+= 1
        reports.insert(PendingReport(report: FraudReport(
            transactionId: tx.transactionId, customerId: tx.customerId, merchantId: tx.merchantId, amount: tx.amount,
            currency: tx.currency, fraudTimeMillis: tx.timeMillis, reportedAtMillis: tx.timeMillis + Int64(delay),
            source: source), seq: reportSeq))
    }

    /// The next report the bank has learnt of by the event time of the last transaction
    /// returned (`clockMillis`), oldest first; nil when none is due yet. Called after each
    /// `next()` until nil, it interleaves reports with the transactions in event-time order.
    public mutating func nextReport() -> FraudReport? {
        guard let top = reports.min, top.time <= clockMillis else { return nil }
        return reports.popMin()?.report
    }

    /// Reports decided but not yet due (bounded by the fraud of the last 30 days).
    public var pendingReportCount: Int { reports.count }
}
