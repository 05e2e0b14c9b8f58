/// How a versioned global table keeps a key's history (Flink's versioned tables, Kafka
/// Streams' versioned key-value stores): each record is a version valid from its own event
/// time until the next version's, and a lookup finds the version valid at the looking
/// element's event time. A replay then meets the table as it was when each element happened,
/// never a value published after it (a fraud report from next week must not score today).
public struct TableVersioning<R>: Sendable {
    /// The version's start, from its value; nil sends the record to the dead-letter topic.
    public var validFrom: @Sendable (R) -> Millis?
    /// How far behind a key's newest version history is kept: older versions are dropped,
    /// except the one still in force at that point.
    public var history: Millis
    /// At most this many versions per key (the oldest go first): a hostile topic cannot grow
    /// one key without bound.
    public var maxVersions: Int

    public init(history: Millis, maxVersions: Int = 1_000, validFrom: @escaping @Sendable (R) -> Millis?) {
        self.validFrom = validFrom
        self.history = history
        self.maxVersions = max(1, maxVersions)
    }
}

/// One key's versions, oldest first, each valid from `from` until the next one's.
struct TableVersions<R> {
    var from: [Millis] = []
    var values: [R] = []

    /// The version valid at `t`: the last one starting at or before it (nil: none yet).
    func at(_ t: Millis) -> R? {
        var lo = 0, hi = from.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if from[mid] <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? nil : values[lo - 1]
    }

    var latest: R? { values.last }

    /// Adds a version (replacing one with the same start: the later record wins), in order
    /// whatever order the records come in, then trims the history.
    mutating func insert(_ v: R, from t: Millis, history: Millis, maxVersions: Int) {
        if let last = from.last, last < t {
            from.append(t)
            values.append(v)
        } else {
            var i = from.count
            while i > 0 && from[i - 1] > t { i -= 1 }
            if i > 0 && from[i - 1] == t {
                values[i - 1] = v
            } else {
                from.insert(t, at: i)
                values.insert(v, at: i)
            }
        }
        // Versions that ended before newest − history are not looked up any more (the one in
        // force at that point still is).
        let horizon = from.last! &- history
        var drop = 0
        while drop + 1 < from.count && from[drop + 1] <= horizon { drop += 1 }
        drop = max(drop, from.count - maxVersions)
        if drop > 0 {
            from.removeFirst(drop)
            values.removeFirst(drop)
        }
    }
}
extension TableVersions: Sendable where R: Sendable {}
