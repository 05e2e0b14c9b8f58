import Foundation
import KafkaProtocol
import Logging
import LogStore
import NIOCore

/// Where the coordinator's records go. `append` runs under the coordinator's lock (so the
/// log order is the order of the state changes); `flush` completes once the appended
/// records are durable.
protocol GroupRecordStore: AnyObject {
    /// Appends records; returns a token to wait on with `flush`.
    func append(_ records: [GroupRecord]) throws -> GroupAppendToken
    func flush(_ token: GroupAppendToken, completion: @escaping @Sendable ((any Error)?) -> Void)
    /// Every record currently stored, in order.
    func replay(_ body: (GroupRecord) throws -> Void) throws
    func close()
}

struct GroupAppendToken: @unchecked Sendable {
    let log: AnyObject?
    let offset: Int64
}

/// In-memory store (tests).
final class MemoryGroupStore: GroupRecordStore, @unchecked Sendable {
    private(set) var stored: [GroupRecord] = []

    func append(_ records: [GroupRecord]) throws -> GroupAppendToken {
        stored.append(contentsOf: records)
        return GroupAppendToken(log: nil, offset: Int64(stored.count - 1))
    }
    func flush(_ token: GroupAppendToken, completion: @escaping @Sendable ((any Error)?) -> Void) { completion(nil) }
    func replay(_ body: (GroupRecord) throws -> Void) throws { for r in stored { try body(r) } }
    func close() {}
}

/// The durable store: a compacted internal log under `<data-dir>/__cluster/consumer-offsets/`,
/// like Kafka's `__consumer_offsets`, with our own key/value encoding (`GroupRecordCodec`):
/// one key per group and per committed partition, a tombstone when either goes.
final class OffsetsLogStore: GroupRecordStore, @unchecked Sendable {
    let state: InternalStateLog
    private(set) var recordCount = 0

    var log: PartitionLog { state.log }

    static let logConfig = InternalStateLog.logConfig

    init(directory: URL, flusher: LogFlusher?, logger: Logger, config: LogConfig = OffsetsLogStore.logConfig) throws {
        state = try InternalStateLog(directory: directory, flusher: flusher, logger: logger, config: config)
    }

    func append(_ records: [GroupRecord]) throws -> GroupAppendToken {
        guard let last = try state.append(records.map { try GroupRecordCodec.encode($0) }) else {
            return GroupAppendToken(log: nil, offset: -1)
        }
        recordCount += records.count
        return GroupAppendToken(log: log, offset: last)
    }

    func flush(_ token: GroupAppendToken, completion: @escaping @Sendable ((any Error)?) -> Void) {
        guard let log = token.log as? PartitionLog else { return completion(nil) }
        log.flush(upTo: token.offset, completion: completion)
    }

    func replay(_ body: (GroupRecord) throws -> Void) throws {
        recordCount = try state.replay { key, value in
            if let gr = try GroupRecordCodec.decode(key: key, value: value) { try body(gr) }
        }
    }

    func close() {
        state.close()
    }
}
