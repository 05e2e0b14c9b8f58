import KafkaProtocol

/// Sequential reads of a segment through one reusable buffer, so walking batch headers
/// costs one `pread` per `chunk` bytes instead of one per batch.
struct BufferedReader {
    let file: SegmentFile
    /// Bytes at or past this position are never returned (the segment's valid end).
    let limit: Int64
    let chunk: Int
    /// Page-cache hits only (see `SegmentFile.read(nonBlocking:)`).
    var nonBlocking = false
    private var buffer: [UInt8] = []
    private var bufferStart: Int64 = 0

    init(file: SegmentFile, limit: Int64, chunk: Int = 64 << 10) {
        self.file = file
        self.limit = limit
        self.chunk = max(chunk, RecordBatchHeader.size)
    }

    /// Calls `body` with `count` bytes at `position`; nil if they are not all below `limit`
    /// (or the file is shorter than expected).
    mutating func withBytes<R>(at position: Int64, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        guard count >= 0, position >= 0, position <= limit - Int64(count) else { return nil }
        let inBuffer = position >= bufferStart && position + Int64(count) <= bufferStart + Int64(buffer.count)
        if !inBuffer {
            let want = Int(min(Int64(max(count, chunk)), limit - position))
            buffer = try file.read(at: position, count: want, nonBlocking: nonBlocking)
            bufferStart = position
            if buffer.count < count { return nil }
        }
        let start = Int(position - bufferStart)
        return try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<(start + count)])) }
    }

    /// The batch header at `position`, nil if fewer than 61 bytes remain.
    mutating func header(at position: Int64) throws -> RecordBatchHeader? {
        try withBytes(at: position, count: RecordBatchHeader.size) { RecordBatchHeader($0) } ?? nil
    }
}
