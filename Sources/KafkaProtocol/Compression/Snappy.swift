import NIOCore
import CSnappy

/// Snappy in the two framings Kafka clients use.
///
/// - Java's client wraps snappy in snappy-java's `SnappyOutputStream`
///   ("xerial") framing: the 16-byte header
///   `0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00 | int32 version=1 | int32 compatible=1`
///   followed by blocks of `[int32 big-endian length][raw snappy block]`, each
///   block holding at most 32 KiB of input.
/// - librdkafka (and so confluent-kafka, kcat, ...) *writes raw snappy*, one
///   block with no framing (rdkafka_msgset_writer.c calls
///   `rd_kafka_snappy_compress_iov` directly). Java still reads that because
///   `SnappyInputStream` falls back to raw snappy when the magic is absent.
///
/// Readers: librdkafka (rdkafka_msgset_reader.c) takes xerial only when the
/// magic matches *and* the payload is longer than 16+4 bytes, else raw;
/// kafka-python/aiokafka `snappy_decode` take xerial only when the payload is
/// longer than 16 bytes and version == compatible == 1, else raw. So we
/// compress with xerial v1/v1 (what Java writes, read by all three), except
/// for empty input, where a header-only xerial stream would be misread as raw
/// by librdkafka and kafka-python: there we write the raw snappy encoding of
/// nothing (one 0x00 byte), which every reader accepts.
///
/// Decompression accepts both, detected by the 8-byte magic (as snappy-java
/// does).
enum SnappyCodec {
    static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]  // 0x82 "SNAPPY" 0
    static let xerialHeaderSize = 16
    /// snappy-java's default `SnappyOutputStream` block size, which Kafka uses.
    static let xerialBlockSize = 32 * 1024

    static func compress(_ input: UnsafeRawBufferPointer) throws -> [UInt8] {
        guard let inBase = input.baseAddress, input.count > 0 else { return [0x00] }

        let blocks = (input.count + xerialBlockSize - 1) / xerialBlockSize
        let bound = xerialHeaderSize + blocks * (4 + snappy_max_compressed_length(xerialBlockSize))
        // The bound is the worst case, so the buffer never moves and
        // `lengthSlot` below stays valid.
        let out = try BoundedOutput(limit: Int.max, expected: bound)
        let header: [UInt8] = xerialMagic + [0, 0, 0, 1, 0, 0, 0, 1]  // version 1, min compatible 1
        for (i, byte) in header.enumerated() { out.writePointer[i] = byte }
        try out.commit(header.count)

        var offset = 0
        while offset < input.count {
            let chunk = min(xerialBlockSize, input.count - offset)
            let lengthSlot = out.writePointer
            try out.commit(4)
            var written = out.spare
            let status = out.writePointer.withMemoryRebound(to: CChar.self, capacity: written) { dst in
                snappy_compress(inBase.advanced(by: offset).assumingMemoryBound(to: CChar.self), chunk, dst, &written)
            }
            guard status == SNAPPY_OK else { throw CompressionError.corrupt("snappy_compress: \(name(status))") }
            let length = UInt32(written)
            for i in 0..<4 { lengthSlot[i] = UInt8(truncatingIfNeeded: length >> (24 - 8 * i)) }
            try out.commit(written)
            offset += chunk
        }
        return out.toArray()
    }

    static func decompress(_ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> [UInt8] {
        try decompressOutput(input, maxOutput: maxOutput).toArray()
    }

    static func decompressToBuffer(_ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> ByteBuffer {
        try decompressOutput(input, maxOutput: maxOutput).toByteBuffer()
    }

    private static func decompressOutput(_ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> BoundedOutput {
        if isXerial(input) {
            return try decompressXerial(input, maxOutput: maxOutput)
        }
        let out = try BoundedOutput(limit: maxOutput, expected: 0)
        try decompressRawBlock(input, into: out)
        return out
    }

    static func isXerial(_ input: UnsafeRawBufferPointer) -> Bool {
        input.count >= xerialHeaderSize && input.prefix(xerialMagic.count).elementsEqual(xerialMagic)
    }

    private static func decompressXerial(_ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> BoundedOutput {
        // The version fields are not checked: snappy-java only rejects
        // versions below 1, and every block format it ever wrote is the same.
        let out = try BoundedOutput(limit: maxOutput, expected: min(input.count * 2, 1 << 20))
        var offset = xerialHeaderSize
        while offset < input.count {
            guard input.count - offset >= 4 else {
                throw CompressionError.corrupt("xerial snappy: \(input.count - offset) trailing bytes")
            }
            let length = Int(blockLength(input, at: offset))
            offset += 4
            guard length <= input.count - offset else {
                throw CompressionError.corrupt("xerial snappy: block length \(length) exceeds the \(input.count - offset) bytes left")
            }
            try decompressRawBlock(UnsafeRawBufferPointer(rebasing: input[offset..<offset + length]), into: out)
            offset += length
        }
        return out
    }

    /// Appends one raw snappy block to `out`, checking the length it
    /// declares against the limit before allocating.
    private static func decompressRawBlock(_ block: UnsafeRawBufferPointer, into out: BoundedOutput) throws {
        guard let src = block.baseAddress?.assumingMemoryBound(to: CChar.self), block.count > 0 else {
            throw CompressionError.corrupt("SNAPPY_INVALID_INPUT: empty snappy block")
        }
        var length = 0
        let lengthStatus = snappy_uncompressed_length(src, block.count, &length)
        guard lengthStatus == SNAPPY_OK else { throw CompressionError.corrupt(name(lengthStatus)) }
        guard length <= out.limit - out.count else { throw CompressionError.outputTooLarge(limit: out.limit) }
        guard length > 0 else {
            // Nothing to write, but the rest of the block must still be valid.
            let status = snappy_validate_compressed_buffer(src, block.count)
            guard status == SNAPPY_OK else { throw CompressionError.corrupt(name(status)) }
            return
        }
        if out.spare < length { try out.grow(minimum: length) }
        var written = out.spare
        let status = out.writePointer.withMemoryRebound(to: CChar.self, capacity: written) {
            snappy_uncompress(src, block.count, $0, &written)
        }
        guard status == SNAPPY_OK else { throw CompressionError.corrupt(name(status)) }
        guard written == length else {
            throw CompressionError.corrupt("SNAPPY_INVALID_INPUT: block declared \(length) bytes, held \(written)")
        }
        try out.commit(written)
    }

    /// The big-endian block length at `offset`; the caller checks bounds.
    static func blockLength(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 << 8 | UInt32(bytes[offset + $1]) }
    }

    private static func name(_ status: snappy_status) -> String {
        switch status {
        case SNAPPY_OK: "SNAPPY_OK"
        case SNAPPY_INVALID_INPUT: "SNAPPY_INVALID_INPUT"
        case SNAPPY_BUFFER_TOO_SMALL: "SNAPPY_BUFFER_TOO_SMALL"
        default: "snappy status \(status.rawValue)"
        }
    }
}
