import Streams

/// An instant (epoch milliseconds) and the UTC offset, in minutes, it was written with.
/// Comparisons and differences use the instant; HOUR, DATE_FORMAT and friends use local time.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var millis: Millis
    public var offsetMinutes: Int16

    public init(millis: Millis, offsetMinutes: Int16 = 0) {
        self.millis = millis
        self.offsetMinutes = offsetMinutes
    }

    /// From an event time decoded by the Streams formats (offsets there are in seconds).
    public init(_ t: EventTime) {
        self.init(millis: t.millis, offsetMinutes: Int16(truncatingIfNeeded: t.utcOffsetSeconds / 60))
    }

    /// Local wall-clock milliseconds since 1970-01-01T00:00 (the instant shifted by the offset).
    @inline(__always) var localMillis: Int64 { millis &+ Int64(offsetMinutes) &* 60_000 }

    /// SQL compares instants: the same instant written with two offsets is one value.
    public static func == (a: Timestamp, b: Timestamp) -> Bool { a.millis == b.millis }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.millis < b.millis }

    public func hash(into h: inout Hasher) { h.combine(millis) }

    /// `2026-01-01 10:00:00.000`, with `+05:30` appended when the offset is not zero.
    public var description: String { TimeText.format(self) }
}

/// One field of a row. Kept at 17 bytes (24 with padding, checked by a test): the String
/// payload is the widest; timestamps pack their offset into 16 bits beside the instant.
public enum Value: Sendable, Hashable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case timestamp(Millis, offsetMinutes: Int16)
    /// Day-time interval in milliseconds.
    case interval(Int64)

    public static func timestamp(_ t: Timestamp) -> Value { .timestamp(t.millis, offsetMinutes: t.offsetMinutes) }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The type of a non-null value (nil for NULL).
    public var type: SQLType? {
        switch self {
        case .null: return nil
        case .bool: return .boolean
        case .int: return .bigint
        case .double: return .double
        case .string: return .string
        case .timestamp: return .timestamp
        case .interval: return .interval
        }
    }

    /// As CAST(value AS STRING) renders it (NULL for null).
    public var description: String {
        switch self {
        case .null: return "NULL"
        case .bool(let b): return b ? "TRUE" : "FALSE"
        case .int(let v): return String(v)
        case .double(let d): return NumberText.javaDouble(d)
        case .string(let s): return s
        case .timestamp(let ms, let off): return TimeText.format(Timestamp(millis: ms, offsetMinutes: off))
        case .interval(let ms): return TimeText.formatInterval(ms)
        }
    }
}

extension Timestamp {
    /// ISO-8601 with the offset (`2026-01-01T10:00:00.000Z`, `…+05:30`), as sinks write it.
    public var iso8601: String { TimeText.iso8601(self) }

    /// Reads what `iso8601` writes (and `yyyy-MM-dd HH:mm:ss` forms); nil when it is not a time.
    public init?(parsing text: String) {
        guard let t = TimeText.parseTimestamp(text) else { return nil }
        self = t
    }
}
