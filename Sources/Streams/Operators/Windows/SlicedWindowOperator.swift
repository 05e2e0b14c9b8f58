/// Keyed event-time windows (tumbling, hopping, cumulate) over slices, for one task.
///
/// State: per key, the accumulators of its slices (few: a window's worth). A window fires when
/// the watermark reaches its end − 1, for the keys that have data in it (each key is queued
/// once per window when its first slice in that window appears, like Flink's per-window timers).
/// With allowed lateness a late record still updates its slices and re-fires, as an update,
/// the windows that had already fired; past it, the record goes to the late topic.
final class SlicedWindowOperator<T, Acc: WindowAccumulator> {
    struct KeySlices: Sendable {
        var starts: [Millis] = []
        var accs: [Acc] = []
    }

    let name: String
    let spec: WindowSpec
    let lateness: Millis
    let keyOf: (T) -> StreamKey
    let add: (inout Acc, T) -> Void
    let emit: Emit<WindowResult<Acc>>
    let ctx: TaskContext
    let lateTopic: String?

    var keys: [StreamKey: KeySlices] = [:]
    /// Window end → keys with data in that window, not fired yet.
    var pending = KeyTimeQueue()
    /// Time → keys whose slices may be dropped then (end of their last window + lateness).
    var purges = KeyTimeQueue()
    var ends: [Millis] = []

    init(name: String, spec: WindowSpec, lateness: Millis, lateTopic: String?, ctx: TaskContext,
         keyOf: @escaping (T) -> StreamKey, add: @escaping (inout Acc, T) -> Void, emit: @escaping Emit<WindowResult<Acc>>) {
        self.name = name
        self.spec = spec
        self.lateness = lateness
        self.lateTopic = lateTopic
        self.ctx = ctx
        self.keyOf = keyOf
        self.add = add
        self.emit = emit
    }

    var stateKeys: Int { keys.count }

    func process(_ v: T, _ ts: Millis) {
        let w = ctx.watermark
        let s = spec.sliceStart(ts)
        let last = spec.lastEnd(slice: s)
        if w != .min, last &- 1 &+ lateness <= w {
            ctx.late(operator: name, reason: "event time \(ts) is behind the watermark \(w) by more than the allowed lateness (\(lateness) ms): window ending \(last) is closed", topic: lateTopic)
            return
        }
        let k = keyOf(v)
        withKey(k) { ks in
            var i = ks.starts.count
            // Slices are nearly always appended in order; search from the end.
            while i > 0 && ks.starts[i - 1] > s { i -= 1 }
            if i > 0 && ks.starts[i - 1] == s {
                add(&ks.accs[i - 1], v)
                return
            }
            // A new slice for this key: queue the key on each of its windows not fired yet, unless
            // another of its slices already did.
            spec.windowEnds(slice: s, into: &ends)
            for e in ends where w == .min || e &- 1 > w {
                let ws = spec.windowStart(end: e)
                var queued = false
                for x in ks.starts where x >= ws && x < e { queued = true; break }
                if !queued { schedule(k, end: e) }
            }
            var acc = Acc()
            add(&acc, v)
            ks.starts.insert(s, at: i)
            ks.accs.insert(acc, at: i)
            // Without lateness a slice is dropped when its last window fires (the key is queued
            // there); with lateness, later.
            if lateness > 0 { schedulePurge(k, at: last &- 1 &+ lateness) }
        }
        if w != .min && firstEnd(s) &- 1 <= w { refireFired(k, slice: s, watermark: w) }
    }

    func firstEnd(_ s: Millis) -> Millis {
        spec.windowEnds(slice: s, into: &ends)
        return ends.first ?? s
    }

    @inline(__always) func withKey(_ k: StreamKey, _ body: (inout KeySlices) -> Void) {
        body(&keys[k, default: KeySlices()])
    }

    func schedule(_ k: StreamKey, end e: Millis) { pending.add(k, at: e) }

    func schedulePurge(_ k: StreamKey, at t: Millis) { purges.add(k, at: t) }

    /// Late but within the allowed lateness: re-emit the already fired windows that hold
    /// slice `s`, as updates.
    func refireFired(_ k: StreamKey, slice s: Millis, watermark w: Millis) {
        spec.windowEnds(slice: s, into: &ends)
        let fired = ends.filter { $0 &- 1 <= w && $0 &- 1 &+ lateness > w }
        for e in fired { fire(k, end: e, isUpdate: true) }
    }

    func fire(_ k: StreamKey, end e: Millis, isUpdate: Bool) {
        guard let ks = keys[k] else { return }
        let ws = spec.windowStart(end: e)
        var acc = Acc()
        var any = false
        for (i, s) in ks.starts.enumerated() where s >= ws && s < e {
            acc.merge(ks.accs[i])
            any = true
        }
        guard any else { return }
        emit(WindowResult(key: k, start: ws, end: e, value: acc, isUpdate: isUpdate), e - 1)
    }

    func advance(_ w: Millis) {
        while let (e, ks) = pending.popDue({ $0 &- 1 <= w }) {
            if lateness == 0 {
                for k in ks { fireAndPurge(k, end: e, watermark: w) }
            } else {
                for k in ks { fire(k, end: e, isUpdate: false) }
            }
        }
        while let (_, ks) = purges.popDue({ $0 <= w }) {
            for k in ks { purge(k, watermark: w) }
        }
    }

    /// One lookup: merge the window's slices, emit, drop the slices no later window needs.
    func fireAndPurge(_ k: StreamKey, end e: Millis, watermark w: Millis) {
        guard let idx = keys.index(forKey: k) else { return }
        let ws = spec.windowStart(end: e)
        var acc = Acc()
        var any = false
        var dead = 0
        do {
            let ks = keys.values[idx]
            for i in ks.starts.indices {
                let s = ks.starts[i]
                if s >= ws && s < e {
                    acc.merge(ks.accs[i])
                    any = true
                }
                if spec.lastEnd(slice: s) <= e { dead += 1 }
            }
        }
        if any { emit(WindowResult(key: k, start: ws, end: e, value: acc, isUpdate: false), e - 1) }
        guard dead > 0 else { return }
        if dead == keys.values[idx].starts.count {
            keys.remove(at: idx)
        } else {
            // Dead slices are the oldest: they are a prefix.
            keys.values[idx].starts.removeFirst(dead)
            keys.values[idx].accs.removeFirst(dead)
        }
    }

    func purge(_ k: StreamKey, watermark w: Millis) {
        guard var ks = keys[k] else { return }
        var keep = 0
        for i in ks.starts.indices where spec.lastEnd(slice: ks.starts[i]) &- 1 &+ lateness > w {
            ks.starts[keep] = ks.starts[i]
            ks.accs[keep] = ks.accs[i]
            keep += 1
        }
        if keep == 0 {
            keys.removeValue(forKey: k)
        } else if keep < ks.starts.count {
            ks.starts.removeLast(ks.starts.count - keep)
            ks.accs.removeLast(ks.accs.count - keep)
            keys[k] = ks
        }
    }

    /// What the caller says about the state's shape beyond its types (a job file's row schema
    /// and aggregate calls): a change of it is a change of state kind, refused at restore.
    var stateSchema: String? = nil
    var stateKind: String { "window \(spec) of \(Acc.self)" + (stateSchema.map { " [\($0)]" } ?? "") }

    func freeze() -> FrozenState {
        let keys = keys
        return { w in Self.write(keys, into: &w) }
    }

    static func write(_ keys: [StreamKey: KeySlices], into w: inout StateWriter) {
        w.int(keys.count)
        for (k, ks) in keys {
            w.key(k)
            w.int(ks.starts.count)
            for i in ks.starts.indices {
                w.int(ks.starts[i])
                ks.accs[i].write(to: &w)
            }
        }
    }

    /// Rebuilds the firing and purge queues from the slices and the restored watermark.
    func restore(from r: inout StateReader) throws(StateError) {
        keys = [:]
        pending = KeyTimeQueue()
        purges = KeyTimeQueue()
        let w = ctx.watermark
        let n = try r.count()
        for _ in 0..<n {
            let k = try r.key()
            var ks = KeySlices()
            let m = try r.count()
            for _ in 0..<m {
                ks.starts.append(try r.int())
                ks.accs.append(try Acc(from: &r))
            }
            var queued = Set<Millis>()
            for s in ks.starts {
                spec.windowEnds(slice: s, into: &ends)
                for e in ends where (w == .min || e &- 1 > w) && !queued.contains(e) {
                    queued.insert(e)
                    schedule(k, end: e)
                }
                if lateness > 0 { schedulePurge(k, at: spec.lastEnd(slice: s) &- 1 &+ lateness) }
            }
            keys[k] = ks
        }
    }
}

extension SlicedWindowOperator: CheckpointedOperator {}

