import Atomics

/// Milliseconds of event time. `Int64.min` means "nothing seen yet", `Int64.max` "end of input".
public typealias Millis = Int64

/// Bounded out-of-orderness for one source partition, as Flink's
/// `WatermarkStrategy.forBoundedOutOfOrderness`: the watermark trails the largest event time
/// seen by the bound (minus 1 ms: a watermark W promises no more events at or before W).
struct PartitionWatermark {
    let outOfOrderness: Millis
    var maxEventTime: Millis = .min
    /// A repartition topic's partition: the watermark each task of the stage before last sent
    /// on it (records of all of them interleave here, so the partition's time is the least).
    var origins: [Millis]? = nil

    init(outOfOrderness: Millis) { self.outOfOrderness = outOfOrderness }

    init(origins: Int) {
        outOfOrderness = 0
        self.origins = Array(repeating: .min, count: max(1, origins))
    }

    mutating func observe(_ ts: Millis) {
        if ts > maxEventTime { maxEventTime = ts }
    }

    /// A watermark record from task `origin` of the previous stage (one from a task this
    /// stage does not know is ignored).
    mutating func observe(origin: Int, _ w: Millis) {
        guard var o = origins, origin >= 0, origin < o.count, w > o[origin] else { return }
        o[origin] = w
        origins = o
    }

    var watermark: Millis {
        if let o = origins { return o.min() ?? .min }
        return maxEventTime == .min ? .min : maxEventTime &- outOfOrderness &- 1
    }
}

/// The watermarks of every source partition of a job, shared by its tasks (each task writes
/// its own partitions', every task reads the combination): after a keyBy every task holds keys
/// from the whole input in Flink's model, so a window closes when *all* inputs have passed it.
/// An idle partition (no data for the idle timeout and nothing left to read) stops holding
/// time back; one that has data waiting never counts as idle.
public final class WatermarkBoard: Sendable {
    let marks: [ManagedAtomic<Int64>]
    let idle: [ManagedAtomic<Bool>]

    public init(partitions: Int) {
        marks = (0..<partitions).map { _ in ManagedAtomic(Int64.min) }
        idle = (0..<partitions).map { _ in ManagedAtomic(false) }
    }

    public var count: Int { marks.count }

    func publish(_ slot: Int, watermark: Millis) {
        // Monotonic per partition.
        var cur = marks[slot].load(ordering: .relaxed)
        while watermark > cur {
            let (done, now) = marks[slot].compareExchange(expected: cur, desired: watermark, ordering: .relaxed)
            if done { break }
            cur = now
        }
    }

    func setIdle(_ slot: Int, _ v: Bool) {
        if idle[slot].load(ordering: .relaxed) != v { idle[slot].store(v, ordering: .relaxed) }
    }

    func isIdle(_ slot: Int) -> Bool { idle[slot].load(ordering: .relaxed) }

    /// The minimum over active partitions. When every partition is idle, the maximum over
    /// all: nothing is flowing, so what has been seen can complete (Flink's watermark valve
    /// does the same); a partition that wakes up again may then find its records late, and
    /// they go to the late topic.
    public func combined() -> Millis {
        var m = Int64.max
        var any = false
        var all = Int64.min
        for i in marks.indices {
            let w = marks[i].load(ordering: .relaxed)
            all = max(all, w)
            if !idle[i].load(ordering: .relaxed) {
                m = min(m, w)
                any = true
            }
        }
        return any ? m : all
    }

    public func watermark(_ slot: Int) -> Millis { marks[slot].load(ordering: .relaxed) }
}
