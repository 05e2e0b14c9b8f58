import HeapModule

/// Keyed tumbling windows, for one task: one accumulator per (key, window) in a single hash
/// map, so a record costs one lookup. (Sliding and cumulating windows, whose windows share
/// slices, use `SlicedWindowOperator`.) Same firing, lateness and late-topic rules.
final class TumblingWindowOperator<T, Acc: WindowAccumulator> {
    struct Slot {
        var acc = Acc()
        var fresh = true
    }

    struct WindowKey: Hashable {
        var key: StreamKey
        var start: Millis
    }

    let name: String
    let size: Millis
    let lateness: Millis
    let keyOf: (T) -> StreamKey
    let add: (inout Acc, T) -> Void
    let emit: Emit<WindowResult<Acc>>
    let ctx: TaskContext
    let lateTopic: String?

    var windows: [WindowKey: Slot] = [:]
    /// Window end → keys with data in it, not fired yet.
    var pending: [Millis: [StreamKey]] = [:]
    var fireQueue = Heap<Millis>()
    /// With lateness: time → windows (by end) whose state may be dropped then.
    var purges: [Millis: [StreamKey]] = [:]
    var purgeQueue = Heap<Millis>()

    init(name: String, size: Millis, lateness: Millis, lateTopic: String?, ctx: TaskContext,
         keyOf: @escaping (T) -> StreamKey, add: @escaping (inout Acc, T) -> Void, emit: @escaping Emit<WindowResult<Acc>>) {
        self.name = name
        self.size = size
        self.lateness = lateness
        self.lateTopic = lateTopic
        self.ctx = ctx
        self.keyOf = keyOf
        self.add = add
        self.emit = emit
    }

    var stateKeys: Int { windows.count }

    func process(_ v: T, _ ts: Millis) {
        let w = ctx.watermark
        let start = floorDiv(ts, size) * size
        let end = start + size
        let fired = w != .min && end &- 1 <= w
        if fired && end &- 1 &+ lateness <= w {
            ctx.late(operator: name, reason: "event time \(ts) is behind the watermark \(w) by more than the allowed lateness (\(lateness) ms): window ending \(end) is closed", topic: lateTopic)
            return
        }
        let k = keyOf(v)
        let wk = WindowKey(key: k, start: start)
        var created = false
        update(&windows[wk, default: Slot()], v, &created)
        if created && !fired {
            if pending[end] == nil {
                pending[end] = [k]
                fireQueue.insert(end)
            } else {
                pending[end]!.append(k)
            }
        }
        if created && lateness > 0 { schedulePurge(k, end: end) }
        if fired, let s = windows[wk] {
            // Late within the allowed lateness: the window fired already; emit it again.
            emit(WindowResult(key: k, start: start, end: end, value: s.acc, isUpdate: true), end - 1)
        }
    }

    @inline(__always) func update(_ slot: inout Slot, _ v: T, _ created: inout Bool) {
        if slot.fresh {
            slot.fresh = false
            created = true
        }
        add(&slot.acc, v)
    }

    func schedulePurge(_ k: StreamKey, end: Millis) {
        let t = end &- 1 &+ lateness
        if purges[t] == nil {
            purges[t] = [k]
            purgeQueue.insert(t)
        } else {
            purges[t]!.append(k)
        }
    }

    func advance(_ w: Millis) {
        while let e = fireQueue.min, e &- 1 <= w {
            _ = fireQueue.popMin()
            guard let ks = pending.removeValue(forKey: e) else { continue }
            let start = e - size
            for k in ks {
                let wk = WindowKey(key: k, start: start)
                let s = lateness == 0 ? windows.removeValue(forKey: wk) : windows[wk]
                if let s { emit(WindowResult(key: k, start: start, end: e, value: s.acc, isUpdate: false), e - 1) }
            }
        }
        while let t = purgeQueue.min, t <= w {
            _ = purgeQueue.popMin()
            guard let ks = purges.removeValue(forKey: t) else { continue }
            let start = t &- lateness &+ 1 - size
            for k in ks { windows.removeValue(forKey: WindowKey(key: k, start: start)) }
        }
    }

    /// Pending firings and purges follow from the windows and the watermark: only the
    /// windows are written.
    func snapshot(into w: inout StateWriter) {
        w.int(windows.count)
        for (wk, slot) in windows {
            w.key(wk.key)
            w.int(wk.start)
            slot.acc.write(to: &w)
        }
    }

    func restore(from r: inout StateReader) throws(StateError) {
        windows = [:]
        pending = [:]
        fireQueue = Heap()
        purges = [:]
        purgeQueue = Heap()
        let n = try r.count()
        windows.reserveCapacity(n)
        let w = ctx.watermark
        for _ in 0..<n {
            let k = try r.key()
            let start = try r.int()
            let acc = try Acc(from: &r)
            windows[WindowKey(key: k, start: start)] = Slot(acc: acc, fresh: false)
            let end = start + size
            if w == .min || end &- 1 > w {
                if pending[end] == nil { pending[end] = [k]; fireQueue.insert(end) } else { pending[end]!.append(k) }
            }
            if lateness > 0 { schedulePurge(k, end: end) }
        }
    }
}

extension TumblingWindowOperator: CheckpointedOperator {}

