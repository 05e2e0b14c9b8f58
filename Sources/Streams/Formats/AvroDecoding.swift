/// A record type read from Avro: it names the fields it wants (dotted paths into nested
/// records; a nested record may be optional, `["null", Location]`) and builds itself from
/// their values, by slot (the index of the path in `avroFields`).
///
/// ```swift
/// struct Tx: AvroRecord {
///     static let avroFields = ["tx_id", "amount", "ts", "location.city"]
///     var id: Int64, amount: Double, ts: EventTime, city: String?
///     init(avro f: AvroFields) throws(FormatError) {
///         id = try f.int64(0); amount = try f.double(1); ts = try f.timestamp(2); city = try f.stringOrNil(3)
///     }
/// }
/// ```
public protocol AvroRecord: Sendable {
    static var avroFields: [String] { get }
    init(avro: AvroFields) throws(FormatError)
}

/// Decodes Avro binary records of one schema into `T`, reusing its slot buffers (one decoder
/// per task; not shared). Walks the schema once per record: wanted scalars go into slots
/// (strings and bytes as spans into the value), everything else is skipped.
public struct AvroDecoding<T: AvroRecord> {
    var values: AvroValueDecoding
    /// Largest value accepted; bigger ones go to the dead-letter topic.
    public var maxBytes: Int {
        get { values.maxBytes }
        set { values.maxBytes = newValue }
    }

    /// Fails when the schema's root is not a record, or a wanted path does not lead through
    /// records to a scalar field (null, boolean, int, long, float, double, bytes, string,
    /// enum, fixed, or a union of those).
    public init(schema: AvroSchema, wire: AvroWire = .raw, maxBytes: Int = 1 << 20) throws(FormatError) {
        values = try AvroValueDecoding(schema: schema, paths: T.avroFields, wire: wire, maxBytes: maxBytes)
    }

    public mutating func decode(_ bytes: UnsafeRawBufferPointer) throws(FormatError) -> T {
        try values.decode(bytes) { (f) throws(FormatError) -> T in try T(avro: f) }
    }
}

/// Avro records whose wanted fields are known only at run time (job files): `decode` hands
/// the record's fields, slot i being `paths[i]` (dotted through nested records), to a
/// closure, valid only during the call.
public struct AvroValueDecoding {
    let schema: AvroSchema
    let plan: AvroPlan
    let slots: AvroSlots
    let walk: AvroWalk
    /// Confluent framing: the accepted schema ids (nil: any).
    let confluent: Bool
    let schemaIDs: Set<Int32>?
    public var maxBytes: Int

    public init(schema: AvroSchema, paths: [String], wire: AvroWire = .raw, maxBytes: Int = 1 << 20) throws(FormatError) {
        self.schema = schema
        switch wire {
        case .raw: (confluent, schemaIDs) = (false, nil)
        case .confluent(let ids): (confluent, schemaIDs) = (true, ids)
        }
        self.maxBytes = maxBytes
        plan = try AvroPlan(schema: schema, paths: paths)
        slots = AvroSlots(paths: paths)
        walk = AvroWalk(schema: schema, plan: plan, slots: slots)
    }

    public mutating func decode<R>(_ bytes: UnsafeRawBufferPointer, _ read: (AvroFields) throws(FormatError) -> R) throws(FormatError) -> R {
        guard bytes.count <= maxBytes, bytes.count < Int(Int32.max) else {
            throw FormatError(offset: 0, "value of \(bytes.count) bytes exceeds the \(maxBytes)-byte limit")
        }
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? CSVStorage.emptyByte
        var start = 0
        if confluent {
            guard bytes.count >= 5 else { throw FormatError(offset: 0, "value of \(bytes.count) bytes is shorter than the 5-byte Confluent header") }
            guard base[0] == 0 else { throw FormatError(offset: 0, "expected the Confluent magic byte 0, found \(base[0])") }
            let id = Int32(bitPattern: UInt32(base[1]) << 24 | UInt32(base[2]) << 16 | UInt32(base[3]) << 8 | UInt32(base[4]))
            if let ids = schemaIDs, !ids.contains(id) {
                throw FormatError(offset: 1, "schema id \(id) is not accepted (expected \(ids.sorted().map(String.init).joined(separator: " or ")))")
            }
            start = 5
        }
        slots.reset()
        var r = AvroReader(base: base, start: start, end: bytes.count)
        do {
            try walk.readRecord(&r, schema.root, plan: 0, depth: 0)
        } catch {
            throw error.formatError(schema)
        }
        guard r.pos == r.end else { throw FormatError(offset: r.pos, "\(r.end - r.pos) bytes after the end of the record") }
        return try read(AvroFields(base: base, slots: slots, schema: schema))
    }
}
