import KafkaProtocol
import NIOCore

/// The transaction log's records (`__cluster/transaction-state/`): key = version i16 (0) +
/// transactional id (i16 length + UTF-8); value = the whole `TransactionMetadata`, or null
/// once the id expired. Value layout, big-endian: version i16 (0), producer id i64, epoch
/// i16, last producer id i64, last epoch i16, timeout i32, state i8, start i64, update i64,
/// partitions (i32 count; topic, partition i32), groups (i32 count; name), pending offsets
/// (i32 groups; name, i32 count; topic, partition i32, offset i64, leader epoch i32,
/// metadata, commit time i64). Strings are i16 length + UTF-8.
enum TransactionRecordCodec {
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    static let states: [TransactionState] = [.empty, .ongoing, .prepareCommit, .prepareAbort, .completeCommit, .completeAbort]

    static func key(_ transactionalId: String) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(Int16(0))
        writeString(transactionalId, &b)
        return b
    }

    static func encode(_ m: TransactionMetadata) -> (key: ByteBuffer, value: ByteBuffer?) {
        var v = ByteBuffer()
        v.writeInteger(Int16(0))
        v.writeInteger(m.producerId)
        v.writeInteger(m.producerEpoch)
        v.writeInteger(m.lastProducerId)
        v.writeInteger(m.lastProducerEpoch)
        v.writeInteger(m.timeoutMs)
        v.writeInteger(Int8(states.firstIndex(of: m.state)!))
        v.writeInteger(m.startTimestamp)
        v.writeInteger(m.updateTimestamp)
        v.writeInteger(Int32(m.partitions.count))
        for tp in m.partitions.sorted() {
            writeString(tp.topic, &v)
            v.writeInteger(tp.partition)
        }
        v.writeInteger(Int32(m.groups.count))
        for g in m.groups.sorted() { writeString(g, &v) }
        v.writeInteger(Int32(m.pendingOffsets.count))
        for g in m.pendingOffsets.keys.sorted() {
            let offsets = m.pendingOffsets[g]!
            writeString(g, &v)
            v.writeInteger(Int32(offsets.count))
            for tp in offsets.keys.sorted() {
                let o = offsets[tp]!
                writeString(tp.topic, &v)
                v.writeInteger(tp.partition)
                v.writeInteger(o.offset)
                v.writeInteger(o.leaderEpoch)
                writeString(o.metadata, &v)
                v.writeInteger(o.commitTimestamp)
            }
        }
        return (key(m.transactionalId), v)
    }

    static func tombstone(_ transactionalId: String) -> (key: ByteBuffer, value: ByteBuffer?) {
        (key(transactionalId), nil)
    }

    /// The id and its metadata (nil for a tombstone); throws on anything malformed.
    static func decode(key: ByteBuffer, value: ByteBuffer?) throws -> (String, TransactionMetadata?) {
        var k = key
        guard let version: Int16 = k.readInteger(), version == 0 else { throw Malformed(description: "unknown key version") }
        let id = try readString(&k)
        guard k.readableBytes == 0 else { throw Malformed(description: "trailing bytes in key") }
        guard var v = value else { return (id, nil) }
        guard let vv: Int16 = v.readInteger(), vv == 0 else { throw Malformed(description: "unknown value version for \(id)") }
        func int<T: FixedWidthInteger>(_: T.Type) throws -> T {
            guard let x: T = v.readInteger() else { throw Malformed(description: "truncated value for \(id)") }
            return x
        }
        func count() throws -> Int {
            let n = try int(Int32.self)
            guard n >= 0, Int(n) <= v.readableBytes else { throw Malformed(description: "bad count \(n) for \(id)") }
            return Int(n)
        }
        var m = TransactionMetadata(transactionalId: id, producerId: try int(Int64.self), producerEpoch: try int(Int16.self),
                                    timeoutMs: 0, updateTimestamp: 0)
        m.lastProducerId = try int(Int64.self)
        m.lastProducerEpoch = try int(Int16.self)
        m.timeoutMs = try int(Int32.self)
        let state = Int(try int(Int8.self))
        guard states.indices.contains(state) else { throw Malformed(description: "unknown state \(state) for \(id)") }
        m.state = states[state]
        m.startTimestamp = try int(Int64.self)
        m.updateTimestamp = try int(Int64.self)
        for _ in 0..<(try count()) {
            m.partitions.insert(TopicPartitionKey(topic: try readString(&v), partition: try int(Int32.self)))
        }
        for _ in 0..<(try count()) { m.groups.insert(try readString(&v)) }
        for _ in 0..<(try count()) {
            let group = try readString(&v)
            var offsets: [TopicPartitionKey: CommittedOffset] = [:]
            for _ in 0..<(try count()) {
                let tp = TopicPartitionKey(topic: try readString(&v), partition: try int(Int32.self))
                let offset = try int(Int64.self)
                let leaderEpoch = try int(Int32.self)
                let metadata = try readString(&v)
                offsets[tp] = CommittedOffset(offset: offset, leaderEpoch: leaderEpoch, metadata: metadata, commitTimestamp: try int(Int64.self))
            }
            m.pendingOffsets[group] = offsets
        }
        guard v.readableBytes == 0 else { throw Malformed(description: "trailing bytes in value for \(id)") }
        return (id, m)
    }

    private static func writeString(_ s: String, _ b: inout ByteBuffer) {
        let bytes = Array(s.utf8.prefix(Int(Int16.max)))
        b.writeInteger(Int16(bytes.count))
        b.writeBytes(bytes)
    }

    private static func readString(_ b: inout ByteBuffer) throws -> String {
        guard let n: Int16 = b.readInteger(), n >= 0, let s = b.readString(length: Int(n)) else {
            throw Malformed(description: "bad string")
        }
        return s
    }
}
