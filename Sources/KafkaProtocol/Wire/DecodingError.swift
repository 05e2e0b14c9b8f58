/// Why a frame or message could not be decoded. Every case maps to a clear broker answer
/// (INVALID_REQUEST or a closed connection), never a crash.
public enum KafkaDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    case truncated(String)
    case invalidLength(String, Int)
    case invalidValue(String)
    case unsupportedVersion(apiKey: Int16, version: Int16)
    case unknownApiKey(Int16)
    case trailingBytes(Int)

    public var description: String {
        switch self {
        case .truncated(let what): return "truncated input while reading \(what)"
        case .invalidLength(let what, let n): return "invalid length \(n) for \(what)"
        case .invalidValue(let what): return "invalid value: \(what)"
        case .unsupportedVersion(let k, let v): return "unsupported version \(v) of api \(k)"
        case .unknownApiKey(let k): return "unknown api key \(k)"
        case .trailingBytes(let n): return "\(n) unexpected trailing bytes"
        }
    }
}
