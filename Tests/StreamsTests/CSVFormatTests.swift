import KafkaClient
import NIOCore
@testable import Streams
import Testing

struct CSVTx: CSVRecord, Equatable {
    static let csvFields = ["tx_id", "amount", "note", "ts", "ok"]
    var id: Int64
    var amount: Double?
    var note: String?
    var ts: EventTime
    var ok: Bool?

    init(id: Int64, amount: Double?, note: String?, ts: EventTime, ok: Bool?) {
        self.id = id; self.amount = amount; self.note = note; self.ts = ts; self.ok = ok
    }

    init(csv f: CSVFields) throws(FormatError) {
        id = try f.int64(0)
        amount = try f.doubleOrNil(1)
        note = try f.stringOrNil(2)
        ts = try f.timestamp(3)
        ok = try f.boolOrNil(4)
    }
}

let csvHeader = "tx_id,customer_id,amount,note,ts,ok"

@Suite struct CSVFormatTests {
    func decoder(skip: Bool = false, separator: Character = ",", header: String = csvHeader) throws(FormatError) -> CSVDecoding<CSVTx> {
        try CSVDecoding<CSVTx>(columns: CSVColumns(header: header), separator: separator, skipHeaderRows: skip)
    }

    func decode(_ line: String, _ d: inout CSVDecoding<CSVTx>) throws(FormatError) -> CSVTx? {
        try decodeBytes(Array(line.utf8), &d)
    }

    func decodeBytes(_ b: [UInt8], _ d: inout CSVDecoding<CSVTx>) throws(FormatError) -> CSVTx? {
        let r = b.withUnsafeBytes { raw in Result { () throws(FormatError) -> CSVTx? in try d.decode(raw) } }
        return try r.get()
    }

    func decode(_ line: String) throws(FormatError) -> CSVTx {
        var d = try decoder()
        guard let v = try decode(line, &d) else { throw FormatError(offset: 0, "skipped") }
        return v
    }

    func failure(_ line: String, _ d: inout CSVDecoding<CSVTx>) -> FormatError? {
        do {
            _ = try decode(line, &d)
            return nil
        } catch {
            return error
        }
    }

    @Test func quotedFieldsSeparatorsAndNewlinesInside() throws {
        let t = try decode("17,99,\" 12.50 \",\"say \"\"hi\"\", then, go\r\nhome\",2026-03-01T23:15:00.250+01:00,TRUE\r\n")
        #expect(t.id == 17)
        #expect(t.amount == 12.5)
        #expect(t.note == "say \"hi\", then, go\r\nhome")
        #expect(t.ts.millis == 1_772_403_300_250)
        #expect(t.ts.utcOffsetSeconds == 3600)
        #expect(t.ok == true)
        let u = try decode("-5,,1e3,plain é,1767225600123,0\n")
        #expect(u.id == -5 && u.amount == 1000 && u.note == "plain é" && u.ts.millis == 1_767_225_600_123 && u.ok == false)
    }

    @Test func otherSeparatorsParseTheHeaderToo() throws {
        var d = try decoder(separator: ";", header: "tx_id;customer_id;amount;note;ts;ok")
        let t = try #require(try decode("1;2;3.5;\"a;b\";0;", &d))
        #expect(t.amount == 3.5 && t.note == "a;b" && t.ok == nil)
        var tab = try decoder(separator: "\t", header: "tx_id\tcustomer_id\tamount\tnote\tts\tok")
        let v = try #require(try decode("1\t2\t3.5\tx,y\t0\tfalse", &tab))
        #expect(v.amount == 3.5 && v.note == "x,y" && v.ok == false)
        #expect(throws: FormatError.self) { try decoder(separator: "\"") }
        #expect(throws: FormatError.self) { try decoder(separator: "é") }
    }

    @Test func commaDecimalIsATypeErrorNamingTheColumn() throws {
        var d = try decoder(separator: ";", header: "tx_id;customer_id;amount;note;ts;ok")
        let e = try #require(failure("1;2;3,5;n;0;", &d))
        #expect(e.reason == "column amount: expected a number, found \"3,5\"")
        #expect(e.offset == 4)
    }

    @Test func columnCountsAreChecked() throws {
        var d = try decoder()
        #expect(failure("1,2,3", &d)?.reason == "expected 6 columns, found 3")
        #expect(failure("1,2,3,4,5,6,7,\"8\"", &d)?.reason == "expected 6 columns, found 8")
        #expect(failure("", &d)?.reason == "empty line, expected 6 columns")
        #expect(failure("1,2,3,4,5,6,", &d)?.reason == "expected 6 columns, found 7", "a trailing separator is one more (empty) field")
    }

    @Test func emptyFieldsAreNull() throws {
        var d = try decoder()
        let t = try #require(try decode("1,,,,0,", &d))
        #expect(t.amount == nil && t.note == nil && t.ok == nil)
        let q = try #require(try decode("1,,,\"\",0,", &d))
        #expect(q.note == "", "a quoted empty field is the empty string")
        #expect(failure(",,,,0,", &d)?.reason == "column tx_id is empty")
        #expect(failure("1,,\"\",,0,", &d)?.reason == "column amount: expected a number, found an empty string")
        #expect(failure("1,,,,,", &d)?.reason == "column ts is empty")
    }

    @Test func malformedLinesSayWhereAndWhy() throws {
        var d = try decoder()
        let cases: [(String, String, Int)] = [
            ("1,2,\"3,x,0,", "column amount: unterminated quoted field", 4),
            ("1,2,\"3\"x,n,0,", "column amount: 'x' after the closing quote, expected the separator", 7),
            ("1,2,3,ab\"c,0,", "column note: a quote inside an unquoted field (quote the whole field)", 8),
            ("1,2,3,a\nb,0,", "column note: a line break outside quotes", 7),
            ("x,2,3,n,0,", "column tx_id: expected an integer, found \"x\"", 0),
            ("9223372036854775808,2,3,n,0,", "column tx_id: expected an integer, found \"9223372036854775808\"", 0),
            ("1,2,NaN,n,0,", "column amount: expected a number, found \"NaN\"", 4),
            ("1,2,3,n,2026-13-01T00:00:00Z,", "column ts: date or time out of range", 8),
            ("1,2,3,n,2026-01-01T00:00:00,", "column ts: UTC offset missing (Z or ±HH:MM)", 27),
            ("1,2,3,n,0,yes", "column ok: expected a boolean, found \"yes\"", 10),
        ]
        for (line, reason, offset) in cases {
            let e = failure(line, &d)
            #expect(e?.reason == reason, "\(line)")
            #expect(e?.offset == offset, "\(line) → \(String(describing: e))")
        }
        var bad = Array("1,2,3,".utf8) + [0xC3, 0x28] + Array(",0,".utf8)
        #expect(throws: FormatError(offset: 6, "column note: invalid UTF-8")) { try decodeBytes(bad, &d) }
        bad = Array("1,2,3,".utf8) + [0xC3, 0xA9] + Array(",0,".utf8)
        #expect(try decodeBytes(bad, &d)?.note == "é")
    }

    @Test func integersAcceptExactDecimalsAndSpaces() throws {
        #expect(try decode(" 12.0 ,2,3,n,0,").id == 12)
        #expect(try decode("1.2e3,2,3,n,0,").id == 1200)
        #expect(throws: FormatError.self) { try decode("1.5,2,3,n,0,") }
    }

    @Test func headerRowsAreSkippedOnlyWhenAsked() throws {
        var d = try decoder(skip: true)
        #expect(try decode(csvHeader, &d) == nil)
        #expect(try decode(csvHeader + "\r\n", &d) == nil)
        #expect(try decode("\"tx_id\",customer_id,\"amount\",note,ts,ok", &d) == nil, "quoting does not matter")
        #expect(try decodeBytes([0xEF, 0xBB, 0xBF] + Array(csvHeader.utf8), &d) == nil, "a byte-order mark before the header")
        #expect(try decode("1,2,3,n,0,", &d)?.id == 1)
        #expect(failure("tx_id,customer_id,amount,note,ts,okay", &d)?.reason == "column tx_id: expected an integer, found \"tx_id\"")
        var plain = try decoder()
        #expect(failure(csvHeader, &plain)?.reason == "column tx_id: expected an integer, found \"tx_id\"")
        // A header with quotes in a name, given as a column list.
        var q = try CSVDecoding<CSVTx>(columns: CSVColumns(["tx_id", "a \"b\"", "amount", "note", "ts", "ok"]), skipHeaderRows: true)
        #expect(try decode("tx_id,\"a \"\"b\"\"\",amount,note,ts,ok", &q) == nil)
    }

    @Test func schemaProblemsAreInitErrors() {
        #expect(throws: FormatError(offset: 0, "column ok is not in the CSV schema (columns: tx_id, amount, note, ts)")) {
            try CSVDecoding<CSVTx>(columns: CSVColumns(["tx_id", "amount", "note", "ts"]))
        }
        #expect(throws: FormatError(offset: 0, "column note appears 2 times in the CSV schema")) {
            try CSVDecoding<CSVTx>(columns: CSVColumns(header: "tx_id,amount,note,ts,ok,note"))
        }
        #expect(throws: FormatError(offset: 6, "CSV header: unterminated quoted field")) {
            try CSVDecoding<CSVTx>(columns: CSVColumns(header: "tx_id,\"amount"))
        }
        #expect(throws: FormatError.self) { try CSVDecoding<CSVTx>(columns: CSVColumns([])) }
    }

    @Test func sizeLimit() throws {
        var d = try decoder()
        d.maxBytes = 10
        #expect(failure("1,2,3,n,0,", &d) == nil)
        #expect(failure("1,2,3,n,0,1", &d)?.reason == "value of 11 bytes exceeds the 10-byte limit")
    }

    @Test func writerRoundTripsThroughTheDecoder() throws {
        var rng = SplitMix(seed: 11)
        let pieces = ["", "a", ",", "\"", "\r\n", "\n", " ", "é€", "x\"\"y", ";", "\t", "tx_id"]
        var w = CSVWriter()
        var d = try CSVDecoding<CSVTx>(columns: CSVColumns(["tx_id", "customer_id", "amount", "note", "ts", "ok"]))
        for i in 0..<5_000 {
            let note: String? = Int.random(in: 0..<5, using: &rng) == 0 ? nil
                : (0..<Int.random(in: 0...4, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            let amount: Double? = Bool.random(using: &rng) ? nil : [Double.random(in: -1e6...1e6, using: &rng), 0.1, 12.0, 1e300, -Double.leastNonzeroMagnitude].randomElement(using: &rng)!
            let tx = CSVTx(id: [Int64.min, Int64.max, 0, Int64(i) - 2500].randomElement(using: &rng)!, amount: amount, note: note,
                           ts: EventTime(millis: Int64.random(in: -1_000_000_000_000...4_000_000_000_000, using: &rng),
                                         utcOffsetSeconds: Int32([0, 3600, -19800].randomElement(using: &rng)!)),
                           ok: [true, false, nil].randomElement(using: &rng)!)
            w.begin()
            w.field(tx.id)
            w.field(nil)
            w.field(tx.amount)
            w.field(tx.note)
            w.field(tx.ts)
            w.field(tx.ok)
            w.end()
            let back = try decodeBytes(w.bytes, &d)
            #expect(back == tx, "\(String(decoding: w.bytes, as: UTF8.self))")
        }
    }

    @Test func writerQuotesOnlyWhenNeeded() {
        var w = CSVWriter(separator: ";", lineEnd: true)
        w.begin()
        w.field("a,b")
        w.field("a;b")
        w.field("say \"hi\"")
        w.field("")
        w.null()
        w.field(12.0)
        w.field(0.1)
        w.field(Double.nan)
        w.field(-42)
        w.field(true)
        w.end()
        #expect(String(decoding: w.bytes, as: UTF8.self) == "a,b;\"a;b\";\"say \"\"hi\"\"\";\"\";;12.0;0.1;;-42;true\n")
        w.header(["id", "a b", "c;d"])
        #expect(String(decoding: w.bytes, as: UTF8.self) == "id;a b;\"c;d\"\n")
    }

    /// Random mutations and truncations of valid lines: decoding either succeeds or throws a
    /// FormatError inside the input; it never crashes or reads out of bounds.
    @Test func fuzzMutationsNeverCrash() throws {
        let seeds = [
            "17,99,\"12.50\",\"say \"\"hi\"\", then\r\nhome\",2026-03-01T23:15:00.250+01:00,TRUE\r\n",
            csvHeader,
            "1,,,\"\",0,",
        ].map { Array($0.utf8) }
        var rng = SplitMix(seed: 5)
        let alphabet = Array("\",;\r\n 0123456789.-+eETZ:tx_id".utf8) + [0, 0x7F, 0xFF, 0xC3, 0xEF]
        var d = try decoder(skip: true)
        var ok = 0
        for _ in 0..<30_000 {
            var b = seeds.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                guard !b.isEmpty else { b = [0x22]; continue }
                let i = Int.random(in: 0..<b.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: b[i] = alphabet.randomElement(using: &rng)!
                case 1: b.remove(at: i)
                default: b.insert(alphabet.randomElement(using: &rng)!, at: i)
                }
            }
            if Bool.random(using: &rng) { b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng))) }
            do {
                if let t = try decodeBytes(b, &d) { _ = t.note; ok += 1 }
            } catch {
                #expect(error.offset >= 0 && error.offset <= b.count)
                #expect(!error.reason.isEmpty)
            }
        }
        #expect(ok > 0)
    }

    @Test func sourceSkipsHeadersAndSinkWritesCSV() throws {
        let job = StreamJob(name: "csv")
        job.source(topic: "in", as: CSVTx.self, columns: CSVColumns(header: csvHeader), skipHeaderRows: true, eventTime: { $0.ts.millis })
            .sinkCSV(topic: "out", key: { _ in nil }) { t, w in
                w.field(t.id)
                w.field(t.note)
            }
        let p = try LocalPipeline(job: job)
        p.push(topic: "in", value: Array(csvHeader.utf8))
        p.push(topic: "in", value: Array("1,2,3,\"a,b\",1000,".utf8))
        p.push(topic: "in", value: Array("oops".utf8))
        p.push(topic: "in", value: Array((csvHeader + "\n").utf8))
        p.push(topic: "in", value: Array("2,2,3,,2000,".utf8))
        let out = p.drain()
        #expect(out.filter { $0.topic == "out" }.map { String(buffer: $0.value!) } == ["1,\"a,b\"", "2,"])
        let dead = out.filter { $0.topic == "csv.dead-letter" }
        #expect(dead.count == 1, "headers are not dead letters")
        #expect(header(dead[0], "riverbank.dead-letter.reason") == "byte 4: expected 6 columns, found 1")
    }

    @Test func aSchemaThatCannotServeTheTypeRefusesTheJob() {
        let job = StreamJob(name: "csv")
        job.source(topic: "in", as: CSVTx.self, columns: CSVColumns(["tx_id"]), eventTime: { $0.ts.millis })
            .sinkCSV(topic: "out", key: { _ in nil }) { _, _ in }
        #expect(throws: StreamsError.invalidJob("source source-in: column amount is not in the CSV schema (columns: tx_id)")) {
            try job.validate()
        }
        let bad = StreamJob(name: "csv")
        bad.source(topic: "in", as: CSVTx.self, columns: CSVColumns(header: csvHeader), eventTime: { $0.ts.millis })
            .sinkCSV(topic: "out", separator: "\n", key: { _ in nil }) { _, _ in }
        #expect(bad.problems == [#"sink sink-out: CSV separator must be one ASCII character other than '"', CR or LF, not "\n""#])
    }
}
