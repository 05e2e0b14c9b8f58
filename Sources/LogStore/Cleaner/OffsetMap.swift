/// The cleaner's key → latest-offset map, in a fixed amount of memory (Kafka's SkimpyOffsetMap,
/// sized by `log.cleaner.dedupe.buffer.size`).
///
/// Keys are not stored, only a 128-bit digest of them (24 bytes a slot with the offset), so the
/// map's capacity does not depend on key sizes. Two keys sharing a digest would make the cleaner
/// drop the older one's latest value; with 128 bits the chance is about n²/2¹²⁹, which is what
/// Kafka accepts with MD5. Open addressing with linear probing, filled to at most `loadFactor`.
struct OffsetMap {
    static let bytesPerEntry = 24
    static let loadFactor = 0.9

    private var slots: [UInt64]  // 3 words a slot: digest high, digest low, offset
    let capacity: Int
    private(set) var count = 0
    /// Largest offset put so far (-1 when empty).
    private(set) var latestOffset: Int64 = -1

    /// A map in at most `memoryBytes`, and no larger than `expectedKeys` needs.
    init(memoryBytes: Int, expectedKeys: Int) {
        let limit = max(16, memoryBytes / Self.bytesPerEntry)
        let wanted = max(16, Int(Double(max(expectedKeys, 1)) / Self.loadFactor) + 1)
        capacity = min(limit, wanted)
        slots = [UInt64](repeating: 0, count: capacity * 3)
    }

    /// Keys that still fit before the load factor is reached.
    var remaining: Int { max(0, Int(Double(capacity) * Self.loadFactor) - count) }
    var isFull: Bool { remaining == 0 }

    /// Records `offset` as the latest for `key`. Offsets must be put in increasing order.
    mutating func put(_ key: UnsafeRawBufferPointer, offset: Int64) {
        let (h, l) = Self.digest(key)
        var i = Int(truncatingIfNeeded: l % UInt64(capacity))
        while true {
            let base = i * 3
            if slots[base] == 0 && slots[base + 1] == 0 {
                slots[base] = h
                slots[base + 1] = l
                slots[base + 2] = UInt64(bitPattern: offset)
                count += 1
                break
            }
            if slots[base] == h && slots[base + 1] == l {
                slots[base + 2] = UInt64(bitPattern: offset)
                break
            }
            i += 1
            if i == capacity { i = 0 }
        }
        latestOffset = max(latestOffset, offset)
    }

    /// The latest offset put for `key`, nil if none.
    func get(_ key: UnsafeRawBufferPointer) -> Int64? {
        let (h, l) = Self.digest(key)
        var i = Int(truncatingIfNeeded: l % UInt64(capacity))
        for _ in 0..<capacity {
            let base = i * 3
            if slots[base] == 0 && slots[base + 1] == 0 { return nil }
            if slots[base] == h && slots[base + 1] == l { return Int64(bitPattern: slots[base + 2]) }
            i += 1
            if i == capacity { i = 0 }
        }
        return nil
    }

    /// MurmurHash3 x64 128 of the key; the all-zero digest marks an empty slot, so it is moved.
    static func digest(_ key: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        var (h, l) = Murmur3.hash128(key, seed: 0x5eed_c1ea)
        if h == 0 && l == 0 { l = 1 }
        return (h, l)
    }
}

/// MurmurHash3, x64 128-bit variant (Austin Appleby's public-domain algorithm).
enum Murmur3 {
    private static let c1: UInt64 = 0x87c3_7b91_1142_53d5
    private static let c2: UInt64 = 0x4cf5_ad43_2745_937f

    @inline(__always) private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always) private static func fmix(_ k: UInt64) -> UInt64 {
        var k = k
        k ^= k >> 33
        k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }

    static func hash128(_ data: UnsafeRawBufferPointer, seed: UInt32) -> (UInt64, UInt64) {
        let len = data.count
        let blocks = len / 16
        var h1 = UInt64(seed)
        var h2 = UInt64(seed)
        for i in 0..<blocks {
            var k1 = UInt64(littleEndian: data.loadUnaligned(fromByteOffset: i * 16, as: UInt64.self))
            var k2 = UInt64(littleEndian: data.loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt64.self))
            k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
            h1 = rotl(h1, 27); h1 &+= h2; h1 = h1 &* 5 &+ 0x52dc_e729
            k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2
            h2 = rotl(h2, 31); h2 &+= h1; h2 = h2 &* 5 &+ 0x3849_5ab5
        }
        let tail = blocks * 16
        var k1: UInt64 = 0
        var k2: UInt64 = 0
        let rest = len & 15
        if rest > 8 {
            for j in stride(from: rest - 1, through: 8, by: -1) { k2 ^= UInt64(data[tail + j]) << (UInt64(j - 8) * 8) }
            k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2
        }
        if rest > 0 {
            for j in stride(from: min(rest, 8) - 1, through: 0, by: -1) { k1 ^= UInt64(data[tail + j]) << (UInt64(j) * 8) }
            k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
        }
        h1 ^= UInt64(len); h2 ^= UInt64(len)
        h1 &+= h2; h2 &+= h1
        h1 = fmix(h1); h2 = fmix(h2)
        h1 &+= h2; h2 &+= h1
        return (h1, h2)
    }
}
