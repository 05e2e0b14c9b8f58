/// A CSV decoder's schema and per-record spans: where each column's field lies in the value
/// being decoded. Allocated once per decoder, so scanning a line allocates nothing.
final class CSVStorage {
    static let quote: UInt8 = 0x22
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A

    let columnCount: Int
    let columns: [String]
    let separator: UInt8
    /// Bytes that end an unquoted field's fast scan: the separator, the quote, CR, LF.
    let stops: UnsafeMutablePointer<Bool>
    let start: UnsafeMutablePointer<Int32>
    let end: UnsafeMutablePointer<Int32>
    /// 0: unquoted; 1: quoted; 2: quoted, with doubled quotes to unescape.
    let quoted: UnsafeMutablePointer<UInt8>
    /// The column each wanted slot reads.
    let slotColumn: UnsafeMutablePointer<Int32>
    /// The header's names as bytes, to recognise a header line without allocating.
    let nameBytes: UnsafeMutablePointer<UInt8>
    let nameStart: UnsafeMutablePointer<Int32>

    init(columns: [String], wanted: [String], separator: UInt8) throws(FormatError) {
        guard !columns.isEmpty else { throw FormatError(offset: 0, "CSV schema has no columns") }
        columnCount = columns.count
        self.columns = columns
        self.separator = separator
        var slots: [Int32] = []
        for w in wanted {
            let hits = columns.indices.filter { columns[$0] == w }
            guard let first = hits.first else {
                throw FormatError(offset: 0, "column \(w) is not in the CSV schema (columns: \(columns.joined(separator: ", ")))")
            }
            guard hits.count == 1 else { throw FormatError(offset: 0, "column \(w) appears \(hits.count) times in the CSV schema") }
            slots.append(Int32(first))
        }
        stops = .allocate(capacity: 256)
        stops.initialize(repeating: false, count: 256)
        for c in [separator, CSVStorage.quote, CSVStorage.cr, CSVStorage.lf] { stops[Int(c)] = true }
        let n = columns.count
        start = .allocate(capacity: n)
        start.initialize(repeating: 0, count: n)
        end = .allocate(capacity: n)
        end.initialize(repeating: 0, count: n)
        quoted = .allocate(capacity: n)
        quoted.initialize(repeating: 0, count: n)
        slotColumn = .allocate(capacity: max(1, slots.count))
        slotColumn.initialize(repeating: 0, count: max(1, slots.count))
        for (i, c) in slots.enumerated() { slotColumn[i] = c }
        let blob = columns.flatMap { Array($0.utf8) }
        nameBytes = .allocate(capacity: max(1, blob.count))
        nameBytes.initialize(repeating: 0, count: max(1, blob.count))
        for (i, b) in blob.enumerated() { nameBytes[i] = b }
        nameStart = .allocate(capacity: n + 1)
        var at: Int32 = 0
        for (i, c) in columns.enumerated() {
            nameStart[i] = at
            at += Int32(c.utf8.count)
        }
        nameStart[n] = at
    }

    deinit {
        stops.deallocate()
        start.deallocate()
        end.deallocate()
        quoted.deallocate()
        slotColumn.deallocate()
        nameBytes.deallocate()
        nameStart.deallocate()
    }

    nonisolated(unsafe) static let emptyByte: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.pointee = 0
        return UnsafePointer(p)
    }()

    static func separatorByte(_ c: Character) throws(FormatError) -> UInt8 {
        guard let b = c.asciiValue, b != quote, b != cr, b != lf else {
            throw FormatError(offset: 0, "CSV separator must be one ASCII character other than '\"', CR or LF, not \(c.debugDescription)")
        }
        return b
    }

    static func describe(_ c: UInt8) -> String {
        if c >= 0x20 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
        return "byte 0x\(String(c, radix: 16))"
    }

    func columnName(_ c: Int) -> String { c < columnCount ? columns[c] : "#\(c + 1)" }

    /// The length without one trailing line end (LF, CRLF or CR).
    @inline(__always) static func trimmedLength(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int {
        var n = count
        if n > 0 && p[n - 1] == lf { n -= 1 }
        if n > 0 && p[n - 1] == cr { n -= 1 }
        return n
    }

    /// Splits the line into exactly `columnCount` fields, recording their spans.
    func scan(_ p: UnsafePointer<UInt8>, _ count: Int) throws(FormatError) {
        let n = CSVStorage.trimmedLength(p, count)
        // Locals: stores through the span pointers would otherwise reload them from `self`.
        let sep = separator, stops = self.stops, columns = columnCount
        let start = self.start, end = self.end, quoted = self.quoted
        var pos = 0
        var col = 0
        while true {
            guard col < columns else { throw tooMany(p, n, pos, col) }
            if pos < n && p[pos] == CSVStorage.quote {
                let s = pos &+ 1
                var i = s
                var doubled = false
                while true {
                    guard i < n else { throw FormatError(offset: pos, "column \(columnName(col)): unterminated quoted field") }
                    if p[i] == CSVStorage.quote {
                        if i &+ 1 < n && p[i &+ 1] == CSVStorage.quote { doubled = true; i &+= 2; continue }
                        break
                    }
                    i &+= 1
                }
                start[col] = Int32(truncatingIfNeeded: s)
                end[col] = Int32(truncatingIfNeeded: i)
                quoted[col] = doubled ? 2 : 1
                col &+= 1
                pos = i &+ 1
                if pos == n { break }
                guard p[pos] == sep else { throw afterQuote(p, pos, col &- 1) }
                pos &+= 1
            } else {
                let s = pos
                while pos < n && !stops[Int(p[pos])] { pos &+= 1 }
                if pos < n && p[pos] != sep { throw stray(p, pos, col) }
                start[col] = Int32(truncatingIfNeeded: s)
                end[col] = Int32(truncatingIfNeeded: pos)
                quoted[col] = 0
                col &+= 1
                if pos == n { break }
                pos &+= 1
            }
        }
        guard col == columns else {
            if n == 0 { throw FormatError(offset: 0, "empty line, expected \(columns) columns") }
            throw FormatError(offset: n, "expected \(columns) columns, found \(col)")
        }
    }

    // Errors are built out of line, keeping the scan loop small.

    @inline(never) func tooMany(_ p: UnsafePointer<UInt8>, _ n: Int, _ pos: Int, _ col: Int) -> FormatError {
        do {
            let found = col + (try CSVStorage.countFields(p, n, from: pos, separator: separator))
            return FormatError(offset: pos, "expected \(columnCount) columns, found \(found)")
        } catch {
            return error
        }
    }

    @inline(never) func afterQuote(_ p: UnsafePointer<UInt8>, _ pos: Int, _ col: Int) -> FormatError {
        FormatError(offset: pos, "column \(columnName(col)): \(CSVStorage.describe(p[pos])) after the closing quote, expected the separator")
    }

    @inline(never) func stray(_ p: UnsafePointer<UInt8>, _ pos: Int, _ col: Int) -> FormatError {
        let what = p[pos] == CSVStorage.quote ? "a quote inside an unquoted field (quote the whole field)" : "a line break outside quotes"
        return FormatError(offset: pos, "column \(columnName(col)): \(what)")
    }

    /// How many fields start at `pos` (an error message's count; not the hot path).
    static func countFields(_ p: UnsafePointer<UInt8>, _ n: Int, from: Int, separator: UInt8) throws(FormatError) -> Int {
        var count = 0
        try forEachField(p, n, from: from, separator: separator) { _, _, _ in count += 1 }
        return count
    }

    /// Calls `body(start, end, quoted)` for each field of the line from `from` (`n`: its length
    /// without the line end). For the header and error messages; `scan` is the fast path.
    static func forEachField(_ p: UnsafePointer<UInt8>, _ n: Int, from: Int, separator sep: UInt8,
                             _ body: (Int, Int, UInt8) -> Void) throws(FormatError) {
        var pos = from
        while true {
            if pos < n && p[pos] == quote {
                var i = pos + 1
                var doubled = false
                while true {
                    guard i < n else { throw FormatError(offset: pos, "unterminated quoted field") }
                    if p[i] == quote {
                        if i + 1 < n && p[i + 1] == quote { doubled = true; i += 2; continue }
                        break
                    }
                    i += 1
                }
                body(pos + 1, i, doubled ? 2 : 1)
                pos = i + 1
                if pos == n { return }
                guard p[pos] == sep else { throw FormatError(offset: pos, "\(describe(p[pos])) after a closing quote, expected the separator") }
                pos += 1
            } else {
                let s = pos
                while pos < n && p[pos] != sep {
                    if p[pos] == quote || p[pos] == cr || p[pos] == lf {
                        throw FormatError(offset: pos, p[pos] == quote ? "a quote inside an unquoted field" : "a line break outside quotes")
                    }
                    pos += 1
                }
                body(s, pos, 0)
                if pos == n { return }
                pos += 1
            }
        }
    }

    /// A header line's column names (a UTF-8 byte-order mark before the first is dropped).
    static func splitHeader(_ raw: UnsafeRawBufferPointer, separator: UInt8) throws(FormatError) -> [String] {
        guard let p = raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count > 0 else {
            throw FormatError(offset: 0, "CSV header is empty")
        }
        let n = trimmedLength(p, raw.count)
        let from = n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF ? 3 : 0
        var names: [String] = []
        var bad: Int? = nil
        do {
            try forEachField(p, n, from: from, separator: separator) { s, e, q in
                guard let name = CSVStorage.text(p, s, e, q) else { bad = bad ?? s; return }
                names.append(name)
            }
        } catch {
            throw FormatError(offset: error.offset, "CSV header: \(error.reason)")
        }
        if let bad { throw FormatError(offset: bad, "CSV header: invalid UTF-8 in a column name") }
        return names
    }

    /// A field's text: doubled quotes unescaped, UTF-8 validated (nil when invalid).
    static func text(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int, _ q: UInt8) -> String? {
        if q != 2 { return FormatText.string(p + s, e - s) }
        var out: [UInt8] = []
        out.reserveCapacity(e - s)
        var i = s
        while i < e {
            out.append(p[i])
            i += p[i] == quote ? 2 : 1  // scan guaranteed the quote is doubled
        }
        return out.withUnsafeBufferPointer { FormatText.string($0.baseAddress ?? CSVStorage.emptyByte, $0.count) }
    }

    /// Whether the scanned line is the header: each field equal to its column's name.
    func isHeader(_ p: UnsafePointer<UInt8>) -> Bool {
        for c in 0..<columnCount {
            var s = Int(start[c])
            let e = Int(end[c])
            if c == 0 && e - s >= 3 && p[s] == 0xEF && p[s + 1] == 0xBB && p[s + 2] == 0xBF { s += 3 }
            let ns = Int(nameStart[c]), ne = Int(nameStart[c + 1])
            if quoted[c] != 2 {
                guard e - s == ne - ns else { return false }
                for k in 0..<(e - s) where p[s + k] != nameBytes[ns + k] { return false }
            } else {
                var i = s, j = ns
                while i < e {
                    guard j < ne, p[i] == nameBytes[j] else { return false }
                    i += p[i] == CSVStorage.quote ? 2 : 1
                    j += 1
                }
                if j != ne { return false }
            }
        }
        return true
    }
}
