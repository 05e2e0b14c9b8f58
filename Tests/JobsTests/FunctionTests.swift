@testable import Jobs
import Testing

@Suite struct FunctionTests {
    @Test func math() {
        #expect(eval("ABS(-5)") == .int(5))
        #expect(eval("ABS(-2.5)") == .double(2.5))
        #expect(eval("ABS(n)", txRow(n: nil)) == .null)
        #expect(eval("ROUND(2.5)") == .double(3))
        #expect(eval("ROUND(-2.5)") == .double(-3))
        #expect(eval("ROUND(1.005, 2)") == .double(1.01))
        #expect(eval("ROUND(amount, -1)") == .double(120))
        #expect(eval("ROUND(1234, -2)") == .int(1200))
        #expect(eval("ROUND(n, 2)") == .int(7))
        #expect(eval("ROUND(amount, NULL)") == .null)
        #expect(eval("FLOOR(-1.5)") == .double(-2))
        #expect(eval("CEIL(-1.5)") == .double(-1))
        #expect(eval("CEILING(1.2)") == .double(2))
        #expect(eval("FLOOR(5)") == .int(5))
        #expect(eval("FLOOR(-7 / 2)") == .int(-3))
        #expect(eval("POWER(2, 10)") == .double(1024))
        #expect(eval("POWER(2, 0.5)") == .double(2.0.squareRoot()))
        #expect(eval("SQRT(16)") == .double(4))
        if case .double(let d)? = eval("SQRT(-1)") { #expect(d.isNaN) } else { Issue.record("SQRT(-1)") }
        #expect(eval("LN(0)") == .double(-.infinity))
        #expect(eval("EXP(0)") == .double(1))
        #expect(eval("LOG10(1000)") == .double(3))
        #expect(eval("MOD(-7, 3)") == .int(-1))
        #expect(eval("MOD(7, -3)") == .int(1))
        #expect(eval("MOD(5.5, 2)") == .double(1.5))
        #expect(eval("GREATEST(1, 2.5, n)") == .double(7))
        #expect(eval("GREATEST(1, NULL, 3)") == .null)
        #expect(eval("LEAST('b', 'a', channel)") == .string("a"))
        #expect(eval("LEAST(ts, TIMESTAMP '2000-01-01 00:00:00') = TIMESTAMP '2000-01-01 00:00:00'") == .bool(true))
        #expect(eval("GREATEST(FALSE, flag)") == .bool(true))
    }

    @Test func strings() {
        #expect(eval("UPPER(channel)") == .string("POS"))
        #expect(eval("LOWER('AbC')") == .string("abc"))
        #expect(eval("UPPER(channel)", txRow(channel: nil)) == .null)
        #expect(eval("TRIM('  x  ')") == .string("x"))
        #expect(eval("LTRIM('  x  ')") == .string("x  "))
        #expect(eval("RTRIM('  x  ')") == .string("  x"))
        #expect(eval("TRIM(BOTH 'xy' FROM 'xyaxyx')") == .string("a"))
        #expect(eval("TRIM(LEADING 'x' FROM 'xxaxx')") == .string("axx"))
        #expect(eval("TRIM(TRAILING FROM '  a  ')") == .string("  a"))
        #expect(eval("TRIM('x' FROM 'xxaxx')") == .string("a"))
        #expect(eval("CHAR_LENGTH('héllo')") == .int(5))
        #expect(eval("CHARACTER_LENGTH('')") == .int(0))
        #expect(eval("SUBSTRING('hello', 2, 3)") == .string("ell"))
        #expect(eval("SUBSTRING('hello' FROM 2 FOR 3)") == .string("ell"))
        #expect(eval("SUBSTRING('hello' FROM 0 FOR 2)") == .string("he"))
        #expect(eval("SUBSTRING('hello', -2)") == .string("lo"))
        #expect(eval("SUBSTRING('hello', 10)") == .string(""))
        #expect(eval("SUBSTRING('hello', 2, 0)") == .string(""))
        #expect(eval("SUBSTRING('hello', 2, -1)") == .null)
        #expect(eval("SUBSTRING('hello', -10, 3)") == .string(""))
        #expect(eval("SUBSTRING('hello', 4, 10)") == .string("lo"))
        #expect(eval("SUBSTR('héllo', 2, 1)") == .string("é"))
        #expect(eval("POSITION('l' IN 'hello')") == .int(3))
        #expect(eval("POSITION('z' IN 'hello')") == .int(0))
        #expect(eval("POSITION('' IN 'hello')") == .int(1))
        #expect(eval("LOCATE('lo', 'hello')") == .int(4))
        #expect(eval("REPLACE('aaa', 'a', 'bb')") == .string("bbbbbb"))
        #expect(eval("REPLACE('abc', '', 'x')") == .string("xaxbxcx"))
        #expect(eval("REPLACE('a-b-c', '-', '')") == .string("abc"))
        #expect(eval("CONCAT('a', 'b', channel)") == .string("abpos"))
        #expect(eval("CONCAT('a', CAST(NULL AS STRING))") == .null)
        #expect(eval("LPAD('ab', 5, 'xy')") == .string("xyxab"))
        #expect(eval("LPAD('abcdef', 3, 'x')") == .string("abc"))
        #expect(eval("RPAD('ab', 5, 'xy')") == .string("abxyx"))
        #expect(eval("LPAD('ab', -1, 'x')") == .null)
        #expect(eval("LPAD('ab', 5, '')") == .null)
        // The masked card of an alert: last four digits.
        #expect(eval("LPAD(SUBSTRING('4111111111111111', -4), 16, '*')") == .string("************1111"))
    }

    @Test func conditionals() {
        #expect(eval("COALESCE(NULL, 2, 3)") == .int(2))
        #expect(eval("COALESCE(amount, 0)", txRow(amount: nil)) == .double(0))
        #expect(eval("COALESCE(channel, 'none')", txRow(channel: nil)) == .string("none"))
        #expect(eval("COALESCE(amount, 1 / 0)") == .double(120.5))
        #expect(eval("NULLIF(1, 1)") == .null)
        #expect(eval("NULLIF(n, 1)") == .int(7))
        #expect(eval("NULLIF('a', 'b')") == .string("a"))
        #expect(eval("IF(n > 2, 'a', 'b')") == .string("a"))
        #expect(eval("IF(CAST(NULL AS BOOLEAN), 1, 2)") == .int(2))
        #expect(eval("IF(flag, amount, 0)") == .double(120.5))
        #expect(compiled("COALESCE(amount, 0)")?.nullable == false)
        #expect(compiled("COALESCE(amount, avg_prev)")?.nullable == true)
        #expect(compiled("IF(flag, 1, 2)")?.nullable == false)
    }

    @Test func casts() {
        #expect(eval("CAST('12' AS BIGINT)") == .int(12))
        #expect(eval("CAST(' 12 ' AS INT)") == .int(12))
        #expect(eval("CAST('12.5' AS INT)") == .int(12))
        #expect(eval("CAST(12.7 AS INT)") == .int(12))
        #expect(eval("CAST(-12.7 AS BIGINT)") == .int(-12))
        #expect(eval("CAST(1e19 AS BIGINT)") == .int(.max))
        #expect(eval("CAST(300 AS TINYINT)") == .int(44))
        #expect(eval("CAST(TRUE AS INT)") == .int(1))
        #expect(eval("CAST(3 AS DOUBLE)") == .double(3))
        #expect(eval("CAST(amount * 1.1 AS DECIMAL(10, 2))") == .double(132.55))
        #expect(eval("CAST(3.0 AS STRING)") == .string("3.0"))
        #expect(eval("CAST(1e20 AS STRING)") == .string("1.0E20"))
        #expect(eval("CAST(42 AS STRING)") == .string("42"))
        #expect(eval("CAST(TRUE AS STRING)") == .string("TRUE"))
        #expect(eval("CAST(TIMESTAMP '2026-01-01 10:00:00' AS STRING)") == .string("2026-01-01 10:00:00.000"))
        #expect(eval("CAST(INTERVAL '90' MINUTE AS VARCHAR(20))") == .string("+0 01:30:00.000"))
        #expect(eval("CAST('2026-01-01 10:00:00' AS TIMESTAMP) = TIMESTAMP '2026-01-01 10:00:00'") == .bool(true))
        #expect(eval("CAST('true' AS BOOLEAN)") == .bool(true))
        #expect(eval("CAST('no' AS BOOLEAN)") == .bool(false))
        #expect(eval("CAST(0 AS BOOLEAN)") == .bool(false))
        #expect(eval("CAST(2.5 AS BOOLEAN)") == .bool(true))
        #expect(eval("CAST('1e3' AS DOUBLE)") == .double(1000))
        #expect(eval("CAST(NULL AS BIGINT)") == .null)
        #expect(eval("TRY_CAST('abc' AS INT)") == .null)
        #expect(eval("TRY_CAST(channel AS DOUBLE)") == .null)
        #expect(eval("TRY_CAST('7' AS DOUBLE)") == .double(7))
        #expect(compiled("TRY_CAST(channel AS DOUBLE)")?.nullable == true)
        let e = evalError("CAST(channel AS BIGINT)")
        #expect(e?.kind == .invalidCast)
        #expect(e?.message == "cannot CAST 'pos' to BIGINT")
        #expect(evalError("CAST(channel AS TIMESTAMP)")?.message == "cannot CAST 'pos' to TIMESTAMP")
        #expect(evalError("CAST('1e3' || '' AS BIGINT)")?.kind == .invalidCast)
    }

    @Test func geoDistances() {
        func km(_ a: (Double, Double), _ b: (Double, Double)) -> Double {
            guard case .double(let d)? = eval("GEO_DISTANCE_KM(\(a.0), \(a.1), \(b.0), \(b.1))") else { return -1 }
            return d
        }
        // London–Paris ≈ 343.5 km; New York–Los Angeles ≈ 3936 km; Sydney–Melbourne ≈ 713 km.
        #expect(abs(km((51.5074, -0.1278), (48.8566, 2.3522)) - 343.5) < 1)
        #expect(abs(km((40.7128, -74.0060), (34.0522, -118.2437)) - 3936) < 5)
        #expect(abs(km((-33.8688, 151.2093), (-37.8136, 144.9631)) - 713.4) < 2)
        #expect(km((10, 20), (10, 20)) == 0)
        // Antipodes: half the circumference.
        #expect(abs(km((0, 0), (0, 180)) - .pi * 6371.0088) < 1e-6)
        guard case .double(let miles)? = eval("GEO_DISTANCE_MILES(51.5074, -0.1278, 48.8566, 2.3522)") else { Issue.record("miles"); return }
        #expect(abs(miles - 213.4) < 1)
        #expect(eval("GEO_DISTANCE_KM(location.lat, location.lon, 48.8566, 2.3522) > 300") == .bool(true))
        #expect(eval("GEO_DISTANCE_KM(NULL, 0, 0, 0)") == .null)
    }
}

@Suite struct TimeFunctionTests {
    func row(_ text: String) -> Row { txRow(ts: ts(text)) }

    @Test func hourIsLocalToTheOffset() {
        #expect(eval("HOUR(ts)", row("2026-01-01T02:30:00Z")) == .int(2))
        #expect(eval("HOUR(ts)", row("2026-01-01T02:30:00+05:30")) == .int(2))
        #expect(eval("HOUR(ts)", row("2026-01-01T23:45:00-08:00")) == .int(23))
        #expect(eval("HOUR(ts)", row("2026-01-01T00:15:00+14:00")) == .int(0))
        #expect(eval("MINUTE(ts)", row("2026-01-01T02:30:00+05:30")) == .int(30))
        #expect(eval("HOUR(ts)", row("1969-12-31T23:59:59.999Z")) == .int(23))
        // The same instant read in India and in California.
        let instant = ts("2026-01-01T00:00:00Z").millis
        #expect(eval("HOUR(ts)", txRow(ts: Timestamp(millis: instant, offsetMinutes: 330))) == .int(5))
        #expect(eval("MINUTE(ts)", txRow(ts: Timestamp(millis: instant, offsetMinutes: 330))) == .int(30))
        #expect(eval("HOUR(ts)", txRow(ts: Timestamp(millis: instant, offsetMinutes: -480))) == .int(16))
        #expect(eval("EXTRACT(HOUR FROM ts)", txRow(ts: Timestamp(millis: instant, offsetMinutes: -480))) == .int(16))
        #expect(eval("DAYOFMONTH(ts)", txRow(ts: Timestamp(millis: instant, offsetMinutes: -480))) == .int(31))
        // The fraud rule: outside 06:00–22:00 local time.
        #expect(eval("HOUR(ts) NOT BETWEEN 6 AND 21", row("2026-01-01T03:10:00+05:30")) == .bool(true))
        #expect(eval("HOUR(ts) NOT BETWEEN 6 AND 21", row("2026-01-01T21:59:00-08:00")) == .bool(false))
        #expect(eval("HOUR(ts) NOT BETWEEN 6 AND 21", txRow(ts: nil)) == .null)
    }

    @Test func calendarFields() {
        // 2026-01-04 is a Sunday.
        #expect(eval("DAYOFWEEK(ts)") == .int(1))
        #expect(eval("EXTRACT(DOW FROM ts)") == .int(1))
        #expect(eval("EXTRACT(ISODOW FROM ts)") == .int(7))
        #expect(eval("DAYOFWEEK(ts)", row("2026-01-05 10:00:00")) == .int(2))
        #expect(eval("EXTRACT(MILLISECOND FROM ts)") == .int(250))
        #expect(eval("SECOND(ts)") == .int(1))
        #expect(eval("EXTRACT(EPOCH FROM ts)") == .int(1_767_522_601))
        #expect(eval("DAYOFYEAR(ts)", row("2026-02-04 10:30:00")) == .int(35))
        #expect(eval("EXTRACT(DOY FROM ts)", row("2024-12-31 10:30:00")) == .int(366))
        #expect(eval("QUARTER(ts)", row("2026-05-04 10:30:00")) == .int(2))
        #expect(eval("MONTH(ts)") == .int(1))
        #expect(eval("YEAR(ts)") == .int(2026))
        #expect(eval("WEEK(ts)") == .int(1))
        #expect(eval("WEEK(ts)", row("2027-01-01 10:00:00")) == .int(53))
        #expect(eval("WEEK(ts)", row("2024-12-30 10:00:00")) == .int(1))
        #expect(eval("EXTRACT(YEAR FROM ts)", row("0001-01-01 00:00:00")) == .int(1))
    }

    @Test func dateFormat() {
        let t = "TIMESTAMP '2026-01-04 22:05:01.250'"
        #expect(eval("DATE_FORMAT(\(t), 'yyyy-MM-dd HH:mm:ss')") == .string("2026-01-04 22:05:01"))
        #expect(eval("DATE_FORMAT(\(t), 'yyyy-MM-dd HH:mm:ss.SSS')") == .string("2026-01-04 22:05:01.250"))
        #expect(eval("DATE_FORMAT(\(t), 'yy-M-d H:m:s hh a EEEE MMMM')") == .string("26-1-4 22:5:1 10 PM Sunday January"))
        #expect(eval("DATE_FORMAT(\(t), 'S SS SSS h K k E EE EEEE MMMMM y yy yyyy')") == .string("2 25 250 10 10 22 Sun Sun Sunday J 2026 26 2026"))
        #expect(eval("DATE_FORMAT(\(t), 'yyyy''T''HH')") == .string("2026T22"))
        #expect(eval("DATE_FORMAT(\(t), 'EEE, d MMM yyyy')") == .string("Sun, 4 Jan 2026"))
        #expect(eval("DATE_FORMAT('2026-01-04 22:05:01', 'yyyy')") == .string("2026"))
        #expect(eval("DATE_FORMAT(ts, 'HH:mm XXX')", row("2026-01-01T03:10:00+05:30")) == .string("03:10 +05:30"))
        #expect(eval("DATE_FORMAT(ts, 'HH:mm X')", row("2026-01-01T03:10:00Z")) == .string("03:10 Z"))
        #expect(eval("DATE_FORMAT(ts, 'Z')", row("2026-01-01T03:10:00-08:00")) == .string("-0800"))
        #expect(eval("DATE_FORMAT(ts, 'yyyy')", txRow(ts: nil)) == .null)
        #expect(messages("DATE_FORMAT(ts, 'yyyy-MM-dd z')").first?.hasPrefix("DATE_FORMAT: DATE_FORMAT pattern letter 'z' is not supported") == true)
        #expect(evalError("DATE_FORMAT(ts, channel)", txRow(channel: "qq"))?.kind == .invalidArgument)
    }

    @Test func timestampDiffAndAdd() {
        let a = "TIMESTAMP '2026-01-01 10:00:00'"
        #expect(eval("TIMESTAMPDIFF(HOUR, \(a), TIMESTAMP '2026-01-01 12:59:59')") == .int(2))
        #expect(eval("TIMESTAMPDIFF(HOUR, TIMESTAMP '2026-01-01 12:59:59', \(a))") == .int(-2))
        #expect(eval("TIMESTAMPDIFF(DAY, \(a), TIMESTAMP '2026-01-03 09:00:00')") == .int(1))
        #expect(eval("TIMESTAMPDIFF(SECOND, TIMESTAMP '2026-01-01 10:00:00.999', TIMESTAMP '2026-01-01 10:00:01.5')") == .int(0))
        #expect(eval("TIMESTAMPDIFF(MINUTE, \(a), TIMESTAMP '2026-01-01 10:01:59')") == .int(1))
        #expect(eval("TIMESTAMPDIFF(WEEK, \(a), TIMESTAMP '2026-01-15 10:00:00')") == .int(2))
        // Instants, whatever the offsets: 10:00+05:30 is 04:30Z.
        #expect(eval("TIMESTAMPDIFF(MINUTE, TIMESTAMP '2026-01-01 10:00:00+05:30', \(a))") == .int(330))
        #expect(eval("TIMESTAMPDIFF(HOUR, ts, NULL)") == .null)
        #expect(eval("TIMESTAMPADD(HOUR, 2, \(a)) = TIMESTAMP '2026-01-01 12:00:00'") == .bool(true))
        #expect(eval("TIMESTAMPADD(DAY, -1, \(a)) = \(a) - INTERVAL '1' DAY") == .bool(true))
        #expect(messages("TIMESTAMPDIFF(MONTH, ts, ts)").first?.hasPrefix("TIMESTAMPDIFF: the unit must be SECOND, MINUTE, HOUR, DAY or WEEK") == true)
        #expect(messages("TIMESTAMPDIFF(FORTNIGHT, ts, ts)").first?.hasPrefix("expected a time unit") == true)
    }

    @Test func millisConversions() {
        #expect(eval("TO_MILLIS(ts)") == .int(sundayMorning.millis))
        #expect(eval("TO_TIMESTAMP_LTZ(1767522601250) = ts") == .bool(true))
        #expect(eval("TO_TIMESTAMP_LTZ(1767522601, 0) = TIMESTAMP '2026-01-04 10:30:01'") == .bool(true))
        #expect(eval("TO_MILLIS(TO_TIMESTAMP_LTZ(n, 3))") == .int(7))
        #expect(messages("TO_TIMESTAMP_LTZ(n, 6)").first?.hasPrefix("TO_TIMESTAMP_LTZ: the precision must be") == true)
    }
}
