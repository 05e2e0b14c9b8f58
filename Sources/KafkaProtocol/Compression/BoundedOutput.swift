import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable output buffer for decompressors that never holds more than
/// `limit + 1` bytes.
///
/// Decoders write straight into its spare capacity. Growth goes through
/// `realloc` and doubles, so total copying stays linear (glibc moves large
/// blocks with `mremap`, usually without copying at all). The one byte past
/// `limit` lets a decoder prove the output is too large without us ever
/// allocating what a decompression bomb asks for.
final class BoundedOutput {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    private(set) var count = 0
    let limit: Int
    private let hardCap: Int

    init(limit: Int, expected: Int) throws {
        self.limit = max(0, limit)
        self.hardCap = self.limit == Int.max ? Int.max : self.limit + 1
        let initial = min(hardCap, max(1, expected))
        guard let memory = malloc(initial) else {
            // Allocation failure is not the input's fault, but the caller
            // can only be told that this much output cannot be produced.
            throw CompressionError.outputTooLarge(limit: self.limit)
        }
        base = memory.assumingMemoryBound(to: UInt8.self)
        capacity = initial
    }

    deinit { free(base) }

    var spare: Int { capacity - count }
    var writePointer: UnsafeMutablePointer<UInt8> { base + count }

    /// Makes room for at least `minimum` more bytes, or throws once the
    /// buffer already sits at `limit + 1`.
    func grow(minimum: Int = 1) throws {
        let (needed, overflow) = count.addingReportingOverflow(minimum)
        guard !overflow, needed <= hardCap else { throw CompressionError.outputTooLarge(limit: limit) }
        guard needed > capacity else { return }
        let doubled = capacity > hardCap / 2 ? hardCap : capacity * 2
        let newCapacity = max(needed, doubled)
        guard let memory = realloc(base, newCapacity) else {
            throw CompressionError.outputTooLarge(limit: limit)
        }
        base = memory.assumingMemoryBound(to: UInt8.self)
        capacity = newCapacity
    }

    /// Records `written` bytes the decoder put at `writePointer`.
    func commit(_ written: Int) throws {
        precondition(written >= 0 && written <= spare, "decoder wrote outside the buffer")
        count += written
        if count > limit { throw CompressionError.outputTooLarge(limit: limit) }
    }

    /// The output as a ByteBuffer (one final copy).
    func toByteBuffer() -> ByteBuffer {
        var b = ByteBuffer()
        b.reserveCapacity(count)
        b.writeBytes(UnsafeRawBufferPointer(start: base, count: count))
        return b
    }

    /// The output as an exactly-sized array (one final copy).
    func toArray() -> [UInt8] {
        guard count > 0 else { return [] }
        let source = UnsafeBufferPointer(start: base, count: count)
        return [UInt8](source)
    }
}
