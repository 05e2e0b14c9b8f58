/// Event-time windows aligned to the epoch, split into slices (Flink's window slicing): a
/// slice is the unit of state, and a window is the merge of its slices, so a record of a
/// 1 h window sliding by 5 min is added once, not twelve times.
public enum WindowSpec: Sendable, Equatable, CustomStringConvertible {
    /// Fixed, non-overlapping windows of `size`.
    case tumbling(size: Millis)
    /// Windows of `size` starting every `slide` (Flink's HOP / sliding windows).
    case hopping(size: Millis, slide: Millis)
    /// Windows that start every `maxSize` and grow by `step` until `maxSize` (Flink's
    /// CUMULATE): e.g. spend so far today, every hour.
    case cumulate(step: Millis, maxSize: Millis)
    /// Per key, a window that stays open while records come at most `gap` apart (Flink's
    /// SESSION windows); not aligned, so not sliced (`SessionWindowOperator`).
    case session(gap: Millis)

    public static func tumbling(_ d: Duration) -> WindowSpec { .tumbling(size: d.millis) }
    public static func hopping(size: Duration, slide: Duration) -> WindowSpec { .hopping(size: size.millis, slide: slide.millis) }
    public static func cumulate(step: Duration, maxSize: Duration) -> WindowSpec { .cumulate(step: step.millis, maxSize: maxSize.millis) }
    public static func session(gap: Duration) -> WindowSpec { .session(gap: gap.millis) }

    /// Checks the sizes; the engine refuses a job whose windows make no sense.
    public func validate() throws(StreamsError) {
        switch self {
        case .tumbling(let s):
            guard s > 0 else { throw StreamsError.invalidJob("tumbling window size must be positive") }
        case .hopping(let size, let slide):
            guard size > 0, slide > 0 else { throw StreamsError.invalidJob("hopping window size and slide must be positive") }
            guard slide <= size else { throw StreamsError.invalidJob("hopping window slide (\(slide) ms) larger than its size (\(size) ms) would skip events") }
        case .cumulate(let step, let maxSize):
            guard step > 0, maxSize > 0, maxSize % step == 0 else {
                throw StreamsError.invalidJob("cumulate window max size must be a positive multiple of its step")
            }
        case .session(let gap):
            guard gap > 0 else { throw StreamsError.invalidJob("session window gap must be positive") }
        }
    }

    var sliceSize: Millis {
        switch self {
        case .tumbling(let s): return s
        case .hopping(let size, let slide): return gcd(size, slide)
        case .cumulate(let step, _): return step
        case .session(let gap): return gap  // not used: sessions are not sliced
        }
    }

    @inline(__always) func sliceStart(_ ts: Millis) -> Millis { floorDiv(ts, sliceSize) * sliceSize }

    /// The ends of the windows that contain the slice starting at `s`, ascending.
    func windowEnds(slice s: Millis, into out: inout [Millis]) {
        out.removeAll(keepingCapacity: true)
        switch self {
        case .tumbling(let size):
            out.append(s + size)
        case .hopping(let size, let slide):
            var w = floorDiv(s - size, slide) * slide + slide
            let last = floorDiv(s, slide) * slide
            while w <= last {
                out.append(w + size)
                w += slide
            }
        case .cumulate(let step, let maxSize):
            let periodEnd = floorDiv(s, maxSize) * maxSize + maxSize
            var e = s + step
            while e <= periodEnd {
                out.append(e)
                e += step
            }
        case .session:
            preconditionFailure("session windows are not sliced")
        }
    }

    /// The end of the last window holding slice `s` (its state is needed until then).
    func lastEnd(slice s: Millis) -> Millis {
        switch self {
        case .tumbling(let size): return s + size
        case .hopping(let size, let slide): return floorDiv(s, slide) * slide + size
        case .cumulate(_, let maxSize): return floorDiv(s, maxSize) * maxSize + maxSize
        case .session: preconditionFailure("session windows are not sliced")
        }
    }

    func windowStart(end e: Millis) -> Millis {
        switch self {
        case .tumbling(let size): return e - size
        case .hopping(let size, _): return e - size
        case .cumulate(_, let maxSize): return floorDiv(e - 1, maxSize) * maxSize
        case .session: preconditionFailure("session windows are not sliced")
        }
    }

    public var description: String {
        switch self {
        case .tumbling(let s): return "TUMBLE(\(s) ms)"
        case .hopping(let size, let slide): return "HOP(size \(size) ms, slide \(slide) ms)"
        case .cumulate(let step, let max): return "CUMULATE(step \(step) ms, max \(max) ms)"
        case .session(let gap): return "SESSION(gap \(gap) ms)"
        }
    }
}

@inline(__always) func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

func gcd(_ a: Int64, _ b: Int64) -> Int64 { b == 0 ? a : gcd(b, a % b) }

extension Duration {
    /// Whole milliseconds.
    public var millis: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }

    /// Whole microseconds.
    public var micros: Int64 {
        let (s, atto) = components
        return s * 1_000_000 + atto / 1_000_000_000_000
    }
}
