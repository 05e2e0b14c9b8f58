import KafkaProtocol
/// Sequence range and offsets of one batch an idempotent producer wrote.
public struct ProducerBatchMetadata: Sendable, Equatable {
    public var firstSequence: Int32
    public var lastSequence: Int32
    public var firstOffset: Int64
    public var lastOffset: Int64
}

/// What the log remembers about one producer id.
public struct ProducerStateEntry: Sendable, Equatable {
    public var producerId: Int64
    public var producerEpoch: Int16
    /// The last (up to) 5 batches, oldest first: Kafka clients keep at most 5 requests in
    /// flight per connection, so a retry is always of one of these.
    public var batches: [ProducerBatchMetadata]
    /// Wall-clock time (ms) the producer last appended, for `producerIdExpirationMs`. Kafka
    /// uses the batch timestamp; wall-clock time is used here so a producer replaying old
    /// event times does not lose its deduplication state at the next retention pass.
    public var lastTimestamp: Int64

    public var lastSequence: Int32 { batches.last?.lastSequence ?? -1 }
    public var lastOffset: Int64 { batches.last?.lastOffset ?? -1 }
}

/// Kafka's ProducerStateManager semantics for idempotent producers (producerId >= 0).
///
/// Checks run on a staged copy so an append of several batches is all-or-nothing; the
/// caller commits the staged entries only after the bytes are written.
struct ProducerStateManager: Sendable {
    static let batchesRetained = 5

    private(set) var producers: [Int64: ProducerStateEntry] = [:]

    /// Each known producer's last data offset: the cleaner keeps the batch holding it.
    var lastOffsets: [Int64: Int64] { producers.mapValues(\.lastOffset) }

    enum Verdict {
        case accept
        case duplicate(ProducerBatchMetadata)
    }

    /// Validates one batch from a client against the state (staged entries win).
    ///
    /// Unknown producer with any sequence: accepted, as Kafka does since 2.x, because the
    /// producer's state may have been removed by retention or expiration while the client
    /// kept its sequence numbers.
    static func check(_ header: RecordBatchHeader, current: ProducerStateEntry?) throws -> Verdict {
        guard let current else { return .accept }
        let pid = header.producerId
        if header.producerEpoch < current.producerEpoch {
            throw LogError.invalidProducerEpoch(producerId: pid, current: current.producerEpoch, received: header.producerEpoch)
        }
        if header.producerEpoch == current.producerEpoch,
           let dup = current.batches.first(where: { $0.firstSequence == header.baseSequence && $0.lastSequence == header.lastSequence }) {
            return .duplicate(dup)
        }
        if header.producerEpoch != current.producerEpoch {
            // A bumped epoch restarts sequences at 0.
            if header.baseSequence != 0 {
                throw LogError.outOfOrderSequence(producerId: pid, expected: 0, received: header.baseSequence)
            }
            return .accept
        }
        let last = current.lastSequence
        if !inSequence(last: last, next: header.baseSequence) {
            throw LogError.outOfOrderSequence(producerId: pid, expected: RecordBatchHeader.incrementSequence(last, by: 1),
                                      received: header.baseSequence)
        }
        return .accept
    }

    /// Kafka's `inSequence`: the next sequence follows the last one, wrapping at Int32.max.
    /// With no batch yet (last == -1) only 0 follows.
    static func inSequence(last: Int32, next: Int32) -> Bool {
        next == last &+ 1 || (next == 0 && last == Int32.max)
    }

    /// The state after `header` (written at `firstOffset`) is applied to `entry`. Used for
    /// client appends after `check`, and for replaying the log without checks.
    static func applied(_ header: RecordBatchHeader, firstOffset: Int64, now: Int64, to entry: ProducerStateEntry?) -> ProducerStateEntry {
        var e = entry ?? ProducerStateEntry(producerId: header.producerId, producerEpoch: header.producerEpoch,
                                            batches: [], lastTimestamp: now)
        if header.producerEpoch != e.producerEpoch {
            e.producerEpoch = header.producerEpoch
            e.batches.removeAll()
        }
        if !header.isControl {
            e.batches.append(ProducerBatchMetadata(firstSequence: header.baseSequence, lastSequence: header.lastSequence,
                                                   firstOffset: firstOffset, lastOffset: firstOffset + Int64(header.lastOffsetDelta)))
            if e.batches.count > batchesRetained { e.batches.removeFirst(e.batches.count - batchesRetained) }
        }
        e.lastTimestamp = max(e.lastTimestamp, now)
        return e
    }

    func entry(for producerId: Int64) -> ProducerStateEntry? { producers[producerId] }

    mutating func commit(_ staged: [Int64: ProducerStateEntry]) {
        for (pid, e) in staged { producers[pid] = e }
    }

    /// Replays a batch read back from the log (no validation: it was validated when written).
    /// `now` is the open time: the real append time is unknown, so expiry counts from start-up.
    mutating func replay(_ header: RecordBatchHeader, now: Int64) {
        guard header.hasProducerId else { return }
        producers[header.producerId] = Self.applied(header, firstOffset: header.baseOffset, now: now, to: producers[header.producerId])
    }

    /// Forgets producers idle longer than `expirationMs` (producer.id.expiration.ms).
    mutating func removeExpired(now: Int64, expirationMs: Int64) -> Int {
        let before = producers.count
        producers = producers.filter { now - $0.value.lastTimestamp < expirationMs }
        return before - producers.count
    }

    /// Drops producers none of whose batches are still in the log (Kafka does this when
    /// loading state, `isProducerRetained`).
    mutating func removeBefore(logStartOffset: Int64) {
        producers = producers.filter { !$0.value.batches.isEmpty && $0.value.lastOffset >= logStartOffset }
    }

    init() {}

    init(producers: [Int64: ProducerStateEntry]) {
        self.producers = producers
    }
}

// MARK: snapshot files

/// `<20-digit offset>.snapshot`: the producer state as of that offset (the log end when it
/// was taken). Layout, big-endian: "RBPS", version u16 = 1, crc32c u32 of everything after
/// it, offset i64, count u32, then per producer: id i64, epoch i16, lastTimestamp i64,
/// batch count u8, and per batch firstSeq i32, lastSeq i32, firstOffset i64, lastOffset i64.
/// A snapshot is only an accelerator: a damaged one is ignored and the state rebuilt from
/// an older one or from the log.
enum ProducerSnapshot {
    static let magic: [UInt8] = Array("RBPS".utf8)
    static let version: UInt16 = 1

    static func encode(_ state: ProducerStateManager, offset: Int64) -> [UInt8] {
        var body = ByteWriter(capacity: 12 + state.producers.count * 64)
        body.int64(offset)
        body.uint32(UInt32(state.producers.count))
        for pid in state.producers.keys.sorted() {
            guard let e = state.producers[pid] else { continue }
            body.int64(e.producerId)
            body.int16(e.producerEpoch)
            body.int64(e.lastTimestamp)
            body.uint8(UInt8(e.batches.count))
            for b in e.batches {
                body.int32(b.firstSequence)
                body.int32(b.lastSequence)
                body.int64(b.firstOffset)
                body.int64(b.lastOffset)
            }
        }
        var out = ByteWriter(capacity: body.bytes.count + 10)
        out.bytes.append(contentsOf: magic)
        out.uint16(version)
        out.uint32(crc32c(body.bytes))
        out.bytes.append(contentsOf: body.bytes)
        return out.bytes
    }

    /// Decodes a snapshot; nil if it is damaged in any way.
    static func decode(_ bytes: [UInt8]) -> (offset: Int64, state: ProducerStateManager)? {
        guard bytes.count >= 10, Array(bytes[0..<4]) == magic else { return nil }
        var header = ByteReader(bytes, position: 4)
        guard header.uint16() == version, let crc = header.uint32() else { return nil }
        let body = Array(bytes[10...])
        guard crc32c(body) == crc else { return nil }
        var r = ByteReader(body)
        guard let offset = r.int64(), offset >= 0, let count = r.uint32() else { return nil }
        // Each producer takes at least 19 bytes: reject counts the data cannot hold.
        guard Int(count) <= r.remaining / 19 else { return nil }
        var producers: [Int64: ProducerStateEntry] = [:]
        for _ in 0..<count {
            guard let pid = r.int64(), let epoch = r.int16(), let ts = r.int64(), let n = r.uint8(),
                  Int(n) <= ProducerStateManager.batchesRetained else { return nil }
            var batches: [ProducerBatchMetadata] = []
            for _ in 0..<n {
                guard let fs = r.int32(), let ls = r.int32(), let fo = r.int64(), let lo = r.int64() else { return nil }
                batches.append(ProducerBatchMetadata(firstSequence: fs, lastSequence: ls, firstOffset: fo, lastOffset: lo))
            }
            producers[pid] = ProducerStateEntry(producerId: pid, producerEpoch: epoch, batches: batches, lastTimestamp: ts)
        }
        guard r.remaining == 0 else { return nil }
        return (offset, ProducerStateManager(producers: producers))
    }
}
