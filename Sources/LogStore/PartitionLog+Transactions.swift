import KafkaProtocol
import NIOCore

/// Transactions in one partition: the coordinator's end markers, the last stable offset and
/// the aborted transactions that read_committed consumers are told to skip.
///
/// What the log keeps: each producer's open transaction (its first offset) and the aborted
/// transactions whose markers are still in the log, both in the producer snapshot and
/// rebuilt from the batches after it (markers are read for their type), so they survive
/// kill -9 like the rest of the producer state.
extension PartitionLog {
    /// Appends the coordinator's commit or abort marker for `producerId` (a control batch of
    /// one record). Refused with `invalidProducerEpoch` if the producer already has a newer
    /// epoch here. Returns the marker's offset.
    @discardableResult
    public func appendMarker(producerId: Int64, producerEpoch: Int16, marker: ControlRecordType, coordinatorEpoch: Int32 = 0) throws -> Int64 {
        let batch = RecordBatch.buildControl(producerId: producerId, producerEpoch: producerEpoch, type: marker,
                                             coordinatorEpoch: coordinatorEpoch, timestamp: clock())
        return try batch.withUnsafeReadableBytes { raw in
            guard let header = RecordBatchHeader(raw) else { throw LogError.invalidBatch("marker batch") }
            return try append(located: [LocatedBatch(header: header, position: 0)], in: raw, marker: marker).lastOffset
        }
    }

    /// The first offset a read_committed consumer may not read yet: where the oldest open
    /// transaction begins, or the log end when none is open.
    public var lastStableOffset: Int64 { state.withLock { $0.lastStableOffset } }

    /// The log start, the log end and the last stable offset, read together (one lock: a
    /// fetch wants all three for every partition).
    public var offsets: (start: Int64, end: Int64, lastStable: Int64) {
        state.withLock { ($0.startOffset, $0.endOffset, $0.lastStableOffset) }
    }

    /// Every producer the log knows, by id (DescribeProducers).
    public var producerEntries: [ProducerStateEntry] {
        state.withLock { st in st.producers.producers.values.sorted { $0.producerId < $1.producerId } }
    }

    /// The producers with a transaction open here, and where each began.
    public var openTransactions: [Int64: Int64] { state.withLock { $0.producers.ongoing } }

    /// Aborted transactions that overlap [from, upTo): what a read_committed fetch returns
    /// beside the batches it read.
    public func abortedTransactions(from: Int64, upTo: Int64) -> [AbortedTransaction] {
        state.withLock { $0.producers.abortedTransactions(from: from, upTo: upTo) }
    }

    /// The marker a control batch carries (`bytes` is the whole batch), nil if its record
    /// cannot be read.
    static func marker(inControlBatch bytes: [UInt8], header: RecordBatchHeader) -> ControlRecordType? {
        guard header.isControl, let key = (try? RecordBatch.records(ofBatch: ByteBuffer(bytes: bytes), header: header))?.first?.key else {
            return nil
        }
        return try? ControlRecord.decodeType(key: key)
    }
}

extension PartitionLog.State {
    /// Where the oldest open transaction begins (never below the log start), or the log end.
    var lastStableOffset: Int64 { max(startOffset, producers.lastStableOffset(endOffset: endOffset)) }
}
