import CoreMetrics
import KafkaProtocol
import Logging
import NIOCore
import ServiceLifecycle

/// Acknowledgement level of produce requests.
public enum KafkaAcks: Int16, Sendable {
    /// Fire and forget: the broker sends no response.
    case none = 0
    /// The leader wrote the record.
    case leader = 1
    /// Every in-sync replica wrote the record.
    case all = -1

    public init?(string: String) {
        switch string.lowercased() {
        case "0", "none": self = .none
        case "1", "leader": self = .leader
        case "-1", "all": self = .all
        default: return nil
        }
    }
}

public struct KafkaProducerConfig: Sendable {
    public var client: KafkaClientConfig
    public var acks: KafkaAcks = .all
    public var compression: CompressionCodec = .none
    /// How long a batch waits for more records before it is sent.
    public var linger: Duration = .milliseconds(5)
    /// Largest batch per partition (bytes).
    public var batchSize: Int = 1_000_000
    /// Largest produce request (bytes).
    public var maxRequestSize: Int = 1_048_576
    /// Memory for records waiting to be sent; `send` suspends while it is full.
    public var bufferMemory: Int = 64 << 20
    /// Idempotence (exactly-once per partition, in order): nil means on when acks=all.
    public var enableIdempotence: Bool? = nil
    /// Produce requests in flight per broker (at most 5 with idempotence).
    public var maxInFlightRequestsPerConnection: Int = 5
    public var retryBackoff: Duration = .milliseconds(100)
    /// A record not acknowledged within this time fails with `deliveryTimedOut`.
    public var deliveryTimeout: Duration = .seconds(120)
    /// Broker-side wait for acks.
    public var ackTimeout: Duration = .seconds(30)
    public var partitioner: KafkaPartitioner = .murmur2Sticky
    /// Create topics on first use when the broker allows it.
    public var allowAutoTopicCreation = true
    /// Records the broker refused for what they hold (see `RefusedRecord`), with their
    /// contents, handed here before their delivery callbacks fail: a dead-letter path (Kafka's
    /// clients report only the error, and the record is gone).
    public var onRefused: (@Sendable ([RefusedRecord]) -> Void)? = nil
    /// Makes the producer transactional (Kafka's transactional.id): records are sent inside
    /// transactions (`beginTransaction` … `commitTransaction`) that become visible to
    /// read_committed consumers together or not at all, and a newer producer with the same id
    /// fences this one. Implies idempotence and acks=all.
    public var transactionalID: String? = nil
    /// transaction.timeout.ms: a transaction open longer is aborted by the coordinator.
    public var transactionTimeout: Duration = .seconds(60)

    public init(bootstrapServers: [BrokerAddress]) {
        client = KafkaClientConfig(bootstrapServers: bootstrapServers)
    }

    public init(bootstrap: String) throws {
        client = try KafkaClientConfig(bootstrap: bootstrap)
    }

    var idempotent: Bool { transactionalID != nil || (enableIdempotence ?? (acks == .all)) }
}

/// A record to produce.
public struct ProducerRecord: Sendable {
    public var topic: String
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [RecordHeader]
    public var partition: Int32?
    /// Milliseconds since the epoch; now when nil.
    public var timestamp: Int64?

    public init(topic: String, key: ByteBuffer? = nil, value: ByteBuffer?, headers: [RecordHeader] = [],
                partition: Int32? = nil, timestamp: Int64? = nil) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition
        self.timestamp = timestamp
    }

    public init(topic: String, key: String?, value: String?, headers: [RecordHeader] = [],
                partition: Int32? = nil, timestamp: Int64? = nil) {
        self.init(topic: topic, key: key.map { ByteBuffer(string: $0) }, value: value.map { ByteBuffer(string: $0) },
                  headers: headers, partition: partition, timestamp: timestamp)
    }

    public init(topic: String, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [],
                partition: Int32? = nil, timestamp: Int64? = nil) {
        self.init(topic: topic, key: key.map { ByteBuffer(bytes: $0) }, value: value.map { ByteBuffer(bytes: $0) },
                  headers: headers, partition: partition, timestamp: timestamp)
    }
}

/// Per-partition send state (guarded by the producer's lock; a class so the hot path changes
/// it in place with one dictionary lookup).
final class PartitionQueue {
    var batches: [ProducerBatch] = []
    var inFlight = 0
    /// Next sequence number to give a batch (idempotence).
    var nextSequence: Int32 = 0
    /// Size the previous batch reached: a new batch starts with that much room, so a busy
    /// partition does not regrow (and copy) its buffer every batch while a quiet one stays small.
    var lastBatchBytes = 0
}

/// The partition records without a key stick to, and its open batch (nil: none yet).
struct StickyPartition {
    var partition: Int32
    var batch: ProducerBatch?
}

/// The record accumulator and sender bookkeeping: everything the hot path and the sender share.
struct ProducerState {
    var queues: [TopicPartition: PartitionQueue] = [:]
    var usedBytes = 0
    var waiters: [(bytes: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    var partitionCounts: [String: Int] = [:]
    var sticky: [String: StickyPartition] = [:]
    var roundRobin: [String: Int] = [:]
    var incomplete = 0
    /// Batches are numbered as they are created; every batch numbered below `settledBelow` is
    /// acknowledged or failed, and so are those in `settledAhead` (they settle out of order
    /// across partitions). A flush waits for the numbers below the next one at its call.
    var nextBatchNumber: Int64 = 0
    var settledBelow: Int64 = 0
    var settledAhead: Set<Int64> = []
    var flushWaiters: [(below: Int64, continuation: CheckedContinuation<Void, Never>)] = []
    var closed = false
    var nodeInFlight: [Int32: Int] = [:]
    var producerId: Int64 = -1
    var producerEpoch: Int16 = -1
    var needsProducerId = false
    var rng = SystemRandomNumberGenerator()
    /// Transactional producers only.
    var transaction = TransactionState()
    /// `holdSends()`: records queue, nothing goes out.
    var sendsHeld = false
}

/// A Kafka producer: batches records per partition, compresses, sends with acks 0/1/all,
/// retries with idempotence (no duplicates, no reordering), and reports each record's outcome.
///
/// ```swift
/// let producer = try KafkaProducer(config: .init(bootstrap: "localhost:9092"))
/// let meta = try await producer.send(ProducerRecord(topic: "t", key: "k", value: "v"))
/// try await producer.close()
/// ```
public final class KafkaProducer: Sendable, Service {
    public let config: KafkaProducerConfig
    public let cluster: KafkaCluster
    let state: Locked<ProducerState>
    let wakeup: Wakeup
    let allocator = ByteBufferAllocator()
    let senderTask: Locked<Task<Void, Never>?> = Locked(nil)
    /// Per broker, the send step of the newest request (see `dispatch`).
    let sendChain = Locked<[Int32: Task<Void, Never>]>([:])
    let idempotent: Locked<Bool>
    let metrics: ProducerMetrics
    var logger: Logger { config.client.logger }

    public init(config: KafkaProducerConfig) throws {
        if config.enableIdempotence == true && config.acks != .all {
            throw KafkaError.invalidConfiguration("idempotence requires acks=all")
        }
        if let id = config.transactionalID {
            if id.isEmpty { throw KafkaError.invalidConfiguration("transactionalID may not be empty") }
            if config.acks != .all || config.enableIdempotence == false {
                throw KafkaError.invalidConfiguration("a transactional producer needs acks=all and idempotence")
            }
        }
        if config.idempotent && config.maxInFlightRequestsPerConnection > 5 {
            throw KafkaError.invalidConfiguration("idempotence allows at most 5 requests in flight per connection")
        }
        guard config.batchSize > 0, config.bufferMemory >= config.batchSize else {
            throw KafkaError.invalidConfiguration("bufferMemory must be at least batchSize")
        }
        self.config = config
        self.cluster = KafkaCluster(config: config.client)
        var s = ProducerState()
        // A transactional producer gets its id from initTransactions().
        s.needsProducerId = config.idempotent && config.transactionalID == nil
        self.state = Locked(s)
        self.idempotent = Locked(config.idempotent)
        self.metrics = ProducerMetrics(clientID: config.client.clientID, factory: config.client.metricsFactory ?? MetricsSystem.factory)
        let loop = (config.client.eventLoopGroup ?? cluster.group).next()
        self.wakeup = Wakeup(eventLoop: loop)
        let t = Task { [self] in await self.senderLoop() }
        senderTask.withLock { $0 = t }
    }

    // MARK: - Sending

    /// Sends a record and waits for its acknowledgement.
    public func send(_ record: ProducerRecord) async throws -> RecordMetadata {
        let size = try checkedSize(record)
        let tp = try await prepare(record)
        try await reserve(size)
        return try await withCheckedThrowingContinuation { c in
            append(record, tp: tp, size: size, completion: .continuation(c))
        }
    }

    /// Sends a record and waits for its acknowledgement.
    public func send(topic: String, key: ByteBuffer? = nil, value: ByteBuffer?, headers: [RecordHeader] = [],
                     partition: Int32? = nil, timestamp: Int64? = nil) async throws -> RecordMetadata {
        try await send(ProducerRecord(topic: topic, key: key, value: value, headers: headers, partition: partition, timestamp: timestamp))
    }

    /// Sends a record and waits for its acknowledgement.
    public func send(topic: String, key: String? = nil, value: String?, headers: [RecordHeader] = [],
                     partition: Int32? = nil, timestamp: Int64? = nil) async throws -> RecordMetadata {
        try await send(ProducerRecord(topic: topic, key: key, value: value, headers: headers, partition: partition, timestamp: timestamp))
    }

    /// Queues a record without waiting for its acknowledgement; `onDelivery` (if given) gets the
    /// outcome. Suspends only while the buffer is full (back-pressure) or the topic's metadata
    /// is being fetched; throws for errors known before sending (unknown topic, record too large).
    public func produce(_ record: ProducerRecord, onDelivery: (@Sendable (DeliveryResult) -> Void)? = nil) async throws {
        let size = try checkedSize(record)
        let completion: DeliveryCompletion = onDelivery.map { .callback($0) } ?? .none
        if appendFast(record, size: size, keyHash: keyHash(record), completion: completion) { return }
        let tp = try await prepare(record)
        try await reserve(size)
        append(record, tp: tp, size: size, completion: completion)
    }

    /// `produce` without suspending: queues the record and returns true when that needs no
    /// waiting (topic metadata cached, buffer space free); returns false, having done nothing,
    /// when the caller should use `produce` instead. For tight loops: it saves the async call.
    public func tryProduce(_ record: ProducerRecord, onDelivery: (@Sendable (DeliveryResult) -> Void)? = nil) throws -> Bool {
        let size = try checkedSize(record)
        let completion: DeliveryCompletion = onDelivery.map { .callback($0) } ?? .none
        return appendFast(record, size: size, keyHash: keyHash(record), completion: completion)
    }

    /// Waits until every record queued before the call has been acknowledged or has failed
    /// (Kafka's flush); records queued meanwhile do not hold it up, so a checkpoint can wait
    /// for what it promises while the pipeline keeps producing.
    public func flush() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s -> Bool in
                if s.settledBelow >= s.nextBatchNumber { return true }
                s.flushWaiters.append((s.nextBatchNumber, c))
                return false
            }
            if done { c.resume() } else { wakeup.signal() }
        }
    }

    /// Records produced from now on are queued but not sent until `releaseSends()`: what
    /// another producer sent before must reach the partitions first (the stream engine's
    /// exactly-once sink hands a checkpoint's output from one transactional producer to the
    /// next without waiting for the first one's acknowledgements).
    public func holdSends() {
        state.withLock { $0.sendsHeld = true }
    }

    public func releaseSends() {
        state.withLock { $0.sendsHeld = false }
        wakeup.signal()
    }

    /// Flushes, stops the sender and closes connections. Sends after close throw `closed`.
    public func close() async {
        await flush()
        let waiters = state.withLock { s -> [(bytes: Int, continuation: CheckedContinuation<Void, any Error>)] in
            s.closed = true
            let w = s.waiters
            s.waiters = []
            return w
        }
        for w in waiters { w.continuation.resume(throwing: KafkaError.closed) }
        wakeup.signal()
        let t = senderTask.withLock { $0 }
        await t?.value
        await cluster.close()
    }

    /// ServiceLifecycle: runs until graceful shutdown, then flushes and closes.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Partition count of a topic (metadata lookup, cached).
    public func partitionCount(topic: String) async throws -> Int {
        if let n = state.withLock({ $0.partitionCounts[topic] }) { return n }
        let info = try await cluster.topic(topic, allowAutoCreate: config.allowAutoTopicCreation)
        let n = info.partitionCount
        state.withLock { $0.partitionCounts[topic] = n }
        return n
    }

    /// The record's size in a batch; throws when it can never be sent.
    private func checkedSize(_ record: ProducerRecord) throws -> Int {
        if config.transactionalID != nil { try state.withLock { try $0.transaction.checkCanSend() } }
        let size = ProducerBatch.estimateSize(keyCount: record.key?.readableBytes ?? 0, valueCount: record.value?.readableBytes ?? 0,
                                              headers: record.headers)
        let limit = min(config.maxRequestSize, config.bufferMemory) - RecordBatchHeader.size - 100
        if size > limit { throw KafkaError.recordTooLarge(size: size, limit: limit) }
        return size
    }

    /// murmur2 of the key for the default partitioners (computed outside the lock).
    private func keyHash(_ record: ProducerRecord) -> Int32? {
        guard record.partition == nil, let key = record.key else { return nil }
        if case .custom = config.partitioner { return nil }
        return key.withUnsafeReadableBytes { Murmur2.hash($0) }
    }

    /// The common case in one lock round trip: partition count cached, buffer has room, no
    /// custom partitioner. Returns false (having changed nothing) when the slow path is needed.
    private func appendFast(_ record: ProducerRecord, size: Int, keyHash: Int32?, completion: DeliveryCompletion) -> Bool {
        if case .custom = config.partitioner { return false }
        let limit = config.bufferMemory
        let ts = record.timestamp ?? currentTimeMillis()
        let signal = state.withLock { s -> Bool? in
            guard !s.closed, s.waiters.isEmpty, s.usedBytes + size <= limit || s.usedBytes == 0,
                  let n = s.partitionCounts[record.topic] else { return nil }
            let partition: Int32
            if let p = record.partition {
                guard p >= 0, Int(p) < n else { return nil }  // the slow path reports the error
                partition = p
            } else if let keyHash {
                partition = (keyHash & 0x7fff_ffff) % Int32(n)
            } else {
                s.usedBytes += size
                return appendUnkeyed(&s, record, count: n, size: size, ts: ts, completion: completion)
            }
            s.usedBytes += size
            return appendLocked(&s, record, tp: TopicPartition(record.topic, partition), size: size, ts: ts,
                                completion: completion, sticky: false)
        }
        guard let signal else { return false }
        if signal { wakeup.signal() }
        return true
    }

    /// The record's partition once the topic's metadata is known (nil: chosen under the lock).
    private func prepare(_ record: ProducerRecord) async throws -> TopicPartition? {
        if state.withLock({ $0.closed }) { throw KafkaError.closed }
        let count = try await partitionCount(topic: record.topic)
        if let p = record.partition {
            guard p >= 0, Int(p) < count else { throw KafkaError.unknownTopic("\(record.topic) partition \(p) (topic has \(count))") }
            return TopicPartition(record.topic, p)
        }
        if let key = record.key {
            switch config.partitioner {
            case .custom(let f):
                return TopicPartition(record.topic, f(record.topic, Array(key.readableBytesView), count))
            default:
                let p = key.withUnsafeReadableBytes { Murmur2.partition(forKey: $0, partitionCount: count) }
                return TopicPartition(record.topic, p)
            }
        }
        if case .custom(let f) = config.partitioner { return TopicPartition(record.topic, f(record.topic, nil, count)) }
        return nil  // chosen under the lock (sticky / round robin)
    }

    /// Waits for buffer space (back-pressure), then charges `size` bytes.
    private func reserve(_ size: Int) async throws {
        let limit = config.bufferMemory
        let ok = state.withLock { s -> Bool in
            if s.waiters.isEmpty && (s.usedBytes + size <= limit || s.usedBytes == 0) {
                s.usedBytes += size
                return true
            }
            return false
        }
        if ok { return }
        wakeup.signal()
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            let immediate = state.withLock { s -> Result<Void, KafkaError>? in
                if s.closed { return .failure(.closed) }
                if s.waiters.isEmpty && (s.usedBytes + size <= limit || s.usedBytes == 0) {
                    s.usedBytes += size
                    return .success(())
                }
                s.waiters.append((size, c))
                return nil
            }
            if let immediate { c.resume(with: immediate.mapError { $0 as any Error }) }
        }
    }

    private func release(_ bytes: Int) {
        let limit = config.bufferMemory
        let ready = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
            s.usedBytes -= bytes
            var out = [CheckedContinuation<Void, any Error>]()
            while let w = s.waiters.first, s.usedBytes + w.bytes <= limit || s.usedBytes == 0 {
                s.waiters.removeFirst()
                s.usedBytes += w.bytes
                out.append(w.continuation)
            }
            return out
        }
        for c in ready { c.resume() }
    }

    /// Slow-path append (after `prepare` and `reserve`).
    private func append(_ record: ProducerRecord, tp fixed: TopicPartition?, size: Int, completion: DeliveryCompletion) {
        let ts = record.timestamp ?? currentTimeMillis()
        let signal = state.withLock { s -> Bool? in
            if s.closed {
                s.usedBytes -= size
                return nil
            }
            if let fixed {
                return appendLocked(&s, record, tp: fixed, size: size, ts: ts, completion: completion, sticky: false)
            }
            return appendUnkeyed(&s, record, count: s.partitionCounts[record.topic] ?? 1, size: size, ts: ts, completion: completion)
        }
        guard let signal else {
            completion.complete(.failure(.closed))
            return
        }
        if signal { wakeup.signal() }
    }

    /// Appends a record without key or partition: round robin, or sticky (KIP-480: stay on a
    /// partition while its open batch has room, then move to another one).
    private func appendUnkeyed(_ s: inout ProducerState, _ record: ProducerRecord, count n: Int, size: Int, ts: Int64,
                               completion: DeliveryCompletion) -> Bool {
        if case .murmur2RoundRobin = config.partitioner {
            let i = s.roundRobin[record.topic, default: Int.random(in: 0..<n, using: &s.rng)]
            s.roundRobin[record.topic] = i &+ 1
            return appendLocked(&s, record, tp: TopicPartition(record.topic, Int32(i % n)), size: size, ts: ts,
                                completion: completion, sticky: false)
        }
        let st = s.sticky[record.topic]
        if let st, Int(st.partition) < n {
            if let open = st.batch {
                // An open batch is still the last of its queue: append without a queue lookup.
                if !open.isClosed, open.hasRoom(for: size) {
                    open.append(timestamp: ts, key: record.key, value: record.value, headers: record.headers, completion: completion)
                    open.reservedBytes += size
                    s.incomplete += 1
                    if open.sizeInBytes >= open.capacity {
                        open.isClosed = true
                        return true
                    }
                    return false
                }
            } else {
                return appendLocked(&s, record, tp: TopicPartition(record.topic, st.partition), size: size, ts: ts,
                                    completion: completion, sticky: true)
            }
        }
        var p = Int32(Int.random(in: 0..<n, using: &s.rng))
        if n > 1, let prev = st?.partition, p == prev { p = (p + 1) % Int32(n) }
        return appendLocked(&s, record, tp: TopicPartition(record.topic, p), size: size, ts: ts, completion: completion, sticky: true)
    }

    /// Appends to the partition's open batch (or a new one); returns whether to wake the sender.
    private func appendLocked(_ s: inout ProducerState, _ record: ProducerRecord, tp: TopicPartition, size: Int, ts: Int64,
                              completion: DeliveryCompletion, sticky: Bool) -> Bool {
        let q: PartitionQueue
        if let existing = s.queues[tp] {
            q = existing
        } else {
            q = PartitionQueue()
            s.queues[tp] = q
        }
        var newBatch = false
        let batch: ProducerBatch
        if let last = q.batches.last, !last.isClosed, last.hasRoom(for: size) {
            batch = last
        } else {
            if let last = q.batches.last {
                last.isClosed = true
                q.lastBatchBytes = last.sizeInBytes
            }
            batch = ProducerBatch(tp: tp, capacity: config.batchSize, initialCapacity: q.lastBatchBytes, allocator: allocator)
            batch.number = s.nextBatchNumber
            s.nextBatchNumber += 1
            q.batches.append(batch)
            newBatch = true
        }
        batch.append(timestamp: ts, key: record.key, value: record.value, headers: record.headers, completion: completion)
        batch.reservedBytes += size
        s.incomplete += 1
        if sticky { s.sticky[record.topic] = StickyPartition(partition: tp.partition, batch: batch) }
        let full = batch.sizeInBytes >= config.batchSize
        if full { batch.isClosed = true }
        return newBatch || full || q.batches.count > 1
    }

    // MARK: - Sender

    private struct Drained {
        var node: Int32
        var batches: [ProducerBatch]
    }

    private func senderLoop() async {
        while true {
            let (closed, pending) = state.withLock { ($0.closed, $0.incomplete) }
            if closed && pending == 0 { return }
            if state.withLock({ $0.needsProducerId }) {
                await initProducerId()
            }
            if state.withLock({ !$0.transaction.unadded.isEmpty }) {
                await addPartitionsToTransaction()
            }
            // Leaders of partitions with data.
            let tps = state.withLock { s in s.queues.compactMap { $0.value.batches.isEmpty ? nil : $0.key } }
            let leaders = await cluster.leaders(for: tps)
            let missing = Set(tps.filter { leaders[$0] == nil }.map(\.topic))
            if !missing.isEmpty {
                Task { [cluster] in for t in missing { _ = try? await cluster.topic(t, allowAutoCreate: false, forceRefresh: true) } }
            }
            let now = NIODeadline.now()
            let (requests, expired, nextWake) = drain(now: now, leaders: leaders)
            for b in expired { finish(b, error: .deliveryTimedOut(b.tp)) }
            for r in requests { dispatch(r) }
            var deadline = nextWake
            if !missing.isEmpty {
                let retry = now + config.retryBackoff.timeAmount
                deadline = deadline.map { min($0, retry) } ?? retry
            }
            if requests.isEmpty && state.withLock({ $0.transaction.unadded.isEmpty }) { await wakeup.wait(until: deadline) }
        }
    }

    /// Picks the batches to send now, grouped by leader; returns also expired batches and the
    /// next time something becomes ready.
    private func drain(now: NIODeadline, leaders: [TopicPartition: Int32]) -> ([Drained], [ProducerBatch], NIODeadline?) {
        let linger = config.linger.timeAmount
        let deliveryTimeout = config.deliveryTimeout.timeAmount
        let maxInFlight = config.maxInFlightRequestsPerConnection
        let maxRequest = config.maxRequestSize
        let idem = idempotent.withLock { $0 }
        let transactional = config.transactionalID != nil
        return state.withLock { s in
            var nextWake: NIODeadline? = nil
            func wake(_ d: NIODeadline) { nextWake = nextWake.map { min($0, d) } ?? d }
            var expired = [ProducerBatch]()
            var byNode = [Int32: [ProducerBatch]]()
            var bytesByNode = [Int32: Int]()
            let flushing = !s.flushWaiters.isEmpty || s.closed
            metrics.bufferedBytes.record(s.usedBytes)
            if idem && s.producerId < 0 { return ([], [], now + .milliseconds(100)) }
            if s.sendsHeld { return ([], [], nil) }
            for tp in s.queues.keys.sorted() {
                guard let q = s.queues[tp], let first = q.batches.first else { continue }
                // Expire batches waiting too long (never in flight).
                if first.createdAt + deliveryTimeout <= now {
                    q.batches.removeFirst()
                    expired.append(first)
                    if idem && first.baseSequence >= 0 { s.needsProducerId = true }
                    s.queues[tp] = q
                    continue
                }
                wake(first.createdAt + deliveryTimeout)
                guard let node = leaders[tp] else { continue }
                if transactional && !s.transaction.partitions.contains(tp) {
                    // AddPartitionsToTxn first (the sender loop does it, then drains again).
                    s.transaction.unadded.insert(tp)
                    continue
                }
                if let r = first.retryAt, r > now { wake(r); continue }
                // A retried batch goes out only when nothing before it is still in flight.
                if first.attempts > 0 && q.inFlight > 0 { continue }
                if q.inFlight >= 5 && idem { continue }
                let ready = first.isClosed || q.batches.count > 1 || flushing || first.createdAt + linger <= now
                if !ready { wake(first.createdAt + linger); continue }
                if s.nodeInFlight[node, default: 0] + (byNode[node] == nil ? 1 : 0) > maxInFlight { continue }
                if let used = bytesByNode[node], used + first.sizeInBytes > maxRequest { wake(now); continue }
                q.batches.removeFirst()
                first.isClosed = true
                if first.attempts == 0 { q.lastBatchBytes = first.sizeInBytes }
                if idem {
                    if first.baseSequence < 0 {
                        first.baseSequence = q.nextSequence
                        first.producerId = s.producerId
                        first.producerEpoch = s.producerEpoch
                        first.transactional = transactional
                        q.nextSequence = q.nextSequence &+ first.recordCount
                        if q.nextSequence < 0 { q.nextSequence = 0 }
                    }
                }
                q.inFlight += 1
                s.queues[tp] = q
                byNode[node, default: []].append(first)
                bytesByNode[node, default: 0] += first.sizeInBytes
            }
            for node in byNode.keys { s.nodeInFlight[node, default: 0] += 1 }
            return (byNode.map { Drained(node: $0.key, batches: $0.value) }, expired, nextWake)
        }
    }

    /// Compresses a request's batches in parallel, off the sender loop, then sends it once the
    /// previous request to the same broker has been handed to the connection: sequence numbers
    /// must reach the broker in the order they were given.
    private func dispatch(_ r: Drained) {
        let compression = config.compression
        let allocator = self.allocator
        sendChain.withLock { chain in
            let previous = chain[r.node]
            chain[r.node] = Task { [self] in
                await Self.build(r.batches, compression: compression, allocator: allocator)
                await previous?.value
                await sendRequest(r)
            }
        }
    }

    /// Builds (compresses) batches concurrently; a failure is reported when the request is sent.
    private static func build(_ batches: [ProducerBatch], compression: CompressionCodec, allocator: ByteBufferAllocator) async {
        guard compression != .none else { return }
        if batches.count == 1 {
            _ = try? batches[0].build(compression: compression, allocator: allocator)
            return
        }
        await withTaskGroup(of: Void.self) { group in
            for b in batches {
                group.addTask { _ = try? b.build(compression: compression, allocator: allocator) }
            }
        }
    }

    private func sendRequest(_ r: Drained) async {
        let conn: BrokerConnection
        do {
            conn = try await cluster.connection(node: r.node)
        } catch {
            requestFailed(r, error: (error as? KafkaError) ?? .connectionFailed("\(error)"))
            return
        }
        var req = ProduceRequest()
        req.transactionalId = config.transactionalID
        req.acks = config.acks.rawValue
        req.timeoutMs = Int32(clamping: config.ackTimeout.milliseconds)
        var topics = [String: [ProduceRequest.Partition]]()
        var failedBuild = [(ProducerBatch, KafkaError)]()
        var included = [ProducerBatch]()
        for b in r.batches {
            do {
                let bytes = try b.build(compression: config.compression, allocator: allocator)
                topics[b.tp.topic, default: []].append(ProduceRequest.Partition(index: b.tp.partition, records: bytes))
                included.append(b)
            } catch {
                failedBuild.append((b, .protocolError("compressing batch: \(error)")))
            }
        }
        for (b, e) in failedBuild {
            state.withLock { s in s.queues[b.tp]?.inFlight -= 1 }
            finish(b, error: e)
        }
        req.topics = topics.map { ProduceRequest.Topic(name: $0.key, partitions: $0.value) }
        let batches = included
        let node = r.node
        if batches.isEmpty {
            state.withLock { $0.nodeInFlight[node, default: 1] -= 1 }
            return
        }
        let started: (Int16, EventLoopFuture<ByteBuffer>)
        do {
            started = try conn.start(req, timeout: (config.client.requestTimeout + config.ackTimeout).timeAmount,
                                     expectResponse: config.acks != .none,
                                     sizeHint: batches.reduce(0) { $0 + ($1.built?.readableBytes ?? 0) + 64 })
        } catch {
            requestFailed(Drained(node: node, batches: batches), error: (error as? KafkaError) ?? .protocolError("\(error)"))
            return
        }
        let (version, future) = started
        let acks = config.acks
        let address = conn.address
        let sentAt = NIODeadline.now()
        Task { [self] in
            do {
                let body = try await future.get()
                metrics.requestLatency.recordNanoseconds((NIODeadline.now() - sentAt).nanoseconds)
                if acks == .none {
                    state.withLock { $0.nodeInFlight[node, default: 1] -= 1 }
                    for b in batches {
                        state.withLock { s in s.queues[b.tp]?.inFlight -= 1 }
                        finish(b, baseOffset: -1, logAppendTime: -1)
                    }
                    wakeup.signal()
                    return
                }
                let resp = try BrokerConnection.decode(ProduceRequest.self, body, version: version, from: address)
                handleResponse(resp, node: node, batches: batches)
            } catch {
                requestFailed(Drained(node: node, batches: batches), error: (error as? KafkaError) ?? .connectionClosed("\(error)"))
            }
        }
    }

    private func handleResponse(_ resp: ProduceResponse, node: Int32, batches: [ProducerBatch]) {
        state.withLock { $0.nodeInFlight[node, default: 1] -= 1 }
        var results = [TopicPartition: ProduceResponse.Partition]()
        for t in resp.topics { for p in t.partitions { results[TopicPartition(t.name, p.index)] = p } }
        for b in batches {
            guard let p = results[b.tp] else {
                retryOrFail(b, error: .protocolError("no produce result for \(b.tp)"), retriable: true)
                continue
            }
            if p.errorCode == 0 || p.errorCode == ErrorCode.duplicateSequenceNumber.rawValue {
                state.withLock { s in s.queues[b.tp]?.inFlight -= 1 }
                finish(b, baseOffset: p.errorCode == 0 ? p.baseOffset : -1, logAppendTime: p.logAppendTimeMs)
                continue
            }
            let err = KafkaError.partition(b.tp, code: p.errorCode, message: p.errorMessage ?? p.recordErrors.first?.message)
            if !p.recordErrors.isEmpty {
                b.recordErrors = Dictionary(p.recordErrors.map { ($0.batchIndex, $0.message ?? err.message) }, uniquingKeysWith: { a, _ in a })
            }
            if KafkaError.invalidatesMetadata(p.errorCode) {
                let topic = b.tp.topic
                Task { [cluster] in await cluster.invalidate(topic: topic) }
            }
            let code = p.errorCode
            if code == ErrorCode.outOfOrderSequenceNumber.rawValue || code == ErrorCode.unknownProducerId.rawValue {
                // Retriable while an earlier batch of the partition is being retried; otherwise
                // the producer's sequence state is lost: get a new producer id and resend.
                state.withLock { s in
                    let earlierPending = s.queues[b.tp]?.batches.contains { $0.attempts > 0 && $0.baseSequence < b.baseSequence } ?? false
                    if !earlierPending { s.needsProducerId = true }
                }
                retryOrFail(b, error: err, retriable: true)
                continue
            }
            retryOrFail(b, error: err, retriable: err.isRetriable)
        }
        wakeup.signal()
    }

    private func requestFailed(_ r: Drained, error: KafkaError) {
        logger.debug("produce request failed", metadata: ["broker": "\(r.node)", "error": "\(error)"])
        state.withLock { $0.nodeInFlight[r.node, default: 1] -= 1 }
        Task { [cluster] in
            await cluster.dropConnection(node: r.node)
            for t in Set(r.batches.map(\.tp.topic)) { await cluster.invalidate(topic: t) }
        }
        for b in r.batches { retryOrFail(b, error: error, retriable: error.isRetriable) }
        wakeup.signal()
    }

    /// Puts a batch back at the front of its queue (in sequence order), or fails it.
    private func retryOrFail(_ b: ProducerBatch, error: KafkaError, retriable: Bool) {
        let now = NIODeadline.now()
        let expired = b.createdAt + config.deliveryTimeout.timeAmount <= now
        let requeued = state.withLock { s -> Bool in
            s.queues[b.tp]?.inFlight -= 1
            guard retriable && !expired else { return false }
            b.attempts += 1
            b.lastError = error
            b.retryAt = now + config.retryBackoff.timeAmount
            let q = s.queues[b.tp] ?? PartitionQueue()
            // Retries first, ordered by sequence (or first-come when not idempotent).
            var i = 0
            while i < q.batches.count, q.batches[i].attempts > 0,
                  b.baseSequence < 0 || (q.batches[i].baseSequence >= 0 && q.batches[i].baseSequence < b.baseSequence) {
                i += 1
            }
            q.batches.insert(b, at: i)
            s.queues[b.tp] = q
            return true
        }
        if requeued { metrics.retries.increment() }
        if !requeued {
            if idempotent.withLock({ $0 }) && b.baseSequence >= 0 {
                state.withLock { $0.needsProducerId = true }
            }
            finish(b, error: expired ? .deliveryTimedOut(b.tp) : error)
        }
    }

    private func finish(_ b: ProducerBatch, baseOffset: Int64, logAppendTime: Int64) {
        metrics.records.increment(by: Int(b.recordCount))
        metrics.bytes.increment(by: b.built?.readableBytes ?? b.sizeInBytes)
        b.complete(baseOffset: baseOffset, logAppendTime: logAppendTime)
        completed(b)
    }

    func finish(_ b: ProducerBatch, error: KafkaError) {
        metrics.failedRecords.increment(by: Int(b.recordCount))
        var error = error
        if let onRefused = config.onRefused, error.refusesContent {
            // Handed over before any callback fails (and so before a flush returns).
            let rs = b.refusedRecords(error, allocator: allocator)
            if rs.count == Int(b.recordCount) {
                onRefused(rs)
                error = error.handedOff
            }
        }
        // A record handed over (it goes elsewhere, in the same transaction) does not doom the
        // transaction; any other failure does.
        if b.transactional && error.kind != .refused { state.withLock { $0.transaction.failed(error) } }
        b.fail(error)
        completed(b)
    }

    private func completed(_ b: ProducerBatch) {
        release(b.reservedBytes)
        let flushed = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.incomplete -= Int(b.recordCount)
            if b.number == s.settledBelow {
                s.settledBelow += 1
                while s.settledAhead.remove(s.settledBelow) != nil { s.settledBelow += 1 }
            } else {
                s.settledAhead.insert(b.number)
            }
            // Waiters are in call order, so in order of what they wait for.
            let n = s.flushWaiters.prefix { $0.below <= s.settledBelow }.count
            guard n > 0 else { return [] }
            defer { s.flushWaiters.removeFirst(n) }
            return s.flushWaiters.prefix(n).map(\.continuation)
        }
        for c in flushed { c.resume() }
        if b.recordCount > 0 { wakeup.signal() }
    }

    /// Gets a producer id (and resets sequences) for idempotence. Falls back to a plain
    /// producer when the broker does not support InitProducerId.
    private func initProducerId() async {
        if config.transactionalID != nil {
            // Sequences are lost inside a transaction: only an abort (and, if fenced, a new
            // producer) recovers; an idempotent InitProducerId would drop the transactional id.
            state.withLock { s in
                s.needsProducerId = false
                s.transaction.failed(KafkaError.invalidState("the producer's sequence state was lost; abort the transaction"))
            }
            return
        }
        var attempt = 0
        while !state.withLock({ $0.closed && $0.incomplete == 0 }) {
            do {
                let conn = try await cluster.anyConnection()
                guard conn.supports(.initProducerId) else {
                    logger.warning("broker does not support InitProducerId; idempotence disabled")
                    idempotent.withLock { $0 = false }
                    state.withLock { $0.needsProducerId = false }
                    return
                }
                var req = InitProducerIdRequest()
                let (pid, epoch) = state.withLock { ($0.producerId, $0.producerEpoch) }
                if let v = conn.version(for: InitProducerIdRequest.self), v >= 3, pid >= 0 {
                    req.producerId = pid
                    req.producerEpoch = epoch
                }
                var resp = try await conn.send(req)
                if resp.errorCode != 0 && req.producerId >= 0 {
                    // Bumping the epoch is optional for the broker; start over with a new id.
                    resp = try await conn.send(InitProducerIdRequest())
                }
                try KafkaError.check(resp.errorCode, nil, "InitProducerId")
                state.withLock { s in
                    s.producerId = resp.producerId
                    s.producerEpoch = resp.producerEpoch
                    s.needsProducerId = false
                    // New id: sequences restart at 0; batches not yet acknowledged are renumbered.
                    for tp in Array(s.queues.keys) {
                        let q = s.queues[tp]!
                        q.nextSequence = 0
                        for b in q.batches {
                            b.baseSequence = -1
                            b.built = nil
                        }
                        s.queues[tp] = q
                    }
                }
                logger.debug("producer id", metadata: ["id": "\(resp.producerId)", "epoch": "\(resp.producerEpoch)"])
                return
            } catch {
                attempt += 1
                logger.debug("InitProducerId failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: config.retryBackoff * min(attempt, 10))
            }
        }
    }
}
