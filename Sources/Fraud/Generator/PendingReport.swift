/// A fraud report waiting for the moment the bank learns of it.
struct PendingReport: Comparable {
    var report: FraudReport
    /// Insertion order: equal report times come out in the order they were made.
    var seq: UInt64

    var time: Int64 { report.reportedAtMillis }

    static func < (a: PendingReport, b: PendingReport) -> Bool {
        a.time != b.time ? a.time < b.time : a.seq < b.seq
    }

    static func == (a: PendingReport, b: PendingReport) -> Bool { a.time == b.time && a.seq == b.seq }
}
