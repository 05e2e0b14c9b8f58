/// Kafka's murmur2 (the Java client's `Utils.murmur2`, seed 0x9747b28c), byte-compatible so a
/// key lands on the same partition whichever client produced it.
public enum Murmur2 {
    public static func hash<C: Collection>(_ data: C) -> Int32 where C.Element == UInt8 {
        if let h = data.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) { return h }
        return Array(data).withUnsafeBytes { hash($0) }
    }

    public static func hash(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        let seed: UInt32 = 0x9747_b28c
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        let length = bytes.count
        var h: UInt32 = seed ^ UInt32(truncatingIfNeeded: length)
        let length4 = length / 4
        for i in 0..<length4 {
            let i4 = i * 4
            var k = UInt32(bytes[i4]) | UInt32(bytes[i4 + 1]) << 8 | UInt32(bytes[i4 + 2]) << 16 | UInt32(bytes[i4 + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let rest = length % 4
        let base = length & ~3
        if rest == 3 { h ^= UInt32(bytes[base + 2]) << 16 }
        if rest >= 2 { h ^= UInt32(bytes[base + 1]) << 8 }
        if rest >= 1 {
            h ^= UInt32(bytes[base])
            h = h &* m
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    /// `Utils.toPositive(murmur2(key)) % partitions`, the Java default partitioner for keyed records.
    public static func partition<C: Collection>(forKey key: C, partitionCount: Int) -> Int32 where C.Element == UInt8 {
        precondition(partitionCount > 0)
        let positive = hash(key) & 0x7fff_ffff
        return positive % Int32(partitionCount)
    }
}

/// How the producer picks a partition for a record without an explicit one.
public enum KafkaPartitioner: Sendable {
    /// Java's default: murmur2 of the key; records without a key stick to one partition until
    /// its batch is sent, then move on (KIP-480). librdkafka's `murmur2_random` agrees on keyed
    /// records.
    case murmur2Sticky
    /// Keyed like `murmur2Sticky`; records without a key are spread round-robin.
    case murmur2RoundRobin
    /// A custom function of (topic, key, partition count).
    case custom(@Sendable (String, [UInt8]?, Int) -> Int32)
}
