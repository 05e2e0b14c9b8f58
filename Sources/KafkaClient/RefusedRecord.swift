import KafkaProtocol
import NIOCore

/// A produced record the broker refused for what it holds, not for a passing condition: too
/// large for the topic, a timestamp outside the topic's allowed range, no key for a compacted
/// topic. Retrying it cannot help; where it should go instead is the caller's choice (a
/// dead-letter topic).
public struct RefusedRecord: Sendable {
    public var topic: String
    public var partition: Int32
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [RecordHeader]
    public var timestamp: Int64
    public var error: KafkaError
    /// Why this record: the broker's word on it when it named it, else the batch's error.
    public var reason: String
    /// Whether this record is at fault. A broker refuses a whole batch; when it names the
    /// records at fault (record_errors, ProduceResponse v8+), the others are false and may
    /// simply be sent again.
    public var isCause: Bool
}

extension KafkaError {
    /// The broker refused the records for their content (sending them again cannot help):
    /// MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_TIMESTAMP, INVALID_RECORD.
    public var refusesContent: Bool {
        guard kind == .broker || kind == .refused, let code else { return false }
        return code == 10 || code == 18 || code == 32 || code == 87
    }

    /// The same refusal, once the record was handed to `onRefused`.
    var handedOff: KafkaError { KafkaError(.refused, code: code, partition: partition, message + " (handed to onRefused)") }
}
