import NIOCore
import CZstd

/// Zstandard frames. Java's client (zstd-jni `ZstdOutputStream`) and
/// librdkafka stream their output, so frames often omit the content size;
/// decompression therefore streams and never trusts a declared size.
enum ZstdCodec {
    /// Kafka's and zstd's default level.
    static let defaultLevel: Int32 = 3

    static func compress(_ input: UnsafeRawBufferPointer, level: Int?) throws -> [UInt8] {
        let clevel = level.map { Int32(clamping: min(Int(ZSTD_maxCLevel()), max(Int(ZSTD_minCLevel()), $0))) } ?? defaultLevel
        let bound = ZSTD_compressBound(input.count)
        guard ZSTD_isError(bound) == 0 else { throw CompressionError.corrupt(errorName(bound)) }
        let out = try BoundedOutput(limit: Int.max, expected: bound)
        var empty: UInt8 = 0
        let written = withUnsafeMutablePointer(to: &empty) { emptyPointer in
            ZSTD_compress(out.writePointer, out.spare, input.baseAddress ?? UnsafeRawPointer(emptyPointer), input.count, clevel)
        }
        guard ZSTD_isError(written) == 0 else { throw CompressionError.corrupt(errorName(written)) }
        try out.commit(written)
        return out.toArray()
    }

    static func decompress(_ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> [UInt8] {
        try decompressOutput(input, maxOutput: maxOutput).toArray()
    }

    static func decompressToBuffer(_ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> ByteBuffer {
        try decompressOutput(input, maxOutput: maxOutput).toByteBuffer()
    }

    private static func decompressOutput(_ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> BoundedOutput {
        guard let src = input.baseAddress, input.count > 0 else {
            throw CompressionError.corrupt("Src size is incorrect: empty zstd input")
        }
        guard let dctx = ZSTD_createDCtx() else { throw CompressionError.corrupt("ZSTD_createDCtx failed") }
        defer { ZSTD_freeDCtx(dctx) }
        // zstd's own default window limit (2^27) bounds the decoder's memory
        // however large a window a hostile frame declares; stating it here
        // keeps that guarantee if the library default ever changes.
        _ = ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 27)

        let declared = ZSTD_getFrameContentSize(src, input.count)
        // ZSTD_CONTENTSIZE_UNKNOWN and _ERROR are the two largest UInt64s.
        let expected = declared < UInt64.max - 1 && declared <= UInt64(Int.max)
            ? Int(declared) : max(64 * 1024, input.count.multipliedReportingOverflow(by: 4).partialValue)
        let out = try BoundedOutput(limit: maxOutput, expected: expected)

        var inBuffer = ZSTD_inBuffer(src: src, size: input.count, pos: 0)
        while true {
            if out.spare == 0 { try out.grow() }
            var outBuffer = ZSTD_outBuffer(dst: out.writePointer, size: out.spare, pos: 0)
            let inBefore = inBuffer.pos
            let hint = ZSTD_decompressStream(dctx, &outBuffer, &inBuffer)
            guard ZSTD_isError(hint) == 0 else { throw CompressionError.corrupt(errorName(hint)) }
            try out.commit(outBuffer.pos)
            if hint == 0 {
                // A frame ended; further input is another frame (or a
                // skippable one), which the same context decodes next.
                if inBuffer.pos == inBuffer.size { return out }
                continue
            }
            if outBuffer.pos == outBuffer.size { continue }  // output full: more may be pending
            if inBuffer.pos == inBuffer.size { throw CompressionError.corrupt("zstd frame truncated") }
            if inBuffer.pos == inBefore && outBuffer.pos == 0 { throw CompressionError.corrupt("ZSTD_decompressStream made no progress") }
        }
    }

    private static func errorName(_ code: Int) -> String {
        guard let name = ZSTD_getErrorName(code) else { return "zstd error \(code)" }
        return String(cString: name)
    }
}
