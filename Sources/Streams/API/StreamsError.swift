/// Errors of the stream engine. `isRetriable` says whether running the job again may succeed
/// (a broker that is down) or whether the job itself must change (a bad definition).
public enum StreamsError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The job cannot run as defined; nothing was started.
    case invalidJob(String)
    /// A source or sink topic is missing or does not fit (partition counts differ).
    case topology(String)
    /// The sink could not deliver records after the producer's own retries.
    case deliveryFailed(String)
    /// A checkpoint exists but cannot be read: the job does not start over on its own (it
    /// would re-read and re-emit everything, or miss what retention has deleted).
    case checkpoint(String)

    public var isRetriable: Bool {
        switch self {
        case .invalidJob, .topology, .checkpoint: return false
        case .deliveryFailed: return true
        }
    }

    public var description: String {
        switch self {
        case .invalidJob(let s): return "invalid job: \(s)"
        case .topology(let s): return "topology: \(s)"
        case .deliveryFailed(let s): return "delivery failed: \(s)"
        case .checkpoint(let s): return "checkpoint: \(s)"
        }
    }
}
