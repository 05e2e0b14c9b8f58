/// A stream of `T` in a job being defined. Operators return new streams; nothing runs until
/// the job is given to a `StreamJobRunner`. Closures run on the job's worker tasks, hence
/// `@Sendable`; they are called for one element at a time, per task.
public struct DataStream<T> {
    let job: StreamJob
    let node: Node<T>

    /// The job (or, after a repartition, the stage of it) the stream belongs to.
    public var owner: StreamJob { job }

    func chain<U>(_ kind: String, _ name: String?, _ make: @escaping @Sendable (TaskBuilder, @escaping Emit<U>) -> Emit<T>) -> DataStream<U> {
        let n = Node<U>(name: job.register(name ?? job.autoName(kind)))
        let opName = n.name
        node.outputs.append { b in
            // Records in and out of the operator, for its metrics (plain integers here).
            let counters = b.counters
            let i = counters.register(opName)
            let next = n.instantiate(b)
            let stage = make(b) { u, ts in
                counters.outCounts[i] &+= 1
                next(u, ts)
            }
            return { v, ts in
                counters.inCounts[i] &+= 1
                stage(v, ts)
            }
        }
        return DataStream<U>(job: job, node: n)
    }

    public func map<U>(name: String? = nil, _ f: @escaping @Sendable (T) -> U) -> DataStream<U> {
        chain("map", name) { _, next in { v, ts in next(f(v), ts) } }
    }

    public func filter(name: String? = nil, _ p: @escaping @Sendable (T) -> Bool) -> DataStream<T> {
        chain("filter", name) { _, next in { v, ts in if p(v) { next(v, ts) } } }
    }

    /// Zero or more outputs per element (`nil` results are dropped by `compactMap`).
    public func flatMap<U>(name: String? = nil, _ f: @escaping @Sendable (T) -> [U]) -> DataStream<U> {
        chain("flatMap", name) { _, next in { v, ts in for u in f(v) { next(u, ts) } } }
    }

    public func compactMap<U>(name: String? = nil, _ f: @escaping @Sendable (T) -> U?) -> DataStream<U> {
        chain("compactMap", name) { _, next in { v, ts in if let u = f(v) { next(u, ts) } } }
    }

    /// A map that may fail for one element: a thrown error sends the source record to the
    /// dead-letter topic with the error as the reason, and the job goes on.
    public func tryMap<U>(name: String? = nil, _ f: @escaping @Sendable (T) throws -> U) -> DataStream<U> {
        let opName = name ?? job.autoName("tryMap")
        return chain("tryMap", opName) { b, next in
            let ctx = b.ctx
            return { v, ts in
                do { next(try f(v), ts) } catch { ctx.deadLetter(operator: opName, reason: "\(error)") }
            }
        }
    }

    /// `tryMap` that may also drop the element (nil): filters and projections whose
    /// expressions can fail (a division by zero, a bad CAST) send that record to the
    /// dead-letter topic and keep going.
    public func tryCompactMap<U>(name: String? = nil, _ f: @escaping @Sendable (T) throws -> U?) -> DataStream<U> {
        let opName = name ?? job.autoName("tryCompactMap")
        return chain("tryCompactMap", opName) { b, next in
            let ctx = b.ctx
            return { v, ts in
                do { if let u = try f(v) { next(u, ts) } } catch { ctx.deadLetter(operator: opName, reason: "\(error)") }
            }
        }
    }

    /// `tryCompactMap` whose transform also reads the element's event time (a lookup as of it).
    public func tryCompactMap<U>(name: String? = nil, timed f: @escaping @Sendable (T, Millis) throws -> U?) -> DataStream<U> {
        let opName = name ?? job.autoName("tryCompactMap")
        return chain("tryCompactMap", opName) { b, next in
            let ctx = b.ctx
            return { v, ts in
                do { if let u = try f(v, ts) { next(u, ts) } } catch { ctx.deadLetter(operator: opName, reason: "\(error)") }
            }
        }
    }

    /// `tryCompactMap` whose transform is made once per task (`make` runs when the task is
    /// built), so it may keep scratch buffers between elements without sharing them.
    public func tryCompactMap<U>(name: String? = nil, perTask make: @escaping @Sendable () -> (T) throws -> U?) -> DataStream<U> {
        let opName = name ?? job.autoName("tryCompactMap")
        return chain("tryCompactMap", opName) { b, next in
            let ctx = b.ctx
            let f = make()
            return { v, ts in
                do { if let u = try f(v) { next(u, ts) } } catch { ctx.deadLetter(operator: opName, reason: "\(error)") }
            }
        }
    }

    /// Both streams' elements in one stream (the sources must be co-partitioned: partition i of
    /// each feeds task i).
    public func union(_ other: DataStream<T>, name: String? = nil) -> DataStream<T> {
        if other.job !== job { job.problems.append("union: the streams are in different stages of the job (one is after a repartition)") }
        let n = Node<T>(name: job.register(name ?? job.autoName("union")))
        node.outputs.append { b in n.instantiate(b) }
        other.node.outputs.append { b in n.instantiate(b) }
        return DataStream(job: job, node: n)
    }

    /// Keys the stream. The key must be the one the source topic is partitioned by (as
    /// producers key transactions by customer): every record of a key is then in one
    /// partition, so one task sees all of it and no shuffle is needed.
    public func keyBy(_ key: @escaping @Sendable (T) -> StreamKey) -> KeyedStream<T> {
        KeyedStream(stream: self, key: key)
    }

    /// Writes each element to a topic: `key` gives the Kafka key (nil: none), `encode` the JSON
    /// value. Records carry a `riverbank.source` header (topic/partition/offset) when they come
    /// from one source record.
    public func sink(topic: String, name: String? = nil, key: @escaping @Sendable (T) -> [UInt8]?,
                     encode: @escaping @Sendable (T, inout JSONWriter) -> Void) {
        job.sinkTopics.insert(topic)
        let n = job.register(name ?? "sink-\(topic)")
        _ = n
        node.outputs.append { b in
            let ctx = b.ctx
            var w = JSONWriter()
            return { v, ts in
                w.begin()
                encode(v, &w)
                w.end()
                ctx.emitRecord(topic: topic, key: key(v), value: w.bytes, timestamp: ts)
            }
        }
    }
}

extension DataStream {
    /// `sink` for records whose key or value can fail to compute (a job file's expressions):
    /// a thrown error sends the element's source record to the dead-letter topic instead.
    /// `make` runs once per task and returns the encoder (which may keep scratch state);
    /// it writes the value into the writer and returns the key.
    /// `timestamp` gives the record's timestamp (nil: the element's event time, as Flink's
    /// Kafka sink writes it).
    public func trySink(topic: String, name: String, timestamp: (@Sendable (T) throws -> Millis?)? = nil,
                        perTask make: @escaping @Sendable () -> (T, inout JSONWriter) throws -> [UInt8]?) {
        job.sinkTopics.insert(topic)
        let n = job.register(name)
        node.outputs.append { b in
            let ctx = b.ctx
            let encode = make()
            var w = JSONWriter()
            return { v, ts in
                w.begin()
                do {
                    let key = try encode(v, &w)
                    w.end()
                    let t = try timestamp?(v) ?? ts
                    ctx.emitRecord(topic: topic, key: key, value: w.bytes, timestamp: t)
                } catch {
                    ctx.deadLetter(operator: n, reason: "\(error)")
                }
            }
        }
    }
}

extension DataStream {
    /// `trySink` for any format: `make` (once per task) returns the record's key and value
    /// bytes; an error sends the source record to the dead-letter topic with the reason.
    public func trySinkRecords(topic: String, name: String, timestamp: (@Sendable (T) throws -> Millis?)? = nil,
                               perTask make: @escaping @Sendable () -> (T) throws -> (key: [UInt8]?, value: [UInt8])) {
        job.sinkTopics.insert(topic)
        let n = job.register(name)
        node.outputs.append { b in
            let ctx = b.ctx
            let encode = make()
            return { v, ts in
                do {
                    let (key, value) = try encode(v)
                    let t = try timestamp?(v) ?? ts
                    ctx.emitRecord(topic: topic, key: key, value: value, timestamp: t)
                } catch {
                    ctx.deadLetter(operator: n, reason: "\(error)")
                }
            }
        }
    }
}

/// A stream keyed by `StreamKey`: windows, OVER aggregates and keyed state are per key.
public struct KeyedStream<T> {
    let stream: DataStream<T>
    let key: @Sendable (T) -> StreamKey

    /// Event-time windows per key, aggregated into `Acc` (for example `Stats`: count, sum,
    /// min, max, avg): tumbling, hopping, cumulate or session. Results come when the watermark
    /// passes a window's end (a session's: its last record + gap); records up to
    /// `allowedLateness` behind re-fire their windows as updates, later ones go to the late
    /// topic (the operator's, or the job's).
    public func window<Acc: WindowAccumulator>(_ spec: WindowSpec, allowedLateness: Duration = .zero, name: String? = nil,
                                               lateTopic: String? = nil, stateSchema: String? = nil,
                                               add: @escaping @Sendable (inout Acc, T) -> Void) -> DataStream<WindowResult<Acc>> {
        let job = stream.job
        do { try spec.validate() } catch { job.problems.append(error.description) }
        let opName = name ?? job.autoName("window")
        let key = self.key
        let lateness = allowedLateness.millis
        return stream.chain("window", opName) { b, next in
            if case .tumbling(let size) = spec {
                let op = TumblingWindowOperator<T, Acc>(name: opName, size: size, lateness: lateness, lateTopic: lateTopic, ctx: b.ctx,
                                                        keyOf: key, add: add, emit: next)
                op.stateSchema = stateSchema
                b.ctx.onWatermark(op.advance)
                b.stateProbes.append { op.stateKeys }
                b.stateful.append(StatefulOperator(op))
                return op.process
            }
            if case .session(let gap) = spec {
                let op = SessionWindowOperator<T, Acc>(name: opName, gap: gap, lateness: lateness, lateTopic: lateTopic, ctx: b.ctx,
                                                       keyOf: key, add: add, emit: next)
                op.stateSchema = stateSchema
                b.ctx.onWatermark(op.advance)
                b.stateProbes.append { op.stateKeys }
                b.stateful.append(StatefulOperator(op))
                return op.process
            }
            let op = SlicedWindowOperator<T, Acc>(name: opName, spec: spec, lateness: lateness, lateTopic: lateTopic, ctx: b.ctx,
                                                  keyOf: key, add: add, emit: next)
            op.stateSchema = stateSchema
            b.ctx.onWatermark(op.advance)
            b.stateProbes.append { op.stateKeys }
            b.stateful.append(StatefulOperator(op))
            return op.process
        }
    }

    /// Per-event aggregates over the key's history in event-time order (Flink's OVER windows),
    /// or in arrival order (`order: .arrival`, no wait for the watermark): up to four measures, each with its frame; every row comes out with their values and the
    /// key's previous row.
    /// `T` must be `StateCodable`: rows waiting for the watermark and each key's previous
    /// row are part of the checkpointed state.
    /// `retainPrevious` keeps only part of each row as the key's previous row (what LAG will
    /// read; nil from it: nothing), which shrinks the state every checkpoint writes.
    public func over(_ measures: [OverMeasure<T>], name: String? = nil, order: OverOrder = .eventTime, lateTopic: String? = nil,
                     stateSchema: String? = nil, retainPrevious: (@Sendable (T) -> T?)? = nil) -> DataStream<OverRow<T>> where T: Sendable & StateCodable {
        let job = stream.job
        if measures.isEmpty || measures.count > OverValues.capacity {
            job.problems.append("an OVER operator takes 1 to \(OverValues.capacity) measures, not \(measures.count)")
        }
        for m in measures {
            if case .rows(let n) = m.frame, n < 0 { job.problems.append("ROWS \(n) PRECEDING must not be negative") }
            if case .range(let d) = m.frame, d < 0 { job.problems.append("RANGE interval must not be negative") }
        }
        let opName = name ?? job.autoName("over")
        let key = self.key
        return stream.chain("over", opName) { b, next in
            let op = OverOperator<T>(name: opName, measures: measures, order: order, lateTopic: lateTopic, ctx: b.ctx, keyOf: key, emit: next)
            op.stateSchema = stateSchema
            op.retainPrevious = retainPrevious
            b.ctx.onWatermark(op.advance)
            b.stateProbes.append { op.stateKeys + op.buffered }
            b.stateful.append(StatefulOperator(op))
            return op.process
        }
    }

    /// A keyed process function: per-key state `S` (a struct of values, arrays and
    /// dictionaries; nil until set), event-time and processing-time timers, and an optional
    /// state TTL in event time. `onElement` gets each element, `onTimer` each timer; both
    /// emit through the context. State and timers are checkpointed under the operator's name.
    public func process<S: StateCodable, U>(name: String, state: S.Type, ttl: Duration? = nil,
                                            onElement: @escaping @Sendable (T, inout ProcessContext<S, U>) -> Void,
                                            onTimer: (@Sendable (Millis, TimeDomain, inout ProcessContext<S, U>) -> Void)? = nil) -> DataStream<U> {
        let key = self.key
        let ttlMillis = ttl?.millis
        return stream.chain("process", name) { b, next in
            let op = KeyedProcessOperator<T, S, U>(name: name, ttl: ttlMillis, ctx: b.ctx, keyOf: key,
                                                   onElement: onElement, onTimer: onTimer, emit: next)
            b.ctx.onWatermark(op.advance)
            b.ctx.onProcessingTime(op.advanceProcessingTime)
            b.stateProbes.append { op.stateKeys }
            b.stateful.append(StatefulOperator(op))
            return op.process
        }
    }

    /// Joins each element with the version of a table row that was current at its event time
    /// (the table: `keyBy` of a source over a compacted topic, co-partitioned with this one).
    /// Elements wait for the watermark, so a table update that is late in arriving but early in
    /// event time is still seen; give the table source an idle timeout, or a quiet table holds
    /// time back. `join` returns nil to drop an element (an inner join: `{ l, r in r.map { … } }`).
    public func join<R: StateCodable, U>(_ table: KeyedStream<R>, name: String, lateTopic: String? = nil,
                                         _ join: @escaping @Sendable (T, R?) -> U?) -> DataStream<U> where T: StateCodable {
        let job = stream.job
        let n = Node<U>(name: job.register(name))
        let leftKey = self.key
        let rightKey = table.key
        let token = MemoToken()
        let make: @Sendable (TaskBuilder) -> TableJoinOperator<T, R, U> = { b in
            // One operator per task, fed by both inputs.
            let id = ObjectIdentifier(token)
            if let op = b.memo[id] as? TableJoinOperator<T, R, U> { return op }
            let op = TableJoinOperator<T, R, U>(name: name, lateTopic: lateTopic, ctx: b.ctx, leftKey: leftKey, rightKey: rightKey,
                                                join: join, emit: n.instantiate(b))
            b.memo[id] = op
            b.ctx.onWatermark(op.advance)
            b.stateProbes.append { op.stateKeys }
            b.stateful.append(StatefulOperator(op))
            return op
        }
        stream.node.outputs.append { b in make(b).processLeft }
        table.stream.node.outputs.append { b in make(b).update }
        return DataStream(job: job, node: n)
    }

    /// Joins two keyed streams by event time (Flink's interval join): each element meets every
    /// element of `other` with its key whose event time lies in [t + lower, t + upper]; `join`
    /// gets each pair once (nil drops it) and the result carries the later of the two times.
    /// Both inputs must be co-partitioned; elements at or behind the watermark go to the late
    /// topic. Both element types are `StateCodable`: rows waiting for partners are checkpointed.
    public func intervalJoin<R: StateCodable, U>(_ other: KeyedStream<R>, between lower: Duration, and upper: Duration, name: String,
                                                 lateTopic: String? = nil,
                                                 _ join: @escaping @Sendable (T, R) -> U?) -> DataStream<U> where T: StateCodable {
        let job = stream.job
        let n = Node<U>(name: job.register(name))
        let (lo, hi) = (lower.millis, upper.millis)
        if lo > hi { job.problems.append("interval join \(name): lower bound \(lo) ms is above the upper bound \(hi) ms") }
        let leftKey = self.key
        let rightKey = other.key
        let token = MemoToken()
        let make: @Sendable (TaskBuilder) -> IntervalJoinOperator<T, R, U> = { b in
            // One operator per task, fed by both inputs.
            let id = ObjectIdentifier(token)
            if let op = b.memo[id] as? IntervalJoinOperator<T, R, U> { return op }
            let op = IntervalJoinOperator<T, R, U>(name: name, lower: lo, upper: hi, lateTopic: lateTopic, ctx: b.ctx,
                                                   leftKey: leftKey, rightKey: rightKey, join: join, emit: n.instantiate(b))
            b.memo[id] = op
            b.ctx.onWatermark(op.advance)
            b.stateProbes.append { op.stateKeys }
            b.stateful.append(StatefulOperator(op))
            return op
        }
        stream.node.outputs.append { b in make(b).processLeft }
        other.stream.node.outputs.append { b in make(b).processRight }
        return DataStream(job: job, node: n)
    }
}

