/// Interval join of two keyed streams in event time (Flink's `intervalJoin`): a left record at
/// `t` meets every right record of its key whose event time is in [t + lower, t + upper], and
/// each such pair comes out once, when its second record arrives, with the later of the two
/// times. Rows are kept only while a future record can still match them: a left one until the
/// watermark reaches t + upper, a right one until it reaches t − lower. A record at or behind
/// the watermark goes to the late topic (its partners may be gone).
final class IntervalJoinOperator<L: StateCodable, R: StateCodable, U> {
    struct Rows<V: Sendable>: Sendable {
        var ts: [Millis] = []
        var values: [V] = []

        /// Inserts keeping event-time order (records arrive nearly in order: search from the end).
        mutating func insert(_ v: V, at t: Millis) {
            var i = ts.count
            while i > 0 && ts[i - 1] > t { i -= 1 }
            ts.insert(t, at: i)
            values.insert(v, at: i)
        }

        /// The first index with event time ≥ t.
        func lowerBound(_ t: Millis) -> Int {
            var lo = 0, hi = ts.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if ts[mid] < t { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }

        /// Drops the rows whose event time is ≤ t.
        mutating func drop(through t: Millis) {
            let n = t == .max ? ts.count : lowerBound(t + 1)
            if n > 0 {
                ts.removeFirst(n)
                values.removeFirst(n)
            }
        }
    }

    struct Sides: Sendable {
        var left = Rows<L>()
        var right = Rows<R>()
        var isEmpty: Bool { left.ts.isEmpty && right.ts.isEmpty }
    }

    let name: String
    let lower: Millis
    let upper: Millis
    let leftKey: (L) -> StreamKey
    let rightKey: (R) -> StreamKey
    let join: (L, R) -> U?
    let emit: Emit<U>
    let ctx: TaskContext
    let lateTopic: String?

    var keys: [StreamKey: Sides] = [:]
    /// Time → keys that may have rows to drop then.
    var purges = KeyTimeQueue()

    init(name: String, lower: Millis, upper: Millis, lateTopic: String?, ctx: TaskContext,
         leftKey: @escaping (L) -> StreamKey, rightKey: @escaping (R) -> StreamKey,
         join: @escaping (L, R) -> U?, emit: @escaping Emit<U>) {
        self.name = name
        self.lower = lower
        self.upper = upper
        self.lateTopic = lateTopic
        self.ctx = ctx
        self.leftKey = leftKey
        self.rightKey = rightKey
        self.join = join
        self.emit = emit
    }

    var stateKeys: Int { keys.count }

    @inline(__always) func isLate(_ ts: Millis, _ w: Millis) -> Bool {
        if w != .min && ts <= w {
            ctx.late(operator: name, reason: "event time \(ts) is at or behind the watermark \(w): rows it would join may be gone", topic: lateTopic)
            return true
        }
        return false
    }

    func processLeft(_ v: L, _ ts: Millis) {
        let w = ctx.watermark
        if isLate(ts, w) { return }
        let k = leftKey(v)
        let keep = ts &+ upper > w || w == .min
        var matches: [(R, Millis)] = []
        withKey(k) { s in
            let r = s.right
            var i = r.lowerBound(ts &+ lower)
            while i < r.ts.count && r.ts[i] <= ts &+ upper {
                matches.append((r.values[i], r.ts[i]))
                i += 1
            }
            if keep { s.left.insert(v, at: ts) }
        }
        if keys[k]?.isEmpty == true { keys.removeValue(forKey: k) }
        if keep { schedulePurge(k, at: ts &+ upper) }
        for (r, rt) in matches {
            if let u = join(v, r) { emit(u, max(ts, rt)) }
        }
    }

    func processRight(_ v: R, _ ts: Millis) {
        let w = ctx.watermark
        if isLate(ts, w) { return }
        let k = rightKey(v)
        let keep = ts &- lower > w || w == .min
        var matches: [(L, Millis)] = []
        withKey(k) { s in
            let l = s.left
            // Left rows with t + lower ≤ ts ≤ t + upper: t in [ts − upper, ts − lower].
            var i = l.lowerBound(ts &- upper)
            while i < l.ts.count && l.ts[i] <= ts &- lower {
                matches.append((l.values[i], l.ts[i]))
                i += 1
            }
            if keep { s.right.insert(v, at: ts) }
        }
        if keys[k]?.isEmpty == true { keys.removeValue(forKey: k) }
        if keep { schedulePurge(k, at: ts &- lower) }
        for (l, lt) in matches {
            if let u = join(l, v) { emit(u, max(ts, lt)) }
        }
    }

    @inline(__always) func withKey(_ k: StreamKey, _ body: (inout Sides) -> Void) {
        body(&keys[k, default: Sides()])
    }

    func schedulePurge(_ k: StreamKey, at t: Millis) { purges.add(k, at: t) }

    func advance(_ w: Millis) {
        while let (_, ks) = purges.popDue({ $0 <= w }) {
            for k in ks { purge(k, watermark: w) }
        }
    }

    func purge(_ k: StreamKey, watermark w: Millis) {
        guard let idx = keys.index(forKey: k) else { return }
        // Saturating: at the end of input (w = .max) everything goes.
        let (l, lo) = w.subtractingReportingOverflow(upper), (r, ro) = w.addingReportingOverflow(lower)
        keys.values[idx].left.drop(through: lo ? (upper < 0 ? .max : .min) : l)
        keys.values[idx].right.drop(through: ro ? (lower > 0 ? .max : .min) : r)
        if keys.values[idx].isEmpty { keys.remove(at: idx) }
    }

    var stateKind: String { "interval join \(L.self) with \(R.self) [\(lower), \(upper)] ms" }

    func freeze() -> FrozenState {
        let keys = keys
        return { w in Self.write(keys, into: &w) }
    }

    static func write(_ keys: [StreamKey: Sides], into w: inout StateWriter) {
        w.int(keys.count)
        for (k, s) in keys {
            w.key(k)
            w.int(s.left.ts.count)
            for i in s.left.ts.indices { w.int(s.left.ts[i]); s.left.values[i].write(to: &w) }
            w.int(s.right.ts.count)
            for i in s.right.ts.indices { w.int(s.right.ts[i]); s.right.values[i].write(to: &w) }
        }
    }

    /// Rebuilds the purge queue from the rows kept.
    func restore(from r: inout StateReader) throws(StateError) {
        keys = [:]
        purges = KeyTimeQueue()
        let n = try r.count()
        keys.reserveCapacity(n)
        for _ in 0..<n {
            let k = try r.key()
            var s = Sides()
            for _ in 0..<(try r.count()) {
                let t = try r.int()
                s.left.insert(try L(from: &r), at: t)
                schedulePurge(k, at: t &+ upper)
            }
            for _ in 0..<(try r.count()) {
                let t = try r.int()
                s.right.insert(try R(from: &r), at: t)
                schedulePurge(k, at: t &- lower)
            }
            if !s.isEmpty { keys[k] = s }
        }
    }
}

extension IntervalJoinOperator: CheckpointedOperator {}
