import Streams

/// Rows and values in checkpointed state (OVER's buffered rows, window accumulators): a tag
/// byte per value, then its payload.
extension Value: StateCodable {
    public func write(to w: inout StateWriter) {
        switch self {
        case .null: w.byte(0)
        case .bool(let b): w.byte(b ? 2 : 1)
        case .int(let i): w.byte(3); w.int(i)
        case .double(let d): w.byte(4); w.double(d)
        case .string(let s): w.byte(5); w.string(s)
        case .timestamp(let ms, let off): w.byte(6); w.int(ms); w.int(Int64(off))
        case .interval(let ms): w.byte(7); w.int(ms)
        }
    }

    public init(from r: inout StateReader) throws(StateError) {
        switch try r.byte() {
        case 0: self = .null
        case 1: self = .bool(false)
        case 2: self = .bool(true)
        case 3: self = .int(try r.int())
        case 4: self = .double(try r.double())
        case 5: self = .string(try r.string())
        case 6:
            let ms = try r.int()
            let off = try r.int()
            guard let o = Int16(exactly: off) else { throw StateError("timestamp offset \(off) out of range") }
            self = .timestamp(ms, offsetMinutes: o)
        case 7: self = .interval(try r.int())
        case let t: throw StateError("bad value tag \(t)")
        }
    }
}

extension Row: StateCodable {
    /// More columns than any schema has: a count above it is damage, not a row.
    static let maxStateColumns = 4096

    public func write(to w: inout StateWriter) {
        w.int(values.count)
        for v in values { v.write(to: &w) }
    }

    public init(from r: inout StateReader) throws(StateError) {
        let n = try r.count(max: Row.maxStateColumns)
        var values: [Value] = []
        values.reserveCapacity(n)
        for _ in 0..<n { values.append(try Value(from: &r)) }
        self.init(values)
    }
}
