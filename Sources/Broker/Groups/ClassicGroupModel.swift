import KafkaProtocol
import NIOCore

/// States of a classic consumer group (the names are the ones Kafka reports in
/// DescribeGroups/ListGroups).
enum ClassicGroupState: String, Sendable, CaseIterable {
    case empty = "Empty"
    case preparingRebalance = "PreparingRebalance"
    case completingRebalance = "CompletingRebalance"
    case stable = "Stable"
    case dead = "Dead"

    /// Legal transitions (Kafka's ClassicGroupState.validPreviousStates, inverted).
    func canTransition(to next: ClassicGroupState) -> Bool {
        switch next {
        case .empty: return self == .preparingRebalance
        case .preparingRebalance: return self == .stable || self == .completingRebalance || self == .empty
        case .completingRebalance: return self == .preparingRebalance
        case .stable: return self == .completingRebalance
        case .dead: return true
        }
    }
}

/// A member of a classic group.
final class ClassicGroupMember {
    var memberId: String
    let groupInstanceId: String?
    var clientId: String
    var clientHost: String
    var sessionTimeoutMs: Int32
    var rebalanceTimeoutMs: Int32
    var protocolType: String
    /// In the member's order of preference.
    var protocols: [(name: String, metadata: ByteBuffer)]
    var assignment = ByteBuffer()
    /// The parked JoinGroup of this member, if any.
    var awaitingJoin: ((JoinGroupResponse) -> Void)?
    /// The parked SyncGroup of this member, if any.
    var awaitingSync: ((SyncGroupResponse) -> Void)?
    /// Joined but not yet through a completed join phase.
    var isNew = false
    /// When the member is considered dead without a heartbeat (ms since the epoch).
    var heartbeatDeadline: Int64 = .max

    init(memberId: String, groupInstanceId: String?, clientId: String, clientHost: String, sessionTimeoutMs: Int32,
         rebalanceTimeoutMs: Int32, protocolType: String, protocols: [(name: String, metadata: ByteBuffer)]) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.clientId = clientId
        self.clientHost = clientHost
        self.sessionTimeoutMs = sessionTimeoutMs
        self.rebalanceTimeoutMs = rebalanceTimeoutMs
        self.protocolType = protocolType
        self.protocols = protocols
    }

    var isStatic: Bool { groupInstanceId != nil }
    var isAwaitingJoin: Bool { awaitingJoin != nil }
    var isAwaitingSync: Bool { awaitingSync != nil }

    /// Members awaiting a rebalance step need no heartbeats; new members can still expire.
    var hasSatisfiedHeartbeat: Bool { isNew ? false : (isAwaitingJoin || isAwaitingSync) }

    func metadata(for protocolName: String?) -> ByteBuffer {
        protocols.first { $0.name == protocolName }?.metadata ?? ByteBuffer()
    }

    /// Same protocols, same order, same metadata.
    func matches(_ other: [(name: String, metadata: ByteBuffer)]) -> Bool {
        protocols.count == other.count && zip(protocols, other).allSatisfy { $0.name == $1.name && $0.metadata == $1.metadata }
    }

    /// The member's most preferred protocol among `candidates`.
    func vote(_ candidates: Set<String>) -> String? { protocols.first { candidates.contains($0.name) }?.name }
}
