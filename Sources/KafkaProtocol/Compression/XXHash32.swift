/// XXH32, needed only to compute LZ4 frame header checksums ourselves when
/// reading or writing the broken magic v0 variant (liblz4 does not export
/// its copy of xxHash).
enum XXHash32 {
    private static let p1: UInt32 = 0x9E37_79B1
    private static let p2: UInt32 = 0x85EB_CA77
    private static let p3: UInt32 = 0xC2B2_AE3D
    private static let p4: UInt32 = 0x27D4_EB2F
    private static let p5: UInt32 = 0x1656_67B1

    static func hash(_ data: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        func word(_ i: Int) -> UInt32 {
            UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24
        }
        func round(_ acc: UInt32, _ input: UInt32) -> UInt32 {
            rotl(acc &+ input &* p2, 13) &* p1
        }
        let count = data.count
        var offset = 0
        var h: UInt32
        if count >= 16 {
            var v1 = seed &+ p1 &+ p2, v2 = seed &+ p2, v3 = seed, v4 = seed &- p1
            while offset + 16 <= count {
                v1 = round(v1, word(offset))
                v2 = round(v2, word(offset + 4))
                v3 = round(v3, word(offset + 8))
                v4 = round(v4, word(offset + 12))
                offset += 16
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
        } else {
            h = seed &+ p5
        }
        h = h &+ UInt32(truncatingIfNeeded: count)
        while offset + 4 <= count {
            h = rotl(h &+ word(offset) &* p3, 17) &* p4
            offset += 4
        }
        while offset < count {
            h = rotl(h &+ UInt32(data[offset]) &* p5, 11) &* p1
            offset += 1
        }
        h ^= h >> 15
        h = h &* p2
        h ^= h >> 13
        h = h &* p3
        h ^= h >> 16
        return h
    }

    private static func rotl(_ x: UInt32, _ r: UInt32) -> UInt32 { x << r | x >> (32 - r) }
}
