import DequeModule
import HeapModule

/// Per-event aggregates over each key's history in event-time order, for one task.
///
/// Rows wait in a heap ordered by (event time, arrival) until the watermark passes them, then
/// are applied per key in that order — the results do not depend on arrival order, as in
/// Flink's OVER on a rowtime attribute. A row at or behind the watermark on arrival cannot be
/// placed any more: it goes to the late topic (Flink drops it). Rows with the same time and key
/// are released together, so RANGE frames include all of them (SQL peers).
final class OverOperator<T: Sendable & StateCodable> {
    struct Pending {
        var ts: Millis
        var key: StreamKey
        var value: T
        var position: SourcePosition?
    }

    /// What the heap orders: plain integers, so sifting moves no reference-counted data; the
    /// rows wait in `slab`.
    struct Entry: Comparable {
        var ts: Millis
        var seq: UInt64
        var slot: Int32

        static func < (a: Entry, b: Entry) -> Bool { a.ts != b.ts ? a.ts < b.ts : a.seq < b.seq }
        static func == (a: Entry, b: Entry) -> Bool { a.ts == b.ts && a.seq == b.seq }
    }

    /// The state of one measure for one key.
    struct FrameState {
        var total = Stats()
        /// Bounded frames: the rows inside the frame (time, value), oldest first.
        var window = Deque<(Millis, Double)>()
    }

    struct KeyState {
        var frames: [FrameState]
        var previous: T?
        var previousTs: Millis?
    }

    let name: String
    let measures: [OverMeasure<T>]
    let keyOf: (T) -> StreamKey
    let emit: Emit<OverRow<T>>
    let ctx: TaskContext
    let lateTopic: String?
    var heap = Heap<Entry>()
    var slab: [Pending?] = []
    var freeSlots: [Int32] = []
    var seq: UInt64 = 0
    var keys: [StreamKey: KeyState] = [:]
    var batch: [Pending] = []

    init(name: String, measures: [OverMeasure<T>], lateTopic: String?, ctx: TaskContext,
         keyOf: @escaping (T) -> StreamKey, emit: @escaping Emit<OverRow<T>>) {
        self.name = name
        self.measures = measures
        self.lateTopic = lateTopic
        self.ctx = ctx
        self.keyOf = keyOf
        self.emit = emit
    }

    var stateKeys: Int { keys.count }
    var buffered: Int { heap.count }

    func process(_ v: T, _ ts: Millis) {
        let w = ctx.watermark
        if w != .min && ts <= w {
            ctx.late(operator: name, reason: "event time \(ts) is at or behind the watermark \(w): its place in the key's history has been passed", topic: lateTopic)
            return
        }
        seq &+= 1
        let p = Pending(ts: ts, key: keyOf(v), value: v, position: ctx.position)
        let slot: Int32
        if let f = freeSlots.popLast() {
            slot = f
            slab[Int(f)] = p
        } else {
            slot = Int32(slab.count)
            slab.append(p)
        }
        heap.insert(Entry(ts: ts, seq: seq, slot: slot))
    }

    func advance(_ w: Millis) {
        while let top = heap.min, top.ts <= w {
            // Everything with this time, in arrival order; then per key.
            batch.removeAll(keepingCapacity: true)
            let t = top.ts
            while let n = heap.min, n.ts == t {
                let e = heap.removeMin()
                batch.append(slab[Int(e.slot)].take()!)
                freeSlots.append(e.slot)
            }
            if batch.count == 1 {
                release(batch[0..<1])
            } else {
                var done = [Bool](repeating: false, count: batch.count)
                for i in batch.indices where !done[i] {
                    var group: [Pending] = []
                    for j in i..<batch.count where !done[j] && batch[j].key == batch[i].key {
                        group.append(batch[j])
                        done[j] = true
                    }
                    release(group[...])
                }
            }
        }
    }

    /// Applies rows of one key with one event time.
    func release(_ rows: ArraySlice<Pending>) {
        let first = rows[rows.startIndex]
        let k = first.key
        let fresh = measures.count
        // Mutated in place in the dictionary (a copy would duplicate the frames on every row).
        apply(&keys[k, default: KeyState(frames: Array(repeating: FrameState(), count: fresh), previous: nil, previousTs: nil)], rows, k, first.ts)
    }

    private func apply(_ st: inout KeyState, _ rows: ArraySlice<Pending>, _ k: StreamKey, _ t: Millis) {
        // RANGE frames see all peers: add them all before computing.
        for (m, spec) in measures.enumerated() {
            guard case .range(let d) = spec.frame else { continue }
            for r in rows {
                let x = spec.value(r.value)
                st.frames[m].window.append((t, x))
                st.frames[m].total.add(x)
            }
            var evicted = false
            while let (ot, _) = st.frames[m].window.first, ot < t &- d {
                st.frames[m].window.removeFirst()
                evicted = true
            }
            // Sums are kept by re-adding after eviction: subtracting would drift (and min/max
            // cannot be subtracted).
            if evicted { st.frames[m].total = Self.stats(st.frames[m].window) }
        }
        for r in rows {
            var out = OverValues(count: measures.count)
            for (m, spec) in measures.enumerated() {
                let x = spec.value(r.value)
                switch spec.frame {
                case .unbounded:
                    if spec.excludeCurrent {
                        out[m] = st.frames[m].total
                        st.frames[m].total.add(x)
                    } else {
                        st.frames[m].total.add(x)
                        out[m] = st.frames[m].total
                    }
                case .rows(let n):
                    if spec.excludeCurrent { out[m] = Self.stats(st.frames[m].window.suffix(n)) }
                    st.frames[m].window.append((t, x))
                    while st.frames[m].window.count > n + 1 { st.frames[m].window.removeFirst() }
                    if !spec.excludeCurrent { out[m] = Self.stats(st.frames[m].window) }
                case .range:
                    out[m] = spec.excludeCurrent ? Self.stats(st.frames[m].window, excludingOne: x) : st.frames[m].total
                }
            }
            ctx.position = r.position
            emit(OverRow(value: r.value, timestamp: t, key: k, measures: out, previous: st.previous, previousTimestamp: st.previousTs), t)
            st.previous = r.value
            st.previousTs = t
        }
    }

    static func stats<S: Sequence>(_ w: S) -> Stats where S.Element == (Millis, Double) {
        var s = Stats()
        for (_, x) in w { s.add(x) }
        return s
    }

    static func stats(_ w: Deque<(Millis, Double)>, excludingOne x: Double) -> Stats {
        var s = Stats()
        var skipped = false
        for (_, y) in w {
            if !skipped && y == x { skipped = true; continue }
            s.add(y)
        }
        return s
    }

    func snapshot(into w: inout StateWriter) {
        w.uint(seq)
        w.int(keys.count)
        for (k, st) in keys {
            w.key(k)
            w.int(st.frames.count)
            for f in st.frames {
                w.stats(f.total)
                w.int(f.window.count)
                for (t, x) in f.window { w.int(t); w.double(x) }
            }
            w.bool(st.previous != nil)
            if let p = st.previous { p.write(to: &w); w.int(st.previousTs ?? 0) }
        }
        // Rows still waiting for the watermark, in their order.
        let waiting = heap.unordered.sorted()
        w.int(waiting.count)
        for e in waiting {
            let p = slab[Int(e.slot)]!
            w.int(e.ts); w.uint(e.seq); w.key(p.key)
            p.value.write(to: &w)
            w.bool(p.position != nil)
            if let pos = p.position { w.int(Int64(pos.source)); w.int(Int64(pos.partition)); w.int(pos.offset) }
        }
    }

    func restore(from r: inout StateReader) throws(StateError) {
        keys = [:]
        heap = Heap()
        slab = []
        freeSlots = []
        seq = try r.uint()
        let n = try r.count()
        for _ in 0..<n {
            let k = try r.key()
            let nf = try r.count(max: 64)
            guard nf == measures.count else { throw StateError("OVER operator \(name) has \(measures.count) measures, its state \(nf)") }
            var frames: [FrameState] = []
            for _ in 0..<nf {
                var f = FrameState()
                f.total = try r.stats()
                let m = try r.count()
                for _ in 0..<m { f.window.append((try r.int(), try r.double())) }
                frames.append(f)
            }
            var st = KeyState(frames: frames, previous: nil, previousTs: nil)
            if try r.bool() {
                st.previous = try T(from: &r)
                st.previousTs = try r.int()
            }
            keys[k] = st
        }
        let m = try r.count()
        for _ in 0..<m {
            let ts = try r.int()
            let sq = try r.uint()
            let k = try r.key()
            let v = try T(from: &r)
            var pos: SourcePosition? = nil
            if try r.bool() {
                pos = SourcePosition(source: Int32(truncatingIfNeeded: try r.int()), partition: Int32(truncatingIfNeeded: try r.int()), offset: try r.int())
            }
            slab.append(Pending(ts: ts, key: k, value: v, position: pos))
            heap.insert(Entry(ts: ts, seq: sq, slot: Int32(slab.count - 1)))
        }
    }
}

extension OverOperator: CheckpointedOperator {}

