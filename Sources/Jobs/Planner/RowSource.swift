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
        let eventTime = source.eventTime?.lowercased()
        let read = source.fields.indices.filter { i in
            source.fields[i].metadata == nil && used.map { $0.contains(source.fields[i].name.lowercased()) || source.fields[i].name.lowercased() == eventTime } ?? true
        }
        objects = JSONObjectDecoding(table: JSONFieldTable(read.map { source.fields[$0].name }), maxBytes: maxBytes)
        let kinds: [Kind] = read.map { source.fields[$0] }.map {
            switch $0.type {
            case .boolean: return .boolean
            case .bigint: return .bigint
            case .double: return .double
            case .string: return .string
            case .timestamp: return .timestamp
            case .interval: return .interval
            }
        }
        layout = Layout(kinds: kinds, required: read.map { !source.fields[$0].nullable }, names: read.map { source.fields[$0].name },
                        slots: read, width: source.fields.count,
                        metadata: source.fields.indices.compactMap { i in
                            source.fields[i].metadata.map { (i, $0, source.fields[i].type) }
                        })
        eventTimeSlot = source.eventTime.flatMap { source.schema.index(of: $0) }
    }

    mutating func decode(_ record: ConsumerRecord) throws(FormatError) -> (Row, Millis) {
        guard let value = record.value else { throw FormatError(offset: 0, "record has no value (tombstone)") }
        let layout = self.layout
        var row = try value.withUnsafeReadableBytes { (raw) throws(FormatError) -> Row in
            try objects.decode(raw) { (f) throws(FormatError) -> Row in try layout.row(f) }
        }
        if !layout.metadata.isEmpty { layout.fill(&row, from: record) }
        guard let slot = eventTimeSlot else { return (row, record.timestamp) }
        switch row.values[slot] {
        case .int(let ms): return (row, ms)
        case .timestamp(let ms, _): return (row, ms)
        default: throw FormatError(offset: 0, "event-time field \(layout.names[slot]) is missing or null")
        }
    }
}

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

        func row(_ f: JSONFields) throws(FormatError) -> Row {
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
