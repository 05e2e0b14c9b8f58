/// Rows waiting for the watermark, released in (event time, arrival) order: what OVER
/// operators and the table join buffer. The heap holds plain integers (sifting moves no
/// reference-counted data); the rows wait in a slab.
struct PendingRows<T>: Sendable where T: Sendable {
    struct Row {
        var ts: Millis
        var key: StreamKey
        var value: T
        var position: SourcePosition?
    }

    private var heap = EntryHeap()
    private var slab: [Row?] = []
    private var freeSlots: [Int32] = []
    /// Arrival counter (ties in event time keep arrival order); checkpointed by the owner.
    var seq: UInt64 = 0

    var count: Int { heap.count }
    /// The earliest waiting event time.
    var minTime: Millis? { heap.min?.ts }

    mutating func insert(_ row: Row) {
        seq &+= 1
        let slot: Int32
        if let f = freeSlots.popLast() {
            slot = f
            slab[Int(f)] = row
        } else {
            slot = Int32(slab.count)
            slab.append(row)
        }
        heap.insert(PendingEntry(ts: row.ts, seq: seq, slot: slot))
    }

    /// Takes the earliest row (there must be one).
    mutating func popMin() -> Row {
        let e = heap.removeMin()
        freeSlots.append(e.slot)
        return slab[Int(e.slot)].take()!
    }
}

extension PendingRows where T: StateCodable {
    /// The rows in their order (time, arrival number, key, value, lineage).
    func write(to w: inout StateWriter) {
        let waiting = heap.items.sorted()
        w.int(waiting.count)
        for e in waiting {
            let p = slab[Int(e.slot)]!
            w.int(e.ts); w.uint(e.seq); w.key(p.key)
            p.value.write(to: &w)
            w.bool(p.position != nil)
            if let pos = p.position { w.int(Int64(pos.source)); w.int(Int64(pos.partition)); w.int(pos.offset) }
        }
    }

    /// Replaces the rows with those written by `write` (`seq` is restored by the owner).
    mutating func read(from r: inout StateReader) throws(StateError) {
        heap = EntryHeap()
        slab = []
        freeSlots = []
        for _ in 0..<(try r.count()) {
            let ts = try r.int()
            let sq = try r.uint()
            let k = try r.key()
            let v = try T(from: &r)
            var pos: SourcePosition? = nil
            if try r.bool() {
                pos = SourcePosition(source: Int32(truncatingIfNeeded: try r.int()), partition: Int32(truncatingIfNeeded: try r.int()), offset: try r.int())
            }
            slab.append(Row(ts: ts, key: k, value: v, position: pos))
            heap.insert(PendingEntry(ts: ts, seq: sq, slot: Int32(slab.count - 1)))
        }
    }
}

/// What the heap of `PendingRows` orders. Not nested in the generic type, so comparisons inline.
struct PendingEntry: Comparable {
    var ts: Millis
    var seq: UInt64
    var slot: Int32

    @inline(__always) static func < (a: PendingEntry, b: PendingEntry) -> Bool { a.ts != b.ts ? a.ts < b.ts : a.seq < b.seq }
    @inline(__always) static func == (a: PendingEntry, b: PendingEntry) -> Bool { a.ts == b.ts && a.seq == b.seq }
}
