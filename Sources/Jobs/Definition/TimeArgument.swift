import Foundation

/// A point in time as a command line gives it: an instant (`2026-03-01T10:00:00Z`,
/// `2026-03-01 10:00:00+01:00`; no offset is UTC), `now`, or a duration before now (`-1h`,
/// `now-90m`, `2h ago`).
public enum TimeArgument {
    /// Epoch milliseconds, or nil when the text is none of these.
    public static func parse(_ text: String, now: Date = Date()) -> Int64? {
        let s = text.trimmingCharacters(in: .whitespaces)
        let nowMs = Int64(now.timeIntervalSince1970 * 1000)
        if s == "now" { return nowMs }
        var rel: Substring? = nil
        if s.hasPrefix("now-") { rel = s.dropFirst(4) } else if s.hasPrefix("-") { rel = s.dropFirst() } else if s.hasSuffix(" ago") { rel = s.dropLast(4) }
        if let rel {
            guard let d = DurationText.parse(String(rel)) else { return nil }
            return nowMs - d.millis
        }
        return TimeText.parseTimestamp(s)?.millis
    }
}
