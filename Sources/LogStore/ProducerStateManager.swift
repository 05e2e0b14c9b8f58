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
    /// First offset of the producer's transaction still open in this partition (its data is
    /// written, its commit or abort marker not yet): the partition's last stable offset
    /// cannot pass it. Nil outside a transaction.
    public var currentTxnFirstOffset: Int64? = nil

    public var lastSequence: Int32 { batches.last?.lastSequence ?? -1 }
    public var lastOffset: Int64 { batches.last?.lastOffset ?? -1 }
}

/// A transaction that ended with an abort marker: read_committed consumers drop the
/// producer's batches in [firstOffset, lastOffset] (lastOffset is the marker's offset).
public struct AbortedTransaction: Sendable, Equatable {
    public var producerId: Int64
    public var firstOffset: Int64
    public var lastOffset: Int64
    public init(producerId: Int64, firstOffset: Int64, lastOffset: Int64) {
        self.producerId = producerId
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
    }
}

/// Kafka's ProducerStateManager semantics for idempotent producers (producerId >= 0), and
/// the transactions they have open in this partition.
///
/// Checks run on a staged copy so an append of several batches is all-or-nothing; the
/// caller commits the staged entries only after the bytes are written.
struct ProducerStateManager: Sendable {
    static let batchesRetained = 5

    private(set) var producers: [Int64: ProducerStateEntry] = [:]
    /// The open transactions (producer id -> first offset): a copy of the producers'
    /// `currentTxnFirstOffset`, kept small so the last stable offset is cheap to compute.
    private(set) var ongoing: [Int64: Int64] = [:]
    /// Aborted transactions still in the log, in marker (lastOffset) order.
    private(set) var aborted: [AbortedTransaction] = []

    /// The first offset no read_committed consumer may read yet: the start of the oldest open
    /// transaction, or the log end.
    func lastStableOffset(endOffset: Int64) -> Int64 {
        ongoing.values.min().map { min($0, endOffset) } ?? endOffset
    }

    /// The aborted transactions a read_committed fetch of [from, upTo) must be told about:
    /// those that end at or after `from` and begin before `upTo`.
    func abortedTransactions(from: Int64, upTo: Int64) -> [AbortedTransaction] {
        aborted[firstAborted(endingAtOrAfter: from)...].filter { $0.firstOffset < upTo }
    }

    /// Whether the record at `offset` written by `producerId` belongs to an aborted
    /// transaction (the cleaner drops such records).
    func isAborted(producerId: Int64, offset: Int64) -> Bool {
        aborted[firstAborted(endingAtOrAfter: offset)...].contains { $0.producerId == producerId && $0.firstOffset <= offset }
    }

    /// The index of the first aborted transaction whose marker is at or after `offset`
    /// (`aborted` is sorted by marker offset).
    private func firstAborted(endingAtOrAfter offset: Int64) -> Int {
        var lo = 0, hi = aborted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if aborted[mid].lastOffset < offset { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

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
        if header.isTransactional && !header.isControl && e.currentTxnFirstOffset == nil {
            e.currentTxnFirstOffset = firstOffset
        }
        if !header.isControl {
            e.batches.append(ProducerBatchMetadata(firstSequence: header.baseSequence, lastSequence: header.lastSequence,
                                                   firstOffset: firstOffset, lastOffset: firstOffset + Int64(header.lastOffsetDelta)))
            if e.batches.count > batchesRetained { e.batches.removeFirst(e.batches.count - batchesRetained) }
        }
        e.lastTimestamp = max(e.lastTimestamp, now)
        return e
    }

    /// A transactional batch is only valid where its transaction stands: Kafka refuses a
    /// non-transactional write from a producer whose transaction is open here.
    static func checkTransaction(_ header: RecordBatchHeader, current: ProducerStateEntry?) throws {
        guard !header.isControl, !header.isTransactional, let txn = current?.currentTxnFirstOffset,
              header.producerEpoch == current?.producerEpoch else { return }
        throw LogError.invalidTxnState("producer \(header.producerId) wrote a non-transactional batch inside its open transaction (from offset \(txn))")
    }

    /// The state after the end-transaction marker `marker` (written at `offset`) is applied;
    /// the aborted transaction it closes, if any. A marker with an older epoch than the
    /// producer's is refused: the coordinator fences by bumping the epoch first.
    static func appliedMarker(_ header: RecordBatchHeader, marker: ControlRecordType, offset: Int64, now: Int64,
                              to entry: ProducerStateEntry?, validate: Bool) throws -> (ProducerStateEntry, AbortedTransaction?) {
        if validate, let entry, header.producerEpoch < entry.producerEpoch {
            throw LogError.invalidProducerEpoch(producerId: header.producerId, current: entry.producerEpoch, received: header.producerEpoch)
        }
        let first = entry?.currentTxnFirstOffset
        var e = applied(header, firstOffset: offset, now: now, to: entry)
        e.currentTxnFirstOffset = nil
        guard marker == .abort, let first else { return (e, nil) }
        return (e, AbortedTransaction(producerId: header.producerId, firstOffset: first, lastOffset: offset))
    }

    func entry(for producerId: Int64) -> ProducerStateEntry? { producers[producerId] }

    mutating func commit(_ staged: [Int64: ProducerStateEntry], aborted newlyAborted: [AbortedTransaction] = []) {
        for (pid, e) in staged { set(pid, e) }
        aborted.append(contentsOf: newlyAborted)
    }

    private mutating func set(_ pid: Int64, _ e: ProducerStateEntry?) {
        producers[pid] = e
        ongoing[pid] = e?.currentTxnFirstOffset
    }

    /// Replays a batch read back from the log (no validation: it was validated when written).
    /// `now` is the open time: the real append time is unknown, so expiry counts from start-up.
    mutating func replay(_ header: RecordBatchHeader, now: Int64) {
        guard header.hasProducerId else { return }
        set(header.producerId, Self.applied(header, firstOffset: header.baseOffset, now: now, to: producers[header.producerId]))
    }

    /// Replays a control batch read back from the log (`marker` nil: its record could not be
    /// read, and it is taken as a commit, which loses no data).
    mutating func replayMarker(_ header: RecordBatchHeader, marker: ControlRecordType?, now: Int64) {
        guard header.hasProducerId,
              let (e, abort) = try? Self.appliedMarker(header, marker: marker ?? .commit, offset: header.baseOffset, now: now,
                                                       to: producers[header.producerId], validate: false) else { return }
        set(header.producerId, e)
        if let abort { aborted.append(abort) }
    }

    /// Forgets producers idle longer than `expirationMs` (producer.id.expiration.ms).
    mutating func removeExpired(now: Int64, expirationMs: Int64) -> Int {
        let before = producers.count
        // A producer inside a transaction is kept: its open transaction holds the last stable offset.
        producers = producers.filter { now - $0.value.lastTimestamp < expirationMs || $0.value.currentTxnFirstOffset != nil }
        return before - producers.count
    }

    /// Drops producers none of whose batches are still in the log (Kafka does this when
    /// loading state, `isProducerRetained`).
    mutating func removeBefore(logStartOffset: Int64) {
        producers = producers.filter {
            $0.value.currentTxnFirstOffset != nil || (!$0.value.batches.isEmpty && $0.value.lastOffset >= logStartOffset)
        }
        ongoing = ongoing.filter { producers[$0.key] != nil }
        aborted.removeAll { $0.lastOffset < logStartOffset }
    }

    /// Forgets aborted transactions whose markers retention removed.
    mutating func removeAborted(before logStartOffset: Int64) {
        aborted.removeAll { $0.lastOffset < logStartOffset }
    }

    init() {}

    init(producers: [Int64: ProducerStateEntry], aborted: [AbortedTransaction] = []) {
        self.producers = producers
        self.ongoing = producers.compactMapValues(\.currentTxnFirstOffset)
        self.aborted = aborted.sorted { $0.lastOffset < $1.lastOffset }
    }
}

// MARK: snapshot files

/// `<20-digit offset>.snapshot`: the producer state as of that offset (the log end when it
/// was taken). Layout, big-endian: "RBPS", version u16, crc32c u32 of everything after it,
/// offset i64, count u32, then per producer: id i64, epoch i16, lastTimestamp i64, [v2: open
/// transaction's first offset i64, -1 for none], batch count u8, and per batch firstSeq i32,
/// lastSeq i32, firstOffset i64, lastOffset i64; v2 then has the aborted transactions: count
/// u32, and per one producer id i64, firstOffset i64, lastOffset i64. Version 1 (written
/// before transactions existed) is still read. A snapshot is only an accelerator: a damaged
/// one is ignored and the state rebuilt from an older one or from the log.
enum ProducerSnapshot {
    static let magic: [UInt8] = Array("RBPS".utf8)
    static let version: UInt16 = 2

    static func encode(_ state: ProducerStateManager, offset: Int64) -> [UInt8] {
        var body = ByteWriter(capacity: 16 + state.producers.count * 72 + state.aborted.count * 24)
        body.int64(offset)
        body.uint32(UInt32(state.producers.count))
        for pid in state.producers.keys.sorted() {
            guard let e = state.producers[pid] else { continue }
            body.int64(e.producerId)
            body.int16(e.producerEpoch)
            body.int64(e.lastTimestamp)
            body.int64(e.currentTxnFirstOffset ?? -1)
            body.uint8(UInt8(e.batches.count))
            for b in e.batches {
                body.int32(b.firstSequence)
                body.int32(b.lastSequence)
                body.int64(b.firstOffset)
                body.int64(b.lastOffset)
            }
        }
        body.uint32(UInt32(state.aborted.count))
        for a in state.aborted {
            body.int64(a.producerId)
            body.int64(a.firstOffset)
            body.int64(a.lastOffset)
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
        guard let v = header.uint16(), v == 1 || v == version, let crc = header.uint32() else { return nil }
        let body = Array(bytes[10...])
        guard crc32c(body) == crc else { return nil }
        var r = ByteReader(body)
        guard let offset = r.int64(), offset >= 0, let count = r.uint32() else { return nil }
        // Each producer takes at least 19 bytes: reject counts the data cannot hold.
        guard Int(count) <= r.remaining / 19 else { return nil }
        var producers: [Int64: ProducerStateEntry] = [:]
        for _ in 0..<count {
            guard let pid = r.int64(), let epoch = r.int16(), let ts = r.int64() else { return nil }
            var txn: Int64?
            if v >= 2 {
                guard let t = r.int64(), t >= -1 else { return nil }
                txn = t >= 0 ? t : nil
            }
            guard let n = r.uint8(), Int(n) <= ProducerStateManager.batchesRetained else { return nil }
            var batches: [ProducerBatchMetadata] = []
            for _ in 0..<n {
                guard let fs = r.int32(), let ls = r.int32(), let fo = r.int64(), let lo = r.int64() else { return nil }
                batches.append(ProducerBatchMetadata(firstSequence: fs, lastSequence: ls, firstOffset: fo, lastOffset: lo))
            }
            producers[pid] = ProducerStateEntry(producerId: pid, producerEpoch: epoch, batches: batches, lastTimestamp: ts,
                                                currentTxnFirstOffset: txn)
        }
        var aborted: [AbortedTransaction] = []
        if v >= 2 {
            guard let n = r.uint32(), Int(n) <= r.remaining / 24 else { return nil }
            for _ in 0..<n {
                guard let pid = r.int64(), let first = r.int64(), let last = r.int64(), first <= last else { return nil }
                aborted.append(AbortedTransaction(producerId: pid, firstOffset: first, lastOffset: last))
            }
        }
        guard r.remaining == 0 else { return nil }
        return (offset, ProducerStateManager(producers: producers, aborted: aborted))
    }
}
