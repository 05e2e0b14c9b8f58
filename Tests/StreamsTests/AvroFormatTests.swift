import KafkaClient
import NIOCore
@testable import Streams
import Testing

/// The schema of `scripts/avro_vectors.py` (printed by it).
let avroTxSchemaJSON = #"""
{"type": "record", "name": "Tx", "namespace": "com.riverbank", "fields": [{"name": "tx_id", "type": "long"}, {"name": "customer_id", "type": "int"}, {"name": "amount", "type": "double"}, {"name": "fee", "type": "float"}, {"name": "currency", "type": "string"}, {"name": "approved", "type": "boolean"}, {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}}, {"name": "ts_us", "type": {"type": "long", "logicalType": "timestamp-micros"}}, {"name": "day", "type": {"type": "int", "logicalType": "date"}}, {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}}, {"name": "channel", "type": {"type": "enum", "name": "Channel", "symbols": ["WEB", "POS", "APP"]}}, {"name": "tags", "type": {"type": "array", "items": "string"}}, {"name": "attrs", "type": {"type": "map", "values": "long"}}, {"name": "card_hash", "type": {"type": "fixed", "name": "Hash4", "size": 4}}, {"name": "location", "type": ["null", {"type": "record", "name": "Location", "fields": [{"name": "lat", "type": "double"}, {"name": "city", "type": ["null", "string"]}]}]}, {"name": "note", "type": ["null", "string"], "default": null}, {"name": "raw", "type": "bytes"}, {"name": "prev_channel", "type": ["null", "Channel"]}]}
"""#

/// Independent encodings of `scripts/avro_vectors.py`'s three records: written by fastavro 1.13.1's
/// `schemaless_writer`, checked byte for byte against Apache avro 1.12.2's `DatumWriter`.
let fastavroVectors = [
    "9693d89fee475300000000000029400000803e0645555201b4dec0b79567808dd2d1b9ffa506c2c00206fe1dc0020402610ac3a9e282ac00040278020279d704000102feff02cdcccccccc6c4840020a50617269730214686920227468657265220400800204",
    "ffffffffffffffffff01feffffff0f9a9999999999b9bf000060c0000001020102070000000000000000000000",
    "feffffffffffffffff01ffffffff0f9c7500883ce4377e0000803f065553440180a0d5edee66808082e288d2a306ccbf020a02540be3ff04060278027802780002026bfeffffffffffffffff010061626364023333333333f340c000020006ffffff0200",
]
/// `LIST_RECORD` (1 → 2 → -3) and `FIXED_DECIMAL_RECORD` (-12.3456), same script and check.
let fastavroListVector = "020204020500"
let fastavroFixedDecimalVector = "fffffffffffe1dc0"

func hexBytes(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = s.utf8.makeIterator()
    while let a = it.next(), let b = it.next() {
        out.append(UInt8(String(decoding: [a, b], as: UTF8.self), radix: 16)!)
    }
    return out
}

struct AvroTx: AvroRecord, Equatable {
    static let avroFields = ["tx_id", "customer_id", "amount", "fee", "currency", "approved", "ts", "ts_us", "day",
                             "price", "channel", "location.lat", "location.city", "note", "prev_channel", "card_hash", "raw"]
    var id: Int64 = 0, customer: Int64 = 0, amount = 0.0, fee = 0.0, currency = "", approved = false
    var ts = EventTime(millis: 0), tsUs = EventTime(millis: 0), day = EventTime(millis: 0)
    var price = 0.0, priceText = "", channel = ""
    var lat: Double? = nil, city: String? = nil, note: String? = nil, prev: String? = nil
    var hash: [UInt8] = [], raw: [UInt8] = []

    init() {}

    init(avro f: AvroFields) throws(FormatError) {
        id = try f.int64(0)
        customer = try f.int64(1)
        amount = try f.double(2)
        fee = try f.double(3)
        currency = try f.string(4)
        approved = try f.bool(5)
        ts = try f.timestamp(6)
        tsUs = try f.timestamp(7)
        day = try f.timestamp(8)
        price = try f.double(9)
        priceText = try f.string(9)
        channel = try f.string(10)
        lat = try f.doubleOrNil(11)
        city = try f.stringOrNil(12)
        note = try f.stringOrNil(13)
        prev = try f.stringOrNil(14)
        hash = try f.bytesOrNil(15) ?? []
        raw = try f.bytesOrNil(16) ?? []
    }

    /// The three records of `scripts/avro_vectors.py`.
    static let vectors: [AvroTx] = {
        var a = AvroTx()
        a.id = 1_234_567_890_123; a.customer = -42; a.amount = 12.5; a.fee = 0.25; a.currency = "EUR"; a.approved = true
        a.ts = EventTime(millis: 1_772_403_300_250); a.tsUs = EventTime(millis: 1_772_403_300_123); a.day = EventTime(millis: 1_772_323_200_000)
        a.price = -1234.56; a.priceText = "-1234.56"; a.channel = "POS"; a.lat = 48.85; a.city = "Paris"; a.note = "hi \"there\""
        a.prev = "APP"; a.hash = [1, 2, 0xFE, 0xFF]; a.raw = [0, 0x80]
        var b = AvroTx()
        b.id = .min; b.customer = Int64(Int32.max); b.amount = -0.1; b.fee = -3.5; b.currency = ""; b.approved = false
        b.ts = EventTime(millis: -1); b.tsUs = EventTime(millis: 0); b.day = EventTime(millis: -86_400_000)
        b.price = 0.07; b.priceText = "0.07"; b.channel = "WEB"; b.hash = [0, 0, 0, 0]
        var c = AvroTx()
        c.id = .max; c.customer = Int64(Int32.min); c.amount = 1e300; c.fee = 1; c.currency = "USD"; c.approved = true
        c.ts = EventTime(millis: 1_767_225_600_000); c.tsUs = c.ts; c.day = c.ts
        c.price = 99_999_999.99; c.priceText = "99999999.99"; c.channel = "APP"; c.lat = -33.9; c.note = ""; c.prev = "WEB"
        c.hash = Array("abcd".utf8); c.raw = [0xFF, 0xFF, 0xFF]
        return [a, b, c]
    }()
}

struct ListNode: AvroRecord {
    static let avroFields = ["value", "next.value", "next.next.value", "next.next.next.value"]
    var values: [Int64?]
    init(avro f: AvroFields) throws(FormatError) {
        values = try (0..<4).map { (i) throws(FormatError) -> Int64? in try f.int64OrNil(i) }
    }
}

let listSchemaJSON = #"{"type":"record","name":"Node","fields":[{"name":"value","type":"long"},{"name":"next","type":["null","Node"]}]}"#

/// Runs one accessor per entry and keeps its result or error, for checking semantics.
struct Probe<F: ProbeFields>: AvroRecord {
    static var avroFields: [String] { F.paths }
    var out: [String]
    init(avro f: AvroFields) throws(FormatError) { out = F.run(f) }
}

protocol ProbeFields: Sendable {
    static var paths: [String] { get }
    static func run(_ f: AvroFields) -> [String]
}

extension ProbeFields {
    static func run(_ f: AvroFields) -> [String] { [] }
}

struct AvroNothing: AvroRecord {
    static var avroFields: [String] { [] }
    init(avro f: AvroFields) throws(FormatError) {}
}

/// A long as Avro writes it (zigzag varint).
func zigzag(_ v: Int64) -> [UInt8] {
    var z = UInt64(bitPattern: (v << 1) ^ (v >> 63))
    var out: [UInt8] = []
    while z >= 0x80 { out.append(UInt8(truncatingIfNeeded: z) | 0x80); z >>= 7 }
    out.append(UInt8(z))
    return out
}

func probe<V>(_ body: () throws -> V) -> String {
    do { return "\(try body())" } catch let e as FormatError { return "error: \(e.reason)" } catch { return "unexpected \(error)" }
}

@Suite struct AvroFormatTests {
    let txSchema: AvroSchema

    init() throws {
        txSchema = try AvroSchema(json: avroTxSchemaJSON)
    }

    func decode<T: AvroRecord>(_ bytes: [UInt8], _ d: inout AvroDecoding<T>) throws(FormatError) -> T {
        try bytes.withUnsafeBytes { raw in Result { () throws(FormatError) -> T in try d.decode(raw) } }.get()
    }

    func failure<T: AvroRecord>(_ bytes: [UInt8], _ d: inout AvroDecoding<T>) -> FormatError? {
        do {
            _ = try decode(bytes, &d)
            return nil
        } catch {
            return error
        }
    }

    /// Writes one of the vector records with the schema-following writer.
    func write(_ t: AvroTx, tags: [String], attrs: [(String, Int64)], tsMicros: Int64, _ w: inout AvroWriter) {
        w.begin()
        w.long(t.id)
        w.long(t.customer)
        w.double(t.amount)
        w.double(t.fee)
        w.string(t.currency)
        w.bool(t.approved)
        w.timestamp(t.ts)
        w.long(tsMicros)
        w.timestamp(t.day)
        w.decimal(t.price)
        w.string(t.channel)
        w.beginArray(count: tags.count)
        for s in tags { w.string(s) }
        w.endArray()
        w.beginMap(count: attrs.count)
        for (k, v) in attrs { w.key(k); w.long(v) }
        w.endMap()
        w.bytes(t.hash)
        if let lat = t.lat {
            w.beginRecord()
            w.double(lat)
            w.string(t.city)
            w.endRecord()
        } else {
            w.null()
        }
        w.string(t.note)
        w.bytes(t.raw)
        w.string(t.prev)
        w.end()
    }

    var vectorExtras: [(tags: [String], attrs: [(String, Int64)], micros: Int64)] {
        [(["a", "é€"], [("x", 1), ("y", -300)], 1_772_403_300_123_456),
         ([], [], 1),
         (["x", "x", "x"], [("k", .max)], 1_767_225_600_000_000)]
    }

    @Test func decodesIndependentFastavroEncodings() throws {
        var d = try AvroDecoding<AvroTx>(schema: txSchema)
        for (i, hex) in fastavroVectors.enumerated() {
            let t = try decode(hexBytes(hex), &d)
            #expect(t == AvroTx.vectors[i], "vector \(i)")
        }
        var l = try AvroDecoding<ListNode>(schema: try AvroSchema(json: listSchemaJSON))
        #expect(try decode(hexBytes(fastavroListVector), &l).values == [1, 2, -3, nil])
    }

    @Test func writerMatchesFastavroByteForByte() throws {
        var w = try AvroWriter(schema: txSchema)
        for (i, t) in AvroTx.vectors.enumerated() {
            let x = vectorExtras[i]
            write(t, tags: x.tags, attrs: x.attrs, tsMicros: x.micros, &w)
            #expect(w.failure == nil)
            #expect(w.bytes == hexBytes(fastavroVectors[i]), "vector \(i)")
        }
        let fixed = try AvroSchema(json: #"{"type":"record","name":"L","fields":[{"name":"fx","type":{"type":"fixed","name":"D8","size":8,"logicalType":"decimal","precision":18,"scale":4}}]}"#)
        var fw = try AvroWriter(schema: fixed)
        fw.begin()
        fw.decimal(-12.3456)
        fw.end()
        #expect(fw.bytes == hexBytes(fastavroFixedDecimalVector))
    }

    @Test func randomRecordsRoundTripThroughWriterAndDecoder() throws {
        var rng = SplitMix(seed: 21)
        var w = try AvroWriter(schema: txSchema)
        var d = try AvroDecoding<AvroTx>(schema: txSchema)
        let texts = ["", "a", "é€", "\"", String(repeating: "x", count: 300)]
        for _ in 0..<3_000 {
            var t = AvroTx()
            t.id = Int64.random(in: .min ... .max, using: &rng) >> Int64.random(in: 0...63, using: &rng)
            t.customer = Int64(Int32.random(in: .min ... .max, using: &rng))
            t.amount = Double.random(in: -1e9...1e9, using: &rng)
            t.fee = Double(Float(Double.random(in: -100...100, using: &rng)))
            t.currency = texts.randomElement(using: &rng)!
            t.approved = Bool.random(using: &rng)
            t.ts = EventTime(millis: Int64.random(in: -4_000_000_000_000...4_000_000_000_000, using: &rng))
            let micros = t.ts.millis * 1000 + Int64.random(in: 0...999, using: &rng)
            t.tsUs = t.ts
            t.day = EventTime(millis: AvroFields.floorDiv(t.ts.millis, 86_400_000) * 86_400_000)
            let cents = Int64.random(in: -10_000_000_000...10_000_000_000, using: &rng)
            t.price = Double(cents) / 100
            t.priceText = (cents < 0 ? "-" : "") + "\(cents.magnitude / 100)." + (cents.magnitude % 100 < 10 ? "0" : "") + "\(cents.magnitude % 100)"
            t.channel = ["WEB", "POS", "APP"].randomElement(using: &rng)!
            if Bool.random(using: &rng) {
                t.lat = Double.random(in: -90...90, using: &rng)
                t.city = Bool.random(using: &rng) ? texts.randomElement(using: &rng)! : nil
            }
            t.note = Bool.random(using: &rng) ? texts.randomElement(using: &rng)! : nil
            t.prev = Bool.random(using: &rng) ? ["WEB", "POS", "APP"].randomElement(using: &rng)! : nil
            t.hash = (0..<4).map { _ in UInt8.random(in: 0...255, using: &rng) }
            t.raw = (0..<Int.random(in: 0...5, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let tags = (0..<Int.random(in: 0...3, using: &rng)).map { _ in texts.randomElement(using: &rng)! }
            let attrs = (0..<Int.random(in: 0...3, using: &rng)).map { i in ("k\(i)", Int64.random(in: -1000...1000, using: &rng)) }
            write(t, tags: tags, attrs: attrs, tsMicros: micros, &w)
            #expect(w.failure == nil)
            let back = try decode(w.bytes, &d)
            #expect(back == t)
        }
    }

    @Test func negativeBlockCountsCarryByteSizes() throws {
        struct After: AvroRecord {
            static let avroFields = ["after"]
            var after: Int64
            init(avro f: AvroFields) throws(FormatError) { after = try f.int64(0) }
        }
        let s = try AvroSchema(json: #"{"type":"record","name":"B","fields":[{"name":"xs","type":{"type":"array","items":"long"}},{"name":"m","type":{"type":"map","values":"string"}},{"name":"after","type":"long"}]}"#)
        var d = try AvroDecoding<After>(schema: s)
        // xs: a block of -2 items (zigzag 3) of 2 bytes (4): 1, 2; a block of 1 item: 3; end.
        // m: a block of -1 entry of 4 bytes: "k" → "v"; end. after: 7.
        let bytes: [UInt8] = [0x03, 0x04, 0x02, 0x04, 0x02, 0x06, 0x00,
                              0x01, 0x08, 0x02, 0x6B, 0x02, 0x76, 0x00,
                              0x0E]
        #expect(try decode(bytes, &d).after == 7)
        // A block size past the end is refused; so is a count the bytes cannot hold.
        #expect(failure([0x03, 0x7E, 0x02, 0x04, 0x00, 0x00, 0x0E], &d)?.reason == "field xs: block size 63 out of range (5 bytes left)")
        #expect(failure([0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00], &d)?.reason == "field xs: block of 17179869184 items cannot fit in the 1 bytes left")
    }

    @Test func confluentHeaderIsChecked() throws {
        let body = hexBytes(fastavroVectors[0])
        var d = try AvroDecoding<AvroTx>(schema: txSchema, wire: .confluent(schemaIDs: [7, 300]))
        #expect(try decode([0, 0, 0, 0, 7] + body, &d) == AvroTx.vectors[0])
        #expect(try decode([0, 0, 0, 1, 44] + body, &d) == AvroTx.vectors[0])
        #expect(failure([1, 0, 0, 0, 7] + body, &d) == FormatError(offset: 0, "expected the Confluent magic byte 0, found 1"))
        #expect(failure([0, 0, 0, 0, 8] + body, &d) == FormatError(offset: 1, "schema id 8 is not accepted (expected 7 or 300)"))
        #expect(failure([0, 0, 0], &d) == FormatError(offset: 0, "value of 3 bytes is shorter than the 5-byte Confluent header"))
        var any = try AvroDecoding<AvroTx>(schema: txSchema, wire: .confluent(schemaIDs: nil))
        #expect(try decode([0, 0xFF, 0xFF, 0xFF, 0xFF] + body, &any) == AvroTx.vectors[0])
        let e = try #require(failure([0, 0, 0, 0, 7] + body.dropLast(), &d))
        #expect(e.reason == "field prev_channel: unexpected end of data, expected an int")
        #expect(e.offset == 5 + body.count - 1, "offsets count the header")
        // The writer puts the header in front.
        var w = try AvroWriter(schema: txSchema, wire: .confluent(schemaID: 300))
        write(AvroTx.vectors[0], tags: vectorExtras[0].tags, attrs: vectorExtras[0].attrs, tsMicros: vectorExtras[0].micros, &w)
        #expect(w.bytes == [0, 0, 0, 1, 44] + body)
        #expect(throws: FormatError.self) { try AvroWriter(schema: txSchema, wire: .confluent(schemaIDs: [1, 2])) }
    }

    static let errorSchema = #"{"type":"record","name":"E","fields":[{"name":"i","type":"int"},{"name":"l","type":"long"},{"name":"s","type":"string"},{"name":"b","type":"boolean"},{"name":"u","type":["null","long"]},{"name":"e","type":{"type":"enum","name":"Col","symbols":["R","G"]}},{"name":"items","type":{"type":"array","items":{"type":"record","name":"Item","fields":[{"name":"p","type":"double"}]}}}]}"#

    /// A valid value of `errorSchema`: i 1, l 2, s "ab", b true, u 3, e G, items [{p: 1.0}].
    static let goodE: [UInt8] = [0x02, 0x04, 0x04, 0x61, 0x62, 0x01, 0x02, 0x06, 0x02, 0x02] + [0, 0, 0, 0, 0, 0, 0xF0, 0x3F] + [0x00]

    struct ERec: AvroRecord {
        static let avroFields = ["i", "l", "s", "b", "u", "e"]
        init(avro f: AvroFields) throws(FormatError) {
            _ = try f.int64(0); _ = try f.int64(1); _ = try f.string(2); _ = try f.bool(3); _ = try f.int64OrNil(4); _ = try f.string(5)
        }
    }

    @Test func malformedDataSaysWhereAndWhy() throws {
        var d = try AvroDecoding<ERec>(schema: try AvroSchema(json: AvroFormatTests.errorSchema))
        let good = AvroFormatTests.goodE
        #expect(failure(good, &d) == nil)
        let cases: [([UInt8], String, Int)] = [
            ([0x02], "field l: unexpected end of data, expected a long", 1),
            ([0xFF, 0xFF, 0xFF, 0xFF, 0x1F], "field i: varint overflows an int (32 bits)", 0),
            ([0x02] + [UInt8](repeating: 0xFF, count: 10) + [0x01], "field l: varint overflows 64 bits", 1),
            ([0x02, 0x80, 0x80], "field l: unexpected end of data inside a varint", 1),
            ([0x02, 0x04, 0x03], "field s: negative length -2", 2),
            ([0x02, 0x04, 0x0A, 0x61], "field s: length 5 exceeds the 1 bytes left", 2),
            ([0x02, 0x04, 0x00, 0x02], "field b: boolean byte must be 0 or 1, found 2", 3),
            ([0x02, 0x04, 0x00, 0x00, 0x04], "field u: union branch 2 out of range (0..<2)", 4),
            ([0x02, 0x04, 0x00, 0x00, 0x00, 0x0A], "field e: enum index 5 out of range (0..<2)", 5),
            ([0x02, 0x04, 0x00, 0x00, 0x00, 0x00, 0x02, 0, 0, 0], "field items: block of 1 items cannot fit in the 3 bytes left", 6),
            (good + [0], "1 bytes after the end of the record", good.count),
        ]
        for (bytes, reason, offset) in cases {
            let e = failure(bytes, &d)
            #expect(e?.reason == reason, "\(bytes)")
            #expect(e?.offset == offset, "\(bytes): \(String(describing: e))")
        }
        var arr = try AvroDecoding<AvroNothing>(schema: try AvroSchema(json: #"{"type":"record","name":"A","fields":[{"name":"xs","type":{"type":"array","items":{"type":"record","name":"It","fields":[{"name":"s","type":"string"}]}}}]}"#))
        #expect(failure([0x04, 0x02, 0x61, 0x0A, 0x62], &arr) == FormatError(offset: 3, "field xs[1].s: length 5 exceeds the 1 bytes left"))
        var bad = good
        bad[3] = 0xC3; bad[4] = 0x28
        #expect(failure(bad, &d) == FormatError(offset: 3, "field s: invalid UTF-8"))
        d.maxBytes = 5
        #expect(failure(good, &d)?.reason == "value of 19 bytes exceeds the 5-byte limit")
    }

    @Test func hostileCountsAndDepthAreRefused() throws {
        var nulls = try AvroDecoding<AvroNothing>(schema: try AvroSchema(json: #"{"type":"record","name":"N","fields":[{"name":"xs","type":{"type":"array","items":"null"}}]}"#))
        #expect(failure(zigzag(1_000_000_000) + [0], &nulls)?.reason == "field xs: block of 1000000000 empty items exceeds the limit")
        #expect(failure(zigzag(1024) + [0], &nulls) == nil, "1024 nulls are fine")
        // A list 100 deep through a recursive schema.
        var l = try AvroDecoding<ListNode>(schema: try AvroSchema(json: listSchemaJSON))
        let deep = [UInt8]((0..<100).map { _ in [0x02, 0x02] as [UInt8] }.joined()) + [0x02, 0x00]
        let e = try #require(failure(deep, &l))
        #expect(e.reason.hasSuffix("records nested deeper than 64"))
        #expect(e.reason.hasPrefix("field next.next.next.next."))
    }

    @Test func malformedSchemasAreRejected() {
        let cases: [(String, String)] = [
            (#"{"type":"record","name":"R"}"#, #"record R has no "fields""#),
            (#"{"type":"record","fields":[]}"#, #"record has no "name""#),
            (#"{"type":"record","name":"R","fields":[{"name":"a","type":"Unknown"}]}"#, "field R.a: unknown type 'Unknown'"),
            (#"{"type":"record","name":"R","fields":[{"name":"a","type":"long"},{"name":"a","type":"long"}]}"#, "field a appears twice in record R"),
            (#"{"type":"record","name":"R","fields":[{"type":"long"}]}"#, #"a field of record R has no "name""#),
            (#"{"type":"record","name":"R","fields":[{"name":"a-b","type":"long"}]}"#, "invalid field name 'a-b' in record R"),
            (#"{"type":"record","name":"R","fields":[{"name":"a"}]}"#, #"field a of record R has no "type""#),
            (#"["null",["long"]]"#, "a union may not contain a union directly"),
            (#"["long","long"]"#, "union has two branches of type long"),
            (#"["long",{"type":"long","logicalType":"timestamp-millis"}]"#, "union has two branches of type long"),
            ("[]", "a union needs at least one branch"),
            (#"{"type":"enum","name":"E","symbols":["A","A"]}"#, "enum E: symbol A appears twice"),
            (#"{"type":"enum","name":"E","symbols":["1A"]}"#, "enum E: symbols must be names"),
            (#"{"type":"enum","name":"E"}"#, #"enum E needs "symbols""#),
            (#"{"type":"fixed","name":"F"}"#, #"fixed F needs "size""#),
            (#"{"type":"fixed","name":"F","size":-1}"#, #"fixed F needs "size""#),
            (#"{"type":"array"}"#, #"array has no "items""#),
            (#"{"type":"map","items":"long"}"#, #"map has no "values""#),
            (#"{"type":"record","name":"R","fields":[{"name":"r","type":"R"}]}"#, "record R contains itself through record fields only"),
            (#"{"type":"record","name":"long","fields":[]}"#, "record may not be named long, a primitive type"),
            (#"{"type":"record","name":"9R","fields":[]}"#, "invalid name '9R'"),
            (#"{"type":"record","name":"R","namespace":"a..b","fields":[]}"#, "invalid name 'a..b.R'"),
            (#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"enum","name":"R","symbols":[]}}]}"#, "type R is defined twice"),
            (#"{"type":"record","name":"R","fields":["#, "unexpected end of the schema"),
            (#"{"type":"record","name":"R","fields":[]} x"#, "unexpected data after the schema"),
            (#"{"type":{"type":"long"}}"#, #""type" of a type object must be a string, found an object"#),
            (#"{"name":"x"}"#, #"type object has no "type""#),
            ("42", "expected a type (a name, an object or a union array), found a number"),
            (#"{"type":"record","name":"R","fields":[],"fields":[]}"#, #"member "fields" appears twice"#),
            (#""nothing""#, "unknown type 'nothing'"),
            (#"{"type":"record","name":"R","namespace":"a.b","fields":[{"name":"x","type":{"type":"enum","name":"c.E","symbols":["Q"]}},{"name":"y","type":"E"}]}"#,
             "field a.b.R.y: unknown type 'E' (defined so far: a.b.R, c.E)"),
        ]
        for (json, want) in cases {
            do {
                _ = try AvroSchema(json: json)
                Issue.record("accepted: \(json)")
            } catch {
                #expect(error.reason.contains(want), "\(json) → \(error)")
                #expect(error.offset >= 0 && error.offset <= json.utf8.count)
            }
        }
    }

    @Test func namesResolveInNamespaces() throws {
        let s = try AvroSchema(json: #"""
        {"type":"record","name":"R","namespace":"a.b","fields":[
          {"name":"x","type":{"type":"fixed","name":"F","size":2}},
          {"name":"y","type":"F"},
          {"name":"z","type":"a.b.F"},
          {"name":"w","type":{"type":"enum","name":"c.E","symbols":["Q"]}},
          {"name":"v","type":"c.E"},
          {"name":"n","type":{"type":"record","name":"S","fields":[{"name":"e","type":"c.E"}]}},
          {"name":"m","type":["null","S"]},
          {"name":"o","type":{"type":"record","name":"T","namespace":"","fields":[]}},
          {"name":"p","type":"T"}
        ]}
        """#)
        #expect(s.fieldNames == ["x", "y", "z", "w", "v", "n", "m", "o", "p"])
        let root = s.node(s.root)
        let types = (0..<root.count).map { s.typeName(s.child(root, $0)) }
        #expect(types == ["fixed a.b.F", "fixed a.b.F", "fixed a.b.F", "enum c.E", "enum c.E", "record a.b.S", "union [null, record a.b.S]", "record T", "record T"])
    }

    enum Missing: ProbeFields { static var paths: [String] { ["tx_id", "nope"] } }
    enum NotScalar: ProbeFields { static var paths: [String] { ["tags"] } }
    enum Through: ProbeFields { static var paths: [String] { ["tags.x"] } }
    enum Twice: ProbeFields { static var paths: [String] { ["note", "note"] } }
    enum Nested: ProbeFields { static var paths: [String] { ["location.nope"] } }

    @Test func wantedPathsAreCheckedAtInit() throws {
        #expect(throws: FormatError(offset: 0, "field nope: record com.riverbank.Tx has no field 'nope' (fields: tx_id, customer_id, amount, fee, currency, approved, ts, ts_us, day, price, channel, tags, attrs, card_hash, location, note, raw, prev_channel)")) {
            try AvroDecoding<Probe<Missing>>(schema: txSchema)
        }
        #expect(throws: FormatError(offset: 0, "field tags: array<string> is not a scalar type")) { try AvroDecoding<Probe<NotScalar>>(schema: txSchema) }
        #expect(throws: FormatError(offset: 0, "field tags.x: tags is array<string>, not a record")) { try AvroDecoding<Probe<Through>>(schema: txSchema) }
        #expect(throws: FormatError(offset: 0, "field note is wanted twice")) { try AvroDecoding<Probe<Twice>>(schema: txSchema) }
        #expect(throws: FormatError(offset: 0, "field location.nope: record com.riverbank.Location has no field 'nope' (fields: lat, city)")) {
            try AvroDecoding<Probe<Nested>>(schema: txSchema)
        }
        #expect(throws: FormatError(offset: 0, "the schema's root must be a record, found long")) {
            try AvroDecoding<Probe<Missing>>(schema: try AvroSchema(json: #""long""#))
        }
    }

    enum LogicalFields: ProbeFields {
        static var paths: [String] { ["ns", "local", "iso", "d", "fx", "f", "bad_dec", "i"] }
        static func run(_ f: AvroFields) -> [String] {
            [probe { try f.timestamp(0).millis }, probe { try f.timestamp(1).millis }, probe { try f.timestamp(2).millis },
             probe { try f.int64(3) }, probe { try f.double(4) }, probe { try f.string(4) }, probe { try f.int64(4) },
             probe { try f.string(5) }, probe { try f.double(6) }, probe { try f.string(6) }, probe { try f.bool(7) },
             probe { try f.timestamp(7).millis }, probe { try f.string(7) }, probe { try f.double(2) }]
        }
    }

    @Test func accessorsConvertLikeJSONFields() throws {
        let s = try AvroSchema(json: #"""
        {"type":"record","name":"L","fields":[
          {"name":"ns","type":{"type":"long","logicalType":"timestamp-nanos"}},
          {"name":"local","type":{"type":"long","logicalType":"local-timestamp-millis"}},
          {"name":"iso","type":"string"},
          {"name":"d","type":"double"},
          {"name":"fx","type":{"type":"fixed","name":"D8","size":8,"logicalType":"decimal","precision":18,"scale":4}},
          {"name":"f","type":"float"},
          {"name":"bad_dec","type":{"type":"bytes","logicalType":"decimal","precision":2,"scale":3}},
          {"name":"i","type":"int"}
        ]}
        """#)
        var w = try AvroWriter(schema: s)
        w.begin()
        w.timestamp(EventTime(millis: -1500))
        w.long(5)
        w.string("2026-03-01T23:15:00+01:00")
        w.double(42)
        w.decimal(-12.3456)
        w.double(1.5)
        w.bytes([0x31])
        w.long(7)
        w.end()
        #expect(w.failure == nil)
        var d = try AvroDecoding<Probe<LogicalFields>>(schema: s)
        let out = try decode(w.bytes, &d).out
        #expect(out == [
            "-1500",
            "error: field local: a local-timestamp has no UTC offset",
            "1772403300000",
            "42",
            "-12.3456",
            "-12.3456",
            "error: field fx: decimal -12.3456 is not an integer in range",
            "1.5",
            "error: field bad_dec: expected a number, found bytes",
            "1",
            "error: field i: expected a boolean, found int",
            "7",
            "7",
            "error: field iso: expected a number, found string",
        ])
    }

    @Test func writerRefusesValuesTheSchemaCannotHold() throws {
        var w = try AvroWriter(schema: txSchema)
        w.begin(); w.string("x")
        #expect(w.failure == "field tx_id: expected long, got a string")
        w.begin(); w.long(1); w.long(1 << 40)
        #expect(w.failure == "field customer_id: 1099511627776 does not fit an int")
        w.begin(); w.long(1); w.long(2); w.end()
        #expect(w.failure == "field amount of record com.riverbank.Tx not written")
        w.begin(); w.long(1); w.long(2); w.double(1); w.double(1); w.string("c"); w.bool(true)
        w.timestamp(EventTime(millis: 0)); w.long(0); w.timestamp(EventTime(millis: 0)); w.decimal(1); w.string("NOPE")
        #expect(w.failure == "field channel: 'NOPE' is not a symbol of enum com.riverbank.Channel")
        w.begin(); w.null()
        #expect(w.failure == "field tx_id: expected long, got null")
        w.begin(); w.long(1); w.long(2); w.double(1); w.double(1); w.string("c"); w.bool(true)
        w.timestamp(EventTime(millis: 0)); w.long(0); w.timestamp(EventTime(millis: 0)); w.decimal(1); w.string("WEB")
        w.beginArray(count: 1); w.endArray()
        #expect(w.failure == "array<string> ended with 1 items missing")
        w.begin(); w.beginRecord()
        #expect(w.failure == "field tx_id: expected long, got a record")
        w.begin()
        write(AvroTx.vectors[0], tags: [], attrs: [], tsMicros: 0, &w)
        #expect(w.failure == nil)
        w.long(1)
        #expect(w.failure == "value written outside begin()/end()")
    }

    @Test func writerPicksTheUnionBranchThatHoldsTheValue() throws {
        struct V: AvroRecord {
            static var avroFields: [String] { ["n", "x"] }
            var n: Int64?, x: String?
            init(avro f: AvroFields) throws(FormatError) { n = try f.int64OrNil(0); x = try f.stringOrNil(1) }
        }
        let s = try AvroSchema(json: #"{"type":"record","name":"U","fields":[{"name":"n","type":["null","int","long"]},{"name":"x","type":["null",{"type":"enum","name":"K","symbols":["A"]},"string"]}]}"#)
        var w = try AvroWriter(schema: s)
        var d = try AvroDecoding<V>(schema: s)
        for (n, x) in [(Int64(1) << 40, "A"), (5, "free text"), (nil, nil)] as [(Int64?, String?)] {
            w.begin(); w.long(n); w.string(x); w.end()
            #expect(w.failure == nil)
            let v = try decode(w.bytes, &d)
            #expect(v.n == n && v.x == x)
        }
        w.begin(); w.long(5); w.string("A"); w.end()
        #expect(w.bytes == [0x04, 0x0A, 0x04, 0x02, 0x41], "long over int, string over the enum symbol")
    }

    /// Random mutations and truncations of valid encodings (with and without the Confluent
    /// header): decoding either succeeds or throws a FormatError inside the input; it never
    /// crashes, reads out of bounds or hangs.
    @Test func fuzzMutationsNeverCrash() throws {
        var d = try AvroDecoding<AvroTx>(schema: txSchema, wire: .confluent(schemaIDs: nil))
        var l = try AvroDecoding<ListNode>(schema: try AvroSchema(json: listSchemaJSON))
        var e = try AvroDecoding<ERec>(schema: try AvroSchema(json: AvroFormatTests.errorSchema))
        let seeds: [(Int, [UInt8])] = fastavroVectors.map { (0, [0, 0, 0, 0, 1] + hexBytes($0)) }
            + [(1, hexBytes(fastavroListVector)),
               (2, AvroFormatTests.goodE)]
        var rng = SplitMix(seed: 99)
        let special: [UInt8] = [0, 1, 2, 0x7F, 0x80, 0xFF, 0xC3, 0x03, 0x81]
        var ok = 0
        for _ in 0..<40_000 {
            var (which, b) = seeds.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                guard !b.isEmpty else { b = [0]; continue }
                let i = Int.random(in: 0..<b.count, using: &rng)
                let v = Bool.random(using: &rng) ? special.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: b[i] = v
                case 1: b.remove(at: i)
                case 2: b.insert(v, at: i)
                default: b[i] ^= 1 << UInt8.random(in: 0...7, using: &rng)
                }
            }
            if Int.random(in: 0..<3, using: &rng) == 0 { b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng))) }
            do {
                switch which {
                case 0: _ = try decode(b, &d)
                case 1: _ = try decode(b, &l)
                default: _ = try decode(b, &e)
                }
                ok += 1
            } catch {
                #expect(error.offset >= 0 && error.offset <= b.count, "\(error)")
                #expect(!error.reason.isEmpty)
            }
        }
        #expect(ok > 0)
    }

    @Test func sourceDecodesAndSinkWritesConfluentAvro() throws {
        let out = try AvroSchema(json: #"{"type":"record","name":"Out","fields":[{"name":"id","type":"long"},{"name":"city","type":["null","string"]}]}"#)
        let strict = try AvroSchema(json: #"{"type":"record","name":"Strict","fields":[{"name":"city","type":"string"}]}"#)
        let job = StreamJob(name: "avro")
        let s = job.source(topic: "in", as: AvroTx.self, schema: txSchema, wire: .confluent(schemaIDs: [7]), eventTime: { $0.ts.millis })
        s.sinkAvro(topic: "out", schema: out, wire: .confluent(schemaID: 9), key: { _ in nil }) { t, w in
            w.long(t.id)
            w.string(t.city)
        }
        s.sinkAvro(topic: "strict", schema: strict, key: { _ in nil }) { t, w in w.string(t.city) }
        let p = try LocalPipeline(job: job)
        p.push(topic: "in", value: [0, 0, 0, 0, 7] + hexBytes(fastavroVectors[0]))
        p.push(topic: "in", value: [0, 0, 0, 0, 8] + hexBytes(fastavroVectors[0]))
        p.push(topic: "in", value: [0, 0, 0, 0, 7] + hexBytes(fastavroVectors[1]))
        let records = p.drain()
        let written = records.filter { $0.topic == "out" }.map { Array(buffer: $0.value!) }
        #expect(written == [[0, 0, 0, 0, 9, 0x96, 0x93, 0xD8, 0x9F, 0xEE, 0x47, 0x02, 0x0A] + Array("Paris".utf8),
                            [0, 0, 0, 0, 9, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00]])
        #expect(records.filter { $0.topic == "strict" }.map { Array(buffer: $0.value!) } == [[0x0A] + Array("Paris".utf8)])
        let dead = records.filter { $0.topic == "avro.dead-letter" }.compactMap { header($0, "riverbank.dead-letter.reason") }
        #expect(dead == ["byte 1: schema id 8 is not accepted (expected 7)", "Avro sink strict: field city: expected string, got null"])
    }

    @Test func aSchemaThatCannotServeTheTypeRefusesTheJob() throws {
        let other = try AvroSchema(json: #"{"type":"record","name":"O","fields":[{"name":"tx_id","type":"long"}]}"#)
        let job = StreamJob(name: "avro")
        job.source(topic: "in", as: AvroTx.self, schema: other, eventTime: { $0.ts.millis })
            .sinkAvro(topic: "out", schema: try AvroSchema(json: #""long""#), key: { _ in nil }) { _, _ in }
        do {
            try job.validate()
            Issue.record("accepted")
        } catch {
            #expect("\(error)".contains("source source-in: field customer_id: record O has no field 'customer_id'"))
        }
        #expect(job.problems.contains("sink sink-out: an Avro writer needs a record schema, not long"))
    }
}
