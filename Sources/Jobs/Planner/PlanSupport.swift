import Streams

/// A problem the planner found in a definition that the validator accepted: something the
/// runner cannot do yet, reported at its place like any other error.
struct PlanProblems {
    var all: [Diagnostic] = []
    let lines: [Substring]

    mutating func report(_ at: SourceLocation, _ message: String, length: Int = 1) {
        let line = at.line >= 1 && at.line <= lines.count ? String(lines[at.line - 1]) : ""
        all.append(Diagnostic(location: at, length: length, message: message, sourceLine: line))
    }
}

/// A stream of rows being planned, with the schema of its rows.
struct PlannedStream {
    var stream: DataStream<Row>
    var schema: RowSchema
    /// Lowercased names of the columns that hold the value the stream is partitioned by: an
    /// operator keyed by one of them sees every row of its key in one task.
    var aligned: Set<String> = []
    /// The last operator before this stream whose results could come in another order after
    /// a restart (a window, an event-time OVER), if any: a repartition after it is refused, its
    /// deduplication needs the same records in the same order again.
    var reorderingUpstream: String? = nil
}

enum PlanSupport {
    /// The slot of an expression that is just a column of `schema`, else nil.
    static func plainColumn(_ e: Expr, in schema: RowSchema) -> Int? {
        guard case .column(let id) = e.kind else { return nil }
        if case .found(let i) = schema.resolve(parts: id.parts.map { ($0.name, $0.quoted) }) { return i }
        return nil
    }

    /// Every column slot an expression reads (resolved in `schema`; unresolvable ones as -1).
    static func columnsRead(_ e: Expr, in schema: RowSchema, into out: inout [Int]) {
        if case .column(let id) = e.kind {
            if case .found(let i) = schema.resolve(parts: id.parts.map { ($0.name, $0.quoted) }) { out.append(i) } else { out.append(-1) }
            return
        }
        for c in e.children { columnsRead(c, in: schema, into: &out) }
    }

    /// Columns read outside aggregate calls.
    static func columnsOutsideAggregates(_ e: Expr, in schema: RowSchema, into out: inout [Int]) {
        switch e.kind {
        case .column:
            columnsRead(e, in: schema, into: &out)
        case .countStar:
            return
        case .call(let name, _, _, _) where AggregateCall.Function(rawValue: name.uppercased()) != nil:
            return
        default:
            for c in e.children { columnsOutsideAggregates(c, in: schema, into: &out) }
        }
    }

    /// Appends the values of `codes` (computed from each row) after its columns. Evaluation
    /// errors send the record to the dead-letter topic.
    static func derive(_ stream: DataStream<Row>, _ codes: [Compiled], name: String) -> DataStream<Row> {
        stream.tryCompactMap(name: name) { row in
            var r = row.values
            r.reserveCapacity(r.count + codes.count)
            for c in codes { r.append(try c.value(row)) }
            return Row(r)
        }
    }

    /// A slot as a state schema names it: the column's name and type, or the computed value's type.
    static func describe(_ slot: Int, _ schema: RowSchema, _ derived: [Compiled]) -> String {
        if slot < schema.count { return "\(schema[slot].name) \(schema[slot].type)\(schema[slot].nullable ? "" : " NOT NULL")" }
        let d = slot - schema.count
        return d < derived.count ? "computed \(derived[d].type)" : "?"
    }

    /// A Kafka key from a value: text as UTF-8, numbers as their decimal text; NULL: no key.
    static func keyBytes(_ v: Value) -> [UInt8]? {
        switch v {
        case .null: return nil
        case .string(let s): return Array(s.utf8)
        case .int(let i):
            var w = JSONWriter(capacity: 20)
            w.value(i)
            return w.bytes
        default: return Array(v.description.utf8)
        }
    }

    /// The stream key of a row's key columns. One BIGINT or STRING column keys as itself (the
    /// operators' maps stay fast); several, or other types, as their text joined by U+001F.
    static func streamKey(_ slots: [Int], types: [SQLType]) -> @Sendable (Row) -> StreamKey {
        if slots.count == 1, types[0] == .bigint {
            let s = slots[0]
            return { row in
                if case .int(let i) = row.values[s] { return StreamKey(i) }
                return StreamKey("\u{0}NULL")  // never a BIGINT key's text
            }
        }
        if slots.count == 1, types[0] == .string {
            let s = slots[0]
            return { row in
                if case .string(let t) = row.values[s] { return StreamKey(t) }
                return StreamKey(Int64.min)  // never a STRING key
            }
        }
        return { row in
            var text = ""
            for (i, s) in slots.enumerated() {
                if i > 0 { text.unicodeScalars.append("\u{1F}") }
                let v = row.values[s]
                text += v.isNull ? "\u{0}" : v.description
            }
            return StreamKey(text)
        }
    }
}
