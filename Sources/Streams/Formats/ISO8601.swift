/// ISO-8601 / RFC 3339 date-times with a UTC offset: `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM|±HHMM]`
/// (a space may stand for the `T`). A time without an offset is refused: an event time must
/// say which local time it is.
enum ISO8601 {
    static func parse(_ b: UnsafeBufferPointer<UInt8>) throws(FormatError) -> EventTime {
        var i = 0
        func num(_ n: Int, _ what: String) throws(FormatError) -> Int {
            guard i + n <= b.count else { throw FormatError(offset: i, "timestamp too short (\(what))") }
            var v = 0
            for k in 0..<n {
                let d = Int(b[i + k]) - 0x30
                guard d >= 0 && d <= 9 else { throw FormatError(offset: i + k, "digit expected in \(what)") }
                v = v * 10 + d
            }
            i += n
            return v
        }
        func lit(_ cs: [UInt8], _ what: String) throws(FormatError) {
            guard i < b.count, cs.contains(b[i]) else { throw FormatError(offset: i, "expected \(what)") }
            i += 1
        }
        let year = try num(4, "year")
        try lit([0x2D], "'-' after the year")
        let month = try num(2, "month")
        try lit([0x2D], "'-' after the month")
        let day = try num(2, "day")
        try lit([0x54, 0x74, 0x20], "'T' between date and time")
        let hour = try num(2, "hour")
        try lit([0x3A], "':' after the hour")
        let minute = try num(2, "minute")
        try lit([0x3A], "':' after the minutes")
        let second = try num(2, "second")
        guard (1...12).contains(month), day >= 1, day <= daysIn(month, year), hour < 24, minute < 60, second < 61 else {
            throw FormatError(offset: 0, "date or time out of range")
        }
        var millis = 0
        if i < b.count && (b[i] == 0x2E || b[i] == 0x2C) {
            i += 1
            var scale = 100
            var any = false
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
                millis += Int(b[i] - 0x30) * scale
                scale /= 10
                i += 1
                any = true
            }
            guard any else { throw FormatError(offset: i, "digits expected after the decimal point") }
        }
        guard i < b.count else { throw FormatError(offset: i, "UTC offset missing (Z or ±HH:MM)") }
        var offset = 0
        if b[i] == 0x5A || b[i] == 0x7A {
            i += 1
        } else if b[i] == 0x2B || b[i] == 0x2D {
            let sign = b[i] == 0x2D ? -1 : 1
            i += 1
            let oh = try num(2, "offset hours")
            if i < b.count && b[i] == 0x3A { i += 1 }
            let om = try num(2, "offset minutes")
            guard oh <= 18, om < 60 else { throw FormatError(offset: i, "UTC offset out of range") }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            throw FormatError(offset: i, "expected Z or ±HH:MM")
        }
        guard i == b.count else { throw FormatError(offset: i, "unexpected characters after the timestamp") }
        let days = daysFromCivil(year, month, day)
        let secs = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offset)
        return EventTime(millis: secs * 1000 + Int64(millis), utcOffsetSeconds: Int32(offset))
    }

    static func daysIn(_ m: Int, _ y: Int) -> Int {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (or with the given offset).
    static func format(_ ms: Int64, utcOffsetSeconds: Int32 = 0) -> String {
        let local = ms + Int64(utcOffsetSeconds) * 1000
        var days = Int(local >= 0 ? local / 86_400_000 : (local - 86_399_999) / 86_400_000)
        let msOfDay = Int(local - Int64(days) * 86_400_000)
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func p(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        var out = "\(p(y, 4))-\(p(m, 2))-\(p(d, 2))T\(p(msOfDay / 3_600_000, 2)):\(p(msOfDay / 60_000 % 60, 2)):\(p(msOfDay / 1000 % 60, 2)).\(p(msOfDay % 1000, 3))"
        if utcOffsetSeconds == 0 {
            out += "Z"
        } else {
            let o = abs(Int(utcOffsetSeconds))
            out += (utcOffsetSeconds < 0 ? "-" : "+") + p(o / 3600, 2) + ":" + p(o / 60 % 60, 2)
        }
        return out
    }
}
