/// Stream–table join in event time (Flink's temporal join, Kafka Streams' KStream–KTable join
/// with versions): the table side — typically a compacted topic of profiles, co-partitioned
/// with the stream — keeps each key's versions by event time; a stream record waits until the
/// watermark passes it, then meets the version that was current at its event time (or none).
/// Versions no stream record can need any more are dropped (all but the latest one at or
/// behind the watermark).
final class TableJoinOperator<L: StateCodable, R: StateCodable, U> {
    typealias Pending = PendingRows<L>.Row

    let name: String
    let leftKey: (L) -> StreamKey
    let rightKey: (R) -> StreamKey
    let join: (L, R?) -> U?
    let emit: Emit<U>
    let ctx: TaskContext
    let lateTopic: String?
    /// Per key: versions (event time, value), oldest first.
    var versions: [StreamKey: [(Millis, R)]] = [:]
    var pending = PendingRows<L>()
    var prunedAt: Millis = .min

    init(name: String, lateTopic: String?, ctx: TaskContext, leftKey: @escaping (L) -> StreamKey, rightKey: @escaping (R) -> StreamKey,
         join: @escaping (L, R?) -> U?, emit: @escaping Emit<U>) {
        self.name = name
        self.lateTopic = lateTopic
        self.ctx = ctx
        self.leftKey = leftKey
        self.rightKey = rightKey
        self.join = join
        self.emit = emit
    }

    var stateKeys: Int { versions.count + pending.count }

    /// A table update: a new version of its key, valid from its event time.
    func update(_ r: R, _ ts: Millis) {
        let k = rightKey(r)
        var vs = versions.removeValue(forKey: k) ?? []
        var i = vs.count
        while i > 0 && vs[i - 1].0 > ts { i -= 1 }
        if i > 0 && vs[i - 1].0 == ts { vs[i - 1].1 = r } else { vs.insert((ts, r), at: i) }
        versions[k] = vs
    }

    func processLeft(_ v: L, _ ts: Millis) {
        let w = ctx.watermark
        if w != .min && ts <= w {
            ctx.late(operator: name, reason: "event time \(ts) is at or behind the watermark \(w): the table may have changed since", topic: lateTopic)
            return
        }
        pending.insert(Pending(ts: ts, key: leftKey(v), value: v, position: ctx.position))
    }

    func advance(_ w: Millis) {
        while let t = pending.minTime, t <= w {
            let p = pending.popMin()
            var match: R? = nil
            if let vs = versions[p.key] {
                var i = vs.count
                while i > 0 && vs[i - 1].0 > p.ts { i -= 1 }
                if i > 0 { match = vs[i - 1].1 }
            }
            if let u = join(p.value, match) {
                ctx.position = p.position
                emit(u, p.ts)
            }
        }
        // Versions older than the latest one at or behind the watermark serve no one.
        if w != .max && w > prunedAt {
            prunedAt = w
            for (k, vs) in versions where vs.count > 1 {
                var keepFrom = 0
                for (i, v) in vs.enumerated() where v.0 <= w { keepFrom = i }
                if keepFrom > 0 { versions[k] = Array(vs[keepFrom...]) }
            }
        }
    }

    var stateKind: String { "table join \(L.self) with \(R.self)" }

    func freeze() -> FrozenState {
        let (versions, pending) = (versions, pending)
        return { w in Self.write(versions, pending, into: &w) }
    }

    static func write(_ versions: [StreamKey: [(Millis, R)]], _ pending: PendingRows<L>, into w: inout StateWriter) {
        w.uint(pending.seq)
        w.int(versions.count)
        for (k, vs) in versions {
            w.key(k)
            w.int(vs.count)
            for (t, r) in vs { w.int(t); r.write(to: &w) }
        }
        pending.write(to: &w)
    }

    func restore(from r: inout StateReader) throws(StateError) {
        versions = [:]
        pending = PendingRows()
        pending.seq = try r.uint()
        for _ in 0..<(try r.count()) {
            let k = try r.key()
            var vs: [(Millis, R)] = []
            for _ in 0..<(try r.count()) { vs.append((try r.int(), try R(from: &r))) }
            versions[k] = vs
        }
        try pending.read(from: &r)
    }
}

extension TableJoinOperator: CheckpointedOperator {}
