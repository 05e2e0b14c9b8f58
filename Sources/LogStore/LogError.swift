#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors thrown by the log. Every failure that can come from input (a client's bytes or a
/// file on disk) is one of these; nothing in this module traps on bad data.
public enum LogError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes handed to `append` are not a well-formed sequence of RecordBatch v2.
    case invalidBatch(String)
    /// One append holds more bytes than a segment may (Kafka: RecordBatchTooLargeException).
    case recordSetTooLarge(size: Int, segmentBytes: Int)
    /// `offset` is below the log start or above the log end.
    case offsetOutOfRange(offset: Int64, logStartOffset: Int64, logEndOffset: Int64)
    /// The producer's epoch is older than the one the log knows (a fenced, zombie producer).
    case invalidProducerEpoch(producerId: Int64, current: Int16, received: Int16)
    /// The producer skipped or repeated (beyond the 5 cached batches) a sequence number.
    case outOfOrderSequence(producerId: Int64, expected: Int32, received: Int32)
    /// A transactional write does not fit the producer's transaction state in this partition.
    case invalidTxnState(String)
    /// Data on disk is not what the log wrote (found while reading, after start-up checks).
    case corruptLog(path: String, position: Int64, reason: String)
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// The log was closed (or deleted) before or during the call.
    case closed
    /// An earlier write or fsync failed; the log refuses further writes until reopened,
    /// because after a failed fsync the page cache no longer tells what is on disk.
    case failed(String)
    /// A non-blocking read needed data that is not in the page cache (or a file not yet open):
    /// retry it where blocking is fine.
    case wouldBlock

    public var description: String {
        switch self {
        case .invalidBatch(let reason): return "invalid record batch: \(reason)"
        case .recordSetTooLarge(let size, let max): return "record set of \(size) bytes exceeds segment size \(max)"
        case .offsetOutOfRange(let o, let start, let end): return "offset \(o) out of range [\(start), \(end)]"
        case .invalidProducerEpoch(let pid, let cur, let got): return "producer \(pid): epoch \(got) is older than current epoch \(cur)"
        case .outOfOrderSequence(let pid, let exp, let got): return "producer \(pid): expected sequence \(exp), got \(got)"
        case .invalidTxnState(let reason): return "invalid transaction state: \(reason)"
        case .corruptLog(let path, let pos, let reason): return "corrupt log \(path) at \(pos): \(reason)"
        case .io(let op, let path, let e): return "\(op) \(path) failed: \(String(cString: strerror(e))) (errno \(e))"
        case .closed: return "log is closed"
        case .failed(let reason): return "log failed earlier: \(reason)"
        case .wouldBlock: return "read would block on disk"
        }
    }
}
