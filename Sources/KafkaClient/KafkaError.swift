import KafkaProtocol

/// Errors thrown by KafkaClient. Broker error codes keep their raw value (`code`), so codes
/// this library does not name are still reported exactly.
public enum KafkaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A broker answered with a Kafka error code.
    case broker(code: Int16, message: String?, context: String)
    /// Could not connect to any bootstrap server / to a broker.
    case connectionFailed(String)
    /// The connection closed with requests outstanding.
    case connectionClosed(String)
    /// No response within the request timeout.
    case requestTimedOut(api: String, broker: String)
    /// A record was not acknowledged within `deliveryTimeout`.
    case deliveryTimedOut(TopicPartition)
    /// The broker supports no version of an API this client needs.
    case unsupportedApi(String)
    /// A response could not be decoded.
    case protocolError(String)
    case invalidConfiguration(String)
    /// The broker refused our credentials (or the SASL exchange failed); not retried.
    case authenticationFailed(String)
    case unknownTopic(String)
    case recordTooLarge(size: Int, limit: Int)
    /// The client (producer/consumer/admin) has been closed.
    case closed
    /// An operation that needs a consumer group ran without `groupID`, or an assignment error.
    case invalidState(String)
    /// Partition-level failure with a typed code (produce / fetch).
    case partition(TopicPartition, code: Int16, message: String?)

    public var description: String {
        switch self {
        case .broker(let code, let message, let context):
            return "\(context): \(KafkaError.name(of: code)) (\(code))" + (message.map { ": \($0)" } ?? "")
        case .connectionFailed(let s): return "connection failed: \(s)"
        case .connectionClosed(let s): return "connection closed: \(s)"
        case .requestTimedOut(let api, let broker): return "\(api) request to \(broker) timed out"
        case .deliveryTimedOut(let tp): return "record for \(tp) not delivered within the delivery timeout"
        case .unsupportedApi(let s): return "broker does not support \(s)"
        case .protocolError(let s): return "protocol error: \(s)"
        case .invalidConfiguration(let s): return "invalid configuration: \(s)"
        case .authenticationFailed(let s): return "authentication failed: \(s)"
        case .unknownTopic(let t): return "unknown topic or partition: \(t)"
        case .recordTooLarge(let size, let limit): return "record of \(size) bytes exceeds the limit of \(limit) bytes"
        case .closed: return "client is closed"
        case .invalidState(let s): return s
        case .partition(let tp, let code, let message):
            return "\(tp): \(KafkaError.name(of: code)) (\(code))" + (message.map { ": \($0)" } ?? "")
        }
    }

    /// The Kafka error code carried, if any.
    public var code: Int16? {
        switch self {
        case .broker(let c, _, _), .partition(_, let c, _): return c
        default: return nil
        }
    }

    /// Kafka's name for an error code ("NOT_LEADER_OR_FOLLOWER").
    public static func name(of code: Int16) -> String {
        if let n = extraNames[code] { return n }
        guard let e = ErrorCode(rawValue: code) else { return "UNKNOWN_ERROR_\(code)" }
        // camelCase → SCREAMING_SNAKE_CASE
        var out = ""
        for ch in "\(e)" {
            if ch.isUppercase { out += "_" }
            out += ch.uppercased()
        }
        return out
    }

    private static let extraNames: [Int16: String] = [
        13: "NETWORK_EXCEPTION", 19: "NOT_ENOUGH_REPLICAS", 20: "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        -1: "UNKNOWN_SERVER_ERROR", 6: "NOT_LEADER_OR_FOLLOWER", 17: "INVALID_TOPIC_EXCEPTION",
    ]

    /// Codes a client retries (Kafka's RetriableException subclasses).
    public static func isRetriable(_ code: Int16) -> Bool {
        switch code {
        case 2, 3, 5, 6, 7, 13, 14, 15, 16, 19, 20, 56, 74, 75, 78, 89: return true
        default: return false
        }
    }

    /// Codes after which the client's metadata (leaders) is stale.
    public static func invalidatesMetadata(_ code: Int16) -> Bool {
        switch code {
        case 3, 5, 6, 13, 74, 75, 100: return true
        default: return false
        }
    }

    /// Whether the error is worth retrying (network problems and retriable broker codes).
    public var isRetriable: Bool {
        switch self {
        case .connectionClosed, .connectionFailed, .requestTimedOut: return true
        case .broker(let c, _, _), .partition(_, let c, _): return KafkaError.isRetriable(c)
        default: return false
        }
    }
}

extension KafkaError {
    static func check(_ code: Int16, _ message: String? = nil, _ context: String) throws {
        if code != 0 { throw KafkaError.broker(code: code, message: message, context: context) }
    }
}
