/// The frame of an OVER aggregate, ordered by event time within a key (Flink's
/// `OVER (PARTITION BY key ORDER BY ts …)`).
public enum OverFrame: Sendable, Equatable {
    /// `ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`: the key's whole history.
    case unbounded
    /// `ROWS BETWEEN n PRECEDING AND CURRENT ROW`: the current row and the n before it.
    case rows(Int)
    /// `RANGE BETWEEN INTERVAL d PRECEDING AND CURRENT ROW`: rows whose event time is within d
    /// of the current row's, rows with the same time included (they are peers in SQL).
    case range(Millis)

    public static func range(_ d: Duration) -> OverFrame { .range(d.millis) }
}

/// In which order an OVER operator applies a key's rows.
public enum OverOrder: String, Sendable, Equatable {
    /// Event-time order (Flink's OVER on a rowtime attribute): rows wait until the watermark
    /// passes them, so results do not depend on arrival order; rows behind the watermark are late.
    case eventTime = "event-time"
    /// Arrival order (Kafka Streams' per-record processing): each row is applied at once against
    /// the rows of its key that arrived before it — no wait for the watermark, nothing is late.
    /// RANGE frames still measure event time back from the current row. One key's records keep
    /// their order within a partition, so for a producer that sends a key's events in time
    /// order (a card network does) the results equal event-time order's, without the
    /// out-of-orderness delay: what scoring a transaction in milliseconds needs.
    case arrival
}

/// One aggregate column of an OVER operator: a frame, the value it aggregates, and whether the
/// current row is left out ("the average of the *previous* amounts").
public struct OverMeasure<T>: Sendable {
    public var frame: OverFrame
    public var excludeCurrent: Bool
    public var value: @Sendable (T) -> Double

    public init(_ frame: OverFrame, excludeCurrent: Bool = false, _ value: @escaping @Sendable (T) -> Double) {
        self.frame = frame
        self.excludeCurrent = excludeCurrent
        self.value = value
    }

    /// Counts rows (the value is irrelevant).
    public static func count(_ frame: OverFrame, excludeCurrent: Bool = false) -> OverMeasure<T> {
        OverMeasure(frame, excludeCurrent: excludeCurrent) { _ in 0 }
    }
}

/// A row released by an OVER operator with its aggregates (one `Stats` per measure, in the
/// order given) and the key's previous row in event-time order (LAG 1), if any.
public struct OverRow<T: Sendable>: Sendable {
    public var value: T
    public var timestamp: Millis
    public var key: StreamKey
    public var measures: OverValues
    public var previous: T?
    public var previousTimestamp: Millis?
}

/// Up to four measures' results, stored inline (no allocation per row).
public struct OverValues: Sendable {
    public static let capacity = 4
    var s0 = Stats(), s1 = Stats(), s2 = Stats(), s3 = Stats()
    public let count: Int

    init(count: Int) { self.count = count }

    public subscript(_ i: Int) -> Stats {
        get {
            precondition(i < count, "measure \(i) of \(count)")
            switch i {
            case 0: return s0
            case 1: return s1
            case 2: return s2
            default: return s3
            }
        }
        set {
            switch i {
            case 0: s0 = newValue
            case 1: s1 = newValue
            case 2: s2 = newValue
            default: s3 = newValue
            }
        }
    }
}
