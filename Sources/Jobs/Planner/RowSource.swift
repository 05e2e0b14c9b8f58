import KafkaClient
import NIOCore
import Streams

/// Reads a JSON source's records into rows of its schema, with their event times. One per
/// task (it reuses its span buffer). A record that does not fit the schema (a NOT NULL field
/// missing, a string where a number belongs) is a `FormatError`: the runtime sends it to the
/// dead-letter topic with the reason and goes on.
struct JSONRowDecoder {
    enum Kind { case boolean, bigint, double, string, timestamp, interval }

    var objects: JSONObjectDecoding
    let layout: Layout
    /// The slot of the event-time field; nil: the record's timestamp.
    let eventTimeSlot: Int?

    /// `used`: the lowercased names of the fields the job reads (nil: all). The others are not
    /// decoded: their slots stay NULL.
    init(_ source: SourceDefinition, used: Set<String>? = nil, maxBytes: Int = 1 << 20) {
        layout = Layout(source, used: used)
        objects = JSONObjectDecoding(table: JSONFieldTable(layout.names), maxBytes: maxBytes)
        eventTimeSlot = source.eventTime.flatMap { source.schema.index(of: $0) }
    }

    mutating func decode(_ record: ConsumerRecord) throws(FormatError) -> (Row, Millis) {
        guard let value = record.value else { throw FormatError(offset: 0, "record has no value (tombstone)") }
        let layout = self.layout
        var row = try value.withUnsafeReadableBytes { (raw) throws(FormatError) -> Row in
            try objects.decode(raw) { (f) throws(FormatError) -> Row in try layout.row(f) }
        }
        if !layout.metadata.isEmpty { layout.fill(&row, from: record) }
        return try layout.eventTime(row, eventTimeSlot, record)
    }
}

/// Reads a CSV source's records (one line per value, the schema's fields as its columns, in
/// order; record metadata columns aside) into rows, as `JSONRowDecoder` does JSON: the same
/// types, NOT NULL checks and event time. An empty field is NULL; `""` is the empty string.
struct CSVRowDecoder {
    var lines: CSVLineDecoding
    let layout: JSONRowDecoder.Layout
    let eventTimeSlot: Int?

    init(_ source: SourceDefinition, used: Set<String>? = nil, maxBytes: Int = 1 << 20) throws(FormatError) {
        layout = JSONRowDecoder.Layout(source, used: used)
        let columns = source.fields.filter { $0.metadata == nil }.map(\.name)
        lines = try CSVLineDecoding(columns: CSVColumns(columns), wanted: layout.names, separator: source.csv.separator,
                                    skipHeaderRows: source.csv.skipHeader, maxBytes: maxBytes)
        eventTimeSlot = source.eventTime.flatMap { source.schema.index(of: $0) }
    }

    /// nil: the header line (with `skip-header`).
    mutating func decode(_ record: ConsumerRecord) throws(FormatError) -> (Row, Millis)? {
        guard let value = record.value else { throw FormatError(offset: 0, "record has no value (tombstone)") }
        let layout = self.layout
        guard var row = try value.withUnsafeReadableBytes({ (raw) throws(FormatError) -> Row? in
            try lines.decode(raw) { (f) throws(FormatError) -> Row in try layout.row(f) }
        }) else { return nil }
        if !layout.metadata.isEmpty { layout.fill(&row, from: record) }
        return try layout.eventTime(row, eventTimeSlot, record)
    }
}

/// Reads an Avro source's records (raw binary or Confluent framing) into rows: each schema
/// field is a dotted path into the writer's schema (nested records), read with the SQL type
/// the job file gives it; a null union branch is NULL.
struct AvroRowDecoder {
    var values: AvroValueDecoding
    let layout: JSONRowDecoder.Layout
    let eventTimeSlot: Int?

    init(_ source: SourceDefinition, schema: AvroSchema, used: Set<String>? = nil, maxBytes: Int = 1 << 20) throws(FormatError) {
        layout = JSONRowDecoder.Layout(source, used: used)
        values = try AvroValueDecoding(schema: schema, paths: layout.names, wire: source.avro?.confluent == true ? .confluent(schemaIDs: nil) : .raw,
                                       maxBytes: maxBytes)
        eventTimeSlot = source.eventTime.flatMap { source.schema.index(of: $0) }
    }

    mutating func decode(_ record: ConsumerRecord) throws(FormatError) -> (Row, Millis) {
        guard let value = record.value else { throw FormatError(offset: 0, "record has no value (tombstone)") }
        let layout = self.layout
        var row = try value.withUnsafeReadableBytes { (raw) throws(FormatError) -> Row in
            try values.decode(raw) { (f) throws(FormatError) -> Row in try layout.row(f) }
        }
        if !layout.metadata.isEmpty { layout.fill(&row, from: record) }
        return try layout.eventTime(row, eventTimeSlot, record)
    }
}

/// What a source's decoded fields offer a row layout: JSON objects, CSV lines and Avro
/// records alike.
protocol RowFields {
    func has(_ slot: Int) -> Bool
    func int64OrNil(_ slot: Int) throws(FormatError) -> Int64?
    func doubleOrNil(_ slot: Int) throws(FormatError) -> Double?
    func stringOrNil(_ slot: Int) throws(FormatError) -> String?
    func bool(_ slot: Int) throws(FormatError) -> Bool
    func timestamp(_ slot: Int) throws(FormatError) -> EventTime
}

extension JSONFields: RowFields {}
extension CSVFields: RowFields {}
extension AvroFields: RowFields {}

extension JSONRowDecoder {
    /// The schema's fields as the decoder reads them.
    struct Layout {
        let kinds: [Kind]
        let required: [Bool]
        let names: [String]
        /// The row slot of each field read (the JSON table's slot i is field `slots[i]`).
        let slots: [Int]
        let width: Int
        /// Columns read from the record, not its value.
        let metadata: [(slot: Int, what: SourceMetadata, type: SQLType)]

        func fill(_ row: inout Row, from r: ConsumerRecord) {
            for m in metadata {
                switch m.what {
                case .topic: row.values[m.slot] = .string(r.topic)
                case .partition: row.values[m.slot] = .int(Int64(r.partition))
                case .offset: row.values[m.slot] = .int(r.offset)
                case .timestamp: row.values[m.slot] = m.type == .bigint ? .int(r.timestamp) : .timestamp(r.timestamp, offsetMinutes: 0)
                }
            }
        }

        /// The fields of `source` read (the event-time field and those some expression
        /// names; all when `used` is nil), in schema order.
        init(_ source: SourceDefinition, used: Set<String>?) {
            let eventTime = source.eventTime?.lowercased()
            let read = source.fields.indices.filter { i in
                source.fields[i].metadata == nil && used.map { $0.contains(source.fields[i].name.lowercased()) || source.fields[i].name.lowercased() == eventTime } ?? true
            }
            kinds = read.map { source.fields[$0] }.map {
                switch $0.type {
                case .boolean: return .boolean
                case .bigint: return .bigint
                case .double: return .double
                case .string: return .string
                case .timestamp: return .timestamp
                case .interval: return .interval
                }
            }
            required = read.map { !source.fields[$0].nullable }
            names = read.map { source.fields[$0].name }
            slots = read
            width = source.fields.count
            metadata = source.fields.indices.compactMap { i in source.fields[i].metadata.map { (i, $0, source.fields[i].type) } }
        }

        func eventTime(_ row: Row, _ slot: Int?, _ record: ConsumerRecord) throws(FormatError) -> (Row, Millis) {
            guard let slot else { return (row, record.timestamp) }
            switch row.values[slot] {
            case .int(let ms): return (row, ms)
            case .timestamp(let ms, _): return (row, ms)
            default: throw FormatError(offset: 0, "event-time field \(names[slots.firstIndex(of: slot) ?? 0]) is missing or null")
            }
        }

        func row<F: RowFields>(_ f: F) throws(FormatError) -> Row {
            var values = [Value](repeating: .null, count: width)
            for i in 0..<kinds.count {
                let v: Value
                switch kinds[i] {
                case .bigint: v = try f.int64OrNil(i).map(Value.int) ?? .null
                case .double: v = try f.doubleOrNil(i).map(Value.double) ?? .null
                case .string: v = try f.stringOrNil(i).map(Value.string) ?? .null
                case .boolean: v = f.has(i) ? .bool(try f.bool(i)) : .null
                case .timestamp:
                    if f.has(i) {
                        let t = try f.timestamp(i)
                        v = .timestamp(t.millis, offsetMinutes: Int16(truncatingIfNeeded: t.utcOffsetSeconds / 60))
                    } else {
                        v = .null
                    }
                case .interval: v = try f.int64OrNil(i).map(Value.interval) ?? .null
                }
                if required[i], case .null = v {
                    throw FormatError(offset: 0, "field \(names[i]) is missing or null, and the schema says NOT NULL")
                }
                values[slots[i]] = v
            }
            return Row(values)
        }
    }
}
