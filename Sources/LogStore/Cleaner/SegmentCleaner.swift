#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KafkaProtocol

/// The cleaner's work on segment files, without locks: building the offset map from the dirty
/// segments and rewriting a group of segments into one `.cleaned` segment. The caller
/// (`PartitionLog.clean`) takes the snapshot these run on and swaps the result in.
final class SegmentCleaner {
    struct Stopped: Error {}

    /// What one pass read, kept and dropped (logged and exported as metrics by the broker).
    struct Counters: Sendable, Equatable {
        var bytesRead: Int64 = 0
        var bytesWritten: Int64 = 0
        var recordsRead: Int64 = 0
        var recordsRetained: Int64 = 0
        /// Older values of a key that a later record superseded.
        var recordsSuperseded: Int64 = 0
        var tombstonesRemoved: Int64 = 0
        /// Records without a key (written before the topic became compacted): Kafka drops them too.
        var keylessRemoved: Int64 = 0
        /// Batches kept without records to preserve an idempotent producer's last sequence.
        var emptyBatchesRetained: Int64 = 0
        /// Batches copied unchanged because they decompress past the cleaner's limit.
        var oversizedBatchesKept: Int64 = 0
        /// Records of aborted transactions (never visible to read_committed consumers).
        var abortedRemoved: Int64 = 0
    }

    let path: String
    let now: Int64
    let deleteRetentionMs: Int64
    let indexIntervalBytes: Int
    let maxDecompressedBytes: Int
    let ioBufferBytes: Int
    var throttler: Throttler
    let shouldStop: () -> Bool
    var counters = Counters()
    /// The log's transactions when the pass began: records of aborted ones are neither
    /// mapped nor kept (a key's latest value is its latest committed one).
    var transactions = ProducerStateManager()

    init(path: String, now: Int64, config: LogConfig, cleaner: LogCleanerConfig, throttler: Throttler,
         shouldStop: @escaping () -> Bool) {
        self.path = path
        self.now = now
        self.deleteRetentionMs = config.deleteRetentionMs
        self.indexIntervalBytes = config.indexIntervalBytes
        self.maxDecompressedBytes = cleaner.maxDecompressedBatchBytes
        self.ioBufferBytes = cleaner.ioBufferBytes
        self.throttler = throttler
        self.shouldStop = shouldStop
    }

    // MARK: reading batches

    /// Calls `body` with every batch of a segment (header, its bytes, position), in order.
    func forEachBatch(_ info: SegmentInfo, _ body: (RecordBatchHeader, UnsafeRawBufferPointer) throws -> Void) throws {
        var reader = BufferedReader(file: info.segment.log, limit: info.size, chunk: ioBufferBytes)
        var position: Int64 = 0
        var unthrottled = 0
        while position < info.size {
            if shouldStop() { throw Stopped() }
            let header = try PartitionLog.checkedHeader(&reader, at: position, end: info.size, path: info.segment.log.path)
            let done: Void? = try reader.withBytes(at: position, count: header.totalSize) { raw in try body(header, raw) }
            guard done != nil else {
                throw LogError.corruptLog(path: info.segment.log.path, position: position, reason: "short read while cleaning")
            }
            counters.bytesRead += Int64(header.totalSize)
            unthrottled += header.totalSize
            if unthrottled >= 64 << 10 {
                if !throttler.observe(unthrottled) { throw Stopped() }
                unthrottled = 0
            }
            position += Int64(header.totalSize)
        }
        if unthrottled > 0, !throttler.observe(unthrottled) { throw Stopped() }
    }

    /// The uncompressed records of a batch; nil if it decompresses past the limit (such a batch
    /// is kept whole: never cleaned, never lost).
    func recordsBody(_ header: RecordBatchHeader, _ raw: UnsafeRawBufferPointer) throws -> [UInt8]? {
        do {
            return try RecordBatchAssembly.body(of: raw, header: header, maxDecompressedBytes: maxDecompressedBytes)
        } catch CompressionError.outputTooLarge {
            return nil
        }
    }

    // MARK: offset map

    /// Puts every keyed record at or above `from` of `info` into `map`. Returns the offset the map
    /// covers up to (exclusive): the segment's end, or where the map filled up.
    func buildMap(_ map: inout OffsetMap, from: Int64, segment info: SegmentInfo) throws -> Int64 {
        var filledAt: Int64?
        try forEachBatch(info) { header, raw in
            guard filledAt == nil, !header.isControl, header.lastOffset >= from, !isAborted(header) else { return }
            guard let body = try recordsBody(header, raw) else { return }
            try body.withUnsafeBytes { records in
                try RecordScanner.forEach(records, count: Int(header.recordCount)) { r in
                    let offset = header.baseOffset + r.offsetDelta
                    guard filledAt == nil, offset >= from, let key = r.key else { return }
                    if map.isFull {
                        filledAt = offset
                        return
                    }
                    map.put(UnsafeRawBufferPointer(rebasing: records[key]), offset: offset)
                }
            }
        }
        return filledAt ?? info.nextOffset
    }

    // MARK: rewriting

    /// The cleaned replacement of a group of segments, written to `<base>.*.cleaned` and fsynced.
    struct Output {
        var size: Int64
        var indexer: SegmentIndexer
        /// Earliest delete horizon among tombstones kept (Int64.max if none).
        var nextDeleteHorizonMs: Int64
    }

    /// Rewrites `group` into one segment at the first one's base, keeping per key only the record
    /// the map names as latest (records the map does not know are kept), tombstones until their
    /// delete horizon, and the last batch of each active idempotent producer (empty if need be).
    func rewrite(_ group: [SegmentInfo], directory: String, map: OffsetMap,
                          activeProducers: [Int64: Int64]) throws -> Output {
        let base = group[0].baseOffset
        let logPath = SegmentSwap.cleanedPath(directory, base, SegmentSuffix.log)
        try FileSystem.remove(logPath)
        let fd = openFile(logPath)
        if fd < 0 { throw LogError.io(operation: "create", path: logPath, errno: lastErrno()) }
        let file = SegmentFile(path: logPath, descriptor: fd)
        var out = OutputBuffer(file: file, flushAt: ioBufferBytes)
        var indexer = SegmentIndexer()
        var offsetEntries = ByteWriter()
        var timeEntries = ByteWriter()
        var lastTimeEntry: TimeIndexEntry?
        var nextHorizon = Int64.max

        func index(_ header: RecordBatchHeader, at position: Int64) {
            let entries = indexer.observe(header, position: position, interval: indexIntervalBytes)
            if let e = entries.offsetEntry {
                OffsetIndexEntry(relativeOffset: UInt32(truncatingIfNeeded: e.offset - base),
                                 position: UInt32(truncatingIfNeeded: e.position)).encode(into: &offsetEntries)
            }
            if let t = entries.timeEntry { appendTime(t.timestamp, t.offset) }
        }
        func appendTime(_ timestamp: Int64, _ offset: Int64) {
            if let last = lastTimeEntry, timestamp <= last.timestamp { return }
            let e = TimeIndexEntry(timestamp: timestamp, relativeOffset: UInt32(truncatingIfNeeded: offset - base))
            e.encode(into: &timeEntries)
            lastTimeEntry = e
        }

        for info in group {
            try forEachBatch(info) { header, raw in
                guard let kept = try filter(header, raw, map: map, activeProducers: activeProducers,
                                                    nextHorizon: &nextHorizon) else { return }
                let position = out.position
                let newHeader = kept.withUnsafeBytes { RecordBatchHeader($0)! }
                try out.append(kept)
                index(newHeader, at: position)
            }
        }
        try out.flush()
        counters.bytesWritten += out.position
        if !throttler.observe(Int(out.position)) { throw Stopped() }
        if let t = indexer.finalTimeEntry() { appendTime(t.timestamp, t.offset) }
        try file.sync()
        try writeIndex(offsetEntries.bytes, SegmentSwap.cleanedPath(directory, base, SegmentSuffix.index))
        try writeIndex(timeEntries.bytes, SegmentSwap.cleanedPath(directory, base, SegmentSuffix.timeIndex))
        return Output(size: out.position, indexer: indexer, nextDeleteHorizonMs: nextHorizon)
    }

    private func openFile(_ path: String) -> Int32 {
        open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    }

    private func lastErrno() -> Int32 { errno }

    private func writeIndex(_ bytes: [UInt8], _ path: String) throws {
        try FileSystem.remove(path)
        let fd = openFile(path)
        if fd < 0 { throw LogError.io(operation: "create", path: path, errno: lastErrno()) }
        let file = SegmentFile(path: path, descriptor: fd)
        if !bytes.isEmpty { try file.write(bytes, at: 0) }
        try file.sync()
    }

    /// The batch as it should be written, or nil to drop it. Returns the original bytes when
    /// nothing changes, so untouched batches (and their compression) are copied verbatim.
    func filter(_ header: RecordBatchHeader, _ raw: UnsafeRawBufferPointer, map: OffsetMap,
                         activeProducers: [Int64: Int64], nextHorizon: inout Int64) throws -> [UInt8]? {
        // Control batches belong to transactions, which keep their own rules (not cleaned yet).
        if header.isControl { return [UInt8](raw) }
        if isAborted(header) {
            counters.abortedRemoved += Int64(header.recordCount)
            return try emptied(header, activeProducers: activeProducers)
        }
        guard let body = try recordsBody(header, raw) else {
            counters.oversizedBatchesKept += 1
            return [UInt8](raw)
        }
        var kept: [RawRecord] = []
        var keptTombstones = false
        var maxTimestamp = Int64.min
        try body.withUnsafeBytes { records in
            try RecordScanner.forEach(records, count: Int(header.recordCount)) { r in
                counters.recordsRead += 1
                guard let key = r.key else {
                    counters.keylessRemoved += 1
                    return
                }
                let offset = header.baseOffset + r.offsetDelta
                if let latest = map.get(UnsafeRawBufferPointer(rebasing: records[key])), offset < latest {
                    counters.recordsSuperseded += 1
                    return
                }
                if r.valueIsNull {
                    if let horizon = header.deleteHorizonMs, horizon <= now {
                        counters.tombstonesRemoved += 1
                        return
                    }
                    keptTombstones = true
                }
                kept.append(r)
                maxTimestamp = max(maxTimestamp, header.baseTimestamp &+ r.timestampDelta)
            }
        }
        counters.recordsRetained += Int64(kept.count)

        // KIP-534: the first time tombstones are cleaned, the batch's base timestamp becomes
        // their delete horizon (record deltas are re-based so timestamps stay exact).
        let stampHorizon = keptTombstones && !header.hasDeleteHorizon
        if keptTombstones { nextHorizon = min(nextHorizon, header.deleteHorizonMs ?? (now &+ deleteRetentionMs)) }
        if kept.count == Int(header.recordCount) && !stampHorizon { return [UInt8](raw) }

        if kept.isEmpty { return try emptied(header, activeProducers: activeProducers) }

        var h = header
        h.recordCount = Int32(kept.count)
        if !header.isLogAppendTime { h.maxTimestamp = maxTimestamp }
        var newBody = [UInt8]()
        newBody.reserveCapacity(body.count)
        body.withUnsafeBytes { records in
            if stampHorizon {
                let horizon = now &+ deleteRetentionMs
                h.baseTimestamp = horizon
                h.attributes |= RecordBatchHeader.deleteHorizonBit
                for r in kept {
                    let timestamp = header.baseTimestamp &+ r.timestampDelta
                    RecordScanner.append(r, from: records, timestampDelta: timestamp &- horizon, to: &newBody)
                }
            } else {
                for r in kept { newBody.append(contentsOf: UnsafeRawBufferPointer(rebasing: records[r.start..<r.end])) }
            }
        }
        let codec = header.compression ?? .none
        return try newBody.withUnsafeBytes { try RecordBatchAssembly.assemble(header: h, body: $0, codec: codec) }
    }

    func isAborted(_ header: RecordBatchHeader) -> Bool {
        header.isTransactional && header.hasProducerId && transactions.isAborted(producerId: header.producerId, offset: header.baseOffset)
    }

    /// A batch none of whose records stay: dropped, unless it is an active producer's last
    /// batch, which keeps its header — its sequence and epoch are what de-duplicates the
    /// producer's retries after a restart rebuilds state from the log.
    func emptied(_ header: RecordBatchHeader, activeProducers: [Int64: Int64]) throws -> [UInt8]? {
        guard header.hasProducerId, activeProducers[header.producerId] == header.lastOffset else { return nil }
        counters.emptyBatchesRetained += 1
        var h = header
        h.recordCount = 0
        return try RecordBatchAssembly.assemble(header: h, body: UnsafeRawBufferPointer(start: nil, count: 0), codec: .none)
    }
}

/// Buffered sequential writes of the cleaned segment.
private struct OutputBuffer {
    let file: SegmentFile
    let flushAt: Int
    var pending: [UInt8] = []
    var written: Int64 = 0
    var position: Int64 { written + Int64(pending.count) }

    init(file: SegmentFile, flushAt: Int) {
        self.file = file
        self.flushAt = max(flushAt, 64 << 10)
        pending.reserveCapacity(self.flushAt)
    }

    mutating func append(_ bytes: [UInt8]) throws {
        pending.append(contentsOf: bytes)
        if pending.count >= flushAt { try flush() }
    }

    mutating func flush() throws {
        guard !pending.isEmpty else { return }
        try file.write(pending, at: written)
        written += Int64(pending.count)
        pending.removeAll(keepingCapacity: true)
    }
}
