/// The key of a keyed stream: an integer or a string. One concrete type (not a generic
/// parameter) keeps the keyed operators' hash maps specialised and fast whatever the job.
public struct StreamKey: Hashable, Sendable, CustomStringConvertible {
    public let int: Int64
    public let string: String?

    public init(_ v: Int64) { int = v; string = nil }
    public init(_ v: Int) { int = Int64(v); string = nil }
    public init(_ s: String) { int = 0; string = s }

    @inline(__always) public func hash(into h: inout Hasher) {
        if let string { h.combine(string) } else { h.combine(int) }
    }

    @inline(__always) public static func == (a: StreamKey, b: StreamKey) -> Bool {
        a.int == b.int && a.string == b.string
    }

    public var description: String { string ?? String(int) }

    /// The bytes a sink writes as the Kafka key (integers without going through a String).
    public var bytes: [UInt8] {
        if let string { return Array(string.utf8) }
        var w = JSONWriter(capacity: 20)
        w.appendInt(int)
        return w.bytes
    }
}
