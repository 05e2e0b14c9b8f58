import KafkaProtocol
/// Reading: by offset (fetch), by timestamp and max timestamp (ListOffsets).
extension PartitionLog {
    /// The largest read `nonBlocking` serves in place (bytes).
    public static let nonBlockingReadLimit = 1 << 20

    /// Whole batches starting with the one that contains `offset`, up to `maxBytes` but
    /// always at least one batch when there is one (so a consumer whose limit is smaller
    /// than a batch still makes progress). Reading at the log end returns no records.
    ///
    /// Cost: a binary search over segments and over the sparse offset index, then a walk
    /// of at most about `indexIntervalBytes` of headers, then one `pread` of the result,
    /// all outside the partition lock.
    public func read(from offset: Int64, maxBytes: Int, nonBlocking: Bool = false, readCommitted: Bool = false) throws -> ReadResult {
        var bytes = [UInt8]()
        var result = try read(from: offset, maxBytes: maxBytes, nonBlocking: nonBlocking, readCommitted: readCommitted) {
            bytes = try Self.array($0, $1)
        }
        result.records = bytes
        return result
    }

    /// Like `read(from:maxBytes:)`, but the batches are read straight into the caller's memory
    /// (the broker's response buffer): `sink(count, fill)` is called at most once; it calls
    /// `fill` with room for `count` bytes, and `fill` returns how many of them are whole batches
    /// (the bytes to keep). `records` of the result stays empty.
    ///
    /// `nonBlocking`: serve only from the page cache and open files, at most
    /// `nonBlockingReadLimit` bytes, throwing
    /// `LogError.wouldBlock` (out of `sink`, whose buffer the caller then drops) if that is not
    /// enough. The broker tries
    /// this on its event loop and otherwise reads on its I/O threads.
    ///
    /// `readCommitted`: Kafka's isolation level READ_COMMITTED — nothing at or after the last
    /// stable offset (an open transaction's data) is returned, and the result names the aborted
    /// transactions in the range for the consumer to drop.
    public func read(from offset: Int64, maxBytes: Int, nonBlocking: Bool = false, readCommitted: Bool = false,
                     into sink: (_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Void) throws -> ReadResult {
        let snapshot = try state.withLock { (st: inout State) throws -> (Segment?, Int64, ReadResult) in
            if st.isClosed { throw LogError.closed }
            guard offset >= st.startOffset, offset <= st.endOffset else {
                throw LogError.offsetOutOfRange(offset: offset, logStartOffset: st.startOffset, logEndOffset: st.endOffset)
            }
            let stable = st.lastStableOffset
            var empty = ReadResult(records: [], firstBatchOffset: nil, highWatermark: st.endOffset,
                                   logStartOffset: st.startOffset, logEndOffset: st.endOffset, lastStableOffset: stable)
            let readEnd = readCommitted ? stable : st.endOffset
            if offset >= readEnd { return (nil, 0, empty) }
            if readCommitted { empty.abortedTransactions = st.producers.abortedTransactions(from: offset, upTo: stable) }
            let info = st.segments[st.segmentIndex(containing: offset)]
            return (info.segment, info.size, empty)
        }
        var result = snapshot.2
        guard var segment = snapshot.0 else { return result }
        var end = snapshot.1
        let limit = readCommitted ? result.lastStableOffset : Int64.max
        while true {
            if let (position, header) = try Self.locate(offset, in: segment, end: end, nonBlocking: nonBlocking) {
                try Self.readWholeBatches(segment: segment, position: position, first: header, end: end, maxBytes: maxBytes,
                                          nonBlocking: nonBlocking, belowOffset: limit, into: sink)
                result.firstBatchOffset = header.baseOffset
                return result
            }
            // The offset is past the last batch of a closed segment (the cleaner removed the
            // records at its end): the next batch is in a later segment, as in Kafka.
            guard let next = nextSegment(after: segment.baseOffset) else { return result }
            (segment, end) = next
        }
    }

    /// The first segment whose base is above `base`, with its readable size; nil past the end.
    func nextSegment(after base: Int64) -> (Segment, Int64)? {
        state.withLock { st in
            guard !st.isClosed else { return nil }
            let i = st.segmentIndex(containing: base)
            var j = i
            while j < st.segments.count, st.segments[j].baseOffset <= base { j += 1 }
            return j < st.segments.count ? (st.segments[j].segment, st.segments[j].size) : nil
        }
    }

    /// The position and header of the batch containing `offset`, walking forward from the
    /// offset index's entry. Nil if the segment holds no such batch.
    static func locate(_ offset: Int64, in segment: Segment, end: Int64, nonBlocking: Bool = false) throws -> (Int64, RecordBatchHeader)? {
        // A closed segment's index loads from disk on first use.
        if nonBlocking && !segment.offsetIndex.storage.isLoaded { throw LogError.wouldBlock }
        let start = segment.offsetIndex.lookup(offset)
        var reader = BufferedReader(file: segment.log, limit: end, chunk: 16 << 10)
        reader.nonBlocking = nonBlocking
        var position = start.position
        while position < end {
            let header = try checkedHeader(&reader, at: position, end: end, path: segment.log.path)
            if header.lastOffset >= offset { return (position, header) }
            position += Int64(header.totalSize)
        }
        return nil
    }

    static func checkedHeader(_ reader: inout BufferedReader, at position: Int64, end: Int64, path: String) throws -> RecordBatchHeader {
        guard let header = try reader.header(at: position) else {
            throw LogError.corruptLog(path: path, position: position, reason: "truncated batch header")
        }
        if let problem = header.structuralProblem(available: Int(min(end - position, Int64(Int32.max)))) {
            throw LogError.corruptLog(path: path, position: position, reason: problem)
        }
        return header
    }

    /// `readWholeBatches` into a new array.
    static func readWholeBatches(segment: Segment, position: Int64, first: RecordBatchHeader, end: Int64,
                                 maxBytes: Int) throws -> [UInt8] {
        var bytes = [UInt8]()
        try readWholeBatches(segment: segment, position: position, first: first, end: end, maxBytes: maxBytes) {
            bytes = try Self.array($0, $1)
        }
        return bytes
    }

    /// A sink for the read functions that collects into a new array (no zero fill: only the
    /// bytes `fill` reports are kept).
    static func array(_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
            initialized = 0
            initialized = try fill(UnsafeMutableRawBufferPointer(buf))
        }
    }

    /// One pread of up to `maxBytes` (at least the first batch), cut back to whole batches.
    /// `belowOffset`: batches from it on are cut off (the last stable offset of a
    /// read_committed read); the first batch is always kept.
    static func readWholeBatches(segment: Segment, position: Int64, first: RecordBatchHeader, end: Int64, maxBytes: Int,
                                 nonBlocking: Bool = false, belowOffset: Int64 = .max,
                                 into sink: (Int, (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Void) throws {
        let available = end - position
        let want = Int(min(available, Int64(max(maxBytes, first.totalSize))))
        // A consumer at the tail reads what arrived since its last fetch; a read this large is a
        // replay, and even from the page cache its copy would hold the event loop for
        // milliseconds: it goes to a thread too.
        if nonBlocking && want > nonBlockingReadLimit { throw LogError.wouldBlock }
        try sink(want) { buf in
            let n = try segment.log.read(into: UnsafeMutableRawBufferPointer(rebasing: buf[0..<min(want, buf.count)]), at: position,
                                         nonBlocking: nonBlocking)
            guard n >= first.totalSize else {
                throw LogError.corruptLog(path: segment.log.path, position: position, reason: "segment shorter than its recorded size")
            }
            let raw = UnsafeRawBufferPointer(rebasing: buf[0..<n])
            var cut = first.totalSize
            while let header = RecordBatchHeader(UnsafeRawBufferPointer(rebasing: raw[cut...])),
                  header.structuralProblem(available: raw.count - cut) == nil, header.baseOffset < belowOffset {
                cut += header.totalSize
            }
            return cut
        }
    }

    /// The first batch whose max timestamp is >= `timestamp` (Kafka ListOffsets by time),
    /// nil if no batch is that recent. The caller picks the exact record inside the batch.
    public func offsetForTimestamp(_ timestamp: Int64) throws -> TimestampLookup? {
        let candidates = try state.withLock { (st: inout State) throws -> [(Segment, Int64)] in
            if st.isClosed { throw LogError.closed }
            return st.segments.filter { $0.maxTimestamp >= timestamp }.map { ($0.segment, $0.size) }
        }
        for (segment, end) in candidates {
            let startOffset = segment.timeIndex.lookupBefore(timestamp) ?? segment.baseOffset
            var position = segment.offsetIndex.lookup(startOffset).position
            var reader = BufferedReader(file: segment.log, limit: end)
            while position < end {
                let header = try Self.checkedHeader(&reader, at: position, end: end, path: segment.log.path)
                if header.maxTimestamp >= timestamp {
                    let batch = try segment.log.read(at: position, count: header.totalSize)
                    guard batch.count == header.totalSize else {
                        throw LogError.corruptLog(path: segment.log.path, position: position, reason: "short read")
                    }
                    return TimestampLookup(baseOffset: header.baseOffset, lastOffset: header.lastOffset,
                                           maxTimestamp: header.maxTimestamp, batch: batch)
                }
                position += Int64(header.totalSize)
            }
        }
        return nil
    }

    /// The largest batch max-timestamp in the log and the batch holding it (ListOffsets
    /// MAX_TIMESTAMP, -3); the earliest batch wins a tie. Nil for an empty log.
    public func maxTimestampOffset() -> TimestampOffset? {
        state.withLock { st in
            var best: TimestampOffset?
            for info in st.segments where info.maxTimestamp >= 0 {
                if let b = best, info.maxTimestamp <= b.timestamp { continue }
                best = TimestampOffset(timestamp: info.maxTimestamp, offset: info.offsetOfMaxTimestamp)
            }
            return best
        }
    }
}
