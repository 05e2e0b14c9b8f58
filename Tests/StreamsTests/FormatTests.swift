import Foundation
@testable import Streams
import Testing

struct Card: JSONRecord {
    static let jsonFields = JSONFieldTable(["transaction_id", "amount", "timestamp", "location.lat", "location.city", "channel"])
    var id: String
    var amount: Double
    var time: EventTime
    var lat: Double?
    var city: String?
    var channel: String?

    init(json f: JSONFields) throws(FormatError) {
        id = try f.string(0)
        amount = try f.double(1)
        time = try f.timestamp(2)
        lat = try f.doubleOrNil(3)
        city = try f.stringOrNil(4)
        channel = try f.stringOrNil(5)
    }
}

@Suite struct FormatTests {
    func decode(_ s: String) throws(FormatError) -> Card {
        try decodeBytes(Array(s.utf8))
    }

    func decodeBytes(_ b: [UInt8]) throws(FormatError) -> Card {
        var d = JSONDecoding<Card>()
        do {
            return try b.withUnsafeBytes { try d.decode($0) }
        } catch let e as FormatError {
            throw e
        } catch {
            fatalError("\(error)")
        }
    }

    @Test func nestedFieldsEscapesAndOffsets() throws {
        let c = try decode(#"{"extra":[1,{"a":null}],"transaction_id":"t-\u00e9\n1","amount":"12.50","timestamp":"2026-03-01T23:15:00.250+01:00","location":{"lat":48.85,"city":"Paris \"centre\""}}"#)
        #expect(c.id == "t-é\n1")
        #expect(c.amount == 12.5)
        #expect(c.time.millis == 1_772_403_300_250)  // 22:15:00.250 UTC
        #expect(c.time.utcOffsetSeconds == 3600)
        #expect(c.time.localHour == 23)
        #expect(c.lat == 48.85)
        #expect(c.city == "Paris \"centre\"")
        #expect(c.channel == nil)
    }

    @Test func numbersParseExactly() throws {
        for text in ["0", "-0.5", "123.456", "1e3", "-2.5E-3", "9007199254740993", "0.1", "1234567.891234", "3.14159265358979"] {
            let c = try decode(#"{"transaction_id":"x","amount":\#(text),"timestamp":0}"#)
            #expect(c.amount == Double(text)!, "\(text)")
        }
    }

    @Test func errorsSayWhereAndWhy() {
        let cases: [(String, String)] = [
            (#"{"transaction_id":"x","amount":12,"timestamp":0"#, "end of input"),
            (#"{"transaction_id":"x","amount":01,"timestamp":0}"#, "leading zero"),
            (#"{"transaction_id":"x","amount":"abc","timestamp":0}"#, "field amount: expected a number"),
            (#"{"transaction_id":"x","timestamp":0}"#, "field amount: expected a number, found missing"),
            (#"{"transaction_id":"x","amount":1,"timestamp":"2026-13-01T00:00:00Z"}"#, "out of range"),
            (#"{"transaction_id":"x","amount":1,"timestamp":"2026-01-01T00:00:00"}"#, "UTC offset missing"),
            (#"{"transaction_id":"x\q","amount":1,"timestamp":0}"#, "invalid escape"),
            (#"[1,2]"#, "expected a JSON object"),
            (#"{"transaction_id":"x","amount":1,"timestamp":0} x"#, "after the JSON object"),
            ("", "empty value"),
        ]
        for (input, want) in cases {
            do {
                _ = try decode(input)
                Issue.record("accepted: \(input)")
            } catch {
                #expect(error.description.contains(want), "\(input) → \(error)")
                #expect(error.offset >= 0 && error.offset <= input.utf8.count)
            }
        }
    }

    @Test func deepNestingIsRefused() {
        let deep = #"{"transaction_id":"x","amount":1,"timestamp":0,"n":"# + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}"
        #expect(throws: FormatError.self) { try decode(deep) }
    }

    /// Random mutations of a valid event: decoding either succeeds or throws a FormatError
    /// inside the input; it never crashes or reads out of bounds.
    @Test func fuzzMutationsNeverCrash() {
        let seed = Array(#"{"transaction_id":"t1","amount":12.5,"timestamp":"2026-03-01T23:15:00+01:00","location":{"lat":1.5,"city":"A\u0041"},"k":[true,false,null,-1e-3]}"#.utf8)
        var rng = SplitMix(seed: 7)
        let alphabet = Array(#"{}[]":,\-+.eE0123456789aftnrul "#.utf8) + [0, 0x7F, 0xFF, 0x0A]
        var ok = 0
        for _ in 0..<20_000 {
            var b = seed
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<b.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: b[i] = alphabet.randomElement(using: &rng)!
                case 1: b.remove(at: i)
                default: b.insert(alphabet.randomElement(using: &rng)!, at: i)
                }
                if b.isEmpty { b = [0x7B] }
            }
            if Bool.random(using: &rng) { b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng))) }
            do {
                _ = try decodeBytes(b)
                ok += 1
            } catch {
                #expect(error.offset >= 0 && error.offset <= b.count)
            }
        }
        #expect(ok > 0)
    }

    @Test func writerEscapesAndRoundTrips() throws {
        var w = JSONWriter()
        w.begin()
        w.field("s", "a\"b\\c\n\u{1}é")
        w.field("i", Int64.min)
        w.field("d", 0.1)
        w.field("whole", 12.0)
        w.field("nan", Double.nan)
        w.field("none", nil as String?)
        w.end()
        let v = try JSONSerialization.jsonObject(with: Data(w.bytes)) as! [String: Any]
        #expect(v["s"] as? String == "a\"b\\c\n\u{1}é")
        #expect((v["i"] as! NSNumber).int64Value == Int64.min)
        #expect((v["d"] as! NSNumber).doubleValue == 0.1)
        #expect((v["whole"] as! NSNumber).doubleValue == 12)
        #expect(v["nan"] is NSNull)
        #expect(v["none"] is NSNull)
    }

    @Test func iso8601RoundTrip() throws {
        for ms in [0, 1_767_225_600_123, -86_400_001, 4_102_444_800_000] as [Int64] {
            let s = ISO8601.format(ms)
            let back = try Array(s.utf8).withUnsafeBufferPointer { (b) throws(FormatError) -> EventTime in try ISO8601.parse(b) }
            #expect(back.millis == ms, "\(s)")
        }
        let t = try Array("2026-06-30T02:30:00-05:30".utf8).withUnsafeBufferPointer { (b) throws(FormatError) -> EventTime in try ISO8601.parse(b) }
        #expect(ISO8601.format(t.millis) == "2026-06-30T08:00:00.000Z")
        #expect(t.localHour == 2)
    }
}

@Suite struct WriterNumberTests {
    /// Every double written reads back as the same double (amounts, sums with float error,
    /// tiny and huge values), and is valid JSON.
    @Test func doublesRoundTrip() throws {
        var rng = SplitMix(seed: 3)
        var values: [Double] = [0.1, 0.2 + 0.1, 1640.0500000000002, -12.5, 1e-7, 123456789.123, 5e300, -0.001, 99.99, 1e9 + 0.5]
        for _ in 0..<20_000 {
            values.append(Double(Int.random(in: -10_000_000...10_000_000, using: &rng)) / 100)
            values.append(Double.random(in: -1e6...1e6, using: &rng))
        }
        var w = JSONWriter()
        for v in values {
            w.begin()
            w.field("v", v)
            w.end()
            // Swift's own correctly rounded parser (Foundation's JSON parser rounds long decimals).
            let text = String(decoding: w.bytes, as: UTF8.self)
            let number = text.dropFirst(5).dropLast()
            #expect(Double(number) == v, "\(v) written as \(text)")
            #expect(try JSONSerialization.jsonObject(with: Data(w.bytes)) is [String: Any])
        }
    }
}
