import KafkaProtocol

/// Errors thrown by KafkaClient.
///
/// A struct rather than an enum so that new kinds of error can be added without breaking
/// callers' `switch` statements. Test the kind with `error.kind == .authenticationFailed`
/// (or `catch KafkaError.Kind.closed`), ask `isRetriable` whether trying again can help, and
/// read `code` for the Kafka error code when a broker answered with one (codes this library
/// does not name are still reported exactly).
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, coarsely. Compare with `==` against the static values; the set grows
    /// over time, so code that switches over it needs a `default`.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        enum Backing: String, Hashable, Sendable {
            case broker, connectionFailed, connectionClosed, requestTimedOut, deliveryTimedOut
            case unsupportedApi, protocolError, invalidConfiguration, authenticationFailed
            case unknownTopic, recordTooLarge, closed, invalidState, refused
            case fenced, transactionAbortable
        }
        let backing: Backing
        init(_ backing: Backing) { self.backing = backing }

        /// A broker answered with a Kafka error code (`code`; `partition` when it was about one).
        public static let broker = Kind(.broker)
        /// Could not connect to any bootstrap server / to a broker (TLS handshake failures too).
        public static let connectionFailed = Kind(.connectionFailed)
        /// The connection closed with requests outstanding.
        public static let connectionClosed = Kind(.connectionClosed)
        /// No response within the request timeout.
        public static let requestTimedOut = Kind(.requestTimedOut)
        /// A record was not acknowledged within `deliveryTimeout` (`partition` says where to).
        public static let deliveryTimedOut = Kind(.deliveryTimedOut)
        /// The broker supports no version of an API this client needs.
        public static let unsupportedApi = Kind(.unsupportedApi)
        /// A response could not be decoded.
        public static let protocolError = Kind(.protocolError)
        public static let invalidConfiguration = Kind(.invalidConfiguration)
        /// The broker refused our credentials (or the SASL exchange failed).
        public static let authenticationFailed = Kind(.authenticationFailed)
        public static let unknownTopic = Kind(.unknownTopic)
        /// A record is larger than the producer's `maxRequestSize`.
        public static let recordTooLarge = Kind(.recordTooLarge)
        /// The client (producer/consumer/admin) has been closed.
        public static let closed = Kind(.closed)
        /// The call does not fit the client's state (e.g. `seek` on an unassigned partition,
        /// a group operation without `groupID`).
        public static let invalidState = Kind(.invalidState)
        /// The broker refused the record for its content and the producer handed it, with its
        /// bytes, to `KafkaProducerConfig.onRefused` (`code` says why).
        public static let refused = Kind(.refused)
        /// A newer producer with the same transactional id took over (or the coordinator
        /// aborted this one's transaction on timeout): not retriable; close the producer.
        public static let fenced = Kind(.fenced)
        /// The open transaction failed (`code` says why, when a broker did): abort it, then
        /// go on with the next one.
        public static let transactionAbortable = Kind(.transactionAbortable)

        public var description: String { backing.rawValue }

        /// Lets `catch KafkaError.Kind.closed` and `case KafkaError.Kind.closed:` match errors.
        public static func ~= (kind: Kind, error: any Error) -> Bool {
            (error as? KafkaError)?.kind == kind
        }
    }

    public let kind: Kind
    /// The Kafka error code, when a broker answered with one.
    public let code: Int16?
    /// The partition the error concerns, when there is one.
    public let partition: TopicPartition?
    /// The readable explanation; the same text as `description`.
    public let message: String

    init(_ kind: Kind.Backing, code: Int16? = nil, partition: TopicPartition? = nil, _ message: String) {
        self.kind = Kind(kind)
        self.code = code
        self.partition = partition
        self.message = message
    }

    public var description: String { message }

    /// Whether trying the same operation again can succeed: network failures, timeouts and the
    /// broker codes Kafka marks retriable. Authentication, configuration, too-large records
    /// and the other broker codes stay as they are however often they are retried.
    public var isRetriable: Bool {
        switch kind.backing {
        case .connectionFailed, .connectionClosed, .requestTimedOut, .deliveryTimedOut: return true
        case .broker: return code.map(Self.isRetriable(code:)) ?? false
        default: return false
        }
    }

    // MARK: constructors (internal: only the client creates these)

    static func broker(code: Int16, message: String?, context: String) -> KafkaError {
        KafkaError(.broker, code: code, "\(context): \(name(of: code)) (\(code))" + (message.map { ": \($0)" } ?? ""))
    }
    /// Partition-level failure with a typed code (produce / fetch / offsets).
    static func partition(_ tp: TopicPartition, code: Int16, message: String?) -> KafkaError {
        KafkaError(.broker, code: code, partition: tp, "\(tp): \(name(of: code)) (\(code))" + (message.map { ": \($0)" } ?? ""))
    }
    static func connectionFailed(_ s: String) -> KafkaError { KafkaError(.connectionFailed, "connection failed: \(s)") }
    static func connectionClosed(_ s: String) -> KafkaError { KafkaError(.connectionClosed, "connection closed: \(s)") }
    static func requestTimedOut(api: String, broker: String) -> KafkaError {
        KafkaError(.requestTimedOut, "\(api) request to \(broker) timed out")
    }
    static func deliveryTimedOut(_ tp: TopicPartition) -> KafkaError {
        KafkaError(.deliveryTimedOut, partition: tp, "record for \(tp) not delivered within the delivery timeout")
    }
    static func unsupportedApi(_ s: String) -> KafkaError { KafkaError(.unsupportedApi, "broker does not support \(s)") }
    static func protocolError(_ s: String) -> KafkaError { KafkaError(.protocolError, "protocol error: \(s)") }
    static func invalidConfiguration(_ s: String) -> KafkaError { KafkaError(.invalidConfiguration, "invalid configuration: \(s)") }
    static func authenticationFailed(_ s: String) -> KafkaError { KafkaError(.authenticationFailed, "authentication failed: \(s)") }
    static func unknownTopic(_ t: String) -> KafkaError { KafkaError(.unknownTopic, "unknown topic or partition: \(t)") }
    static func recordTooLarge(size: Int, limit: Int) -> KafkaError {
        KafkaError(.recordTooLarge, "record of \(size) bytes exceeds the limit of \(limit) bytes")
    }
    static let closed = KafkaError(.closed, "client is closed")
    static func invalidState(_ s: String) -> KafkaError { KafkaError(.invalidState, s) }

    static func check(_ code: Int16, _ message: String? = nil, _ context: String) throws {
        if code != 0 { throw KafkaError.broker(code: code, message: message, context: context) }
    }

    // MARK: error codes

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

    /// Codes `ErrorCode` (the codes Riverbank answers with) lacks or spells differently.
    private static let extraNames: [Int16: String] = [
        9: "REPLICA_NOT_AVAILABLE", 13: "NETWORK_EXCEPTION", 19: "NOT_ENOUGH_REPLICAS",
        20: "NOT_ENOUGH_REPLICAS_AFTER_APPEND", -1: "UNKNOWN_SERVER_ERROR", 6: "NOT_LEADER_OR_FOLLOWER",
        17: "INVALID_TOPIC_EXCEPTION", 83: "ELIGIBLE_LEADERS_NOT_AVAILABLE", 84: "ELECTION_NOT_NEEDED",
        106: "FETCH_SESSION_TOPIC_ID_ERROR", 122: "SHARE_SESSION_NOT_FOUND", 123: "INVALID_SHARE_SESSION_EPOCH",
    ]

    /// Broker codes a client retries: those whose Java exception is a `RetriableException`
    /// (including `InvalidMetadataException`) in Kafka's `Errors.java`.
    static func isRetriable(code: Int16) -> Bool {
        switch code {
        case 2, 3, 5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 41, 51, 56, 70, 71, 72, 74, 75, 78, 80, 83, 84, 88, 89,
             100, 103, 106, 122, 123:
            return true
        default: return false
        }
    }

    /// Codes after which the client's metadata (leaders) is stale.
    static func invalidatesMetadata(_ code: Int16) -> Bool {
        switch code {
        case 3, 5, 6, 13, 74, 75, 100: return true
        default: return false
        }
    }
}
