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
        default:
            return nil
        }
        return job
    }
}
