import KafkaProtocol
import NIOCore

/// What the coordinator writes to its internal log (Riverbank's own, versioned encoding;
/// the same role as Kafka's `__consumer_offsets` records). The log is replayed in order on
/// start-up; a nil value is a tombstone.
enum GroupRecord: Equatable, Sendable {
    case offset(group: String, partition: TopicPartitionKey, value: CommittedOffset?)
    case group(id: String, value: GroupMetadataValue?)
    /// A KIP-848 consumer-protocol group (its epoch; members rebuild their state by rejoining).
    case consumerGroup(id: String, value: ConsumerGroupMetadataValue?)
}

/// The persisted part of a consumer-protocol group.
struct ConsumerGroupMetadataValue: KafkaStruct, Equatable {
    var groupEpoch: Int32 = 0
    init() {}
    init(groupEpoch: Int32) { self.groupEpoch = groupEpoch }
    mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.int32(&groupEpoch)
    }
}

/// The persisted part of a classic group: its generation and members with their assignments.
struct GroupMetadataValue: KafkaStruct, Equatable {
    struct Member: KafkaStruct, Equatable {
        var memberId = ""
        var groupInstanceId: String? = nil
        var clientId = ""
        var clientHost = ""
        var rebalanceTimeoutMs: Int32 = 0
        var sessionTimeoutMs: Int32 = 0
        /// The member's metadata for the selected protocol.
        var subscription = ByteBuffer()
        var assignment = ByteBuffer()
        init() {}
        mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&memberId)
            try c.nullableString(&groupInstanceId)
            try c.string(&clientId)
            try c.string(&clientHost)
            try c.int32(&rebalanceTimeoutMs)
            try c.int32(&sessionTimeoutMs)
            try c.bytes(&subscription)
            try c.bytes(&assignment)
        }
    }

    var protocolType = ""
    var generationId: Int32 = 0
    var protocolName: String? = nil
    var leader: String? = nil
    var stateTimestamp: Int64 = 0
    var members: [Member] = []
    init() {}

    mutating func code<C: KafkaCoder>(_ c: inout C) throws {
        try c.string(&protocolType)
        try c.int32(&generationId)
        try c.nullableString(&protocolName)
        try c.nullableString(&leader)
        try c.int64(&stateTimestamp)
        try c.array(&members)
    }
}

/// Key and value layouts: key = int16 key version (0), int8 type (1 offset, 2 group), then
/// the type's fields; value = int16 value version (0), then the fields.
enum GroupRecordCodec {
    static let keyVersion: Int16 = 0
    static let valueVersion: Int16 = 0
    static let typeOffset: Int8 = 1
    static let typeGroup: Int8 = 2
    static let typeConsumerGroup: Int8 = 3

    struct OffsetKey: KafkaStruct {
        var group = ""
        var topic = ""
        var partition: Int32 = 0
        mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&group)
            try c.string(&topic)
            try c.int32(&partition)
        }
    }

    struct OffsetValue: KafkaStruct {
        var offset: Int64 = 0
        var leaderEpoch: Int32 = -1
        var metadata = ""
        var commitTimestamp: Int64 = 0
        mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int64(&offset)
            try c.int32(&leaderEpoch)
            try c.string(&metadata)
            try c.int64(&commitTimestamp)
        }
    }

    struct GroupKey: KafkaStruct {
        var group = ""
        mutating func code<C: KafkaCoder>(_ c: inout C) throws { try c.string(&group) }
    }

    static func read<T: KafkaStruct>(_: T.Type, from buffer: ByteBuffer, version: Int16) throws -> T {
        var d = KafkaDecoder(buffer: buffer, version: version, flexible: false)
        var v = T()
        try v.code(&d)
        return v
    }

    static func encode(_ r: GroupRecord) throws -> (key: ByteBuffer, value: ByteBuffer?) {
        switch r {
        case .offset(let group, let tp, let value):
            let key = try InternalStateLog.encode(OffsetKey(group: group, topic: tp.topic, partition: tp.partition), version: keyVersion, type: typeOffset)
            guard let value else { return (key, nil) }
            let v = OffsetValue(offset: value.offset, leaderEpoch: value.leaderEpoch, metadata: value.metadata, commitTimestamp: value.commitTimestamp)
            return (key, try InternalStateLog.encode(v, version: valueVersion))
        case .group(let id, let value):
            let key = try InternalStateLog.encode(GroupKey(group: id), version: keyVersion, type: typeGroup)
            guard let value else { return (key, nil) }
            return (key, try InternalStateLog.encode(value, version: valueVersion))
        case .consumerGroup(let id, let value):
            let key = try InternalStateLog.encode(GroupKey(group: id), version: keyVersion, type: typeConsumerGroup)
            guard let value else { return (key, nil) }
            return (key, try InternalStateLog.encode(value, version: valueVersion))
        }
    }

    /// nil for record types this version does not know (skipped on replay).
    static func decode(key: ByteBuffer, value: ByteBuffer?) throws -> GroupRecord? {
        var key = key
        guard let kv = key.readInteger(endianness: .big, as: Int16.self), let type = key.readInteger(as: Int8.self) else {
            throw KafkaDecodingError.invalidValue("group record key too short")
        }
        guard kv == keyVersion else { return nil }
        var valueVersion: Int16 = 0
        var body: ByteBuffer? = nil
        if var v = value {
            guard let vv = v.readInteger(endianness: .big, as: Int16.self) else { throw KafkaDecodingError.invalidValue("group record value too short") }
            valueVersion = vv
            body = v
        }
        switch type {
        case typeOffset:
            let k = try read(OffsetKey.self, from: key, version: kv)
            let tp = TopicPartitionKey(topic: k.topic, partition: k.partition)
            guard let body else { return .offset(group: k.group, partition: tp, value: nil) }
            let v = try read(OffsetValue.self, from: body, version: valueVersion)
            return .offset(group: k.group, partition: tp,
                           value: CommittedOffset(offset: v.offset, leaderEpoch: v.leaderEpoch, metadata: v.metadata, commitTimestamp: v.commitTimestamp))
        case typeGroup:
            let k = try read(GroupKey.self, from: key, version: kv)
            guard let body else { return .group(id: k.group, value: nil) }
            return .group(id: k.group, value: try read(GroupMetadataValue.self, from: body, version: valueVersion))
        case typeConsumerGroup:
            let k = try read(GroupKey.self, from: key, version: kv)
            guard let body else { return .consumerGroup(id: k.group, value: nil) }
            return .consumerGroup(id: k.group, value: try read(ConsumerGroupMetadataValue.self, from: body, version: valueVersion))
        default:
            return nil
        }
    }
}
