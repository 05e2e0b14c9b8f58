import Foundation
import Streams

/// The benchmark rows of ../shared/bench (same as the Flink and peer jobs):
/// `{"tx_id", "customer_id", "amount", "lat", "lon", "ts_ms"}`.
struct BenchTx: JSONRecord, StateCodable {
    func write(to w: inout StateWriter) {
        w.int(txID); w.int(customer); w.double(amount); w.double(lat); w.double(lon); w.int(ts)
    }

    init(from r: inout StateReader) throws(StateError) {
        txID = try r.int(); customer = try r.int(); amount = try r.double(); lat = try r.double(); lon = try r.double(); ts = try r.int()
    }

    static let jsonFields = JSONFieldTable(["tx_id", "customer_id", "amount", "lat", "lon", "ts_ms"])
    var txID: Int64
    var customer: Int64
    var amount: Double
    var lat: Double
    var lon: Double
    var ts: Int64

    init(json f: JSONFields) throws(FormatError) {
        txID = try f.int64(0)
        customer = try f.int64(1)
        amount = try f.double(2)
        lat = try f.double(3)
        lon = try f.double(4)
        ts = try f.int64(5)
    }
}

/// Jobs A, B and C of the Streams benchmark, written against the Swift API.
enum BenchJobs {
    static func make(_ id: String, input: String, output: String) -> StreamJob? {
        // Named after its output: a rerun with the same output resumes from its checkpoint,
        // another run starts fresh.
        let job = StreamJob(name: "bench-\(id.lowercased())-\(output)")
        let tx = job.source(topic: input, as: BenchTx.self, eventTime: { $0.ts }, outOfOrderness: .seconds(5))
        switch id {
        case "S":
            // Source only: read and decode every record, write nothing (the ingest ceiling).
            tx.filter { $0.customer == Int64.min }.sink(topic: output, key: { _ in nil }) { t, w in w.field("tx_id", t.txID) }
        case "AX":
            // Diagnostics: job A without writing its results (the cost of the sink).
            tx.keyBy { StreamKey($0.customer) }
                .window(.tumbling(.seconds(3600)), name: "hourly") { (acc: inout Stats, t: BenchTx) in acc.add(t.amount) }
                .filter { $0.value.count < 0 }
                .sink(topic: output, key: { $0.key.bytes }) { r, w in w.field("customer_id", r.key.int) }
        case "A":
            // TUMBLE 1 h per customer: COUNT, SUM, AVG.
            tx.keyBy { StreamKey($0.customer) }
                .window(.tumbling(.seconds(3600)), name: "hourly") { (acc: inout Stats, t: BenchTx) in acc.add(t.amount) }
                .sink(topic: output, key: { $0.key.bytes }) { r, w in
                    w.field("customer_id", r.key.int)
                    w.field("window_start", r.start)
                    w.field("window_end", r.end)
                    w.field("cnt", r.value.count)
                    w.field("sum", r.value.sum)
                    w.field("avg", r.value.avg)
                }
        case "B":
            // HOP 1 h sliding by 5 min per customer, HAVING COUNT(*) > 5.
            tx.keyBy { StreamKey($0.customer) }
                .window(.hopping(size: .seconds(3600), slide: .seconds(300)), name: "velocity") { (acc: inout Stats, t: BenchTx) in acc.add(t.amount) }
                .filter { $0.value.count > 5 }
                .sink(topic: output, key: { $0.key.bytes }) { r, w in
                    w.field("customer_id", r.key.int)
                    w.field("window_start", r.start)
                    w.field("window_end", r.end)
                    w.field("cnt", r.value.count)
                }
        case "C":
            // amount > 3 × the average of the customer's previous transactions (event-time order).
            tx.keyBy { StreamKey($0.customer) }
                .over([OverMeasure(.unbounded, excludeCurrent: true) { $0.amount }], name: "history")
                .filter { row in
                    let prev = row.measures[0]
                    // Evaluated as 3 × sum ÷ count, left to right, like the reference computation.
                    return prev.count > 0 && row.value.amount > 3 * prev.sum / Double(prev.count)
                }
                .sink(topic: output, key: { StreamKey($0.value.customer).bytes }) { row, w in
                    let prev = row.measures[0]
                    w.field("tx_id", row.value.txID)
                    w.field("customer_id", row.value.customer)
                    w.field("amount", row.value.amount)
                    w.field("prev_avg", prev.sum / Double(prev.count))
                    w.field("prev_cnt", prev.count)
                    w.field("ts_ms", row.timestamp)
                }
        case "R":
            // Recovery: per customer, the history of its transactions with derived features
            // (gap, distance and speed from the previous one, amount over the running
            // average, z-score): state that grows with the input, ~100 bytes a row (10 M rows ≈ 1 GB).
            // Every 1000th transaction's features are written.
            tx.keyBy { StreamKey($0.customer) }
                .process(name: "history", state: History.self) { (t: BenchTx, ctx: inout ProcessContext<History, HistoryRow>) in
                    if ctx.state == nil { ctx.state = History() }
                    let row = ctx.state!.add(t)
                    if t.txID % 1000 == 0 { ctx.emit(row) }
                }
                .sink(topic: output, key: { StreamKey($0.tx.customer).bytes }) { r, w in
                    w.field("tx_id", r.tx.txID)
                    w.field("customer_id", r.tx.customer)
                    w.field("history", r.historyLength)
                    w.field("gap_ms", r.gapMs)
                    w.field("km", r.km)
                    w.field("kmh", r.kmh)
                    w.field("amount_ratio", r.amountRatio)
                    w.field("amount_z", r.amountZ)
                }
        default:
            return nil
        }
        return job
    }
}

/// Job R's per-customer state: every transaction with its derived features.
struct History: StateCodable {
    var rows: [HistoryRow] = []
    var sum = 0.0
    var sumSquares = 0.0

    init() {}

    /// Appends the transaction's row (features against the previous one) and returns it.
    mutating func add(_ t: BenchTx) -> HistoryRow {
        var r = HistoryRow(tx: t, historyLength: Int64(rows.count), gapMs: 0, km: 0, kmh: 0, amountRatio: 0,
                           hourOfDay: (t.ts / 3_600_000) % 24, amountZ: 0)
        if let p = rows.last?.tx {
            let n = Double(rows.count), mean = sum / n
            r.gapMs = t.ts - p.ts
            r.km = haversineKm(p.lat, p.lon, t.lat, t.lon)
            r.kmh = r.gapMs > 0 ? r.km / (Double(r.gapMs) / 3_600_000) : 0
            r.amountRatio = t.amount / mean
            let sd = (max(0, sumSquares / n - mean * mean)).squareRoot()
            r.amountZ = sd > 0 ? (t.amount - mean) / sd : 0
        }
        rows.append(r)
        sum += t.amount
        sumSquares += t.amount * t.amount
        return r
    }

    func write(to w: inout StateWriter) {
        w.double(sum)
        w.double(sumSquares)
        w.int(rows.count)
        for r in rows { r.write(to: &w) }
    }

    init(from r: inout StateReader) throws(StateError) {
        sum = try r.double()
        sumSquares = try r.double()
        let n = try r.count()
        rows.reserveCapacity(n)
        for _ in 0..<n { rows.append(try HistoryRow(from: &r)) }
    }
}

struct HistoryRow: StateCodable {
    var tx: BenchTx
    var historyLength: Int64
    var gapMs: Int64
    var km: Double
    var kmh: Double
    var amountRatio: Double
    var hourOfDay: Int64
    var amountZ: Double

    init(tx: BenchTx, historyLength: Int64, gapMs: Int64, km: Double, kmh: Double, amountRatio: Double, hourOfDay: Int64, amountZ: Double) {
        self.tx = tx
        self.historyLength = historyLength
        self.gapMs = gapMs
        self.km = km
        self.kmh = kmh
        self.amountRatio = amountRatio
        self.hourOfDay = hourOfDay
        self.amountZ = amountZ
    }

    func write(to w: inout StateWriter) {
        tx.write(to: &w)
        w.int(historyLength); w.int(gapMs); w.double(km); w.double(kmh); w.double(amountRatio); w.int(hourOfDay); w.double(amountZ)
    }

    init(from r: inout StateReader) throws(StateError) {
        tx = try BenchTx(from: &r)
        historyLength = try r.int(); gapMs = try r.int(); km = try r.double(); kmh = try r.double(); amountRatio = try r.double()
        hourOfDay = try r.int(); amountZ = try r.double()
    }
}

func haversineKm(_ lat1: Double, _ lon1: Double, _ lat2: Double, _ lon2: Double) -> Double {
    let rad = Double.pi / 180
    let dLat = (lat2 - lat1) * rad, dLon = (lon2 - lon1) * rad
    let a = sin(dLat / 2) * sin(dLat / 2) + cos(lat1 * rad) * cos(lat2 * rad) * sin(dLon / 2) * sin(dLon / 2)
    return 2 * 6371.0088 * asin(min(1, a.squareRoot()))
}
