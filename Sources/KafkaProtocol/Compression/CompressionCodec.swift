/// A Kafka compression codec, as stored in bits 0-2 of a record batch's (or
/// legacy message's) attributes.
public enum CompressionCodec: Int8, Sendable, CaseIterable {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4

    /// Bits of the attributes field that hold the codec id.
    public static let attributesMask: Int16 = 0x07

    /// The codec named by a batch's attributes. Ids 5-7 fit in the three bits
    /// but name no codec, so they are an error rather than `nil`.
    public init(attributes: Int16) throws {
        let id = Int8(truncatingIfNeeded: attributes & Self.attributesMask)
        guard let codec = CompressionCodec(rawValue: id) else {
            throw CompressionError.unsupportedCodec(id)
        }
        self = codec
    }

    /// The name Kafka uses in `compression.type` configs.
    public var name: String {
        switch self {
        case .none: "none"
        case .gzip: "gzip"
        case .snappy: "snappy"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }

    /// Parses a `compression.type` value (case-insensitive, like Kafka).
    public init?(name: String) {
        guard let codec = Self.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = codec
    }
}

public enum CompressionError: Error, Sendable, Equatable {
    /// The attributes named a codec id this broker does not know (5-7).
    case unsupportedCodec(Int8)
    /// The input is not valid for the codec; the string carries the
    /// library's error name so logs can tell truncation from garbage.
    case corrupt(String)
    /// Decompressing would produce more than `limit` bytes.
    case outputTooLarge(limit: Int)
}

extension CompressionError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unsupportedCodec(let id): "unsupported compression codec id \(id)"
        case .corrupt(let why): "corrupt compressed data: \(why)"
        case .outputTooLarge(let limit): "decompressed data exceeds the limit of \(limit) bytes"
        }
    }
}
