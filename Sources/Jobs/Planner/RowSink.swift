import Streams

/// How a sink writes rows as JSON objects: the field names encoded once, then per row each
/// value, read from its slot or computed (typed, without boxing) — timestamps as ISO-8601 text
/// with their offset, intervals as milliseconds, non-finite doubles as null.
struct RowJSONEncoder: Sendable {
    enum Source: Sendable {
        case slot(Int)
        case code(Compiled)
    }

    let keys: [[UInt8]]
    let sources: [Source]
    let key: Source?

    init(names: [String], sources: [Source], key: Source?) {
        keys = names.map { JSONWriter.encodedKey($0) }
        self.sources = sources
        self.key = key
    }

    /// Writes the fields and returns the Kafka key; an expression that fails throws (the
    /// record goes to the dead-letter topic).
    func encode(_ row: Row, into w: inout JSONWriter) throws -> [UInt8]? {
        for i in 0..<keys.count {
            w.key(encoded: keys[i])
            switch sources[i] {
            case .slot(let s): Self.write(row.values[s], into: &w)
            case .code(let c): try Self.write(c, row, into: &w)
            }
        }
        switch key {
        case nil: return nil
        case .slot(let s): return PlanSupport.keyBytes(row.values[s])
        case .code(let c): return PlanSupport.keyBytes(try c.value(row))
        }
    }

    static func write(_ c: Compiled, _ row: Row, into w: inout JSONWriter) throws {
        switch c {
        case .int(let f): if let v = try f(row) { w.value(v) } else { w.valueNull() }
        case .double(let f): if let v = try f(row) { w.value(v) } else { w.valueNull() }
        case .bool(let f): if let v = try f(row) { w.value(v) } else { w.valueNull() }
        case .string(let f): if let v = try f(row) { w.value(v) } else { w.valueNull() }
        case .interval(let f): if let v = try f(row) { w.value(v) } else { w.valueNull() }
        case .timestamp(let f): if let v = try f(row) { w.value(TimeText.iso8601(v)) } else { w.valueNull() }
        }
    }

    static func write(_ v: Value, into w: inout JSONWriter) {
        switch v {
        case .null: w.valueNull()
        case .bool(let b): w.value(b)
        case .int(let i): w.value(i)
        case .double(let d): w.value(d)
        case .string(let s): w.value(s)
        case .timestamp(let ms, let off): w.value(TimeText.iso8601(Timestamp(millis: ms, offsetMinutes: off)))
        case .interval(let ms): w.value(ms)
        }
    }
}

/// How a sink writes rows as CSV lines: its fields are the columns, in order (no header line:
/// one line per value); timestamps as ISO-8601 text with their offset, intervals as
/// milliseconds, NULL as an empty field, the empty string as `""`.
struct RowCSVEncoder: Sendable {
    let sources: [RowJSONEncoder.Source]
    let key: RowJSONEncoder.Source?

    /// Writes the fields and returns the Kafka key; an expression that fails throws.
    func encode(_ row: Row, into w: inout CSVWriter) throws -> [UInt8]? {
        for s in sources {
            switch s {
            case .slot(let i): Self.write(row.values[i], into: &w)
            case .code(let c): Self.write(try c.value(row), into: &w)
            }
        }
        switch key {
        case nil: return nil
        case .slot(let s): return PlanSupport.keyBytes(row.values[s])
        case .code(let c): return PlanSupport.keyBytes(try c.value(row))
        }
    }

    static func write(_ v: Value, into w: inout CSVWriter) {
        switch v {
        case .null: w.null()
        case .bool(let b): w.field(b)
        case .int(let i): w.field(i)
        case .double(let d): w.field(d)
        case .string(let s): w.field(s)
        case .timestamp(let ms, let off): w.field(TimeText.iso8601(Timestamp(millis: ms, offsetMinutes: off)))
        case .interval(let ms): w.field(ms)
        }
    }
}
