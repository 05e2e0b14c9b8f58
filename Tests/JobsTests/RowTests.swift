@testable import Jobs
import Streams
import Testing

@Suite struct RowTests {
    @Test func valueStaysSmall() {
        #expect(MemoryLayout<Value>.stride <= 24)
        #expect(MemoryLayout<Value>.size <= 17)
    }

    @Test func schemaLookupIsCaseInsensitiveUnlessQuoted() {
        #expect(txSchema.index(of: "AMOUNT") == 2)
        #expect(txSchema.index(of: "Location.Lat") == 7)
        #expect(txSchema.index(exactly: "AMOUNT") == nil)
        #expect(txSchema.resolve(parts: [("location", true), ("lat", true)]) == .found(7))
        #expect(txSchema.resolve(parts: [("location.lat", true)]) == .found(7))
        #expect(txSchema.resolve(parts: [("LOCATION", true), ("lat", false)]) == .notFound)
        let dup = RowSchema([.init("Amount", .double), .init("amount", .double)])
        #expect(dup.resolve("amount", exact: false) == .ambiguous([0, 1]))
        #expect(dup.resolve("amount", exact: true) == .found(1))
    }

    @Test func rowsAreValues() {
        var a = Row([.int(1), .string("x")])
        let b = a
        a[1] = .string("y")
        #expect(b[1] == .string("x"))
        #expect(a[1] == .string("y"))
        #expect(a[5] == .null)
        a[3] = .bool(true)
        #expect(a.count == 4 && a[2] == .null)
    }

    @Test func typeNames() {
        #expect(SQLType(parsing: "DECIMAL(10, 2)") == .double)
        #expect(SQLType(parsing: "varchar(20)") == .string)
        #expect(SQLType(parsing: "INT") == .bigint)
        #expect(SQLType(parsing: "TIMESTAMP(3) WITH LOCAL TIME ZONE") == .timestamp)
        #expect(SQLType(parsing: "TIMESTAMP_LTZ(3)") == .timestamp)
        #expect(SQLType(parsing: "INTERVAL DAY TO SECOND") == .interval)
        #expect(SQLType(parsing: "DOUBLE PRECISION") == .double)
        #expect(SQLType(parsing: "BLOB") == nil)
        #expect(SQLType(parsing: "INT INT") == nil)
        #expect(SQLTypeName.parse("DECIMAL(10,2)")?.decimalScale == 2)
        #expect(SQLTypeName.parse("TINYINT")?.integerWidth == .bits8)
    }

    @Test func timestampsFromEventTimes() {
        let t = Timestamp(EventTime(millis: 1000, utcOffsetSeconds: 19_800))
        #expect(t.offsetMinutes == 330)
        #expect(Timestamp(millis: 5, offsetMinutes: 60) == Timestamp(millis: 5, offsetMinutes: 0))
        #expect(Value.timestamp(t).description == "1970-01-01 05:30:01.000+05:30")
    }

    @Test func timestampText() {
        #expect(ts("2026-01-01 10:00:00") == Timestamp(millis: 1_767_261_600_000))
        #expect(ts("2026-01-01T10:00:00.5+05:30").millis == 1_767_261_600_500 - 330 * 60_000)
        #expect(ts("2026-01-01T10:00:00.5+05:30").offsetMinutes == 330)
        #expect(ts("2026-01-01 10:00:00-0800").offsetMinutes == -480)
        #expect(ts("2026-01-01").millis == 1_767_225_600_000)
        #expect(TimeText.parseTimestamp("2026-02-30 10:00:00") == nil)
        #expect(TimeText.parseTimestamp("2026-01-01 25:00:00") == nil)
        #expect(TimeText.parseTimestamp("1969-12-31 23:59:59.999")?.millis == -1)
        #expect(TimeText.format(Timestamp(millis: -1)) == "1969-12-31 23:59:59.999")
        #expect(TimeText.formatInterval(5_400_000) == "+0 01:30:00.000")
        #expect(TimeText.formatInterval(-93_600_000) == "-1 02:00:00.000")
    }

    @Test func javaDoubleText() {
        let cases: [(Double, String)] = [
            (3, "3.0"), (0.1, "0.1"), (1e20, "1.0E20"), (1e-5, "1.0E-5"), (1e7, "1.0E7"), (1234567.5, "1234567.5"),
            (0.001, "0.001"), (0.0001, "1.0E-4"), (100, "100.0"), (123456789012, "1.23456789012E11"),
            (0.000123, "1.23E-4"), (1.0 / 3, "0.3333333333333333"), (-2.5, "-2.5"), (.infinity, "Infinity"), (.nan, "NaN"), (-0.0, "-0.0"),
        ]
        for (d, s) in cases { #expect(NumberText.javaDouble(d) == s, "\(d)") }
    }

    @Test func decimalRounding() {
        #expect(NumberText.round(1.005, 2) == 1.01)
        #expect(NumberText.round(2.675, 2) == 2.68)
        #expect(NumberText.round(-2.5, 0) == -3)
        #expect(NumberText.round(2.5, 0) == 3)
        #expect(NumberText.round(1234.5, -2) == 1200)
        #expect(NumberText.round(0.4, 0) == 0)
        #expect(NumberText.round(9.99, 1) == 10)
        #expect(NumberText.round(1e20, 2) == 1e20)
        #expect(NumberText.round(15 as Int64, -1) == 20)
        #expect(NumberText.round(-15 as Int64, -1) == -20)
        #expect(NumberText.round(14 as Int64, -1) == 10)
        #expect(NumberText.round(7 as Int64, 2) == 7)
    }
}
