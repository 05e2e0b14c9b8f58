import HeapModule

/// Stream–table join in event time (Flink's temporal join, Kafka Streams' KStream–KTable join
/// with versions): the table side — typically a compacted topic of profiles, co-partitioned
/// with the stream — keeps each key's versions by event time; a stream record waits until the
/// watermark passes it, then meets the version that was current at its event time (or none).
/// Versions no stream record can need any more are dropped (all but the latest one at or
/// behind the watermark).
final class TableJoinOperator<L: StateCodable, R: StateCodable, U> {
    struct Pending {
        var ts: Millis
        var key: StreamKey
        var value: L
        var position: SourcePosition?
    }

    let name: String
    let leftKey: (L) -> StreamKey
    let rightKey: (R) -> StreamKey
    let join: (L, R?) -> U?
    let emit: Emit<U>
    let ctx: TaskContext
    let lateTopic: String?
    /// Per key: versions (event time, value), oldest first.
    var versions: [StreamKey: [(Millis, R)]] = [:]
    var heap = Heap<OverHeapEntry>()
    var slab: [Pending?] = []
    var freeSlots: [Int32] = []
    var seq: UInt64 = 0
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

    var stateKeys: Int { versions.count + heap.count }

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
        seq &+= 1
        let p = Pending(ts: ts, key: leftKey(v), value: v, position: ctx.position)
        let slot: Int32
        if let f = freeSlots.popLast() {
            slot = f
            slab[Int(f)] = p
        } else {
            slot = Int32(slab.count)
            slab.append(p)
        }
        heap.insert(OverHeapEntry(ts: ts, seq: seq, slot: slot))
    }

    func advance(_ w: Millis) {
        while let top = heap.min, top.ts <= w {
            let e = heap.removeMin()
            let p = slab[Int(e.slot)].take()!
            freeSlots.append(e.slot)
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

    func snapshot(into w: inout StateWriter) {
        w.uint(seq)
        w.int(versions.count)
        for (k, vs) in versions {
            w.key(k)
            w.int(vs.count)
            for (t, r) in vs { w.int(t); r.write(to: &w) }
        }
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
        versions = [:]
        heap = Heap()
        slab = []
        freeSlots = []
        seq = try r.uint()
        for _ in 0..<(try r.count()) {
            let k = try r.key()
            var vs: [(Millis, R)] = []
            for _ in 0..<(try r.count()) { vs.append((try r.int(), try R(from: &r))) }
            versions[k] = vs
        }
        for _ in 0..<(try r.count()) {
            let ts = try r.int()
            let sq = try r.uint()
            let k = try r.key()
            let v = try L(from: &r)
            var pos: SourcePosition? = nil
            if try r.bool() {
                pos = SourcePosition(source: Int32(truncatingIfNeeded: try r.int()), partition: Int32(truncatingIfNeeded: try r.int()), offset: try r.int())
            }
            slab.append(Pending(ts: ts, key: k, value: v, position: pos))
            heap.insert(OverHeapEntry(ts: ts, seq: sq, slot: Int32(slab.count - 1)))
        }
    }
}

extension TableJoinOperator: CheckpointedOperator {}
