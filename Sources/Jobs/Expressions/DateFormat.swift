/// DATE_FORMAT patterns, with the letters of Java's DateTimeFormatter (which Flink uses):
///
///     y yy yyyy  year (yy: two digits)     M MM MMM MMMM  month (3: Jan, 4: January)
///     d dd       day of month              D DDD          day of year
///     H HH       hour 0–23                 h hh           hour 1–12
///     k kk       hour 1–24                 K KK           hour 0–11
///     m mm       minute                    s ss           second
///     S…         fraction of a second (S: tenths, SSS: milliseconds)
///     E EEE EEEE day name (Sun, Sunday)    a              AM/PM
///     X XX XXX   offset (Z, +05, +0530, +05:30)   x xx xxx  the same, +00 for UTC
///     Z          offset +0530
///     'text'     literal text; '' is a quote
///
/// Other letters are refused (Java would need a zone or a locale we do not have).
struct DateFormat: Sendable {
    enum Piece: Sendable {
        case text(String)
        case field(Character, Int)
    }

    let pieces: [Piece]

    static let letters: Set<Character> = ["y", "u", "M", "L", "d", "D", "H", "h", "k", "K", "m", "s", "S", "E", "a", "X", "x", "Z"]

    /// Compiles a pattern; the error names the first letter it does not support.
    static func compile(_ pattern: String) -> Result<DateFormat, DateFormatError> {
        var pieces: [Piece] = []
        let cs = Array(pattern)
        var i = 0
        var literal = ""
        func flush() {
            if !literal.isEmpty { pieces.append(.text(literal)); literal = "" }
        }
        while i < cs.count {
            let c = cs[i]
            if c == "'" {
                if i + 1 < cs.count, cs[i + 1] == "'" {
                    literal.append("'")
                    i += 2
                    continue
                }
                i += 1
                var closed = false
                while i < cs.count {
                    if cs[i] == "'" {
                        if i + 1 < cs.count, cs[i + 1] == "'" { literal.append("'"); i += 2; continue }
                        closed = true
                        i += 1
                        break
                    }
                    literal.append(cs[i])
                    i += 1
                }
                if !closed { return .failure(DateFormatError(message: "unterminated quote in DATE_FORMAT pattern '\(pattern)'")) }
                continue
            }
            if c.isLetter, c.isASCII {
                guard letters.contains(c) else {
                    return .failure(DateFormatError(message: "DATE_FORMAT pattern letter '\(c)' is not supported (supported: y M d D H h k K m s S E a X x Z; quote literal text as 'T')"))
                }
                var n = 1
                while i + n < cs.count, cs[i + n] == c { n += 1 }
                flush()
                pieces.append(.field(c, n))
                i += n
                continue
            }
            literal.append(c)
            i += 1
        }
        flush()
        return .success(DateFormat(pieces: pieces))
    }

    static let monthNames = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
    static let dayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    func format(_ t: Timestamp) -> String {
        let f = TimeText.fields(t)
        var out = ""
        func num(_ v: Int64, _ n: Int) { out += TimeText.pad(v, n) }
        for p in pieces {
            switch p {
            case .text(let s):
                out += s
            case .field(let c, let n):
                switch c {
                case "y", "u": n == 2 ? num(TimeText.floorMod(f.year, 100), 2) : num(f.year, n)
                case "M", "L":
                    let i = Int(f.month - 1)
                    if n == 3 { out += String(DateFormat.monthNames[i].prefix(3)) } else if n == 4 { out += DateFormat.monthNames[i] } else if n >= 5 { out += String(DateFormat.monthNames[i].prefix(1)) } else { num(f.month, n) }
                case "d": num(f.day, n)
                case "D": num(f.dayOfYear, n)
                case "H": num(f.hour, n)
                case "h": num(f.hour % 12 == 0 ? 12 : f.hour % 12, n)
                case "k": num(f.hour == 0 ? 24 : f.hour, n)
                case "K": num(f.hour % 12, n)
                case "m": num(f.minute, n)
                case "s": num(f.second, n)
                case "S":
                    // A fraction: the first n digits of the milliseconds, then zeros.
                    let ms = TimeText.pad(f.millis, 3)
                    out += n <= 3 ? String(ms.prefix(n)) : ms + String(repeating: "0", count: n - 3)
                case "E":
                    let name = DateFormat.dayNames[Int(f.dayOfWeek - 1)]
                    out += n >= 4 ? name : String(name.prefix(3))
                case "a": out += f.hour < 12 ? "AM" : "PM"
                case "X", "x":
                    let off = t.offsetMinutes
                    if off == 0 && c == "X" { out += "Z"; break }
                    let full = TimeText.formatOffset(off, colon: n >= 3)
                    out += n == 1 && off % 60 == 0 ? String(full.prefix(3)) : full
                case "Z": out += TimeText.formatOffset(t.offsetMinutes, colon: n >= 5)
                default: break
                }
            }
        }
        return out
    }
}

struct DateFormatError: Error {
    var message: String
}
