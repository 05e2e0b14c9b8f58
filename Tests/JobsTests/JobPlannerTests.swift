import Foundation
import KafkaClient
import NIOCore
@testable import Jobs
@testable import Streams
import Testing

/// Job files planned into Streams jobs and driven through the runtime's own code path
/// (`LocalPipeline`), checked against brute-force computations of the same rows.
@Suite struct JobPlannerTests {
    struct Tx {
        var id: Int64, customer: Int64, amount: Double, qty: Int64, mcc: String?, ts: Int64
        var json: String {
            "{\"tx_id\":\(id),\"customer_id\":\(customer),\"amount\":\(amount),\"qty\":\(qty),"
                + (mcc.map { "\"mcc\":\"\($0)\"," } ?? "") + "\"ts_ms\":\(ts)}"
        }
    }

    /// Out of order by up to 4 s (less than the 5 s the files allow): nothing is late, so
    /// the oracle is a plain GROUP BY.
    static func events(_ n: Int, seed: UInt64, customers: Int64 = 12) -> [Tx] {
        var rng = seed
        func next() -> UInt64 {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return rng >> 33
        }
        var t: Int64 = 1_767_225_600_000
        return (0..<n).map { i in
            t += Int64(next() % 90_000)
            let jitter = Int64(next() % 4_000)
            let mcc: String? = next() % 5 == 0 ? nil : ["5411", "5812", "4111"][Int(next() % 3)]
            return Tx(id: Int64(i), customer: Int64(next() % UInt64(customers)) + 1, amount: Double(next() % 100_000) / 100,
                      qty: Int64(next() % 7), mcc: mcc, ts: t - jitter)
        }
    }

    static let header = """
        name: t
        version: 1
        sources:
          tx:
            topic: tx
            schema:
              tx_id: BIGINT NOT NULL
              customer_id: BIGINT NOT NULL
              amount: DOUBLE NOT NULL
              qty: BIGINT NOT NULL
              mcc: STRING
              ts_ms: BIGINT NOT NULL
            event-time: ts_ms
            out-of-orderness: 5s
            partitioned-by: customer_id

        """

    func plan(_ yaml: String) throws -> PlannedJob {
        switch JobFile.check(yaml, file: "t.yaml") {
        case .failure(let d): Issue.record("\(d.rendered)"); throw d
        case .success(let f): return try JobPlanner.plan(f)
        }
    }

    func run(_ yaml: String, _ evs: [Tx], extra: [String] = []) throws -> [ProducerRecord] {
        let p = try LocalPipeline(job: plan(yaml).job)
        for e in evs { p.push(topic: "tx", json: e.json) }
        for x in extra { p.push(topic: "tx", json: x) }
        p.finish()
        return p.drain()
    }

    func objects(_ out: [ProducerRecord], topic: String) -> [[String: Any]] {
        out.filter { $0.topic == topic }.map { r in
            var b = r.value!
            return try! JSONSerialization.jsonObject(with: Data(b.readBytes(length: b.readableBytes)!)) as! [String: Any]
        }
    }

    static func iso(_ ms: Int64) -> String { TimeText.iso8601(Timestamp(millis: ms)) }

    @Test func aTumblingWindowComputesEveryAggregateAsAGroupByDoes() throws {
        let yaml = Self.header + """
            operators:
              - name: hourly
                window: tx
                key: customer_id
                tumbling: 1h
                select:
                  customer_id: customer_id
                  cnt: COUNT(*)
                  with_mcc: COUNT(mcc)
                  total: SUM(amount)
                  avg_amount: AVG(amount)
                  units: SUM(qty)
                  avg_qty: AVG(qty)
                  low: MIN(amount)
                  high: MAX(amount)
                  first_mcc: FIRST_VALUE(mcc)
                  spread: MAX(amount) - MIN(amount)
                having: COUNT(*) >= 2
            sinks:
              - name: out
                from: hourly
                topic: out
                key: customer_id
            """
        let evs = Self.events(3000, seed: 7)
        let out = try run(yaml, evs)
        var groups: [String: [Tx]] = [:]
        for e in evs { groups["\(e.customer)/\(e.ts - ((e.ts % 3_600_000) + 3_600_000) % 3_600_000)", default: []].append(e) }
        let expected = groups.filter { $0.value.count >= 2 }
        let got = objects(out, topic: "out")
        #expect(got.count == expected.count)
        #expect(out.filter { $0.topic == "t.late" || $0.topic == "t.dead-letter" }.isEmpty)
        for o in got {
            let start = o["window_start"] as! String
            let c = o["customer_id"] as! Int64
            let key = expected.keys.first { k in k.hasPrefix("\(c)/") && Self.iso(Int64(k.split(separator: "/")[1])!) == start }
            guard let k = key, let rows = expected[k] else { Issue.record("unexpected window \(o)"); continue }
            #expect(o["cnt"] as? Int64 == Int64(rows.count))
            #expect(o["with_mcc"] as? Int64 == Int64(rows.filter { $0.mcc != nil }.count))
            let total = rows.reduce(0.0) { $0 + $1.amount }
            #expect(abs((o["total"] as! Double) - total) < 1e-6)
            #expect(abs((o["avg_amount"] as! Double) - total / Double(rows.count)) < 1e-6)
            let units = rows.reduce(Int64(0)) { $0 + $1.qty }
            #expect(o["units"] as? Int64 == units)
            #expect(o["avg_qty"] as? Int64 == units / Int64(rows.count))
            #expect(o["low"] as? Double == rows.map(\.amount).min())
            #expect(o["high"] as? Double == rows.map(\.amount).max())
            #expect(abs((o["spread"] as! Double) - (rows.map(\.amount).max()! - rows.map(\.amount).min()!)) < 1e-9)
            let firstMCC = rows.compactMap(\.mcc).first
            #expect(o["first_mcc"] as? String == firstMCC, "FIRST_VALUE skips NULLs and keeps arrival order")
            #expect(o["window_end"] as? String == Self.iso(Int64(k.split(separator: "/")[1])! + 3_600_000))
        }
        #expect(Set(out.filter { $0.topic == "out" }.map { r in String(buffer: r.key!) }).isSubset(of: Set((1...12).map { "\($0)" })))
    }

    @Test func aHoppingWindowWithHavingMatchesTheWindowsEachRowFallsIn() throws {
        let yaml = Self.header + """
            operators:
              - name: velocity
                window: tx
                key: customer_id
                hopping: { size: 1h, slide: 5m }
                select:
                  customer_id: customer_id
                  cnt: COUNT(*)
                  total: SUM(amount)
                  low: MIN(amount)
                  units: SUM(qty)
                  top_mcc: MAX(mcc)
                having: COUNT(*) > 5
            sinks:
              - name: out
                from: velocity
                topic: out
                key: customer_id
            """
        let evs = Self.events(2500, seed: 11, customers: 4)
        let out = try run(yaml, evs)
        var windows: [String: (Int64, Double)] = [:]
        var extra: [String: (low: Double, units: Int64, top: String?)] = [:]
        for e in evs {
            let lastStart = e.ts - ((e.ts % 300_000) + 300_000) % 300_000
            var s = lastStart
            while s > e.ts - 3_600_000 {
                let k = "\(e.customer)/\(Self.iso(s))"
                let cur = windows[k] ?? (0, 0)
                windows[k] = (cur.0 + 1, cur.1 + e.amount)
                let x = extra[k] ?? (.infinity, 0, nil)
                extra[k] = (min(x.low, e.amount), x.units + e.qty, [x.top, e.mcc].compactMap { $0 }.max())
                s -= 300_000
            }
        }
        let expected = windows.filter { $0.value.0 > 5 }
        let got = objects(out, topic: "out")
        #expect(got.count == expected.count)
        for o in got {
            let k = "\(o["customer_id"] as! Int64)/\(o["window_start"] as! String)"
            guard let e = expected[k] else { Issue.record("unexpected window \(k)"); continue }
            #expect(o["cnt"] as? Int64 == e.0)
            #expect(abs((o["total"] as! Double) - e.1) < 1e-6)
            let x = extra[k]!
            #expect(o["low"] as? Double == x.low, "MIN merged across slices")
            #expect(o["units"] as? Int64 == x.units)
            #expect(o["top_mcc"] as? String == x.top)
        }
    }

    @Test func overMeasuresMatchABruteForceScanOfEachCustomersHistory() throws {
        let yaml = Self.header + """
            operators:
              - name: history
                over: tx
                key: customer_id
                measures:
                  prev_avg: { expr: AVG(amount), frame: unbounded, exclude-current: true }
                  prev_cnt: { expr: COUNT(*), frame: unbounded, exclude-current: true }
                  last3: { expr: SUM(amount), frame: rows 2 }
                  hour_max: { expr: MAX(qty), frame: range 1h }
                  prev_amount: { expr: LAG(amount), frame: unbounded }
              - name: big
                filter: history
                where: prev_cnt > 0 AND amount > 1.5 * prev_avg
            sinks:
              - name: out
                from: big
                topic: out
                key: customer_id
                fields:
                  tx_id: tx_id
                  prev_avg: prev_avg
                  prev_cnt: prev_cnt
                  last3: last3
                  hour_max: hour_max
                  prev_amount: prev_amount
                  ratio: ROUND(amount / prev_avg, 3)
            """
        let evs = Self.events(3000, seed: 5)
        let out = try run(yaml, evs)
        var expected: [Int64: [String: Any]] = [:]
        for (_, rows) in Dictionary(grouping: evs.enumerated(), by: { $0.element.customer }) {
            let sorted = rows.sorted { $0.element.ts != $1.element.ts ? $0.element.ts < $1.element.ts : $0.offset < $1.offset }.map(\.element)
            for (j, e) in sorted.enumerated() {
                let prev = sorted[..<j]
                guard !prev.isEmpty else { continue }
                let avg = prev.reduce(0.0) { $0 + $1.amount } / Double(prev.count)
                guard e.amount > 1.5 * avg else { continue }
                let last3 = sorted[max(0, j - 2)...j].reduce(0.0) { $0 + $1.amount }
                let hourMax = sorted[...j].filter { $0.ts >= e.ts - 3_600_000 }.map(\.qty).max()!
                expected[e.id] = ["prev_avg": avg, "prev_cnt": Int64(prev.count), "last3": last3, "hour_max": hourMax,
                                  "prev_amount": sorted[j - 1].amount, "ratio": (e.amount / avg * 1000).rounded() / 1000]
            }
        }
        let got = objects(out, topic: "out")
        #expect(got.count == expected.count)
        for o in got {
            guard let e = expected[o["tx_id"] as! Int64] else { Issue.record("unexpected row \(o)"); continue }
            #expect(abs((o["prev_avg"] as! Double) - (e["prev_avg"] as! Double)) < 1e-6)
            #expect(o["prev_cnt"] as? Int64 == e["prev_cnt"] as? Int64)
            #expect(abs((o["last3"] as! Double) - (e["last3"] as! Double)) < 1e-6)
            #expect(o["hour_max"] as? Int64 == e["hour_max"] as? Int64)
            #expect(o["prev_amount"] as? Double == e["prev_amount"] as? Double)
            #expect(abs((o["ratio"] as! Double) - (e["ratio"] as! Double)) < 0.0011)
        }
    }

    @Test func badRecordsAndFailedExpressionsGoToTheDeadLetterTopicAndTheJobGoesOn() throws {
        let yaml = Self.header + """
            operators:
              - name: per_unit
                map: tx
                keep-input: true
                select:
                  unit_price: amount / qty
            sinks:
              - name: out
                from: per_unit
                topic: out
                fields:
                  tx_id: tx_id
                  unit_price: unit_price
                  at: TO_TIMESTAMP_LTZ(ts_ms, 3)
            dead-letter-topic: t.dlq
            """
        let evs = [Tx(id: 1, customer: 1, amount: 10, qty: 4, mcc: nil, ts: 1_000), Tx(id: 2, customer: 1, amount: 10, qty: 0, mcc: nil, ts: 2_000)]
        let out = try run(yaml, evs, extra: [#"{"tx_id":3,"customer_id":1,"amount":5,"qty":1}"#, "not json", #"{"tx_id":4,"customer_id":1,"amount":"x","qty":1,"ts_ms":5}"#])
        let rows = objects(out, topic: "out")
        #expect(rows.count == 1)
        #expect(rows.first?["unit_price"] as? Double == 2.5)
        #expect(rows.first?["at"] as? String == "1970-01-01T00:00:01.000Z")
        let dlq = out.filter { $0.topic == "t.dlq" }
        #expect(dlq.count == 4, "a division by zero (BIGINT), a missing NOT NULL event time, not JSON, a string amount")
    }

    @Test func whatTheRunnerCannotDoYetIsReportedAtItsPlace() throws {
        let yaml = """
            name: t
            sources:
              tx:
                topic: tx
                schema:
                  a: BIGINT NOT NULL
                  b: DOUBLE
            operators:
              - name: o
                over: tx
                key: a
                measures:
                  s: { expr: SUM(b), frame: unbounded }
                  l: { expr: "LAG(b, 3)", frame: unbounded }
            sinks:
              - name: out
                from: o
                topic: out
            """
        let checked = JobFile.check(yaml, file: "t.yaml")
        if case .failure(let d) = checked { Issue.record("should validate: \(d.rendered)") }
        guard case .success(let f) = checked else { return }
        #expect(throws: Diagnostics.self) { try JobPlanner.plan(f) }
        // YAML splits an unquoted expression at its comma: the message says to quote it.
        if case .failure(let d) = JobFile.check(yaml.replacingOccurrences(of: "\"LAG(b, 3)\"", with: "LAG(b, 3)"), file: "t.yaml") {
            #expect(d.rendered.contains("must be quoted"))
        } else {
            Issue.record("an unquoted comma should not parse")
        }
        do { _ = try JobPlanner.plan(f) } catch {
            let text = error.rendered
            #expect(text.contains("t.yaml:13:"), "the measure's place: \(text)")
            #expect(text.contains("LAG with an offset above 1"))
            #expect(text.contains("SUM(b) over a nullable value"))
        }
    }

    /// A key the source is not partitioned by goes through a repartition topic to a second
    /// stage; a key that copies the partition key does not; one after an operator with state
    /// is refused with the reason.
    @Test func keysOtherThanThePartitionKeyAreRepartitioned() throws {
        let yaml = Self.header + """
            operators:
              - name: tagged
                map: tx
                keep-input: true
                select:
                  cust: customer_id
                  code: COALESCE(mcc, 'none')
              - name: per_customer
                window: tagged
                key: cust
                tumbling: 1h
                select: { cust: cust, cnt: COUNT(*) }
              - name: per_mcc
                window: tagged
                key: code
                tumbling: 1h
                select:
                  code: code
                  cnt: COUNT(*)
                  total: ROUND(SUM(amount), 2)
            sinks:
              - { name: a, from: per_customer, topic: out-a }
              - { name: b, from: per_mcc, topic: out-b }
            """
        let job = try plan(yaml).job
        #expect(job.allStages.map(\.identity.name) == ["t", "t.per_mcc"])
        let evs = Self.events(1500, seed: 9)
        let out = try run(yaml, evs)
        var want: [String: (Int, Double)] = [:]
        for e in evs {
            let k = "\(e.mcc ?? "none")@\(e.ts / 3_600_000)"
            want[k] = ((want[k]?.0 ?? 0) + 1, (want[k]?.1 ?? 0) + e.amount)
        }
        let b = out.filter { $0.topic == "out-b" }
        #expect(b.count == want.count)
        for r in b {
            let o = try JSONSerialization.jsonObject(with: Data(r.value!.readableBytesView)) as! [String: Any]
            let start = ISO8601DateFormatter().date(from: (o["window_start"] as! String).replacingOccurrences(of: ".000", with: ""))!
            let k = "\(o["code"] as! String)@\(Int64(start.timeIntervalSince1970 * 1000) / 3_600_000)"
            #expect(o["cnt"] as? Int == want[k]?.0, "\(k)")
            #expect(abs((o["total"] as! Double) - (want[k]?.1 ?? -1)) < 0.006)
        }

        // After an OVER in arrival order (its results replay the same): allowed.
        let afterOver = Self.header + """
            operators:
              - name: seen
                over: tx
                key: customer_id
                order: arrival
                measures:
                  prev_cnt: { expr: COUNT(*), frame: unbounded, exclude-current: true }
              - name: per_mcc
                window: seen
                key: mcc
                tumbling: 1h
                select:
                  mcc: mcc
                  cnt: COUNT(*)
                  repeat: SUM(IF(prev_cnt > 0, 1, 0))
            sinks:
              - { name: b, from: per_mcc, topic: out-b }
            """
        #expect(try plan(afterOver).job.allStages.count == 2)
        var before: [Int64: Int] = [:]
        var want2: [String: (Int, Int)] = [:]
        for e in evs {
            let k = "\(e.mcc ?? "-")@\(e.ts / 3_600_000)"
            let repeatBuyer = before[e.customer, default: 0] > 0 ? 1 : 0
            before[e.customer, default: 0] += 1
            want2[k] = ((want2[k]?.0 ?? 0) + 1, (want2[k]?.1 ?? 0) + repeatBuyer)
        }
        let b2 = try run(afterOver, evs).filter { $0.topic == "out-b" }
        #expect(b2.count == want2.count)
        for r in b2 {
            let o = try JSONSerialization.jsonObject(with: Data(r.value!.readableBytesView)) as! [String: Any]
            let start = ISO8601DateFormatter().date(from: (o["window_start"] as! String).replacingOccurrences(of: ".000", with: ""))!
            let k = "\((o["mcc"] as? String) ?? "-")@\(Int64(start.timeIntervalSince1970 * 1000) / 3_600_000)"
            #expect(o["cnt"] as? Int == want2[k]?.0 && o["repeat"] as? Int == want2[k]?.1, "\(k)")
        }

        let refused = Self.header + """
            operators:
              - name: history
                over: tx
                key: customer_id
                measures:
                  prev_avg: { expr: AVG(amount), frame: unbounded, exclude-current: true }
              - name: per_mcc
                window: history
                key: mcc
                tumbling: 1h
                select: { mcc: mcc, cnt: COUNT(*) }
            sinks:
              - { name: b, from: per_mcc, topic: out-b }
            """
        guard case .success(let f) = JobFile.check(refused, file: "t.yaml") else { Issue.record("should parse"); return }
        do {
            _ = try JobPlanner.plan(f)
            Issue.record("a repartition after an OVER should be refused")
        } catch {
            #expect(error.rendered.contains("t.yaml:22:"), "\(error.rendered)")
            #expect(error.rendered.contains("a repartition after 'history' (a window or an event-time OVER"))
        }
        let unknown = Self.header.replacingOccurrences(of: "partitioned-by: customer_id", with: "partitioned-by: customr_id") + """
            operators:
              - { name: f, filter: tx, where: amount > 1 }
            sinks:
              - { name: b, from: f, topic: out-b }
            """
        if case .failure(let d) = JobFile.check(unknown, file: "t.yaml") {
            #expect(d.rendered.contains("partitioned-by field 'customr_id' is not in its schema (did you mean 'customer_id'?)"))
        } else {
            Issue.record("an unknown partitioned-by field should be reported")
        }
    }

    @Test func windowAndOverStateSurviveACheckpointAndRestore() throws {
        let yaml = Self.header + """
            operators:
              - name: hourly
                window: tx
                key: customer_id
                tumbling: 1h
                select:
                  customer_id: customer_id
                  cnt: COUNT(*)
                  total: SUM(amount)
                  low_mcc: MIN(mcc)
              - name: history
                over: tx
                key: customer_id
                measures:
                  prev_avg: { expr: AVG(amount), frame: unbounded, exclude-current: true }
                  prev_amount: { expr: LAG(amount), frame: unbounded }
            sinks:
              - name: a
                from: hourly
                topic: out-a
              - name: b
                from: history
                topic: out-b
            """
        let evs = Self.events(1200, seed: 3)
        let whole = try run(yaml, evs)
        let job = try plan(yaml).job
        let first = try LocalPipeline(job: job)
        for e in evs[..<700] { first.push(topic: "tx", json: e.json) }
        var out = first.drain()
        let snap = first.snapshot()
        let second = try LocalPipeline(job: try plan(yaml).job, restoring: TaskSnapshot(decoding: snap.encode()))
        for e in evs[700...] { second.push(topic: "tx", json: e.json) }
        second.finish()
        out += second.drain()
        func texts(_ rs: [ProducerRecord], _ t: String) -> [String] {
            rs.filter { $0.topic == t }.map { String(buffer: $0.value!) }.sorted()
        }
        #expect(texts(out, "out-a") == texts(whole, "out-a"))
        #expect(texts(out, "out-b") == texts(whole, "out-b"))
        #expect(!texts(whole, "out-b").isEmpty)
    }
}

/// `tables:` and `lookup` operators: each row meets the latest entry of its key, NULLs where
/// there is none (left) or no row (inner); checked against a dictionary of the same records.
@Suite struct JobLookupTests {
    static let yaml = JobPlannerTests.header + """
        tables:
          customers:
            topic: customers
            schema:
              home_city: STRING
              limit_usd: DOUBLE NOT NULL
        operators:
          - name: enriched
            lookup: tx
            table: customers
            key: customer_id
          - name: over_limit
            filter: enriched
            where: customers.limit_usd IS NULL OR amount > customers.limit_usd
          - name: known
            lookup: tx
            table: customers
            as: c
            key: CAST(customer_id AS STRING)
            join: inner
        sinks:
          - name: flagged
            from: over_limit
            topic: flagged
            fields:
              tx_id: tx_id
              city: customers.home_city
              limit: customers.limit_usd
          - name: known
            from: known
            topic: known
            fields:
              tx_id: tx_id
              limit: c.limit_usd

        """

    @Test(arguments: [1, 2, 3] as [UInt64]) func rowsMeetTheLatestEntryOfTheirKey(seed: UInt64) throws {
        let t = JobPlannerTests()
        let p = try LocalPipeline(job: t.plan(Self.yaml).job)
        var rng = SplitMix(seed: seed)
        var table: [String: (String?, Double)] = [:]
        var records: [(key: String?, json: String?)] = []
        for i in 0..<200 {
            let c = "\(rng.int(1...15))"
            if rng.int(0...4) == 0 {
                records.append((c, nil))
                table[c] = nil
            } else {
                let city: String? = rng.int(0...1) == 0 ? "city\(i)" : nil
                let limit = Double(rng.int(100...900))
                records.append((c, "{\"limit_usd\":\(limit)" + (city.map { ",\"home_city\":\"\($0)\"" } ?? "") + "}"))
                table[c] = (city, limit)
            }
        }
        // Not readable: no key; the NOT NULL limit missing (the key keeps its entry).
        let failures = p.loadTable(topic: "customers", records + [(nil, "{\"limit_usd\":1}"), ("3", "{\"home_city\":\"x\"}")])
        #expect(failures.count == 2, "\(failures)")
        let evs = JobPlannerTests.events(400, seed: seed, customers: 20)
        for e in evs { p.push(topic: "tx", json: e.json) }
        p.finish()
        let out = p.drain()
        let flagged = t.objects(out, topic: "flagged")
        let expected = evs.filter { e in table["\(e.customer)"].map { e.amount > $0.1 } ?? true }
        #expect(flagged.map { ($0["tx_id"] as! NSNumber).int64Value } == expected.map(\.id))
        for (row, e) in zip(flagged, expected) {
            let entry = table["\(e.customer)"]
            #expect((row["city"] as? String) == entry?.0)
            #expect((row["limit"] as? NSNumber)?.doubleValue == entry?.1)
        }
        let known = t.objects(out, topic: "known")
        #expect(known.map { ($0["tx_id"] as! NSNumber).int64Value } == evs.filter { table["\($0.customer)"] != nil }.map(\.id))
        #expect(evs.contains { table["\($0.customer)"] == nil }, "some customers have no entry")
    }

    @Test func lookupMistakesAreReportedAtTheirPlace() throws {
        let yaml = JobPlannerTests.header + """
            tables:
              customers:
                topic: customers
                schema:
                  limit_usd: DOUBLE
                  seen: BIGINT METADATA FROM 'offset'
            operators:
              - name: a
                lookup: tx
                table: customer
                key: customer_id
              - name: b
                lookup: tx
                table: customers
                key: amount
              - name: c
                lookup: tx
                table: customers
                key: customer_id
                join: outer
            sinks:
              - name: out
                from: tx
                topic: customers
            """
        guard case .failure(let d) = JobFile.check(yaml, file: "t.yaml") else {
            Issue.record("should not validate")
            return
        }
        let text = d.rendered
        #expect(text.contains("'seen' is record metadata"), "\(text)")
        #expect(text.contains("join is left") && text.contains("'outer'"), "\(text)")
        // Parse errors come first; without them, the references are checked.
        let fixed = yaml.replacingOccurrences(of: "      seen: BIGINT METADATA FROM 'offset'\n", with: "")
            .replacingOccurrences(of: "    join: outer\n", with: "")
        guard case .failure(let d2) = JobFile.check(fixed, file: "t.yaml") else {
            Issue.record("should not validate")
            return
        }
        let t2 = d2.rendered
        #expect(t2.contains("table 'customer' is not defined") && t2.contains("did you mean 'customers'"), "\(t2)")
        #expect(t2.contains("the key is DOUBLE"), "\(t2)")
        #expect(t2.contains("also a table of the job"), "\(t2)")
    }
}

/// CSV sources and sinks in job files: the same job over the same rows gives what its JSON
/// twin gives (the JSON path is checked against brute force above).
@Suite struct JobCSVTests {
    static func yaml(csvSource: Bool, csvSink: Bool) -> String {
        var header = JobPlannerTests.header
        if csvSource {
            header = header.replacingOccurrences(of: "    event-time: ts_ms\n",
                                                 with: "    format: csv\n    separator: ';'\n    skip-header: true\n    event-time: ts_ms\n")
        }
        return header + """
            operators:
              - name: hourly
                window: tx
                key: customer_id
                tumbling: 1h
                select:
                  customer_id: customer_id
                  n: COUNT(*)
                  total: ROUND(SUM(amount), 2)
                  with_mcc: COUNT(mcc)
                  last_mcc: MAX(mcc)
            sinks:
              - name: out
                from: hourly
                topic: out
                key: customer_id
                format: \(csvSink ? "csv" : "json")
                fields:
                  customer_id: customer_id
                  n: n
                  total: total
                  with_mcc: with_mcc
                  last_mcc: last_mcc
                  window_start: window_start

            """
    }

    static func csvLine(_ e: JobPlannerTests.Tx) -> String {
        "\(e.id);\(e.customer);\(e.amount);\(e.qty);\(e.mcc ?? "");\(e.ts)"
    }

    /// Every output record as text columns, in the sink's field order.
    static func columns(_ out: [ProducerRecord], csv: Bool) -> [[String]] {
        out.filter { $0.topic == "out" }.map { r in
            var b = r.value!
            let bytes = b.readBytes(length: b.readableBytes)!
            if csv { return String(decoding: bytes, as: UTF8.self).split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            let o = try! JSONSerialization.jsonObject(with: Data(bytes)) as! [String: Any]
            return ["customer_id", "n", "total", "with_mcc", "last_mcc", "window_start"].map { k in
                switch o[k] {
                case let n as NSNumber: return n.stringValue
                case let s as String: return s
                default: return ""
                }
            }
        }
    }

    @Test(arguments: [4, 5] as [UInt64]) func csvRowsGiveWhatTheirJSONTwinsGive(seed: UInt64) throws {
        let t = JobPlannerTests()
        let evs = JobPlannerTests.events(600, seed: seed)
        let json = try LocalPipeline(job: t.plan(Self.yaml(csvSource: false, csvSink: false)).job)
        for e in evs { json.push(topic: "tx", json: e.json) }
        json.finish()
        // Windows closed by one watermark come out in no particular order: by key and start.
        func sorted(_ rows: [[String]]) -> [[String]] { rows.sorted { ($0.first ?? "", $0.last ?? "") < ($1.first ?? "", $1.last ?? "") } }
        let expected = sorted(Self.columns(json.drain(), csv: false))
        #expect(expected.count > 20)

        let csv = try LocalPipeline(job: t.plan(Self.yaml(csvSource: true, csvSink: true)).job)
        csv.push(topic: "tx", value: Array("tx_id;customer_id;amount;qty;mcc;ts_ms".utf8))
        for (i, e) in evs.enumerated() {
            csv.push(topic: "tx", value: Array(Self.csvLine(e).utf8))
            // Not rows of the schema: too few columns; a number that is not one.
            if i == 100 { csv.push(topic: "tx", value: Array("1;2;3".utf8)) }
            if i == 200 { csv.push(topic: "tx", value: Array("1;2;ten;1;;5".utf8)) }
        }
        csv.finish()
        let out = csv.drain()
        let got = sorted(Self.columns(out, csv: true))
        #expect(got.count == expected.count)
        for (g, x) in zip(got, expected) {
            #expect(g.count == 6)
            guard g.count == 6 else { continue }
            #expect(g[0] == x[0] && g[1] == x[1] && g[3] == x[3] && g[4] == x[4] && g[5] == x[5], "\(g) vs \(x)")
            #expect(Double(g[2]) == Double(x[2]), "total \(g[2]) vs \(x[2])")
        }
        #expect(out.filter { $0.topic.hasSuffix("dead-letter") }.count == 2, "the two bad lines, not the header")
        #expect(out.filter { $0.topic == "out" }.allSatisfy { $0.key != nil })
    }

    @Test func csvOptionMistakesAreReported() {
        let bad = JobPlannerTests.header.replacingOccurrences(of: "    event-time: ts_ms\n",
                                                              with: "    separator: '::'\n    skip-header: true\n    event-time: ts_ms\n") + """
            sinks:
              - { name: out, from: tx, topic: out, format: csv, separator: '"' }
            """
        guard case .failure(let d) = JobFile.check(bad, file: "t.yaml") else {
            Issue.record("should not validate")
            return
        }
        let text = d.rendered
        #expect(text.contains("separator is for format csv"), "\(text)")
        #expect(text.contains("skip-header is for format csv"), "\(text)")
        #expect(text.contains("separator '\"' must be one ASCII character"), "\(text)")
    }
}

/// Avro sources in job files: the writer's schema from a file, nested fields by dotted path;
/// the same job over the same rows gives what its JSON twin gives.
@Suite struct JobAvroTests {
    static let schema = #"""
        {"type": "record", "name": "Tx", "fields": [
          {"name": "tx_id", "type": "long"}, {"name": "customer_id", "type": "long"},
          {"name": "pay", "type": {"type": "record", "name": "Pay", "fields": [{"name": "amount", "type": "double"}, {"name": "qty", "type": "int"}]}},
          {"name": "mcc", "type": ["null", "string"], "default": null},
          {"name": "ts_ms", "type": {"type": "long", "logicalType": "timestamp-millis"}}]}
        """#

    static func yaml(avro: String?) -> String {
        let source = avro.map { """
            sources:
              tx:
                topic: tx
                format: avro
                avro-schema: \($0)
                wire: confluent
                schema:
                  tx_id: BIGINT NOT NULL
                  customer_id: BIGINT NOT NULL
                  pay.amount: DOUBLE NOT NULL
                  pay.qty: BIGINT NOT NULL
                  mcc: STRING
                  ts_ms: TIMESTAMP NOT NULL
                event-time: ts_ms
                out-of-orderness: 5s

            """ } ?? """
            sources:
              tx:
                topic: tx
                schema:
                  tx_id: BIGINT NOT NULL
                  customer_id: BIGINT NOT NULL
                  pay.amount: DOUBLE NOT NULL
                  pay.qty: BIGINT NOT NULL
                  mcc: STRING
                  ts_ms: TIMESTAMP NOT NULL
                event-time: ts_ms
                out-of-orderness: 5s

            """
        return "name: t\n" + source + """
            operators:
              - name: hourly
                window: tx
                key: customer_id
                tumbling: 1h
                select:
                  customer_id: customer_id
                  n: COUNT(*)
                  total: ROUND(SUM(pay.amount), 2)
                  units: SUM(pay.qty)
                  last_mcc: MAX(mcc)
            sinks:
              - name: out
                from: hourly
                topic: out
                fields:
                  customer_id: customer_id
                  n: n
                  total: total
                  units: units
                  last_mcc: last_mcc
                  window_start: window_start

            """
    }

    func results(_ out: [ProducerRecord]) -> [String] {
        JobPlannerTests().objects(out, topic: "out").map { o in
            ["customer_id", "n", "total", "units", "last_mcc", "window_start"].map { "\(o[$0] ?? "null")" }.joined(separator: "|")
        }.sorted()
    }

    @Test(arguments: [6, 7] as [UInt64]) func avroRowsGiveWhatTheirJSONTwinsGive(seed: UInt64) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rb-avro-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let schemaFile = dir.appendingPathComponent("tx.avsc").path
        try Self.schema.write(toFile: schemaFile, atomically: true, encoding: .utf8)
        let t = JobPlannerTests()
        let evs = JobPlannerTests.events(500, seed: seed)

        let json = try LocalPipeline(job: t.plan(Self.yaml(avro: nil)).job)
        for e in evs {
            json.push(topic: "tx", json: "{\"tx_id\":\(e.id),\"customer_id\":\(e.customer),\"pay\":{\"amount\":\(e.amount),\"qty\":\(e.qty)},"
                + (e.mcc.map { "\"mcc\":\"\($0)\"," } ?? "") + "\"ts_ms\":\"\(JobPlannerTests.iso(e.ts))\"}")
        }
        json.finish()
        let expected = results(json.drain())
        #expect(expected.count > 20)

        let avro = try LocalPipeline(job: t.plan(Self.yaml(avro: schemaFile)).job)
        var w = try AvroWriter(schema: AvroSchema(json: Self.schema), wire: .confluent(schemaID: 12))
        for (i, e) in evs.enumerated() {
            w.begin()
            w.long(e.id)
            w.long(e.customer)
            w.beginRecord()
            w.double(e.amount)
            w.int(Int(e.qty))
            w.endRecord()
            w.string(e.mcc)
            w.timestamp(EventTime(millis: e.ts))
            w.end()
            #expect(w.failure == nil)
            avro.push(topic: "tx", value: w.bytes)
            // Not a record of the schema: cut short; no Confluent header.
            if i == 50 { avro.push(topic: "tx", value: Array(w.bytes.prefix(7))) }
            if i == 60 { avro.push(topic: "tx", value: Array(w.bytes.dropFirst(5))) }
        }
        avro.finish()
        let out = avro.drain()
        #expect(results(out) == expected)
        #expect(out.filter { $0.topic.hasSuffix("dead-letter") }.count == 2)
    }

    @Test func avroMistakesAreReported() throws {
        // No schema file; then one without a field the job reads.
        let noFile = Self.yaml(avro: "/nonexistent/tx.avsc")
        guard case .success(let f) = JobFile.check(noFile, file: "t.yaml") else { Issue.record("should parse"); return }
        do { _ = try JobPlanner.plan(f); Issue.record("should not plan") } catch {
            #expect(error.rendered.contains("cannot be read"), "\(error.rendered)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rb-avro-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("tx.avsc").path
        try Self.schema.replacingOccurrences(of: #"{"name": "qty", "type": "int"}"#, with: #"{"name": "units", "type": "int"}"#)
            .write(toFile: file, atomically: true, encoding: .utf8)
        guard case .success(let g) = JobFile.check(Self.yaml(avro: file), file: "t.yaml") else { Issue.record("should parse"); return }
        do { _ = try JobPlanner.plan(g); Issue.record("should not plan") } catch {
            #expect(error.rendered.contains("qty"), "\(error.rendered)")
        }
        guard case .failure(let d) = JobFile.check(Self.yaml(avro: file).replacingOccurrences(of: "    avro-schema: \(file)\n", with: ""), file: "t.yaml") else {
            Issue.record("avro without a schema file should not validate")
            return
        }
        #expect(d.rendered.contains("needs avro-schema"), "\(d.rendered)")
    }
}

/// Columns that nothing after an operator reads are not passed on (ColumnLiveness); a sink that
/// writes its input whole keeps all of them; what the sinks write does not change.
@Suite struct ColumnLivenessTests {
    static let yaml = JobPlannerTests.header + """
        tables:
          customers:
            topic: customers
            schema:
              home_city: STRING
              limit_usd: DOUBLE
        operators:
          - name: enriched
            lookup: tx
            table: customers
            key: customer_id
          - name: priced
            map: enriched
            keep-input: true
            select:
              net: amount - qty
              unused: amount * 2
          - name: big
            filter: priced
            where: net > COALESCE(customers.limit_usd, 0.0)
          - name: counted
            over: big
            key: customer_id
            order: arrival
            measures:
              n: COUNT(*)
          - name: whole
            map: tx
            keep-input: true
            select:
              doubled: amount * 2
        sinks:
          - name: big
            from: counted
            topic: big
            fields:
              tx_id: tx_id
              net: net
              n: n
          - name: whole
            from: whole
            topic: whole

        """

    @Test func onlyTheColumnsReadLaterTravelOn() throws {
        guard case .success(let f) = JobFile.check(Self.yaml, file: "t.yaml") else { Issue.record("does not check"); return }
        let l = ColumnLiveness(f.definition)
        // After the lookup: what the map, the filter, the OVER and the sink read.
        for c in ["tx_id", "amount", "qty", "customer_id", "customers.limit_usd"] { #expect(l.isLive(c, in: "enriched"), "\(c)") }
        for c in ["mcc", "ts_ms", "customers.home_city"] { #expect(!l.isLive(c, in: "enriched"), "\(c)") }
        #expect(l.isLive("net", in: "priced") && !l.isLive("unused", in: "priced") && !l.isLive("amount", in: "priced"))
        #expect(!l.isLive("customers.limit_usd", in: "big") && l.isLive("customer_id", in: "big"))
        #expect(l.isLive("n", in: "counted") && !l.isLive("customer_id", in: "counted"))
        // A sink without fields writes every column: all stay.
        for c in ["mcc", "ts_ms", "doubled", "anything"] { #expect(l.isLive(c, in: "whole"), "\(c)") }
        #expect(l.isLive("mcc", in: "tx"))
    }

    @Test func prunedPlansWriteWhatTheOracleSays() throws {
        let t = JobPlannerTests()
        let p = try LocalPipeline(job: t.plan(Self.yaml).job)
        p.loadTable(topic: "customers", [("3", #"{"limit_usd": 400, "home_city": "x"}"#)])
        let evs = JobPlannerTests.events(300, seed: 4, customers: 6)
        for e in evs { p.push(topic: "tx", json: e.json) }
        p.finish()
        let out = p.drain()
        var counts: [Int64: Int] = [:]
        let want = evs.compactMap { e -> (Int64, Double, Int)? in
            let net = e.amount - Double(e.qty)
            guard net > (e.customer == 3 ? 400 : 0) else { return nil }
            counts[e.customer, default: 0] += 1
            return (e.id, net, counts[e.customer]!)
        }
        let big = t.objects(out, topic: "big")
        #expect(big.count == want.count)
        for (row, w) in zip(big, want) {
            #expect((row["tx_id"] as! NSNumber).int64Value == w.0 && abs((row["net"] as! NSNumber).doubleValue - w.1) < 1e-9)
            #expect((row["n"] as! NSNumber).intValue == w.2)
            #expect(row.count == 3)
        }
        let whole = t.objects(out, topic: "whole")
        #expect(whole.count == evs.count && whole.allSatisfy { $0["doubled"] != nil && $0["ts_ms"] != nil })
    }
}

/// A field the job reads that the events never carry is reported once per partition, with
/// what is computed from it; the job goes on with NULLs there.
@Suite struct FieldPresenceTests {
    static let yaml = JobPlannerTests.header + """
        operators:
          - name: tagged
            map: tx
            keep-input: true
            select:
              grocery: mcc = '5411'
              big: amount > 500
          - name: flagged
            map: tagged
            select:
              tx_id: tx_id
              grocery_and_big: COALESCE(grocery AND big, FALSE)
        sinks:
          - name: out
            from: flagged
            topic: out

        """

    final class Warnings: Sendable {
        let lines = Locked<[String]>([])
        var all: [String] { lines.withLock { $0 } }
    }

    func run(_ events: [JobPlannerTests.Tx]) throws -> (warnings: [String], out: Int) {
        guard case .success(let f) = JobFile.check(Self.yaml, file: "t.yaml") else { Issue.record("does not check"); return ([], 0) }
        let w = Warnings()
        let p = try LocalPipeline(job: JobPlanner.plan(f, fieldCheck: FieldCheck(sample: 100) { m in w.lines.withLock { $0.append(m) } }).job)
        for e in events { p.push(topic: "tx", json: e.json) }
        p.finish()
        return (w.all, JobPlannerTests().objects(p.drain(), topic: "out").count)
    }

    @Test func aFieldMissingFromEveryEventIsReportedWithWhatDependsOnIt() throws {
        var evs = JobPlannerTests.events(300, seed: 5)
        for i in evs.indices { evs[i].mcc = nil }
        let (warnings, out) = try run(evs)
        #expect(out == 300, "the job goes on")
        #expect(warnings.count == 1, "\(warnings)")
        let w = warnings.first ?? ""
        #expect(w.contains("field mcc") && w.contains("first 100 records"), "\(w)")
        // `big` is amount's, not mcc's.
        #expect(w.hasSuffix("computed from it, NULL or off: grocery, grocery_and_big"), "\(w)")
    }

    @Test func aFieldThatSomeEventsCarryIsNotReported() throws {
        var evs = JobPlannerTests.events(300, seed: 6)
        for i in evs.indices where i != 70 { evs[i].mcc = nil }
        #expect(try run(evs).warnings.isEmpty)
        // Seen only after the sample: reported (the sample decides).
        var late = JobPlannerTests.events(300, seed: 6)
        for i in late.indices where i < 150 { late[i].mcc = nil }
        #expect(try run(late).warnings.count == 1)
    }
}
