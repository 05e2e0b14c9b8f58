/// Kafka's 128-bit UUID (topic ids). A value type of two words so it hashes and compares cheaply.
public struct KafkaUUID: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public static let zero = KafkaUUID(high: 0, low: 0)

    public static func random() -> KafkaUUID {
        var g = SystemRandomNumberGenerator()
        // Kafka avoids ids whose base64 form starts with '-' and the all-zero/one sentinels.
        while true {
            let u = KafkaUUID(high: (g.next() & ~0xF000) | 0x4000, low: (g.next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000)
            if u != .zero && u.high >> 58 != 0x3E && u.high >> 58 != 0x3F { return u }
        }
    }

    /// URL-safe base64 without padding: how Kafka prints topic ids.
    public var description: String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(16)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: high >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: low >> UInt64(shift))) }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out = [UInt8]()
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let n = (b0 << 16) | (b1 << 8) | b2
            out.append(alphabet[Int((n >> 18) & 63)])
            out.append(alphabet[Int((n >> 12) & 63)])
            if i + 1 < bytes.count { out.append(alphabet[Int((n >> 6) & 63)]) }
            if i + 2 < bytes.count { out.append(alphabet[Int(n & 63)]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    public init?(base64 text: String) {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var lookup = [UInt8: UInt32]()
        for (i, c) in alphabet.enumerated() { lookup[c] = UInt32(i) }
        var bits: UInt32 = 0
        var nbits = 0
        var bytes = [UInt8]()
        for c in text.utf8 {
            guard let v = lookup[c] else { return nil }
            bits = (bits << 6) | v
            nbits += 6
            if nbits >= 8 {
                nbits -= 8
                bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(nbits)))
            }
        }
        guard bytes.count == 16 else { return nil }
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<8 { h = (h << 8) | UInt64(bytes[i]) }
        for i in 8..<16 { l = (l << 8) | UInt64(bytes[i]) }
        self.init(high: h, low: l)
    }
}
