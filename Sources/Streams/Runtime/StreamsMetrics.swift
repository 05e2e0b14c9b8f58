import CoreMetrics

/// What a running job reports through swift-metrics (Prometheus names). Counted in plain
/// integers on the per-record path and added to the metrics once per batch.
final class TaskMetrics {
    let recordsIn: Counter
    let recordsOut: Counter
    let late: Counter
    let deadLettered: Counter
    let watermark: Gauge
    let watermarkLag: Gauge
    let stateEntries: Gauge
    let operatorIn: [Counter]
    let operatorOut: [Counter]

    init(job: String, partition: Int32, operators: [String], factory: any MetricsFactory) {
        let d = [("job", job), ("partition", "\(partition)")]
        recordsIn = Counter(label: "riverbank_streams_records_in_total", dimensions: d, factory: factory)
        recordsOut = Counter(label: "riverbank_streams_records_out_total", dimensions: d, factory: factory)
        late = Counter(label: "riverbank_streams_late_records_total", dimensions: d, factory: factory)
        deadLettered = Counter(label: "riverbank_streams_dead_letter_records_total", dimensions: d, factory: factory)
        watermark = Gauge(label: "riverbank_streams_watermark_ms", dimensions: d, factory: factory)
        watermarkLag = Gauge(label: "riverbank_streams_watermark_lag_ms", dimensions: d, factory: factory)
        stateEntries = Gauge(label: "riverbank_streams_state_entries", dimensions: d, factory: factory)
        operatorIn = operators.map { Counter(label: "riverbank_streams_operator_records_in_total", dimensions: d + [("operator", $0)], factory: factory) }
        operatorOut = operators.map { Counter(label: "riverbank_streams_operator_records_out_total", dimensions: d + [("operator", $0)], factory: factory) }
    }

    func flush(_ c: TaskCounters, _ ops: OperatorCounters, ctx: TaskContext, state: Int, nowMillis: Int64) {
        if c.sourceIn > 0 { recordsIn.increment(by: c.sourceIn) }
        if c.sinkOut > 0 { recordsOut.increment(by: c.sinkOut) }
        if c.late > 0 { late.increment(by: c.late) }
        if c.deadLettered > 0 { deadLettered.increment(by: c.deadLettered) }
        for i in ops.inCounts.indices where i < operatorIn.count {
            if ops.inCounts[i] > 0 { operatorIn[i].increment(by: ops.inCounts[i]); ops.inCounts[i] = 0 }
            if ops.outCounts[i] > 0 { operatorOut[i].increment(by: ops.outCounts[i]); ops.outCounts[i] = 0 }
        }
        let w = ctx.watermark
        if w != .min && w != .max {
            watermark.record(w)
            watermarkLag.record(max(0, nowMillis - w))
        }
        stateEntries.record(state)
    }
}

/// Job-wide: checkpoints and back-pressure.
final class JobMetrics: Sendable {
    let checkpointDuration: CoreMetrics.Timer
    /// How long a checkpoint held processing up (freezing the state between batches).
    let checkpointPause: CoreMetrics.Timer
    let checkpointBytes: Gauge
    let checkpointFailures: Counter
    /// Time workers spent waiting for the producer (a full buffer: the sink is slower than the
    /// sources) or for the processor (a full channel).
    let backpressureSeconds: FloatingPointCounter
    let restoredTasks: Counter

    init(job: String, factory: any MetricsFactory) {
        let d = [("job", job)]
        checkpointDuration = CoreMetrics.Timer(label: "riverbank_streams_checkpoint_duration_seconds", dimensions: d, factory: factory)
        checkpointPause = CoreMetrics.Timer(label: "riverbank_streams_checkpoint_pause_seconds", dimensions: d, factory: factory)
        checkpointBytes = Gauge(label: "riverbank_streams_checkpoint_bytes", dimensions: d, factory: factory)
        checkpointFailures = Counter(label: "riverbank_streams_checkpoint_failures_total", dimensions: d, factory: factory)
        backpressureSeconds = FloatingPointCounter(label: "riverbank_streams_backpressure_seconds_total", dimensions: d, factory: factory)
        restoredTasks = Counter(label: "riverbank_streams_restored_tasks_total", dimensions: d, factory: factory)
    }
}

/// Records into and out of each operator of a task, by registration index.
final class OperatorCounters {
    var names: [String] = []
    var inCounts: ContiguousArray<Int> = []
    var outCounts: ContiguousArray<Int> = []

    func register(_ name: String) -> Int {
        names.append(name)
        inCounts.append(0)
        outCounts.append(0)
        return names.count - 1
    }
}
