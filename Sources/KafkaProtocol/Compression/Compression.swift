import NIOCore

/// Kafka's record-batch compression codecs, framed the way real clients
/// (Java, librdkafka, kafka-python/aiokafka) write and read them.
public enum Compression {
    /// Compress with Kafka's framing for this codec (what Kafka's Java client writes).
    ///
    /// `level` is codec-specific and clamped to the library's range: gzip 0-9
    /// (default 6, like Java's `Deflater`), lz4 1-12 (default: the fast
    /// compressor, like Java's `Lz4BlockOutputStream` at its default level),
    /// zstd min...max (default 3, like zstd-jni). Snappy has no levels.
    public static func compress(_ codec: CompressionCodec, _ input: UnsafeRawBufferPointer, level: Int? = nil) throws -> [UInt8] {
        switch codec {
        case .none: return [UInt8](input)
        case .gzip: return try GzipCodec.compress(input, level: level)
        case .snappy: return try SnappyCodec.compress(input)
        case .lz4: return try LZ4Codec.compress(input, level: level, legacyHeaderChecksum: false)
        case .zstd: return try ZstdCodec.compress(input, level: level)
        }
    }

    /// Decompress; any output larger than maxOutput throws .outputTooLarge (decompression bombs are hostile input).
    public static func decompress(_ codec: CompressionCodec, _ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> [UInt8] {
        switch codec {
        case .none:
            guard input.count <= maxOutput else { throw CompressionError.outputTooLarge(limit: maxOutput) }
            return [UInt8](input)
        case .gzip: return try GzipCodec.decompress(input, maxOutput: maxOutput)
        case .snappy: return try SnappyCodec.decompress(input, maxOutput: maxOutput)
        case .lz4: return try LZ4Codec.decompress(input, maxOutput: maxOutput, legacyHeaderChecksum: false)
        case .zstd: return try ZstdCodec.decompress(input, maxOutput: maxOutput)
        }
    }

    /// Compresses `input` and appends the result to `output` (lz4 and none without an
    /// intermediate copy: the producer's hot path).
    public static func compress(_ codec: CompressionCodec, _ input: UnsafeRawBufferPointer, appendingTo output: inout ByteBuffer,
                                level: Int? = nil) throws {
        switch codec {
        case .none: output.writeBytes(input)
        case .lz4: try LZ4Codec.compress(input, level: level, appendingTo: &output)
        default: output.writeBytes(try compress(codec, input, level: level))
        }
    }

    /// Decompresses into a ByteBuffer (what record decoding reads), with the same limit.
    public static func decompressToBuffer(_ codec: CompressionCodec, _ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> ByteBuffer {
        switch codec {
        case .none:
            guard input.count <= maxOutput else { throw CompressionError.outputTooLarge(limit: maxOutput) }
            return ByteBuffer(bytes: input)
        case .lz4: return try LZ4Codec.decompressToBuffer(input, maxOutput: maxOutput)
        case .gzip: return try GzipCodec.decompressToBuffer(input, maxOutput: maxOutput)
        case .snappy: return try SnappyCodec.decompressToBuffer(input, maxOutput: maxOutput)
        case .zstd: return try ZstdCodec.decompressToBuffer(input, maxOutput: maxOutput)
        }
    }

    public static func compress(_ codec: CompressionCodec, _ input: [UInt8], level: Int? = nil) throws -> [UInt8] {
        try input.withUnsafeBytes { try compress(codec, $0, level: level) }
    }

    public static func decompress(_ codec: CompressionCodec, _ input: [UInt8], maxOutput: Int) throws -> [UInt8] {
        try input.withUnsafeBytes { try decompress(codec, $0, maxOutput: maxOutput) }
    }

    // MARK: Magic v0 LZ4

    /// LZ4 as written inside magic v0 message sets: Kafka before 0.10
    /// (KAFKA-3160) hashed the frame magic into the header checksum byte, so
    /// those frames fail a correct LZ4F decoder. Decompression accepts either
    /// checksum here (as Java's broker does for v0); use this only for magic 0.
    public static func decompressLegacyLZ4(_ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> [UInt8] {
        try LZ4Codec.decompress(input, maxOutput: maxOutput, legacyHeaderChecksum: true)
    }

    /// LZ4 with the broken magic v0 header checksum, for down-converting to
    /// consumers that read magic 0.
    public static func compressLegacyLZ4(_ input: UnsafeRawBufferPointer, level: Int? = nil) throws -> [UInt8] {
        try LZ4Codec.compress(input, level: level, legacyHeaderChecksum: true)
    }
}
