import CLZ4
import NIOCore

/// The LZ4 *frame* format, which Kafka uses for lz4 (not the raw block
/// format, and not Hadoop's framing).
///
/// Compression writes what Java's `Lz4BlockOutputStream` writes: version 1,
/// independent blocks (Java's reader rejects linked blocks), 64 KB maximum
/// block size, no block or content checksum, no content size. librdkafka
/// writes the same (LZ4F defaults plus `LZ4F_blockIndependent`). Decompression
/// takes any valid frame, and concatenated frames.
enum LZ4Codec {
    private static let frameMagic: [UInt8] = [0x04, 0x22, 0x4D, 0x18]  // 0x184D2204, little-endian
    private static let maxLevel = 12  // LZ4HC_CLEVEL_MAX

    static func compress(_ input: UnsafeRawBufferPointer, level: Int?, legacyHeaderChecksum: Bool) throws -> [UInt8] {
        var prefs = preferences(level: level)
        let bound = LZ4F_compressFrameBound(input.count, &prefs)
        guard LZ4F_isError(bound) == 0 else { throw CompressionError.corrupt("LZ4F_compressFrameBound: \(errorName(bound))") }
        let out = try BoundedOutput(limit: Int.max, expected: bound)
        // LZ4F wants a real pointer even for empty input.
        var empty: UInt8 = 0
        let written = withUnsafeMutablePointer(to: &empty) { emptyPointer in
            LZ4F_compressFrame(out.writePointer, out.spare, input.baseAddress ?? UnsafeRawPointer(emptyPointer),
                               input.count, &prefs)
        }
        guard LZ4F_isError(written) == 0 else { throw CompressionError.corrupt("LZ4F_compressFrame: \(errorName(written))") }
        try out.commit(written)
        var frame = out.toArray()
        if legacyHeaderChecksum {
            guard let hcOffset = headerChecksumOffset(frame) else { throw CompressionError.corrupt("LZ4F wrote no frame header") }
            frame[hcOffset] = frame.withUnsafeBytes { legacyChecksum(UnsafeRawBufferPointer(rebasing: $0[0..<hcOffset])) }
        }
        return frame
    }

    static func decompress(_ input: UnsafeRawBufferPointer, maxOutput: Int, legacyHeaderChecksum: Bool) throws -> [UInt8] {
        guard input.count > 0 else { throw CompressionError.corrupt("ERROR_frameHeader_incomplete: empty LZ4 input") }
        if legacyHeaderChecksum {
            // Like Java (ignoreFlagDescriptorChecksum) and librdkafka
            // (proper_hc = 0): trust the descriptor, rewrite its checksum.
            var patched = [UInt8](input)
            if let hcOffset = headerChecksumOffset(patched) {
                patched[hcOffset] = patched.withUnsafeBytes { correctChecksum(UnsafeRawBufferPointer(rebasing: $0[4..<hcOffset])) }
            }
            return try patched.withUnsafeBytes { try decompressFrames($0, maxOutput: maxOutput).toArray() }
        }
        return try decompressFrames(input, maxOutput: maxOutput).toArray()
    }

    static func decompressToBuffer(_ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> ByteBuffer {
        guard input.count > 0 else { throw CompressionError.corrupt("ERROR_frameHeader_incomplete: empty LZ4 input") }
        return try decompressFrames(input, maxOutput: maxOutput).toByteBuffer()
    }

    /// Compresses straight into `output` (room for the worst case is reserved first).
    static func compress(_ input: UnsafeRawBufferPointer, level: Int?, appendingTo output: inout ByteBuffer) throws {
        var prefs = preferences(level: level)
        let bound = LZ4F_compressFrameBound(input.count, &prefs)
        guard LZ4F_isError(bound) == 0 else { throw CompressionError.corrupt("LZ4F_compressFrameBound: \(errorName(bound))") }
        var empty: UInt8 = 0
        var failure: Int? = nil
        _ = withUnsafeMutablePointer(to: &empty) { emptyPointer in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { out in
                let written = LZ4F_compressFrame(out.baseAddress!, out.count, input.baseAddress ?? UnsafeRawPointer(emptyPointer),
                                                 input.count, &prefs)
                if LZ4F_isError(written) != 0 {
                    failure = written
                    return 0
                }
                return written
            }
        }
        if let failure { throw CompressionError.corrupt("LZ4F_compressFrame: \(errorName(failure))") }
    }

    private static func preferences(level: Int?) -> LZ4F_preferences_t {
        var prefs = LZ4F_preferences_t()
        prefs.frameInfo.blockSizeID = LZ4F_max64KB
        prefs.frameInfo.blockMode = LZ4F_blockIndependent
        prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum
        prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum
        // 0 is LZ4's fast compressor, which Java uses at its default level.
        prefs.compressionLevel = Int32(level.map { min(maxLevel, max(1, $0)) } ?? 0)
        return prefs
    }

    private static func decompressFrames(_ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> BoundedOutput {
        guard let src = input.baseAddress, input.count > 0 else {
            throw CompressionError.corrupt("ERROR_frameHeader_incomplete: empty LZ4 input")
        }
        var dctx: OpaquePointer?
        let created = LZ4F_createDecompressionContext(&dctx, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, let dctx else {
            throw CompressionError.corrupt("LZ4F_createDecompressionContext: \(errorName(created))")
        }
        defer { LZ4F_freeDecompressionContext(dctx) }

        // A declared content size is only a hint (hostile input may lie);
        // BoundedOutput caps it at the limit either way.
        let expected = declaredContentSize(input) ?? max(64 * 1024, input.count.multipliedReportingOverflow(by: 4).partialValue)
        let out = try BoundedOutput(limit: maxOutput, expected: expected)
        var offset = 0
        while true {
            if out.spare == 0 { try out.grow() }
            var dstSize = out.spare
            var srcSize = input.count - offset
            let hint = LZ4F_decompress(dctx, out.writePointer, &dstSize, src + offset, &srcSize, nil)
            guard LZ4F_isError(hint) == 0 else { throw CompressionError.corrupt(errorName(hint)) }
            offset += srcSize
            try out.commit(dstSize)
            if hint == 0 {
                // End of a frame; LZ4F is ready for a following one.
                if offset == input.count { return out }
                continue
            }
            if out.spare == 0 { continue }  // more output may be pending
            if offset == input.count { throw CompressionError.corrupt("ERROR_frameDecoding_truncated: LZ4 frame truncated") }
            if srcSize == 0 && dstSize == 0 { throw CompressionError.corrupt("LZ4F_decompress made no progress") }
        }
    }

    /// Offset of the header checksum byte (HC) of the frame starting at
    /// `frame`, or nil if it does not start with a complete frame header.
    private static func headerChecksumOffset(_ frame: [UInt8]) -> Int? {
        guard frame.count >= 7, frame.prefix(4).elementsEqual(frameMagic) else { return nil }
        let flg = frame[4]
        var offset = 6  // magic, FLG, BD
        if flg & 0x08 != 0 { offset += 8 }  // content size
        if flg & 0x01 != 0 { offset += 4 }  // dictionary id
        return offset < frame.count ? offset : nil
    }

    private static func declaredContentSize(_ input: UnsafeRawBufferPointer) -> Int? {
        guard input.count >= 14, input.prefix(4).elementsEqual(frameMagic), input[4] & 0x08 != 0 else { return nil }
        var size: UInt64 = 0
        for i in (0..<8).reversed() { size = size << 8 | UInt64(input[6 + i]) }
        return size > 0 && size <= UInt64(Int.max) ? Int(size) : nil
    }

    /// The LZ4 frame spec's HC: second byte of XXH32 over the descriptor.
    private static func correctChecksum(_ descriptor: UnsafeRawBufferPointer) -> UInt8 {
        UInt8(truncatingIfNeeded: XXHash32.hash(descriptor) >> 8)
    }

    /// Pre-0.10 Kafka's HC, which wrongly hashed the magic number too.
    private static func legacyChecksum(_ magicAndDescriptor: UnsafeRawBufferPointer) -> UInt8 {
        UInt8(truncatingIfNeeded: XXHash32.hash(magicAndDescriptor) >> 8)
    }

    private static func errorName(_ code: Int) -> String {
        guard let name = LZ4F_getErrorName(code) else { return "LZ4F error \(code)" }
        return String(cString: name)
    }
}
