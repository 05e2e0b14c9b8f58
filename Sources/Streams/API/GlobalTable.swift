import KafkaClient

/// A table that every task reads whole (Kafka Streams' GlobalKTable, Flink's broadcast
/// state): the latest value of each key of a compacted topic, for lookups by a key the stream
/// is not partitioned by — a merchant's risk, a card or country on a block list — or by
/// customer without co-partitioning the topics.
///
/// Keys are the Kafka record keys as `StreamKey(String)` (their UTF-8 text); a record with no
/// value (a tombstone) deletes its key. The runner reads the whole topic before the job's
/// first record ("bootstrap"), then keeps applying updates while the job runs: a lookup meets
/// the table as it is when the element is processed, not as it was at the element's event time
/// (for that, make the table versioned — `TableVersioning`, lookups as of the element's event
/// time — or use `KeyedStream.join`, which needs co-partitioned topics). The table is not
/// part of checkpoints: after a restart it is read again from its topic, so replayed elements
/// meet today's table, as in Kafka Streams.
public final class GlobalTable<R: Sendable>: Sendable {
    public let name: String
    public let topic: String
    let entries = Locked<[StreamKey: R]>([:])
    /// With versioning: every key's history (`entries` is then unused).
    let versions = Locked<[StreamKey: TableVersions<R>]>([:])
    public let versioning: TableVersioning<R>?
    /// Decodes one record's value; made once per reader (it may keep buffers).
    let makeDecoder: @Sendable () -> (ConsumerRecord) throws(FormatError) -> R

    init(name: String, topic: String, versioning: TableVersioning<R>? = nil,
         makeDecoder: @escaping @Sendable () -> (ConsumerRecord) throws(FormatError) -> R) {
        self.name = name
        self.topic = topic
        self.versioning = versioning
        self.makeDecoder = makeDecoder
    }

    /// The latest value of `key` (of a versioned table: its newest version).
    public func get(_ key: StreamKey) -> R? {
        versioning == nil ? entries.withLock { $0[key] } : versions.withLock { $0[key]?.latest }
    }

    /// The value of `key` valid at event time `t`: of a versioned table, the version in force
    /// then (nil before the first); of a plain table, the latest.
    public func get(_ key: StreamKey, asOf t: Millis) -> R? {
        versioning == nil ? entries.withLock { $0[key] } : versions.withLock { $0[key]?.at(t) }
    }

    /// Keys in the table.
    public var count: Int { versioning == nil ? entries.withLock { $0.count } : versions.withLock { $0.count } }

    /// Versions kept, over all keys (a plain table: its entries).
    public var versionCount: Int {
        versioning == nil ? count : versions.withLock { $0.values.reduce(0) { $0 + $1.from.count } }
    }

    /// Applies decoded updates (nil: delete — of a versioned table, the key's whole history,
    /// a tombstone having no time of its own) under one lock; `from` is a version's start.
    func apply(_ updates: [(key: StreamKey, value: R?, from: Millis)]) {
        guard !updates.isEmpty else { return }
        if let v = versioning {
            versions.withLock { m in
                for u in updates {
                    if let value = u.value {
                        m[u.key, default: TableVersions()].insert(value, from: u.from, history: v.history, maxVersions: v.maxVersions)
                    } else {
                        m.removeValue(forKey: u.key)
                    }
                }
            }
            return
        }
        entries.withLock { m in
            for u in updates {
                if let v = u.value { m[u.key] = v } else { m.removeValue(forKey: u.key) }
            }
        }
    }
}

/// What the runner needs of a table, whatever its value type.
struct GlobalTablePlan: Sendable {
    var name: String
    var topic: String
    /// Turns a chunk into updates and the chunk indexes it could not read, with the reason.
    var makeLoader: @Sendable () -> ([ConsumerRecord]) -> (applied: Int, failures: [(index: Int, reason: String)])
    var count: @Sendable () -> Int
    /// A versioned table's history span (nil: a latest-value table): its topic, if the runner
    /// makes it, keeps records that long instead of compacting them away.
    var history: Millis? = nil
}

extension StreamJob {
    /// A global table over a compacted topic (see `GlobalTable`). `decode` makes one decoder
    /// per reader; a record it cannot read, or one without a key, goes to the job's dead-letter
    /// topic with the reason, and the table keeps its previous value for that key.
    /// With `versioning`, the table keeps each key's versions by their event time and lookups
    /// see the one valid at the element's event time; a record whose value gives no time goes
    /// to the dead-letter topic.
    public func globalTable<R: Sendable>(topic: String, name: String? = nil, versioning: TableVersioning<R>? = nil,
                                         decode: @escaping @Sendable () -> (ConsumerRecord) throws(FormatError) -> R) -> GlobalTable<R> {
        let t = GlobalTable<R>(name: register(name ?? "table-\(topic)"), topic: topic, versioning: versioning, makeDecoder: decode)
        tables.append(GlobalTablePlan(name: t.name, topic: topic, makeLoader: {
            let decode = t.makeDecoder()
            return { chunk in
                var updates: [(key: StreamKey, value: R?, from: Millis)] = []
                updates.reserveCapacity(chunk.count)
                var failures: [(index: Int, reason: String)] = []
                for (i, r) in chunk.enumerated() {
                    guard let k = r.key else {
                        failures.append((i, "table record has no key"))
                        continue
                    }
                    let key = StreamKey(String(decoding: k.readableBytesView, as: UTF8.self))
                    guard r.value != nil else {
                        updates.append((key, nil, 0))
                        continue
                    }
                    do throws(FormatError) {
                        let value = try decode(r)
                        var from: Millis = 0  // a plain table keeps no time
                        if let v = versioning {
                            guard let t = v.validFrom(value) else {
                                failures.append((i, "versioned table record has no version time"))
                                continue
                            }
                            from = t
                        }
                        updates.append((key, value, from))
                    } catch {
                        failures.append((i, error.description))
                    }
                }
                t.apply(updates)
                return (updates.count, failures)
            }
        }, count: { t.count }, history: versioning?.history))
        return t
    }

    /// A global table of JSON values decoded as `R`.
    public func globalTable<R: JSONRecord & Sendable>(topic: String, as type: R.Type, name: String? = nil,
                                                     versioning: TableVersioning<R>? = nil,
                                                     maxValueBytes: Int = 1 << 20) -> GlobalTable<R> {
        globalTable(topic: topic, name: name, versioning: versioning) {
            var decoder = JSONDecoding<R>(maxBytes: maxValueBytes)
            return { (r: ConsumerRecord) throws(FormatError) -> R in
                try r.value!.withUnsafeReadableBytes { (raw) throws(FormatError) -> R in try decoder.decode(raw) }
            }
        }
    }
}

extension DataStream {
    /// Enriches each element from a global table: `key` names the entry (nil: none), `join`
    /// gets the element and the entry or nil when the table has none, and returns the result
    /// (nil drops the element). Stateless for the task; the table is read under a lock shared
    /// with its reader, one lookup per element. A versioned table gives the entry as of the
    /// element's event time.
    public func lookup<R, U>(_ table: GlobalTable<R>, name: String? = nil, key: @escaping @Sendable (T) -> StreamKey?,
                             _ join: @escaping @Sendable (T, R?) -> U?) -> DataStream<U> {
        chain("lookup", name) { _, next in
            { v, ts in
                let entry = key(v).flatMap { table.get($0, asOf: ts) }
                if let u = join(v, entry) { next(u, ts) }
            }
        }
    }
}
