/// Keyed event-time session windows, for one task: a record opens the window
/// [ts, ts + gap), and a key's windows that touch or overlap merge (Flink's
/// `EventTimeSessionWindows`), so a session ends after `gap` without data for its key.
///
/// A session fires when the watermark reaches its end − 1. Lateness is judged on the session
/// a record merges into, not on the record alone: a record older than the watermark that
/// joins a session still open is on time. With allowed lateness, fired sessions are kept and
/// a late record that extends or bridges them re-fires the merged session as an update
/// (`isUpdate`), which replaces the results of the same key it overlaps; past the lateness,
/// the record goes to the late topic.
final class SessionWindowOperator<T, Acc: WindowAccumulator> {
    struct Session: Sendable {
        var start: Millis
        var end: Millis
        var acc: Acc
        /// This session (at its current end) has been emitted.
        var fired: Bool
        /// A result for some part of it has been emitted: the next one is an update.
        var emitted: Bool
    }

    let name: String
    let gap: Millis
    let lateness: Millis
    let keyOf: (T) -> StreamKey
    let add: (inout Acc, T) -> Void
    let emit: Emit<WindowResult<Acc>>
    let ctx: TaskContext
    let lateTopic: String?

    /// Per key, its sessions sorted by start, disjoint and not touching.
    var keys: [StreamKey: [Session]] = [:]
    /// Session end → keys with a session ending there (entries go stale when sessions merge;
    /// firing checks).
    var pending = KeyTimeQueue()
    var purges = KeyTimeQueue()

    init(name: String, gap: Millis, lateness: Millis, lateTopic: String?, ctx: TaskContext,
         keyOf: @escaping (T) -> StreamKey, add: @escaping (inout Acc, T) -> Void, emit: @escaping Emit<WindowResult<Acc>>) {
        self.name = name
        self.gap = gap
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
        let k = keyOf(v)
        let lo = ts, hi = ts &+ gap
        var late = false
        var fireNow: Session? = nil
        var fireIsUpdate = false
        var scheduleEnd: Millis? = nil
        withKey(k) { ss in
            // Sessions [first, last) touch the record's window; most records extend the newest.
            var last = ss.count
            while last > 0 && ss[last - 1].start > hi { last -= 1 }
            var first = last
            while first > 0 && ss[first - 1].end >= lo { first -= 1 }
            var merged: Session
            if first == last {
                if w != .min && hi &- 1 &+ lateness <= w { late = true; return }
                merged = Session(start: lo, end: hi, acc: Acc(), fired: false, emitted: false)
            } else {
                merged = ss[first]
                merged.start = min(merged.start, lo)
                for i in (first + 1)..<last {
                    merged.acc.merge(ss[i].acc)
                    merged.end = max(merged.end, ss[i].end)
                    merged.emitted = merged.emitted || ss[i].emitted
                }
                merged.end = max(merged.end, hi)
                merged.emitted = merged.emitted || merged.fired
            }
            add(&merged.acc, v)
            // A new end needs its firing queued; a session that only gained a record inside its
            // end already has one.
            let needsFiring = first == last || last - first > 1 || merged.end != ss[first].end || ss[first].fired
            if w != .min && merged.end &- 1 <= w {
                // Late within the allowed lateness: its end has passed, emit it now.
                fireIsUpdate = merged.emitted
                merged.fired = true
                merged.emitted = true
                fireNow = merged
            } else {
                merged.fired = false
                if needsFiring { scheduleEnd = merged.end }
            }
            if first == last {
                ss.insert(merged, at: first)
            } else {
                ss[first] = merged
                if last - first > 1 { ss.removeSubrange((first + 1)..<last) }
            }
        }
        if late {
            ctx.late(operator: name, reason: "event time \(ts) is behind the watermark \(w) by more than the allowed lateness (\(lateness) ms) and joins no open session", topic: lateTopic)
            if keys[k]?.isEmpty == true { keys.removeValue(forKey: k) }
            return
        }
        if let s = fireNow {
            emit(WindowResult(key: k, start: s.start, end: s.end, value: s.acc, isUpdate: fireIsUpdate), s.end - 1)
        }
        if let e = scheduleEnd {
            pending.add(k, at: e)
            if lateness > 0 { purges.add(k, at: e &- 1 &+ lateness) }
        } else if fireNow != nil, lateness > 0, let s = fireNow {
            purges.add(k, at: s.end &- 1 &+ lateness)
        }
    }

    @inline(__always) func withKey(_ k: StreamKey, _ body: (inout [Session]) -> Void) {
        body(&keys[k, default: []])
    }

    func advance(_ w: Millis) {
        while let (e, ks) = pending.popDue({ $0 &- 1 <= w }) {
            for k in ks { fire(k, end: e) }
        }
        while let (_, ks) = purges.popDue({ $0 <= w }) {
            for k in ks { purge(k, watermark: w) }
        }
    }

    func fire(_ k: StreamKey, end e: Millis) {
        guard let idx = keys.index(forKey: k) else { return }
        guard let i = keys.values[idx].firstIndex(where: { $0.end == e && !$0.fired }) else { return }
        let s = keys.values[idx][i]
        emit(WindowResult(key: k, start: s.start, end: s.end, value: s.acc, isUpdate: s.emitted), s.end - 1)
        if lateness == 0 {
            keys.values[idx].remove(at: i)
            if keys.values[idx].isEmpty { keys.remove(at: idx) }
        } else {
            keys.values[idx][i].fired = true
            keys.values[idx][i].emitted = true
        }
    }

    func purge(_ k: StreamKey, watermark w: Millis) {
        guard let idx = keys.index(forKey: k) else { return }
        keys.values[idx].removeAll { $0.fired && $0.end &- 1 &+ lateness <= w }
        if keys.values[idx].isEmpty { keys.remove(at: idx) }
    }

    /// What the caller says about the state's shape beyond its types (a job file's row schema
    /// and aggregate calls): a change of it is a change of state kind, refused at restore.
    var stateSchema: String? = nil
    var stateKind: String { "session window (gap \(gap) ms) of \(Acc.self)" + (stateSchema.map { " [\($0)]" } ?? "") }

    func freeze() -> FrozenState {
        let keys = keys
        return { w in Self.write(keys, into: &w) }
    }

    static func write(_ keys: [StreamKey: [Session]], into w: inout StateWriter) {
        w.int(keys.count)
        for (k, ss) in keys {
            w.key(k)
            w.int(ss.count)
            for s in ss {
                w.int(s.start)
                w.int(s.end)
                w.bool(s.fired)
                w.bool(s.emitted)
                s.acc.write(to: &w)
            }
        }
    }

    /// Rebuilds the firing and purge queues from the sessions.
    func restore(from r: inout StateReader) throws(StateError) {
        keys = [:]
        pending = KeyTimeQueue()
        purges = KeyTimeQueue()
        let n = try r.count()
        keys.reserveCapacity(n)
        for _ in 0..<n {
            let k = try r.key()
            let m = try r.count()
            var ss: [Session] = []
            ss.reserveCapacity(m)
            for _ in 0..<m {
                let start = try r.int(), end = try r.int()
                guard end > start, ss.last.map({ $0.end < start }) ?? true else {
                    throw StateError("session windows of a key overlap or are out of order")
                }
                let fired = try r.bool(), emitted = try r.bool()
                ss.append(Session(start: start, end: end, acc: try Acc(from: &r), fired: fired, emitted: emitted))
                if !fired { pending.add(k, at: end) }
                if lateness > 0 { purges.add(k, at: end &- 1 &+ lateness) }
            }
            if !ss.isEmpty { keys[k] = ss }
        }
    }
}

extension SessionWindowOperator: CheckpointedOperator {}
