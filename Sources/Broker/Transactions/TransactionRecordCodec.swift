import KafkaProtocol
import NIOCore

/// The transaction log's records (`__cluster/transaction-state/`), coded as the Kafka protocol
/// codes a non-flexible message (as the group log's are): key = version i16 (0) +
/// transactional id; value = version i16 (0) + the whole `TransactionMetadata` (`Value`), or
/// null once the id expired.
enum TransactionRecordCodec {
    static let version: Int16 = 0

    static let states: [TransactionState] = [.empty, .ongoing, .prepareCommit, .prepareAbort, .completeCommit, .completeAbort]

    struct Key: KafkaStruct {
        var transactionalId = ""
        mutating func code<C: KafkaCoder>(_ c: inout C) throws { try c.string(&transactionalId) }
    }

    struct Partition: KafkaStruct {
        var topic = ""
        var partition: Int32 = 0
        mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&topic)
            try c.int32(&partition)
        }
    }

    struct PendingOffset: KafkaStruct {
        var topic = ""
        var partition: Int32 = 0
        var offset: Int64 = 0
        var leaderEpoch: Int32 = -1
        var metadata = ""
        var commitTimestamp: Int64 = 0
        mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&topic)
            try c.int32(&partition)
            try c.int64(&offset)
            try c.int32(&leaderEpoch)
            try c.string(&metadata)
            try c.int64(&commitTimestamp)
        }
    }

    struct GroupOffsets: KafkaStruct {
        var group = ""
        var offsets: [PendingOffset] = []
        mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.string(&group)
            try c.array(&offsets)
        }
    }

    struct Value: KafkaStruct {
        var producerId: Int64 = -1
        var producerEpoch: Int16 = 0
        var lastProducerId: Int64 = -1
        var lastProducerEpoch: Int16 = -1
        var timeoutMs: Int32 = 0
        /// Index into `states`.
        var state: Int8 = 0
        var startTimestamp: Int64 = -1
        var updateTimestamp: Int64 = 0
        var partitions: [Partition] = []
        var groups: [String] = []
        var pendingOffsets: [GroupOffsets] = []
        mutating func code<C: KafkaCoder>(_ c: inout C) throws {
            try c.int64(&producerId)
            try c.int16(&producerEpoch)
            try c.int64(&lastProducerId)
            try c.int16(&lastProducerEpoch)
            try c.int32(&timeoutMs)
            try c.int8(&state)
            try c.int64(&startTimestamp)
            try c.int64(&updateTimestamp)
            try c.array(&partitions)
            try c.stringArray(&groups)
            try c.array(&pendingOffsets)
        }
    }

    static func encode(_ m: TransactionMetadata) throws -> (key: ByteBuffer, value: ByteBuffer?) {
        var v = Value()
        v.producerId = m.producerId
        v.producerEpoch = m.producerEpoch
        v.lastProducerId = m.lastProducerId
        v.lastProducerEpoch = m.lastProducerEpoch
        v.timeoutMs = m.timeoutMs
        v.state = Int8(states.firstIndex(of: m.state)!)
        v.startTimestamp = m.startTimestamp
        v.updateTimestamp = m.updateTimestamp
        v.partitions = m.partitions.sorted().map { Partition(topic: $0.topic, partition: $0.partition) }
        v.groups = m.groups.sorted()
        v.pendingOffsets = m.pendingOffsets.keys.sorted().map { g in
            GroupOffsets(group: g, offsets: m.pendingOffsets[g]!.sorted { $0.key < $1.key }.map { tp, o in
                PendingOffset(topic: tp.topic, partition: tp.partition, offset: o.offset, leaderEpoch: o.leaderEpoch,
                              metadata: o.metadata, commitTimestamp: o.commitTimestamp)
            })
        }
        return (try key(m.transactionalId), try InternalStateLog.encode(v, version: version))
    }

    static func key(_ transactionalId: String) throws -> ByteBuffer {
        try InternalStateLog.encode(Key(transactionalId: transactionalId), version: version)
    }

    static func tombstone(_ transactionalId: String) throws -> (key: ByteBuffer, value: ByteBuffer?) {
        (try key(transactionalId), nil)
    }

    /// The id and its metadata (nil for a tombstone); throws on anything malformed.
    static func decode(key: ByteBuffer, value: ByteBuffer?) throws -> (String, TransactionMetadata?) {
        let id = try InternalStateLog.decode(Key.self, from: key, version: version).transactionalId
        guard let value else { return (id, nil) }
        let v = try InternalStateLog.decode(Value.self, from: value, version: version)
        guard states.indices.contains(Int(v.state)) else { throw KafkaDecodingError.invalidValue("transaction state \(v.state) of \(id)") }
        var m = TransactionMetadata(transactionalId: id, producerId: v.producerId, producerEpoch: v.producerEpoch,
                                    timeoutMs: v.timeoutMs, updateTimestamp: v.updateTimestamp)
        m.lastProducerId = v.lastProducerId
        m.lastProducerEpoch = v.lastProducerEpoch
        m.state = states[Int(v.state)]
        m.startTimestamp = v.startTimestamp
        m.partitions = Set(v.partitions.map { TopicPartitionKey(topic: $0.topic, partition: $0.partition) })
        m.groups = Set(v.groups)
        for g in v.pendingOffsets {
            m.pendingOffsets[g.group] = Dictionary(g.offsets.map {
                (TopicPartitionKey(topic: $0.topic, partition: $0.partition),
                 CommittedOffset(offset: $0.offset, leaderEpoch: $0.leaderEpoch, metadata: $0.metadata, commitTimestamp: $0.commitTimestamp))
            }, uniquingKeysWith: { _, last in last })
        }
        return (id, m)
    }
}
