/// A 4-ary min-heap of `PendingEntry`, what `PendingRows` orders its rows by. Not swift-
/// collections' `Heap`: that is a min-max heap (every pop compares grandchildren on both
/// sides), which cost a fifth of job C's processor time. Rows mostly arrive in time order, so
/// an insert usually stops at once; four children per node halve the levels a pop descends.
struct EntryHeap {
    private(set) var items: [PendingEntry] = []

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }
    var min: PendingEntry? { items.first }

    mutating func insert(_ e: PendingEntry) {
        items.append(e)
        items.withUnsafeMutableBufferPointer { b in
            var i = b.count - 1
            while i > 0 {
                let parent = (i - 1) >> 2
                guard e < b[parent] else { break }
                b[i] = b[parent]
                i = parent
            }
            b[i] = e
        }
    }

    /// Removes and returns the smallest entry (there must be one).
    mutating func removeMin() -> PendingEntry {
        let top = items[0]
        let last = items.removeLast()
        guard !items.isEmpty else { return top }
        items.withUnsafeMutableBufferPointer { b in
            let n = b.count
            var i = 0
            while true {
                let first = 4 * i + 1
                if first >= n { break }
                // The smallest of up to four children.
                var c = first
                let end = Swift.min(first + 4, n)
                var j = first + 1
                while j < end {
                    if b[j] < b[c] { c = j }
                    j += 1
                }
                guard b[c] < last else { break }
                b[i] = b[c]
                i = c
            }
            b[i] = last
        }
        return top
    }

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }
}
