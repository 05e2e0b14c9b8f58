import NIOCore
import CZlib

/// gzip (RFC 1952) via zlib, as Java's `GZIPOutputStream`/`GZIPInputStream`
/// and librdkafka write and read it.
enum GzipCodec {
    /// windowBits 15 + 16: zlib writes a gzip header and trailer.
    private static let gzipWindowBits: Int32 = 15 + 16
    /// windowBits 15 + 32: zlib detects a gzip or zlib header by itself.
    private static let autoDetectWindowBits: Int32 = 15 + 32
    /// zlib counts in 32-bit `uInt`; larger buffers are fed in slices.
    private static let maxChunk = Int(UInt32.max)

    static func compress(_ input: UnsafeRawBufferPointer, level: Int?) throws -> [UInt8] {
        // Java's GZIPOutputStream uses Deflater.DEFAULT_COMPRESSION (6);
        // negative levels mean that default, as Kafka's -1 does.
        let zlevel = level.map { $0 < 0 ? Z_DEFAULT_COMPRESSION : Int32(min(9, $0)) } ?? Z_DEFAULT_COMPRESSION

        // zlib keeps a pointer back to the z_stream and checks it on every
        // call, so the stream must not move: keep it on the heap.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deinitialize(count: 1); stream.deallocate() }

        let initStatus = deflateInit2_(stream, zlevel, Z_DEFLATED, gzipWindowBits, 8, Z_DEFAULT_STRATEGY,
                                       ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else { throw CompressionError.corrupt("deflateInit2: \(zlibName(initStatus))") }
        defer { deflateEnd(stream) }

        // deflateBound covers the gzip wrapper once deflateInit2 has set it,
        // so normally a single pass fills exactly one buffer.
        let bound = Int(deflateBound(stream, uLong(input.count)))
        let out = try BoundedOutput(limit: Int.max, expected: bound)
        var consumed = 0
        while true {
            if stream.pointee.avail_in == 0 && consumed < input.count {
                let slice = min(maxChunk, input.count - consumed)
                stream.pointee.next_in = input.baseAddress.map {
                    UnsafeMutablePointer(mutating: $0.advanced(by: consumed).assumingMemoryBound(to: Bytef.self))
                }
                stream.pointee.avail_in = uInt(slice)
                consumed += slice
            }
            if out.spare == 0 { try out.grow(minimum: 64 * 1024) }
            let room = min(maxChunk, out.spare)
            stream.pointee.next_out = out.writePointer
            stream.pointee.avail_out = uInt(room)
            let flush = consumed == input.count ? Z_FINISH : Z_NO_FLUSH
            let status = deflate(stream, flush)
            try out.commit(room - Int(stream.pointee.avail_out))
            if status == Z_STREAM_END { break }
            guard status == Z_OK || status == Z_BUF_ERROR else {
                throw CompressionError.corrupt("deflate: \(zlibName(status))")
            }
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
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deinitialize(count: 1); stream.deallocate() }

        let initStatus = inflateInit2_(stream, autoDetectWindowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else { throw CompressionError.corrupt("inflateInit2: \(zlibName(initStatus))") }
        defer { inflateEnd(stream) }

        // Record batches compress ~4x; the buffer doubles if that guess is low.
        let out = try BoundedOutput(limit: maxOutput, expected: max(4096, input.count.multipliedReportingOverflow(by: 4).partialValue))
        var consumed = 0
        while true {
            if stream.pointee.avail_in == 0 && consumed < input.count {
                let slice = min(maxChunk, input.count - consumed)
                stream.pointee.next_in = input.baseAddress.map {
                    UnsafeMutablePointer(mutating: $0.advanced(by: consumed).assumingMemoryBound(to: Bytef.self))
                }
                stream.pointee.avail_in = uInt(slice)
                consumed += slice
            }
            if out.spare == 0 { try out.grow() }
            let room = min(maxChunk, out.spare)
            stream.pointee.next_out = out.writePointer
            stream.pointee.avail_out = uInt(room)
            let status = inflate(stream, Z_NO_FLUSH)
            let produced = room - Int(stream.pointee.avail_out)
            try out.commit(produced)
            let inputLeft = Int(stream.pointee.avail_in) + (input.count - consumed)

            switch status {
            case Z_STREAM_END:
                // Concatenated gzip members are one valid stream (RFC 1952
                // section 2.2; Java's GZIPInputStream reads them too).
                if inputLeft == 0 { return out }
                guard inflateReset(stream) == Z_OK else { throw CompressionError.corrupt("inflateReset failed") }
            case Z_OK, Z_BUF_ERROR:
                // Out of room: grow and go on. Otherwise zlib wants input we
                // do not have, so the stream is cut short.
                if stream.pointee.avail_out == 0 { continue }
                if inputLeft == 0 { throw CompressionError.corrupt("Z_BUF_ERROR: truncated gzip stream") }
                if status == Z_BUF_ERROR { throw CompressionError.corrupt("Z_BUF_ERROR: no progress") }
            default:
                let detail = stream.pointee.msg.map { String(cString: $0) }
                throw CompressionError.corrupt(zlibName(status) + (detail.map { ": \($0)" } ?? ""))
            }
        }
    }

    private static func zlibName(_ status: Int32) -> String {
        switch status {
        case Z_OK: "Z_OK"
        case Z_STREAM_END: "Z_STREAM_END"
        case Z_NEED_DICT: "Z_NEED_DICT"
        case Z_ERRNO: "Z_ERRNO"
        case Z_STREAM_ERROR: "Z_STREAM_ERROR"
        case Z_DATA_ERROR: "Z_DATA_ERROR"
        case Z_MEM_ERROR: "Z_MEM_ERROR"
        case Z_BUF_ERROR: "Z_BUF_ERROR"
        case Z_VERSION_ERROR: "Z_VERSION_ERROR"
        default: "zlib error \(status)"
        }
    }
}
