#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KafkaProtocol

/// Appending: offset assignment, idempotent-producer checks, one vectored write, index
/// upkeep and segment rolling.
extension PartitionLog {
    /// Appends one or more concatenated RecordBatch v2 (already CRC-checked by the caller),
    /// assigning offsets from the log end. Copies nothing: see the raw-buffer overload.
    @discardableResult
    public func append(batches: [UInt8]) throws -> AppendInfo {
        try batches.withUnsafeBytes { (buffer) throws -> AppendInfo in try append(batches: buffer) }
    }

    /// Appends the batches in `buffer`. The buffer is not modified: each batch's new base
    /// offset goes to disk through its own 8-byte iovec, followed by an iovec pointing at
    /// the rest of the batch in `buffer` (the CRC does not cover the base offset).
    ///
    /// All-or-nothing: on a thrown error nothing was appended. If any batch of an
    /// idempotent producer is a retry of a cached one, nothing is written and the original
    /// offsets are returned as `.duplicate` (like Kafka, which checks the whole request).
    @discardableResult
    public func append(batches buffer: UnsafeRawBufferPointer) throws -> AppendInfo {
        try append(located: try parseBatches(buffer), in: buffer)
    }

    /// Appends batches the broker's `BatchValidator` has already parsed and checked (so a
    /// produced batch is parsed once): `batches` must be exactly what it returned for `buffer`.
    @discardableResult
    public func append(validated batches: [ValidatedBatch], in buffer: UnsafeRawBufferPointer) throws -> AppendInfo {
        var located: [LocatedBatch] = []
        located.reserveCapacity(batches.count)
        var expected = 0
        for b in batches {
            // Cheap guard against a caller pairing the list with another buffer.
            guard b.position == expected, b.position + b.header.totalSize <= buffer.count else {
                throw LogError.invalidBatch("validated batches do not match the buffer")
            }
            located.append(LocatedBatch(header: b.header, position: b.position))
            expected += b.header.totalSize
        }
        guard !located.isEmpty, expected == buffer.count else { throw LogError.invalidBatch("validated batches do not match the buffer") }
        return try append(located: located, in: buffer)
    }

    /// `marker`: what the control batch in `located` says (only the coordinator's marker
    /// appends carry control batches; clients' are refused before they get here).
    func append(located: [LocatedBatch], in buffer: UnsafeRawBufferPointer, marker: ControlRecordType? = nil) throws -> AppendInfo {
        let now = clock()
        let (info, seal) = try state.withLock { (st: inout State) throws -> (AppendInfo, SealJob?) in
            try st.checkWritable()

            var offsets: [Int64] = []
            offsets.reserveCapacity(located.count)
            var next = st.endOffset
            for batch in located {
                offsets.append(next)
                next += batch.header.offsetCount
            }
            let lastOffset = next - 1

            // Producer checks on a staged copy; committed only once the write succeeded.
            var staged: [Int64: ProducerStateEntry] = [:]
            var aborted: [AbortedTransaction] = []
            for (i, batch) in located.enumerated() where batch.header.hasProducerId {
                let header = batch.header
                let current = staged[header.producerId] ?? st.producers.entry(for: header.producerId)
                if header.isControl {
                    guard let marker else { throw LogError.invalidBatch("a control batch is only appended as a transaction marker") }
                    let (entry, abort) = try ProducerStateManager.appliedMarker(header, marker: marker, offset: offsets[i], now: now,
                                                                                to: current, validate: true)
                    staged[header.producerId] = entry
                    if let abort { aborted.append(abort) }
                    continue
                }
                if case .duplicate(let original) = try ProducerStateManager.check(header, current: current) {
                    return (.duplicate(firstOffset: original.firstOffset, lastOffset: original.lastOffset), nil)
                }
                try ProducerStateManager.checkTransaction(header, current: current)
                staged[header.producerId] = ProducerStateManager.applied(header, firstOffset: offsets[i], now: now, to: current)
            }

            if buffer.count > st.config.segmentBytes {
                throw LogError.recordSetTooLarge(size: buffer.count, segmentBytes: st.config.segmentBytes)
            }
            if lastOffset - st.endOffset > Int64(UInt32.max) {
                throw LogError.invalidBatch("one append may not span more than 2^32 offsets")
            }

            var seal: SealJob?
            if shouldRoll(st, appendSize: buffer.count, lastOffset: lastOffset, now: now) {
                seal = try roll(&st)
            }

            let last = st.segments.count - 1
            let segment = st.segments[last].segment
            let position = st.segments[last].size
            do {
                try Self.write(buffer, batches: located, offsets: offsets, to: segment.log, at: position)
            } catch {
                // Cut off any partial write so the file ends at the last whole batch again.
                do {
                    try segment.log.truncate(to: position)
                } catch {
                    st.failure = "write failed and the partial data could not be removed: \(error)"
                }
                logger.error("append failed", metadata: ["error": "\(error)"])
                throw error
            }

            let interval = st.config.indexIntervalBytes
            for (i, batch) in located.enumerated() {
                var header = batch.header
                header.baseOffset = offsets[i]
                let entries = st.segments[last].indexer.observe(header, position: position + Int64(batch.position), interval: interval)
                if let e = entries.offsetEntry { segment.offsetIndex.append(offset: e.offset, position: e.position) }
                if let t = entries.timeEntry { segment.timeIndex.maybeAppend(timestamp: t.timestamp, offset: t.offset) }
            }
            st.segments[last].size += Int64(buffer.count)
            st.segments[last].nextOffset = next
            if st.segments[last].firstAppendTimeMs == nil { st.segments[last].firstAppendTimeMs = now }
            st.endOffset = next
            st.producers.commit(staged, aborted: aborted)
            return (.appended(firstOffset: offsets[0], lastOffset: lastOffset), seal)
        }
        if let seal { submit(seal) }
        return info
    }

    /// Batches per vectored write; above this the data is copied into one buffer instead
    /// (IOV_MAX is 1024 and each batch takes two iovecs).
    static let maxBatchesPerWritev = 500

    /// One `pwritev` of all batches with rewritten base offsets.
    static func write(_ buffer: UnsafeRawBufferPointer, batches: [LocatedBatch], offsets: [Int64],
                      to file: SegmentFile, at position: Int64) throws {
        guard let base = buffer.baseAddress else { throw LogError.invalidBatch("empty buffer") }
        if batches.count > maxBatchesPerWritev {
            var copy = [UInt8](buffer)
            copy.withUnsafeMutableBytes { raw in
                for (i, batch) in batches.enumerated() {
                    raw.storeBytes(of: offsets[i].bigEndian, toByteOffset: batch.position, as: Int64.self)
                }
            }
            try file.write(copy, at: position)
            return
        }
        var prefixes = [Int64](repeating: 0, count: batches.count)
        for i in offsets.indices { prefixes[i] = offsets[i].bigEndian }
        try prefixes.withUnsafeMutableBytes { (prefixBytes) throws in
            guard let prefixBase = prefixBytes.baseAddress else { return }
            var vectors: [iovec] = []
            vectors.reserveCapacity(batches.count * 2)
            for (i, batch) in batches.enumerated() {
                vectors.append(iovec(iov_base: prefixBase + i * 8, iov_len: 8))
                vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: base + batch.position + 8),
                                     iov_len: batch.header.totalSize - 8))
            }
            try file.write(vectors: vectors, at: position)
        }
    }

    // MARK: rolling

    func shouldRoll(_ st: State, appendSize: Int, lastOffset: Int64, now: Int64) -> Bool {
        let active = st.active
        guard active.size > 0 else { return false }
        if active.size + Int64(appendSize) > Int64(st.config.segmentBytes) { return true }
        if let first = active.firstAppendTimeMs, now - first > st.config.effectiveSegmentMs { return true }
        if lastOffset - active.baseOffset > Int64(UInt32.max) { return true }
        if active.segment.offsetIndex.count >= st.config.maxIndexEntries { return true }
        if active.segment.timeIndex.count >= st.config.maxIndexEntries { return true }
        return false
    }

    /// Work left after a roll, done off the append path: make the old segment durable,
    /// snapshot producer state as of the roll, advance the recovery point.
    struct SealJob: Sendable {
        /// Base offset of the new active segment (= log end at the roll).
        var newActiveBase: Int64
        var snapshot: [UInt8]
    }

    /// Starts a new active segment at the log end.
    func roll(_ st: inout State) throws -> SealJob {
        let newBase = st.endOffset
        let last = st.segments.count - 1
        if let t = st.segments[last].indexer.finalTimeEntry() {
            st.segments[last].segment.timeIndex.maybeAppend(timestamp: t.timestamp, offset: t.offset)
        }
        let path = Segment.path(directory, newBase, SegmentSuffix.log)
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw LogError.io(operation: "create", path: path, errno: errno) }
        let log = SegmentFile(path: path, descriptor: fd)
        if try log.size() != 0 {
            // Left over from a segment that recovery dropped; it holds nothing we serve.
            logger.warning("emptying stale segment file \(path)")
            try log.truncate(to: 0)
        }
        let segment = Segment(
            directory: directory, baseOffset: newBase, log: log,
            offsetIndex: OffsetIndex(path: Segment.path(directory, newBase, SegmentSuffix.index), baseOffset: newBase,
                                     entries: [], logSize: nil, nextOffset: nil),
            timeIndex: TimeIndex(path: Segment.path(directory, newBase, SegmentSuffix.timeIndex), baseOffset: newBase,
                                 entries: [], nextOffset: nil))
        st.segments.append(SegmentInfo(segment: segment, size: 0, nextOffset: newBase, indexer: SegmentIndexer()))
        st.directoryDirty = true
        logger.debug("rolled segment", metadata: ["newBase": "\(newBase)"])
        return SealJob(newActiveBase: newBase, snapshot: ProducerSnapshot.encode(st.producers, offset: newBase))
    }

    func submit(_ job: SealJob) {
        if let flusher {
            flusher.submitTask { [self] in self.seal(job) }
        } else {
            seal(job)
        }
    }

    /// fsyncs every segment below the new active one that is not yet known durable, then
    /// writes the snapshot and moves the recovery point. Seal jobs may run in any order:
    /// each syncs everything from the current recovery point, so the point never passes
    /// unsynced data.
    func seal(_ job: SealJob) {
        sealLock.withLock { recoveryPoint in
            let pending = state.withLock { st -> [Segment]? in
                if st.isClosed { return nil }
                return st.segments.filter { $0.baseOffset >= recoveryPoint && $0.baseOffset < job.newActiveBase }.map(\.segment)
            }
            guard let pending else { return }
            do {
                for segment in pending {
                    try segment.log.sync()
                    try segment.persistIndexes(sync: true)
                }
                state.withLock { $0.fsyncCount += pending.count }
                try writeSnapshot(job.snapshot, offset: job.newActiveBase, durable: .fileOnly)
                if job.newActiveBase > recoveryPoint {
                    // Its directory fsync also makes the snapshot's and new segment's names durable.
                    try LogRecovery.writeRecoveryPoint(job.newActiveBase, directory: directory)
                    recoveryPoint = job.newActiveBase
                } else {
                    try FileSystem.syncDirectory(directory)
                }
                pruneSnapshots()
            } catch {
                logger.error("sealing segments failed", metadata: ["error": "\(error)"])
                state.withLock { st in
                    if st.failure == nil { st.failure = "sealing segments failed: \(error)" }
                }
            }
        }
    }
}
