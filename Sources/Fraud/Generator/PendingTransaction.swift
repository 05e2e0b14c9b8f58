/// A transaction decided in advance (a fraud episode's later steps), waiting for its time.
struct PendingTransaction: Comparable {
    var time: Int64
    /// Insertion order: ties in time come out in the order they were scheduled (determinism).
    var seq: UInt64
    var customer: Int32
    var merchant: Int32
    var amountUSD: Double
    var channel: Channel
    /// nil: a genuine transaction scheduled to set up a pattern (impossible travel's anchor).
    var pattern: FraudPattern?

    /// Ordered by (time, seq): the generator's heap pops them in that order. Equal only when
    /// both are (seq is unique).
    static func < (a: PendingTransaction, b: PendingTransaction) -> Bool {
        a.time != b.time ? a.time < b.time : a.seq < b.seq
    }

    static func == (a: PendingTransaction, b: PendingTransaction) -> Bool { a.time == b.time && a.seq == b.seq }
}

