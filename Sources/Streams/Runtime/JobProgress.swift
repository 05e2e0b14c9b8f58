import Atomics
import KafkaClient
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Counters of a running job shared by its workers (read by reports, progress lines, tests).
public final class JobProgress: Sendable {
    let recordsIn = ManagedAtomic<Int>(0)
    let recordsOut = ManagedAtomic<Int>(0)
    let late = ManagedAtomic<Int>(0)
    let deadLettered = ManagedAtomic<Int>(0)
    /// Wall-clock microseconds of the first record read and of the last result handed to the
    /// producer (0: not yet).
    let firstRecordMicros = ManagedAtomic<Int64>(0)
    let lastOutputMicros = ManagedAtomic<Int64>(0)
    let firstOutputMicros = ManagedAtomic<Int64>(0)
    let checkpoints = ManagedAtomic<Int>(0)
    let checkpointMicros = ManagedAtomic<Int64>(0)
    let checkpointBytes = ManagedAtomic<Int64>(0)
    let restoredTasks = ManagedAtomic<Int>(0)
    /// The job's watermark (event time it has completed), and when the last checkpoint ended.
    let watermark = ManagedAtomic<Int64>(.min)
    let lastCheckpointMicros = ManagedAtomic<Int64>(0)
    /// The next offset to read of each source partition (for lag: the end offset minus this).
    let nextOffsets = Locked<[TopicPartition: Int64]>([:])

    func read(_ tp: TopicPartition, upTo next: Int64) {
        nextOffsets.withLock { $0[tp] = next }
    }

    /// The next offset to read of each source partition this job has read from.
    public var positions: [TopicPartition: Int64] { nextOffsets.withLock { $0 } }

    func checkpointed(micros: Int64, bytes: Int) {
        lastCheckpointMicros.store(Self.nowMicros(), ordering: .relaxed)
        checkpoints.wrappingIncrement(ordering: .relaxed)
        checkpointMicros.wrappingIncrement(by: micros, ordering: .relaxed)
        checkpointBytes.store(Int64(bytes), ordering: .relaxed)
    }

    public init() {}

    static func nowMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    func add(_ c: TaskCounters, outputs: Bool) {
        if c.sourceIn > 0 {
            recordsIn.wrappingIncrement(by: c.sourceIn, ordering: .relaxed)
            if firstRecordMicros.load(ordering: .relaxed) == 0 {
                _ = firstRecordMicros.compareExchange(expected: 0, desired: Self.nowMicros(), ordering: .relaxed)
            }
        }
        if c.sinkOut > 0 { recordsOut.wrappingIncrement(by: c.sinkOut, ordering: .relaxed) }
        if c.late > 0 { late.wrappingIncrement(by: c.late, ordering: .relaxed) }
        if c.deadLettered > 0 { deadLettered.wrappingIncrement(by: c.deadLettered, ordering: .relaxed) }
        if outputs {
            let now = Self.nowMicros()
            lastOutputMicros.store(now, ordering: .relaxed)
            if firstOutputMicros.load(ordering: .relaxed) == 0 {
                _ = firstOutputMicros.compareExchange(expected: 0, desired: now, ordering: .relaxed)
            }
        }
    }

    public var snapshot: JobReport {
        JobReport(recordsIn: recordsIn.load(ordering: .relaxed), recordsOut: recordsOut.load(ordering: .relaxed),
                  late: late.load(ordering: .relaxed), deadLettered: deadLettered.load(ordering: .relaxed),
                  firstRecordAt: Self.seconds(firstRecordMicros.load(ordering: .relaxed)),
                  lastOutputAt: Self.seconds(lastOutputMicros.load(ordering: .relaxed)),
                  checkpoints: checkpoints.load(ordering: .relaxed),
                  checkpointSeconds: Double(checkpointMicros.load(ordering: .relaxed)) / 1e6,
                  lastCheckpointBytes: Int(checkpointBytes.load(ordering: .relaxed)),
                  restoredTasks: restoredTasks.load(ordering: .relaxed),
                  watermark: watermark.load(ordering: .relaxed) == .min ? nil : watermark.load(ordering: .relaxed),
                  lastCheckpointAt: Self.seconds(lastCheckpointMicros.load(ordering: .relaxed)),
                  firstOutputAt: Self.seconds(firstOutputMicros.load(ordering: .relaxed)))
    }

    static func seconds(_ us: Int64) -> Double? { us == 0 ? nil : Double(us) / 1e6 }
}

/// What a job did: records read and written (results, late records and dead letters all
/// count as written), and when (epoch seconds).
public struct JobReport: Sendable, Equatable {
    public var recordsIn: Int
    public var recordsOut: Int
    public var late: Int
    public var deadLettered: Int
    public var firstRecordAt: Double?
    public var lastOutputAt: Double?
    /// Checkpoints completed (per worker), the time they held processing up (freezing state
    /// between batches; writing it out runs alongside), the size of the last one.
    public var checkpoints = 0
    public var checkpointSeconds = 0.0
    public var lastCheckpointBytes = 0
    /// Tasks that started from a checkpoint.
    public var restoredTasks = 0
    /// The watermark (epoch millis; nil before the first), and when the last checkpoint ended.
    public var watermark: Int64? = nil
    public var lastCheckpointAt: Double? = nil
    /// When the first result was handed to the producer (epoch seconds).
    public var firstOutputAt: Double? = nil

    /// Nothing done yet.
    public static let empty = JobReport(recordsIn: 0, recordsOut: 0, late: 0, deadLettered: 0)
}
