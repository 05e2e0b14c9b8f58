/// A transaction decided in advance (a fraud episode's later steps), waiting for its time.
struct PendingTransaction {
    var time: Int64
    /// Insertion order: ties in time come out in the order they were scheduled (determinism).
    var seq: UInt64
    var customer: Int32
    var merchant: Int32
    var amountUSD: Double
    var channel: Channel
    /// nil: a genuine transaction scheduled to set up a pattern (impossible travel's anchor).
    var pattern: FraudPattern?

    @inline(__always) static func before(_ a: PendingTransaction, _ b: PendingTransaction) -> Bool {
        a.time != b.time ? a.time < b.time : a.seq < b.seq
    }
}

/// Binary min-heap by (time, seq). Its size is bounded by the episodes in flight, not by how
/// long the generator runs.
struct PendingHeap {
    private(set) var items: [PendingTransaction] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var first: PendingTransaction? { items.first }

    mutating func push(_ x: PendingTransaction) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard PendingTransaction.before(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> PendingTransaction? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && PendingTransaction.before(items[l], items[m]) { m = l }
                if r < n && PendingTransaction.before(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
