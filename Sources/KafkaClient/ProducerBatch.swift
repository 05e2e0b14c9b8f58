import KafkaProtocol
import NIOCore

/// Where a produced record landed.
public struct RecordMetadata: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    /// -1 when unknown (acks=0, or a duplicate the broker had already written).
    public var offset: Int64
    /// The record's timestamp (the broker's append time for LogAppendTime topics).
    public var timestamp: Int64
    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }
}

/// Delivery outcome of one record.
public typealias DeliveryResult = Result<RecordMetadata, KafkaError>

enum DeliveryCompletion {
    case none
    case continuation(CheckedContinuation<RecordMetadata, any Error>)
    case callback(@Sendable (DeliveryResult) -> Void)

    func complete(_ r: DeliveryResult) {
        switch self {
        case .none: break
        case .continuation(let c): c.resume(with: r.mapError { $0 as any Error })
        case .callback(let f): f(r)
        }
    }
}

/// A record batch being filled for one partition: records are encoded into `body` as they
/// arrive (Kafka's v2 record format), the header is written when the batch is closed.
final class ProducerBatch: @unchecked Sendable {
    let tp: TopicPartition
    let createdAt: NIODeadline
    let capacity: Int
    private(set) var body: ByteBuffer
    private(set) var recordCount: Int32 = 0
    private(set) var baseTimestamp: Int64 = 0
    private(set) var maxTimestamp: Int64 = Int64.min
    /// One per record (index = offset delta): who waits, and the record's timestamp.
    var completions: [(completion: DeliveryCompletion, timestamp: Int64)] = []
    /// Memory charged against the producer's buffer.
    var reservedBytes: Int = 0
    var isClosed = false
    /// Creation order among the producer's batches (what flush waits for).
    var number: Int64 = 0
    /// The records the broker named as the cause of refusing the batch (index → why).
    var recordErrors: [Int32: String]? = nil

    // Sending state (touched by the sender only).
    var attempts = 0
    var baseSequence: Int32 = -1
    var producerId: Int64 = -1
    var producerEpoch: Int16 = -1
    var built: ByteBuffer? = nil
    var retryAt: NIODeadline? = nil
    var lastError: KafkaError? = nil
    /// Part of a transaction (the batch carries the transactional attribute).
    var transactional = false

    init(tp: TopicPartition, capacity: Int, initialCapacity: Int = 0, allocator: ByteBufferAllocator, now: NIODeadline = .now()) {
        self.tp = tp
        self.capacity = capacity
        self.createdAt = now
        self.body = allocator.buffer(capacity: min(capacity, max(16 * 1024, initialCapacity + initialCapacity / 8)))
    }

    /// Bytes a record occupies in a batch, framing included (an upper bound).
    static func estimateSize(keyCount: Int, valueCount: Int, headers: [RecordHeader]) -> Int {
        var n = 21 + keyCount + valueCount  // length, attributes, deltas, lengths: generous bound
        for h in headers { n += 10 + h.key.utf8.count + (h.value?.readableBytes ?? 0) }
        return n
    }

    var sizeInBytes: Int { RecordBatchHeader.size + body.readableBytes }

    /// Whether a record of `size` bytes fits (an empty batch takes any one record).
    func hasRoom(for size: Int) -> Bool {
        recordCount == 0 || sizeInBytes + size <= capacity
    }

    /// Appends one record; returns its offset delta.
    @discardableResult
    func append(timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader], completion: DeliveryCompletion) -> Int32 {
        if recordCount == 0 { baseTimestamp = timestamp }
        if timestamp > maxTimestamp { maxTimestamp = timestamp }
        let delta = recordCount
        let tsDelta = timestamp &- baseTimestamp
        Record.write(to: &body, offsetDelta: delta, timestampDelta: tsDelta, key: key, value: value, headers: headers)
        recordCount += 1
        completions.append((completion, timestamp))
        return delta
    }

    /// The batch's bytes (header, optionally compressed records), built once and reused by
    /// retries so the broker sees the same batch (idempotence relies on it).
    func build(compression: CompressionCodec, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        if let built { return built }
        let header = RecordBatchHeader(
            baseOffset: 0, batchLength: 0, partitionLeaderEpoch: -1, magic: 2, crc: 0,
            attributes: Int16(compression.rawValue) | (transactional ? RecordBatchHeader.transactionalBit : 0),
            lastOffsetDelta: recordCount - 1, baseTimestamp: baseTimestamp, maxTimestamp: maxTimestamp, producerId: producerId,
            producerEpoch: producerEpoch, baseSequence: baseSequence, recordCount: recordCount)
        // Header first, records compressed straight behind it; then length and CRC are filled in.
        // lz4 needs its worst-case bound writable; other codecs append a finished buffer.
        let n = body.readableBytes
        let estimate = compression == .none || compression == .lz4 ? n + n / 200 + 1024 : n / 2 + 1024
        var out = allocator.buffer(capacity: RecordBatchHeader.size + estimate)
        header.write(to: &out)
        try body.withUnsafeReadableBytes { try Compression.compress(compression, $0, appendingTo: &out) }
        out.setInteger(Int32(out.readableBytes - RecordBatchHeader.logOverhead), at: out.readerIndex + RecordBatchHeader.logOverhead - 4,
                       endianness: .big)
        let crc = CRC32C.batchChecksum(out)
        out.setInteger(crc, at: out.readerIndex + RecordBatchHeader.crcOffset, endianness: .big)
        built = out
        return out
    }

    /// Completes every record: success with offsets from `baseOffset`, or failure.
    func complete(baseOffset: Int64, logAppendTime: Int64) {
        let cs = completions
        completions = []
        let topic = tp.topic
        let partition = tp.partition
        cs.withUnsafeBufferPointer { cs in
            for i in cs.indices {
                let ts = logAppendTime >= 0 ? logAppendTime : cs[i].timestamp
                cs[i].completion.complete(.success(RecordMetadata(topic: topic, partition: partition,
                                                                  offset: baseOffset >= 0 ? baseOffset + Int64(i) : -1, timestamp: ts)))
            }
        }
    }

    /// The batch's records as the broker refused them (decoded back from the bytes sent).
    func refusedRecords(_ error: KafkaError, allocator: ByteBufferAllocator) -> [RefusedRecord] {
        guard let bytes = built ?? (try? build(compression: .none, allocator: allocator)),
              let header = try? RecordBatchHeader.peek(bytes),
              let records = try? RecordBatch.records(ofBatch: bytes, header: header) else { return [] }
        return records.enumerated().map { i, r in
            let named = recordErrors?[Int32(i)]
            return RefusedRecord(topic: tp.topic, partition: tp.partition, key: r.key, value: r.value, headers: r.headers,
                                 timestamp: r.timestamp, error: error, reason: named ?? error.message,
                                 isCause: recordErrors == nil || named != nil)
        }
    }

    func fail(_ error: KafkaError) {
        let cs = completions
        completions = []
        for c in cs { c.completion.complete(.failure(error)) }
    }
}
