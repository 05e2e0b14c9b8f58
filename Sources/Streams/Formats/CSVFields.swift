/// A decoded CSV line as seen by a record type's initializer: typed accessors by slot (the
/// index of the column name in the type's `csvFields`), with `JSONFields`' names and
/// semantics. Valid only inside that call.
///
/// An empty field is null: `…OrNil` returns nil, the other accessors throw "column X is empty".
/// A quoted empty field (`""`) is the empty string. Numbers, booleans and timestamps may be
/// padded with spaces.
public struct CSVFields {
    let base: UnsafePointer<UInt8>
    let start: UnsafeMutablePointer<Int32>
    let end: UnsafeMutablePointer<Int32>
    let quoted: UnsafeMutablePointer<UInt8>
    let slotColumn: UnsafeMutablePointer<Int32>
    /// The decoder keeps it alive while the record's initializer runs: no counting per record.
    unowned(unsafe) let storage: CSVStorage

    init(base: UnsafePointer<UInt8>, storage: CSVStorage) {
        self.base = base
        self.start = storage.start
        self.end = storage.end
        self.quoted = storage.quoted
        self.slotColumn = storage.slotColumn
        self.storage = storage
    }

    func name(_ slot: Int) -> String { storage.columns[Int(slotColumn[slot])] }

    @inline(__always) func isNull(_ c: Int) -> Bool { quoted[c] == 0 && start[c] == end[c] }

    /// The field's span without surrounding spaces (for non-string values).
    @inline(__always) func trimmed(_ c: Int) -> (Int, Int) {
        var s = Int(start[c]), e = Int(end[c])
        while s < e && base[s] == 0x20 { s += 1 }
        while e > s && base[e - 1] == 0x20 { e -= 1 }
        return (s, e)
    }

    func empty(_ slot: Int) -> FormatError {
        FormatError(offset: Int(start[Int(slotColumn[slot])]), "column \(name(slot)) is empty")
    }

    func typeError(_ slot: Int, _ want: String) -> FormatError {
        let c = Int(slotColumn[slot])
        let s = Int(start[c]), e = Int(end[c])
        let found = s == e ? "an empty string" : FormatText.excerpt(base + s, e - s)
        return FormatError(offset: s, "column \(name(slot)): expected \(want), found \(found)")
    }

    /// Whether the field is there and not null (not empty; `""` counts as there).
    public func has(_ slot: Int) -> Bool { !isNull(Int(slotColumn[slot])) }

    public func int64(_ slot: Int) throws(FormatError) -> Int64 {
        guard let v = try int64OrNil(slot) else { throw empty(slot) }
        return v
    }

    public func int64OrNil(_ slot: Int) throws(FormatError) -> Int64? {
        let c = Int(slotColumn[slot])
        if isNull(c) { return nil }
        let (s, e) = trimmed(c)
        if let v = FormatText.int64(base + s, e - s) { return v }
        // Integers written as 12.0 or 1.2e3 are accepted when exact (as JSON's).
        if let d = JSONNumbers.parseDouble(base + s, e - s), d == d.rounded(), abs(d) < 9.2e18 { return Int64(d) }
        throw typeError(slot, "an integer")
    }

    public func double(_ slot: Int) throws(FormatError) -> Double {
        guard let v = try doubleOrNil(slot) else { throw empty(slot) }
        return v
    }

    public func doubleOrNil(_ slot: Int) throws(FormatError) -> Double? {
        let c = Int(slotColumn[slot])
        if isNull(c) { return nil }
        let (s, e) = trimmed(c)
        guard let v = JSONNumbers.parseDouble(base + s, e - s), v.isFinite else { throw typeError(slot, "a number") }
        return v
    }

    public func string(_ slot: Int) throws(FormatError) -> String {
        guard let v = try stringOrNil(slot) else { throw empty(slot) }
        return v
    }

    /// The text as written (not trimmed), doubled quotes unescaped.
    public func stringOrNil(_ slot: Int) throws(FormatError) -> String? {
        let c = Int(slotColumn[slot])
        if isNull(c) { return nil }
        let s = Int(start[c]), e = Int(end[c])
        guard let v = CSVStorage.text(base, s, e, quoted[c]) else {
            throw FormatError(offset: s, "column \(name(slot)): invalid UTF-8")
        }
        return v
    }

    /// `true`/`false` in any case, or `1`/`0`.
    public func bool(_ slot: Int) throws(FormatError) -> Bool {
        guard let v = try boolOrNil(slot) else { throw empty(slot) }
        return v
    }

    public func boolOrNil(_ slot: Int) throws(FormatError) -> Bool? {
        let c = Int(slotColumn[slot])
        if isNull(c) { return nil }
        let (s, e) = trimmed(c)
        let p = base + s
        switch e - s {
        case 1 where p[0] == 0x31: return true
        case 1 where p[0] == 0x30: return false
        case 4 where p[0] | 0x20 == 0x74 && p[1] | 0x20 == 0x72 && p[2] | 0x20 == 0x75 && p[3] | 0x20 == 0x65: return true
        case 5 where p[0] | 0x20 == 0x66 && p[1] | 0x20 == 0x61 && p[2] | 0x20 == 0x6C && p[3] | 0x20 == 0x73 && p[4] | 0x20 == 0x65: return false
        default: throw typeError(slot, "a boolean")
        }
    }

    /// An event time: epoch milliseconds, or an ISO-8601 date-time with a UTC offset
    /// (`2026-03-01T23:15:00+01:00`, `…Z`, fractional seconds allowed).
    public func timestamp(_ slot: Int) throws(FormatError) -> EventTime {
        guard let v = try timestampOrNil(slot) else { throw empty(slot) }
        return v
    }

    public func timestampOrNil(_ slot: Int) throws(FormatError) -> EventTime? {
        let c = Int(slotColumn[slot])
        if isNull(c) { return nil }
        let (s, e) = trimmed(c)
        if let v = FormatText.int64(base + s, e - s) { return EventTime(millis: v, utcOffsetSeconds: 0) }
        guard e > s else { throw typeError(slot, "a timestamp (epoch millis or ISO-8601)") }
        do {
            return try ISO8601.parse(UnsafeBufferPointer(start: base + s, count: e - s))
        } catch {
            throw FormatError(offset: s + error.offset, "column \(name(slot)): \(error.reason)")
        }
    }
}
