import HeapModule

/// Which clock a timer follows.
public enum TimeDomain: UInt8, Sendable {
    /// Fires when the watermark passes the time (deterministic on replay).
    case eventTime
    /// Fires when the wall clock passes the time.
    case processingTime
}

/// What a process function sees for one key: its state, time, timers, and the output.
public struct ProcessContext<State, Output> {
    public let key: StreamKey
    /// The element's event time (onElement) or the timer's time (onTimer).
    public let timestamp: Millis
    public let watermark: Millis
    /// The key's state; set it to nil to clear it.
    public var state: State?
    var out: [(Output, Millis)] = []
    var timers: [(Millis, TimeDomain, Bool)] = []  // time, domain, delete

    /// Emits an element (with the current timestamp unless given).
    public mutating func emit(_ v: Output, at time: Millis? = nil) { out.append((v, time ?? timestamp)) }
    public mutating func registerTimer(_ time: Millis, _ domain: TimeDomain = .eventTime) { timers.append((time, domain, false)) }
    public mutating func deleteTimer(_ time: Millis, _ domain: TimeDomain = .eventTime) { timers.append((time, domain, true)) }
}

/// A keyed process operator for what the built-ins cannot express: per-key state of any
/// `StateCodable` type (values, lists as arrays, maps as dictionaries), event-time and
/// processing-time timers, and a state TTL in event time (a key whose state was not written
/// for `ttl` of event time is cleared). State and timers are checkpointed.
final class KeyedProcessOperator<T, S: StateCodable, U> {
    struct Timer: Comparable, Sendable {
        var time: Millis
        var seq: UInt64
        var domain: UInt8
        var key: StreamKey
        static func < (a: Timer, b: Timer) -> Bool { a.time != b.time ? a.time < b.time : a.seq < b.seq }
        static func == (a: Timer, b: Timer) -> Bool { a.time == b.time && a.seq == b.seq }
    }

    struct Entry: Sendable {
        var state: S
        var written: Millis
    }

    let name: String
    let keyOf: (T) -> StreamKey
    let onElement: (T, inout ProcessContext<S, U>) -> Void
    let onTimer: ((Millis, TimeDomain, inout ProcessContext<S, U>) -> Void)?
    let ttl: Millis?
    let emit: Emit<U>
    let ctx: TaskContext
    var states: [StreamKey: Entry] = [:]
    var eventTimers = Heap<Timer>()
    var processingTimers = Heap<Timer>()
    /// Live timers (key, domain, time): registering twice fires once; deleted ones are skipped.
    var live: Set<TimerID> = []
    var seq: UInt64 = 0
    var ttlQueue = Heap<Timer>()

    struct TimerID: Hashable, Sendable {
        var key: StreamKey
        var time: Millis
        var domain: UInt8
    }

    init(name: String, ttl: Millis?, ctx: TaskContext, keyOf: @escaping (T) -> StreamKey,
         onElement: @escaping (T, inout ProcessContext<S, U>) -> Void,
         onTimer: ((Millis, TimeDomain, inout ProcessContext<S, U>) -> Void)?, emit: @escaping Emit<U>) {
        self.name = name
        self.ttl = ttl
        self.ctx = ctx
        self.keyOf = keyOf
        self.onElement = onElement
        self.onTimer = onTimer
        self.emit = emit
    }

    var stateKeys: Int { states.count }

    func process(_ v: T, _ ts: Millis) {
        let k = keyOf(v)
        // Moved out, not copied: a list state appended to must stay uniquely referenced, or
        // every append would copy the whole list.
        let old = states.removeValue(forKey: k)
        var pc = ProcessContext<S, U>(key: k, timestamp: ts, watermark: ctx.watermark, state: old?.state)
        onElement(v, &pc)
        finish(&pc, k, eventTime: ts, written: old?.written)
    }

    private func finish(_ pc: inout ProcessContext<S, U>, _ k: StreamKey, eventTime: Millis, written before: Millis?) {
        if let s = pc.state {
            let written = max(eventTime, before ?? .min)
            states[k] = Entry(state: s, written: written)
            if let ttl {
                seq &+= 1
                ttlQueue.insert(Timer(time: written &+ ttl, seq: seq, domain: 2, key: k))
            }
        } else {
            states.removeValue(forKey: k)
        }
        for (t, d, delete) in pc.timers {
            let id = TimerID(key: k, time: t, domain: d.rawValue)
            if delete {
                live.remove(id)
            } else if live.insert(id).inserted {
                seq &+= 1
                let timer = Timer(time: t, seq: seq, domain: d.rawValue, key: k)
                if d == .eventTime { eventTimers.insert(timer) } else { processingTimers.insert(timer) }
            }
        }
        for (o, t) in pc.out { emit(o, t) }
    }

    func advance(_ w: Millis) {
        while let t = eventTimers.min, t.time <= w {
            _ = eventTimers.popMin()
            fire(t, .eventTime, watermark: w)
        }
        while let t = ttlQueue.min, t.time <= w {
            _ = ttlQueue.popMin()
            // Expired unless written again since (a later TTL entry covers it).
            if let e = states[t.key], e.written &+ (ttl ?? 0) <= w { states.removeValue(forKey: t.key) }
        }
    }

    /// Processing-time timers, checked by the worker on every batch and tick.
    func advanceProcessingTime(_ now: Millis) {
        while let t = processingTimers.min, t.time <= now {
            _ = processingTimers.popMin()
            fire(t, .processingTime, watermark: ctx.watermark)
        }
    }

    private func fire(_ t: Timer, _ d: TimeDomain, watermark w: Millis) {
        guard live.remove(TimerID(key: t.key, time: t.time, domain: d.rawValue)) != nil, let onTimer else { return }
        let old = states.removeValue(forKey: t.key)
        var pc = ProcessContext<S, U>(key: t.key, timestamp: t.time, watermark: w, state: old?.state)
        ctx.position = nil
        onTimer(t.time, d, &pc)
        finish(&pc, t.key, eventTime: d == .eventTime ? t.time : (old?.written ?? t.time), written: old?.written)
    }

    var stateKind: String { "process state \(S.self)" }

    func freeze() -> FrozenState {
        let (seq, states, live) = (seq, states, live)
        return { w in Self.write(seq, states, live, into: &w) }
    }

    static func write(_ seq: UInt64, _ states: [StreamKey: Entry], _ live: Set<TimerID>, into w: inout StateWriter) {
        w.uint(seq)
        w.int(states.count)
        for (k, e) in states {
            w.key(k)
            w.int(e.written)
            e.state.write(to: &w)
        }
        let timers = live.sorted { ($0.time, $0.domain) < ($1.time, $1.domain) }
        w.int(timers.count)
        for t in timers { w.key(t.key); w.int(t.time); w.bool(t.domain == TimeDomain.processingTime.rawValue) }
    }

    func restore(from r: inout StateReader) throws(StateError) {
        states = [:]
        eventTimers = Heap()
        processingTimers = Heap()
        ttlQueue = Heap()
        live = []
        seq = try r.uint()
        for _ in 0..<(try r.count()) {
            let k = try r.key()
            let written = try r.int()
            states[k] = Entry(state: try S(from: &r), written: written)
            if let ttl {
                seq &+= 1
                ttlQueue.insert(Timer(time: written &+ ttl, seq: seq, domain: 2, key: k))
            }
        }
        for _ in 0..<(try r.count()) {
            let k = try r.key()
            let t = try r.int()
            let d: TimeDomain = try r.bool() ? .processingTime : .eventTime
            live.insert(TimerID(key: k, time: t, domain: d.rawValue))
            seq &+= 1
            let timer = Timer(time: t, seq: seq, domain: d.rawValue, key: k)
            if d == .eventTime { eventTimers.insert(timer) } else { processingTimers.insert(timer) }
        }
    }
}

extension KeyedProcessOperator: CheckpointedOperator {}
