import KafkaProtocol
import Foundation
import Testing
@testable import LogStore

/// Builds a RecordBatch v2 with a correct CRC-32C. The "records" are filler bytes: the log
/// never parses them.
func makeBatch(
    baseOffset: Int64 = 0,
    records: Int = 1,
    timestamp: Int64 = 1_000,
    maxTimestamp: Int64? = nil,
    payload: Int = 16,
    producerId: Int64 = -1,
    producerEpoch: Int16 = -1,
    baseSequence: Int32 = -1,
    lastOffsetDelta: Int32? = nil,
    attributes: Int16 = 0,
    seed: Int = 0
) -> [UInt8] {
    var w = ByteWriter()
    w.int64(baseOffset)
    w.int32(Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead + payload))
    w.int32(7)  // partition leader epoch
    w.uint8(2)  // magic
    w.uint32(0)  // CRC, filled in below
    w.int16(attributes)
    w.int32(lastOffsetDelta ?? Int32(records - 1))
    w.int64(timestamp)
    w.int64(maxTimestamp ?? timestamp + Int64(records - 1))
    w.int64(producerId)
    w.int16(producerEpoch)
    w.int32(baseSequence)
    w.int32(Int32(records))
    for i in 0..<payload { w.uint8(UInt8(truncatingIfNeeded: i &* 31 &+ seed &* 7 &+ 1)) }
    var bytes = w.bytes
    let crc = crc32c(Array(bytes[21...]))
    withUnsafeBytes(of: crc.bigEndian) { raw in
        for i in 0..<4 { bytes[17 + i] = raw[i] }
    }
    return bytes
}

/// `batch` as the log stores it: base offset rewritten, nothing else touched.
func withBaseOffset(_ batch: [UInt8], _ offset: Int64) -> [UInt8] {
    var copy = batch
    withUnsafeBytes(of: offset.bigEndian) { raw in
        for i in 0..<8 { copy[i] = raw[i] }
    }
    return copy
}

func header(_ batch: [UInt8]) -> RecordBatchHeader? {
    batch.withUnsafeBytes { RecordBatchHeader($0) }
}

/// Splits concatenated batches (as returned by `read`) into single batches.
func splitBatches(_ bytes: [UInt8]) -> [[UInt8]] {
    var result: [[UInt8]] = []
    var position = 0
    while position < bytes.count {
        guard let h = bytes.withUnsafeBytes({ RecordBatchHeader(UnsafeRawBufferPointer(rebasing: $0[position...])) }),
              position + h.totalSize <= bytes.count else {
            Issue.record("read returned a partial batch at \(position)")
            break
        }
        result.append(Array(bytes[position..<(position + h.totalSize)]))
        position += h.totalSize
    }
    return result
}

/// Every batch in the log, read front to back with a small fetch size.
func readAll(_ log: PartitionLog, maxBytes: Int = 300) throws -> [[UInt8]] {
    var result: [[UInt8]] = []
    var offset = log.logStartOffset
    while offset < log.logEndOffset {
        let r = try log.read(from: offset, maxBytes: maxBytes)
        let batches = splitBatches(r.records)
        guard let last = batches.last.flatMap(header) else {
            Issue.record("empty read at \(offset) below the log end \(log.logEndOffset)")
            break
        }
        result.append(contentsOf: batches)
        offset = last.lastOffset + 1
    }
    return result
}

/// A fresh directory, removed when the value goes away.
final class TempDirectory: @unchecked Sendable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "logstore-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func sub(_ name: String) -> String { path + "/" + name }
}

func openLog(_ path: String, _ config: LogConfig = LogConfig(), flusher: LogFlusher? = nil,
             clock: @escaping @Sendable () -> Int64 = { 1_000_000 }) throws -> PartitionLog {
    try PartitionLog.open(path: path, config: config, flusher: flusher, logger: .silent, clock: clock)
}

func fileBytes(_ path: String) -> [UInt8] {
    (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

func logPath(_ dir: String, _ base: Int64, _ suffix: String = ".log") -> String {
    Segment.path(dir, base, suffix)
}

/// A settable clock for roll-by-time tests.
final class TestClock: @unchecked Sendable {
    private let value = Locked<Int64>(1_000_000)
    var now: Int64 {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
    var function: @Sendable () -> Int64 { { [self] in self.now } }
}
