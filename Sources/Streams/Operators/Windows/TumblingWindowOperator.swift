import HeapModule

/// Keyed tumbling windows, for one task: per window, one map from key to accumulator. A record
/// costs one lookup in its window's map (the current window is kept at hand); a window fires
/// by walking its map. (Sliding and cumulating windows, whose windows share slices, use
/// `SlicedWindowOperator`.) Same firing, lateness and late-topic rules.
final class TumblingWindowOperator<T, Acc: WindowAccumulator> {
    /// One window's state (a class: the operator keeps the current one at hand and updates it
    /// in place).
    final class Window {
        let start: Millis
        var accs: [StreamKey: Acc] = [:]
        var fired = false
        init(start: Millis) { self.start = start }
    }

    let name: String
    let size: Millis
    let lateness: Millis
    let keyOf: (T) -> StreamKey
    let add: (inout Acc, T) -> Void
    let emit: Emit<WindowResult<Acc>>
    let ctx: TaskContext
    let lateTopic: String?

    var windows: [Millis: Window] = [:]
    /// Starts of windows not fired yet / fired and kept for lateness, by firing time.
    var fireQueue = Heap<Millis>()
    var purgeQueue = Heap<Millis>()
    var current: Window? = nil

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

    var stateKeys: Int { windows.values.reduce(0) { $0 + $1.accs.count } }

    func process(_ v: T, _ ts: Millis) {
        let start = floorDiv(ts, size) * size
        let win: Window
        if let c = current, c.start == start {
            win = c
        } else {
            let w = ctx.watermark
            let end = start + size
            if w != .min && end &- 1 &+ lateness <= w {
                ctx.late(operator: name, reason: "event time \(ts) is behind the watermark \(w) by more than the allowed lateness (\(lateness) ms): window ending \(end) is closed", topic: lateTopic)
                return
            }
            if let existing = windows[start] {
                win = existing
            } else {
                win = Window(start: start)
                windows[start] = win
                if w != .min && end &- 1 <= w {
                    win.fired = true  // only late data for it: it fires record by record below
                } else {
                    fireQueue.insert(start)
                }
                if lateness > 0 { purgeQueue.insert(start) }
            }
            current = win
        }
        let k = keyOf(v)
        add(&win.accs[k, default: Acc()], v)
        if win.fired, let acc = win.accs[k] {
            // Late within the allowed lateness: the window fired already; emit it again.
            emit(WindowResult(key: k, start: start, end: start + size, value: acc, isUpdate: true), start + size - 1)
        }
    }

    func advance(_ w: Millis) {
        while let s = fireQueue.min, s + size &- 1 <= w {
            _ = fireQueue.popMin()
            guard let win = windows[s] else { continue }
            win.fired = true
            if lateness == 0 {
                windows.removeValue(forKey: s)
                if current === win { current = nil }
            }
            let end = s + size
            for (k, acc) in win.accs {
                emit(WindowResult(key: k, start: s, end: end, value: acc, isUpdate: false), end - 1)
            }
            if lateness == 0 { win.accs = [:] }
        }
        while let s = purgeQueue.min, s + size &- 1 &+ lateness <= w {
            _ = purgeQueue.popMin()
            if let win = windows.removeValue(forKey: s), current === win { current = nil }
        }
        // A fired window must not take late records through the fast path unchecked.
        if let c = current, c.start + size &- 1 &+ lateness <= w { current = nil }
    }

    /// Pending firings follow from the windows and the watermark: only the windows are written.
    /// What the caller says about the state's shape beyond its types (a job file's row schema
    /// and aggregate calls): a change of it is a change of state kind, refused at restore.
    var stateSchema: String? = nil
    var stateKind: String { "window \(WindowSpec.tumbling(size: size)) of \(Acc.self)" + (stateSchema.map { " [\($0)]" } ?? "") }

    func freeze() -> FrozenState {
        // The windows are objects: their maps are taken out (values, shared until written).
        let frozen = windows.sorted { $0.key < $1.key }.map { (start: $0.key, fired: $0.value.fired, accs: $0.value.accs) }
        return { w in Self.write(frozen, into: &w) }
    }

    static func write(_ windows: [(start: Millis, fired: Bool, accs: [StreamKey: Acc])], into w: inout StateWriter) {
        w.int(windows.count)
        for win in windows {
            w.int(win.start)
            w.bool(win.fired)
            w.int(win.accs.count)
            for (k, acc) in win.accs {
                w.key(k)
                acc.write(to: &w)
            }
        }
    }

    func restore(from r: inout StateReader) throws(StateError) {
        windows = [:]
        fireQueue = Heap()
        purgeQueue = Heap()
        current = nil
        let n = try r.count()
        for _ in 0..<n {
            let start = try r.int()
            let win = Window(start: start)
            win.fired = try r.bool()
            let m = try r.count()
            win.accs.reserveCapacity(m)
            for _ in 0..<m {
                let k = try r.key()
                win.accs[k] = try Acc(from: &r)
            }
            windows[start] = win
            if !win.fired { fireQueue.insert(start) }
            if lateness > 0 { purgeQueue.insert(start) }
        }
    }
}

extension TumblingWindowOperator: CheckpointedOperator {}
