/// Calendar arithmetic, and timestamp/interval text as CAST and literals read and write it.
/// (Streams' ISO8601 parser refuses times without an offset, which SQL literals never carry,
/// so the few lines of Hinnant's civil-date algorithms live here too.)
enum TimeText {
    static let msPerDay: Int64 = 86_400_000

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func isLeap(_ y: Int64) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func daysIn(_ m: Int64, _ y: Int64) -> Int64 {
        switch m {
        case 2: return isLeap(y) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Floor division and modulo (timestamps before 1970 are negative).
    @inline(__always) static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    @inline(__always) static func floorMod(_ a: Int64, _ b: Int64) -> Int64 {
        let r = a % b
        return r != 0 && (r < 0) != (b < 0) ? r + b : r
    }

    /// The local calendar fields of a timestamp.
    struct Fields {
        var year, month, day, hour, minute, second, millis: Int64
        /// 1 = Sunday … 7 = Saturday (Flink's DAYOFWEEK).
        var dayOfWeek: Int64
        var dayOfYear: Int64
    }

    static func fields(_ t: Timestamp) -> Fields {
        let local = t.localMillis
        let days = floorDiv(local, msPerDay)
        let ms = local - days * msPerDay
        let (y, m, d) = civil(fromDays: days)
        // 1970-01-01 was a Thursday (5 in Sunday-first numbering).
        let dow = floorMod(days + 4, 7) + 1
        let doy = days - daysFromCivil(y, 1, 1) + 1
        return Fields(year: y, month: m, day: d, hour: ms / 3_600_000, minute: ms / 60_000 % 60,
                      second: ms / 1000 % 60, millis: ms % 1000, dayOfWeek: dow, dayOfYear: doy)
    }

    /// The local hour alone (the fraud rule's hot path: no calendar needed).
    @inline(__always) static func hour(_ t: Timestamp) -> Int64 {
        floorMod(t.localMillis, msPerDay) / 3_600_000
    }

    /// ISO-8601 week number (weeks start on Monday; week 1 holds the year's first Thursday).
    static func isoWeek(_ f: Fields) -> Int64 {
        let isoDow = (f.dayOfWeek + 5) % 7 + 1 // Monday = 1 … Sunday = 7
        let w = (f.dayOfYear - isoDow + 10) / 7
        if w < 1 {
            return weeksInYear(f.year - 1)
        }
        if w > weeksInYear(f.year) { return 1 }
        return w
    }

    private static func weeksInYear(_ y: Int64) -> Int64 {
        // A year has 53 ISO weeks when it starts on a Thursday, or on a Wednesday in a leap year.
        let jan1 = floorMod(daysFromCivil(y, 1, 1) + 3, 7) // Monday = 0
        return jan1 == 3 || (jan1 == 2 && isLeap(y)) ? 53 : 52
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v < 0 ? -v : v)
        let padded = s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        return v < 0 ? "-" + padded : padded
    }

    static func formatOffset(_ minutes: Int16, colon: Bool = true) -> String {
        let m = Int64(minutes)
        let sign = m < 0 ? "-" : "+"
        return sign + pad(abs(m) / 60, 2) + (colon ? ":" : "") + pad(abs(m) % 60, 2)
    }

    /// `yyyy-MM-dd HH:mm:ss.SSS` (as Flink casts a TIMESTAMP(3)), local time, then the offset
    /// when it is not zero so that the text reads back to the same instant.
    static func format(_ t: Timestamp) -> String {
        let f = fields(t)
        var s = "\(pad(f.year, 4))-\(pad(f.month, 2))-\(pad(f.day, 2)) \(pad(f.hour, 2)):\(pad(f.minute, 2)):\(pad(f.second, 2)).\(pad(f.millis, 3))"
        if t.offsetMinutes != 0 { s += formatOffset(t.offsetMinutes) }
        return s
    }

    /// ISO-8601 with the offset (`2026-01-01T10:00:00.000Z`, `…+05:30`): how sinks write
    /// timestamps to JSON, and what the sources read back.
    static func iso8601(_ t: Timestamp) -> String {
        let f = fields(t)
        let s = "\(pad(f.year, 4))-\(pad(f.month, 2))-\(pad(f.day, 2))T\(pad(f.hour, 2)):\(pad(f.minute, 2)):\(pad(f.second, 2)).\(pad(f.millis, 3))"
        return s + (t.offsetMinutes == 0 ? "Z" : formatOffset(t.offsetMinutes))
    }

    /// Flink's rendering of a day-time interval: `+1 02:00:00.000`.
    static func formatInterval(_ ms: Int64) -> String {
        let neg = ms < 0
        let a = ms.magnitude
        let days = a / 86_400_000
        let rest = a % 86_400_000
        return (neg ? "-" : "+") + "\(days) " + pad(Int64(rest / 3_600_000), 2) + ":" + pad(Int64(rest / 60_000 % 60), 2)
            + ":" + pad(Int64(rest / 1000 % 60), 2) + "." + pad(Int64(rest % 1000), 3)
    }

    /// Reads `yyyy-MM-dd[( |T)HH:mm[:ss[.fff…]]][Z|±HH[:mm]]`, surrounding blanks ignored; no
    /// offset means UTC. Fractions beyond milliseconds are truncated.
    static func parseTimestamp<S: StringProtocol>(_ text: S) -> Timestamp? {
        let b = Array(text.utf8)
        var i = 0
        var end = b.count
        while i < end, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
        while end > i, b[end - 1] == 0x20 || b[end - 1] == 0x09 { end -= 1 }
        func digits(_ n: Int) -> Int64? {
            guard i + n <= end else { return nil }
            var v: Int64 = 0
            for k in 0..<n {
                let d = Int64(b[i + k]) - 0x30
                guard d >= 0 && d <= 9 else { return nil }
                v = v * 10 + d
            }
            i += n
            return v
        }
        func take(_ c: UInt8) -> Bool {
            if i < end, b[i] == c { i += 1; return true }
            return false
        }
        guard let y = digits(4), take(0x2D), let mo = digits(2), take(0x2D), let d = digits(2) else { return nil }
        guard (1...12).contains(mo), d >= 1, d <= daysIn(mo, y) else { return nil }
        var h: Int64 = 0, mi: Int64 = 0, s: Int64 = 0, ms: Int64 = 0
        if i < end, b[i] == 0x20 || b[i] == 0x54 || b[i] == 0x74 {
            i += 1
            guard let hh = digits(2), take(0x3A), let mm = digits(2) else { return nil }
            h = hh; mi = mm
            if take(0x3A) {
                guard let ss = digits(2) else { return nil }
                s = ss
                if take(0x2E) {
                    var scale: Int64 = 100
                    var any = false
                    while i < end, b[i] >= 0x30 && b[i] <= 0x39 {
                        ms += Int64(b[i] - 0x30) * scale
                        scale /= 10
                        i += 1
                        any = true
                    }
                    guard any else { return nil }
                }
            }
            guard h < 24, mi < 60, s < 60 else { return nil }
        }
        var offset: Int64 = 0
        if i < end {
            if b[i] == 0x5A || b[i] == 0x7A {
                i += 1
            } else if b[i] == 0x2B || b[i] == 0x2D {
                let sign: Int64 = b[i] == 0x2D ? -1 : 1
                i += 1
                guard let oh = digits(2) else { return nil }
                var om: Int64 = 0
                if take(0x3A) || (i < end) {
                    guard let m = digits(2) else { return nil }
                    om = m
                }
                guard oh <= 18, om < 60 else { return nil }
                offset = sign * (oh * 60 + om)
            }
        }
        guard i == end else { return nil }
        let local = daysFromCivil(y, mo, d) * msPerDay + ((h * 60 + mi) * 60 + s) * 1000 + ms
        return Timestamp(millis: local - offset * 60_000, offsetMinutes: Int16(offset))
    }
}
