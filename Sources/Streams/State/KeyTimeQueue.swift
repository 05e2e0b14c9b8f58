import HeapModule

/// Keys waiting for event times (window ends, purge times): one heap entry per distinct time,
/// that time's keys in a list. Shared by the operators that fire or purge per key.
struct KeyTimeQueue {
    private var keys: [Millis: [StreamKey]] = [:]
    private var times = Heap<Millis>()

    mutating func add(_ k: StreamKey, at t: Millis) {
        if keys[t] == nil {
            keys[t] = [k]
            times.insert(t)
        } else {
            keys[t]!.append(k)
        }
    }

    /// The earliest time and its keys, removed, if `due(time)`.
    mutating func popDue(_ due: (Millis) -> Bool) -> (time: Millis, keys: [StreamKey])? {
        while let t = times.min, due(t) {
            _ = times.popMin()
            if let ks = keys.removeValue(forKey: t) { return (t, ks) }
        }
        return nil
    }
}
