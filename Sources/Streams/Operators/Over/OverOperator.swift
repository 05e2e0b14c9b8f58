import DequeModule

/// Per-event aggregates over each key's history in event-time order, for one task.
///
/// Rows wait in a heap ordered by (event time, arrival) until the watermark passes them, then
/// are applied per key in that order — the results do not depend on arrival order, as in
/// Flink's OVER on a rowtime attribute. A row at or behind the watermark on arrival cannot be
/// placed any more: it goes to the late topic (Flink drops it). Rows with the same time and key
/// are released together, so RANGE frames include all of them (SQL peers).
final class OverOperator<T: Sendable & StateCodable> {
    typealias Pending = PendingRows<T>.Row

    /// One key's history: per measure the running aggregate over its frame, the rows inside
    /// bounded frames (none are kept for unbounded ones), and the previous row.
    struct KeyState: Sendable {
        var totals: OverValues
        var windows: [Deque<(Millis, Double)>]
        var previous: T?
        var previousTs: Millis?
    }

    let name: String
    let measures: [OverMeasure<T>]
    let keyOf: (T) -> StreamKey
    let emit: Emit<OverRow<T>>
    let ctx: TaskContext
    let lateTopic: String?
    var pending = PendingRows<T>()
    /// A Dictionary: a checkpoint's frozen copy shares its storage, so the first write after
    /// it copies the map. swift-collections' TreeDictionary would copy one path instead, but
    /// cost job C 20 % of its events/s.
    var keys: [StreamKey: KeyState] = [:]
    var batch: [Pending] = []
    /// Per measure: 0 unbounded, 1 ROWS n, 2 RANGE d; and their bounds.
    let kinds: [UInt8]
    let bounds: [Int64]
    let bounded: Bool
    let order: OverOrder
    /// What of a row is kept as its key's previous row (nil result: nothing) — the part LAG
    /// reads; state written at every checkpoint shrinks to it. nil: the whole row.
    var retainPrevious: (@Sendable (T) -> T?)? = nil

    init(name: String, measures: [OverMeasure<T>], order: OverOrder = .eventTime, lateTopic: String?, ctx: TaskContext,
         keyOf: @escaping (T) -> StreamKey, emit: @escaping Emit<OverRow<T>>) {
        self.name = name
        self.order = order
        self.measures = measures
        self.lateTopic = lateTopic
        self.ctx = ctx
        self.keyOf = keyOf
        self.emit = emit
        kinds = measures.map {
            switch $0.frame {
            case .unbounded: return 0
            case .rows: return 1
            case .range: return 2
            }
        }
        bounds = measures.map {
            switch $0.frame {
            case .unbounded: return 0
            case .rows(let n): return Int64(n)
            case .range(let d): return d
            }
        }
        bounded = kinds.contains { $0 != 0 }
    }

    func newKeyState() -> KeyState {
        KeyState(totals: OverValues(count: measures.count),
                 windows: bounded ? Array(repeating: Deque(), count: measures.count) : [], previous: nil, previousTs: nil)
    }

    var stateKeys: Int { keys.count }
    var buffered: Int { pending.count }

    func process(_ v: T, _ ts: Millis) {
        if order == .arrival {
            let k = keyOf(v)
            apply(&keys[k, default: newKeyState()], CollectionOfOne(Pending(ts: ts, key: k, value: v, position: ctx.position)), k, ts)
            return
        }
        let w = ctx.watermark
        if w != .min && ts <= w {
            ctx.late(operator: name, reason: "event time \(ts) is at or behind the watermark \(w): its place in the key's history has been passed", topic: lateTopic)
            return
        }
        pending.insert(Pending(ts: ts, key: keyOf(v), value: v, position: ctx.position))
    }

    func advance(_ w: Millis) {
        while let t = pending.minTime, t <= w {
            let p = pending.popMin()
            guard pending.minTime == p.ts else {
                // The usual case: no other row has this time.
                apply(&keys[p.key, default: newKeyState()], CollectionOfOne(p), p.key, p.ts)
                continue
            }
            // Rows with the same time, in arrival order; then per key.
            batch.removeAll(keepingCapacity: true)
            batch.append(p)
            while pending.minTime == p.ts { batch.append(pending.popMin()) }
            var done = [Bool](repeating: false, count: batch.count)
            for i in batch.indices where !done[i] {
                var group: [Pending] = []
                for j in i..<batch.count where !done[j] && batch[j].key == batch[i].key {
                    group.append(batch[j])
                    done[j] = true
                }
                apply(&keys[group[0].key, default: newKeyState()], group, group[0].key, p.ts)
            }
        }
    }

    /// Applies rows of one key with one event time (mutating the key's state in place: a copy
    /// would duplicate its frames on every row).
    private func apply<C: Collection>(_ st: inout KeyState, _ rows: C, _ k: StreamKey, _ t: Millis) where C.Element == Pending {
        let count = measures.count
        // RANGE frames see all peers: add them all before computing.
        if bounded {
            for m in 0..<count where kinds[m] == 2 {
                let d = bounds[m]
                for r in rows {
                    let x = measures[m].value(r.value)
                    st.windows[m].append((t, x))
                    st.totals[m].add(x)
                }
                var evicted = false
                // In arrival order a frame's rows are in arrival order: the oldest are dropped
                // from the front as long as they are out of the current row's range.
                while let (ot, _) = st.windows[m].first, ot < t &- d {
                    st.windows[m].removeFirst()
                    evicted = true
                }
                // Re-added after eviction: subtracting would drift (and min/max cannot be subtracted).
                if evicted { st.totals[m] = Self.stats(st.windows[m]) }
            }
        }
        for r in rows {
            var out = OverValues(count: count)
            for m in 0..<count {
                let spec = measures[m]
                switch kinds[m] {
                case 0:
                    let x = spec.value(r.value)
                    if spec.excludeCurrent {
                        out[m] = st.totals[m]
                        st.totals[m].add(x)
                    } else {
                        st.totals[m].add(x)
                        out[m] = st.totals[m]
                    }
                case 1:
                    let x = spec.value(r.value)
                    let n = Int(bounds[m])
                    if spec.excludeCurrent { out[m] = Self.stats(st.windows[m].suffix(n)) }
                    st.windows[m].append((t, x))
                    while st.windows[m].count > n + 1 { st.windows[m].removeFirst() }
                    if !spec.excludeCurrent { out[m] = Self.stats(st.windows[m]) }
                default:
                    out[m] = spec.excludeCurrent ? Self.stats(st.windows[m], excludingOne: spec.value(r.value)) : st.totals[m]
                }
            }
            ctx.position = r.position
            emit(OverRow(value: r.value, timestamp: t, key: k, measures: out, previous: st.previous, previousTimestamp: st.previousTs), t)
            st.previous = retainPrevious.map { $0(r.value) } ?? r.value
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

    /// What the caller says about the state's shape beyond its types (a job file's row schema
    /// and aggregate calls): a change of it is a change of state kind, refused at restore.
    var stateSchema: String? = nil
    var stateKind: String { "over" + (order == .arrival ? " in arrival order" : "") + " \(measures.map { "\($0.frame)\($0.excludeCurrent ? " exclude current" : "")" }.joined(separator: ", ")) of \(T.self)" + (stateSchema.map { " [\($0)]" } ?? "") }

    func freeze() -> FrozenState {
        let (keys, pending, count, bounded) = (keys, pending, measures.count, bounded)
        return { w in Self.write(keys, pending, measures: count, bounded: bounded, into: &w) }
    }

    static func write(_ keys: [StreamKey: KeyState], _ pending: PendingRows<T>, measures: Int, bounded: Bool, into w: inout StateWriter) {
        w.uint(pending.seq)
        w.int(keys.count)
        for (k, st) in keys {
            w.key(k)
            w.int(measures)
            for m in 0..<measures {
                w.stats(st.totals[m])
                let win = bounded ? st.windows[m] : Deque()
                w.int(win.count)
                for (t, x) in win { w.int(t); w.double(x) }
            }
            w.bool(st.previous != nil)
            if let p = st.previous { p.write(to: &w); w.int(st.previousTs ?? 0) }
        }
        // Rows still waiting for the watermark, in their order.
        pending.write(to: &w)
    }

    func restore(from r: inout StateReader) throws(StateError) {
        keys = [:]
        pending = PendingRows()
        pending.seq = try r.uint()
        let n = try r.count()
        for _ in 0..<n {
            let k = try r.key()
            let nf = try r.count(max: 64)
            guard nf == measures.count else { throw StateError("OVER operator \(name) has \(measures.count) measures, its state \(nf)") }
            var st = newKeyState()
            for i in 0..<nf {
                st.totals[i] = try r.stats()
                let m = try r.count()
                for _ in 0..<m {
                    let entry = (try r.int(), try r.double())
                    guard bounded else { throw StateError("OVER operator \(name): rows kept for an unbounded frame") }
                    st.windows[i].append(entry)
                }
            }
            if try r.bool() {
                st.previous = try T(from: &r)
                st.previousTs = try r.int()
            }
            keys[k] = st
        }
        try pending.read(from: &r)
    }
}

extension OverOperator: CheckpointedOperator {}

