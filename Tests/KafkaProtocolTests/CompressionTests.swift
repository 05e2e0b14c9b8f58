import NIOCore
import Testing
@testable import KafkaProtocol

// Independent-tool checks of *our* output, done by hand once (dev
// package outside the repo): Compression.compress output for empty, 1-byte,
// text, 70 000-byte (3 xerial blocks) and 300 KB inputs decompressed to the
// original with every one of:
//   gzip:   `gzip -dc`, Python `gzip.decompress`, kafka-python `gzip_decode`
//   zstd:   `zstd -dc`, Python `zstandard` stream reader, kafka-python `zstd_decode`
//   lz4:    `lz4 -dc`, Python `lz4.frame.decompress`, kafka-python `lz4_decode`;
//           header is 04 22 4D 18 60 40 82, byte-for-byte Java's Lz4BlockOutputStream
//           header; the legacy variant's HC matched Python `xxhash` over magic+descriptor
//   snappy: snappy-java 1.1.8.3 `SnappyInputStream` (what Kafka's Java client
//           reads with), kafka-python `snappy_decode`. Our xerial output was
//           byte-identical to snappy-java's `SnappyOutputStream` and to
//           kafka-python's `snappy_encode` for all non-empty inputs. For empty
//           input snappy-java writes a bare 16-byte header, which kafka-python
//           (needs > 16 bytes) and librdkafka (needs > 20) misread as raw
//           snappy and reject, so we write raw snappy `00` instead (checked:
//           snappy-java and kafka-python both read it as empty).
// librdkafka was checked by reading its source (rdkafka_msgset_reader.c,
// snappy.c, rdkafka_lz4.c): it writes raw snappy and reads both framings.

@Suite("Compression codecs")
struct CompressionTests {
    static let compressedCodecs: [CompressionCodec] = [.gzip, .snappy, .lz4, .zstd]

    /// Deterministic bytes, so failures reproduce.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(state: seed)
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { buffer in
            var i = 0
            while i < count {
                var word = rng.next()
                for _ in 0..<min(8, count - i) {
                    buffer[i] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    i += 1
                }
            }
        }
        return out
    }

    /// Record-like text: repetitive keys and values with varying numbers.
    static func textLike(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count + 100)
        var i = 0
        while out.count < count {
            out += Array("{\"id\":\(i),\"user\":\"user-\(i % 97)\",\"event\":\"page_view\",\"ms\":\(i * 7919 % 100_000)}\n".utf8)
            i += 1
        }
        return Array(out.prefix(count))
    }

    // MARK: - Round trips

    @Test(arguments: CompressionCodec.allCases)
    func roundTripsSmallInputs(codec: CompressionCodec) throws {
        let inputs: [[UInt8]] = [[], [0x42], Self.textLike(10_000), Self.randomBytes(10_000, seed: 1)]
        for input in inputs {
            let compressed = try Compression.compress(codec, input)
            #expect(try Compression.decompress(codec, compressed, maxOutput: input.count) == input)
            if !input.isEmpty {
                // The limit is inclusive: exactly the output size passes, one less fails.
                #expect(throws: CompressionError.outputTooLarge(limit: input.count - 1)) {
                    try Compression.decompress(codec, compressed, maxOutput: input.count - 1)
                }
            }
        }
    }

    @Test(arguments: CompressionCodec.allCases)
    func roundTripsFiveMegabytes(codec: CompressionCodec) throws {
        // Half text, half random: exercises many blocks and buffer growth.
        let input = Self.textLike(2_500_000) + Self.randomBytes(2_500_000, seed: 2)
        let compressed = try Compression.compress(codec, input)
        #expect(try Compression.decompress(codec, compressed, maxOutput: 5_000_000) == input)
        #expect(try Compression.decompress(codec, compressed, maxOutput: Int.max) == input)
    }

    @Test func roundTripsAtExplicitLevels() throws {
        let input = Self.textLike(50_000)
        let levels: [(CompressionCodec, [Int])] = [
            (.gzip, [-7, 0, 1, 9, 42]), (.lz4, [-3, 1, 3, 9, 12, 17]), (.zstd, [-5, 1, 19, 99]), (.snappy, [5]),
        ]
        for (codec, codecLevels) in levels {
            for level in codecLevels {
                let compressed = try Compression.compress(codec, input, level: level)
                #expect(try Compression.decompress(codec, compressed, maxOutput: input.count) == input, "\(codec) level \(level)")
            }
        }
    }

    @Test func unsafeBufferAndArrayOverloadsAgree() throws {
        let input = Self.textLike(3_000)
        for codec in CompressionCodec.allCases {
            let viaBuffer = try input.withUnsafeBytes { try Compression.compress(codec, $0) }
            #expect(viaBuffer == (try Compression.compress(codec, input)))
            let back = try viaBuffer.withUnsafeBytes { try Compression.decompress(codec, $0, maxOutput: 3_000) }
            #expect(back == input)
        }
    }

    @Test(arguments: CompressionCodec.allCases)
    func byteBufferPathsMatchTheArrayPaths(codec: CompressionCodec) throws {
        for input in [[], [7], Self.textLike(3_000), Self.randomBytes(300_000, seed: 5)] {
            // Appending keeps what the buffer held before; the bytes appended equal the array API's.
            var out = ByteBuffer(bytes: [1, 2, 3])
            try input.withUnsafeBytes { try Compression.compress(codec, $0, appendingTo: &out) }
            #expect(Array(out.readableBytesView.prefix(3)) == [1, 2, 3])
            let appended = Array(out.readableBytesView.dropFirst(3))
            #expect(appended == (try Compression.compress(codec, input)))
            let back = try appended.withUnsafeBytes { try Compression.decompressToBuffer(codec, $0, maxOutput: input.count) }
            #expect(Array(back.readableBytesView) == input)
        }
    }

    @Test(arguments: CompressionTests.compressedCodecs)
    func decompressToBufferStopsBombs(codec: CompressionCodec) throws {
        let bomb = try Compression.compress(codec, [UInt8](repeating: 0, count: 20 << 20))
        #expect(throws: CompressionError.outputTooLarge(limit: 1 << 20)) {
            _ = try bomb.withUnsafeBytes { try Compression.decompressToBuffer(codec, $0, maxOutput: 1 << 20) }
        }
    }

    // MARK: - Decompression limits

    @Test(arguments: CompressionTests.compressedCodecs)
    func decompressionBombIsStopped(codec: CompressionCodec) throws {
        let zeros = [UInt8](repeating: 0, count: 50 << 20)
        let bomb = try Compression.compress(codec, zeros)
        #expect(bomb.count < 5 << 20)
        #expect(throws: CompressionError.outputTooLarge(limit: 1 << 20)) {
            try Compression.decompress(codec, bomb, maxOutput: 1 << 20)
        }
        #expect(throws: CompressionError.outputTooLarge(limit: 0)) {
            try Compression.decompress(codec, bomb, maxOutput: 0)
        }
    }

    @Test func uncompressedInputObeysTheLimitToo() throws {
        #expect(throws: CompressionError.outputTooLarge(limit: 2)) {
            try Compression.decompress(.none, [1, 2, 3], maxOutput: 2)
        }
        #expect(try Compression.decompress(.none, [1, 2, 3], maxOutput: 3) == [1, 2, 3])
    }

    @Test func snappyLengthHeadersAreCheckedBeforeAllocating() throws {
        // Raw snappy whose varint claims 2^32-1 bytes.
        #expect(throws: CompressionError.outputTooLarge(limit: 1 << 20)) {
            try Compression.decompress(.snappy, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00], maxOutput: 1 << 20)
        }
        // Xerial blocks each within the limit but together over it.
        let block = try Compression.compress(.snappy, [UInt8](repeating: 7, count: 30_000))
        let twoBlocks = block + block[16...]
        #expect(try Compression.decompress(.snappy, twoBlocks, maxOutput: 60_000).count == 60_000)
        #expect(throws: CompressionError.outputTooLarge(limit: 59_999)) {
            try Compression.decompress(.snappy, twoBlocks, maxOutput: 59_999)
        }
    }

    // MARK: - Hostile input

    @Test(arguments: CompressionTests.compressedCodecs)
    func truncatedInputThrowsAndNeverCrashes(codec: CompressionCodec) throws {
        let input = Self.textLike(20_000) + Self.randomBytes(3_000, seed: 3) + Self.textLike(60_000)
        let compressed = try Compression.compress(codec, input)
        var cuts = Set(stride(from: 0, to: compressed.count, by: max(1, compressed.count / 300)))
        cuts.formUnion(0..<min(40, compressed.count))
        cuts.formUnion(max(0, compressed.count - 40)..<compressed.count)
        for cut in cuts.sorted() {
            let truncated = Array(compressed.prefix(cut))
            do {
                let out = try Compression.decompress(codec, truncated, maxOutput: input.count)
                // Only xerial snappy has self-contained blocks: a cut exactly at a
                // block boundary is a valid, shorter stream (snappy-java agrees).
                #expect(codec == .snappy && out.count < input.count && input.starts(with: out), "cut at \(cut)")
            } catch let error as CompressionError {
                if case .corrupt = error {} else { Issue.record("cut at \(cut): \(error)") }
            }
        }
    }

    @Test(arguments: CompressionTests.compressedCodecs)
    func mutatedInputNeverCrashes(codec: CompressionCodec) throws {
        let input = Self.textLike(30_000) + Self.randomBytes(2_000, seed: 4)
        let compressed = try Compression.compress(codec, input)
        var rng = Self.SplitMix64(state: 5)
        for round in 0..<400 {
            var mutated = compressed
            for _ in 0..<(1 + round % 4) {
                let at = Int.random(in: 0..<mutated.count, using: &rng)
                mutated[at] ^= UInt8.random(in: 1...255, using: &rng)
            }
            // Formats without checksums may decode flipped literals "successfully";
            // what matters is no crash and that the limit still holds.
            if let out = try? Compression.decompress(codec, mutated, maxOutput: input.count) {
                #expect(out.count <= input.count)
            }
        }
    }

    @Test(arguments: CompressionTests.compressedCodecs)
    func garbageThrowsCorrupt(codec: CompressionCodec) throws {
        let garbage: [[UInt8]] = [
            [], Array("hello, this is not compressed at all".utf8),
            [0x1F, 0x8B, 0x08, 0x00], [0x28, 0xB5, 0x2F, 0xFD, 0x00], [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x00],
            SnappyCodec.xerialMagic + [0, 0, 0, 1, 0, 0, 0, 1, 0x7F, 0xFF, 0xFF, 0xFF, 0x01],
            SnappyCodec.xerialMagic + [0, 0, 0, 1, 0, 0, 0, 1, 0x00, 0x00],
        ]
        for bytes in garbage {
            #expect(throws: CompressionError.self) { try Compression.decompress(codec, bytes, maxOutput: 1 << 20) }
        }
        for seed in 0..<200 as Range<UInt64> {
            let bytes = Self.randomBytes(Int(seed % 97) + 1, seed: seed + 100)
            _ = try? Compression.decompress(codec, bytes, maxOutput: 1 << 20)
        }
    }

    @Test func corruptErrorsNameTheLibraryError() {
        func message(_ codec: CompressionCodec, _ bytes: [UInt8]) -> String {
            do { _ = try Compression.decompress(codec, bytes, maxOutput: 1000); return "no error" } catch {
                if case .corrupt(let why)? = error as? CompressionError { return why }
                return "\(error)"
            }
        }
        #expect(message(.gzip, [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF]).contains("Z_DATA_ERROR"))
        #expect(message(.lz4, [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x00, 0, 0, 0, 0]).contains("ERROR_headerChecksum_invalid"))
        #expect(message(.zstd, [0x28, 0xB5, 0x2F, 0xFE, 0, 0, 0, 0]).contains("Unknown frame descriptor"))
        #expect(message(.snappy, [0x05, 0xFF]).contains("SNAPPY_INVALID_INPUT"))
    }

    // MARK: - Framing details clients depend on

    @Test func snappyWritesXerialFramingInThirtyTwoKiBBlocks() throws {
        let input = Self.randomBytes(70_000, seed: 6)
        let out = try Compression.compress(.snappy, input)
        #expect(Array(out.prefix(16)) == SnappyCodec.xerialMagic + [0, 0, 0, 1, 0, 0, 0, 1])
        var offset = 16, blocks = 0, total = 0
        try out.withUnsafeBytes { bytes in
            while offset < bytes.count {
                let length = Int(SnappyCodec.blockLength(bytes, at: offset))
                offset += 4
                let block = try Compression.decompress(.snappy, Array(bytes[offset..<offset + length]), maxOutput: 1 << 20)
                #expect(block.count <= 32 * 1024)
                total += block.count
                offset += length
                blocks += 1
            }
        }
        #expect(blocks == 3 && total == 70_000 && offset == out.count)
        // Empty input: raw snappy, see the note at the top of this file.
        #expect(try Compression.compress(.snappy, []) == [0x00])
    }

    @Test func snappyAcceptsRawAndXerial() throws {
        #expect(try Compression.decompress(.snappy, Fixtures.snappyRaw, maxOutput: 1 << 20) == Fixtures.text)
        #expect(try Compression.decompress(.snappy, Fixtures.snappyXerialKafkaPython, maxOutput: 1 << 20) == Fixtures.blocks)
        #expect(try Compression.decompress(.snappy, Fixtures.snappyXerialJavaEmpty, maxOutput: 0) == [])
        // Some producers write the version fields little-endian; like snappy-java
        // and kafka-python we do not care.
        var oddVersion = try Compression.compress(.snappy, Fixtures.text)
        oddVersion.replaceSubrange(8..<16, with: [1, 0, 0, 0, 1, 0, 0, 0])
        #expect(try Compression.decompress(.snappy, oddVersion, maxOutput: 1 << 20) == Fixtures.text)
    }

    @Test func lz4FrameHeaderMatchesJavaClient() throws {
        // Lz4BlockOutputStream: FLG 0x60 (v1, independent blocks, no checksums,
        // no content size), BD 0x40 (64 KB blocks), HC 0x82.
        let header: [UInt8] = [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82]
        #expect(Array(try Compression.compress(.lz4, Fixtures.text).prefix(7)) == header)
        #expect(Array(try Compression.compress(.lz4, []).prefix(7)) == header)
    }

    @Test func legacyLZ4HeaderChecksum() throws {
        let legacy = Fixtures.lz4LegacyHC
        #expect(throws: CompressionError.self) { try Compression.decompress(.lz4, legacy, maxOutput: 1 << 20) }
        #expect(try legacy.withUnsafeBytes { try Compression.decompressLegacyLZ4($0, maxOutput: 1 << 20) } == Fixtures.text)
        // Proper frames still read in legacy mode, as in Java's v0 path.
        #expect(try Fixtures.lz4KafkaPython.withUnsafeBytes { try Compression.decompressLegacyLZ4($0, maxOutput: 1 << 20) } == Fixtures.text)

        let ours = try Fixtures.text.withUnsafeBytes { try Compression.compressLegacyLZ4($0) }
        let magicAndDescriptor: [UInt8] = [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40]
        let broken = UInt8(truncatingIfNeeded: magicAndDescriptor.withUnsafeBytes { XXHash32.hash($0) } >> 8)
        #expect(ours[6] == broken && broken != 0x82)
        #expect(try ours.withUnsafeBytes { try Compression.decompressLegacyLZ4($0, maxOutput: 1 << 20) } == Fixtures.text)
    }

    @Test func xxHash32KnownValues() {
        let vectors: [(String, UInt32)] = [
            ("", 0x02CC_5D05), ("a", 0x550D_7456), ("abc", 0x32D1_53FF),
            ("Nobody inspects the spammish repetition", 0xE229_3B2F),
        ]
        for (text, expected) in vectors {
            #expect(Array(text.utf8).withUnsafeBytes { XXHash32.hash($0) } == expected, "\(text)")
        }
    }

    @Test func codecFromAttributesAndName() throws {
        #expect(try CompressionCodec(attributes: 0x0000) == CompressionCodec.none)
        #expect(try CompressionCodec(attributes: 0x0013) == .lz4)  // transactional bit set too
        #expect(try CompressionCodec(attributes: 0x0004) == .zstd)
        #expect(throws: CompressionError.unsupportedCodec(5)) { try CompressionCodec(attributes: 0x0005) }
        #expect(throws: CompressionError.unsupportedCodec(7)) { try CompressionCodec(attributes: 0x00FF) }
        #expect(CompressionCodec(name: "ZSTD") == .zstd)
        #expect(CompressionCodec(name: "producer") == nil)
    }

    // MARK: - Interop fixtures

    /// Bytes written by independent tools, which we must decompress to exactly
    /// `Fixtures.text` or `Fixtures.blocks`. Generated once with:
    /// Python 3.11 gzip, gzip 1.12 CLI, zstd 1.5.4 CLI, python `zstandard`,
    /// lz4 1.9.4 CLI, python `lz4` 4.4.5, python-snappy 0.7.3, kafka-python
    /// 3.0.12 `kafka.codec` encoders, snappy-java 1.1.8.3, and python `xxhash`.
    @Test(arguments: [
        ("gzip, python gzip module", CompressionCodec.gzip, CompressionTests.Fixtures.gzipPython, CompressionTests.Fixtures.text),
        ("gzip, two members (python + gzip CLI)", .gzip, CompressionTests.Fixtures.gzipTwoMembers, CompressionTests.Fixtures.text),
        ("gzip, kafka-python gzip_encode", .gzip, CompressionTests.Fixtures.gzipKafkaPython, CompressionTests.Fixtures.text),
        ("zstd CLI from stdin (no content size)", .zstd, CompressionTests.Fixtures.zstdStreamCLI, CompressionTests.Fixtures.text),
        ("zstd, two frames (CLI)", .zstd, CompressionTests.Fixtures.zstdTwoFrames, CompressionTests.Fixtures.text),
        ("zstd, python zstandard without content size", .zstd, CompressionTests.Fixtures.zstdPythonStream, CompressionTests.Fixtures.text),
        ("lz4 CLI (4 MB blocks, content checksum)", .lz4, CompressionTests.Fixtures.lz4CLI, CompressionTests.Fixtures.text),
        ("lz4 CLI linked 64 KB blocks, block+content checksums, size", .lz4, CompressionTests.Fixtures.lz4CLILinked64K, CompressionTests.Fixtures.blocks),
        ("lz4, kafka-python lz4_encode", .lz4, CompressionTests.Fixtures.lz4KafkaPython, CompressionTests.Fixtures.text),
        ("lz4, kafka-python lz4_encode, 2 blocks", .lz4, CompressionTests.Fixtures.lz4KafkaPythonBlocks, CompressionTests.Fixtures.blocks),
        ("snappy raw, python-snappy (as librdkafka writes)", .snappy, CompressionTests.Fixtures.snappyRaw, CompressionTests.Fixtures.text),
        ("snappy xerial, kafka-python snappy_encode", .snappy, CompressionTests.Fixtures.snappyXerialKafkaPython, CompressionTests.Fixtures.blocks),
    ])
    func decompressesIndependentToolOutput(name: String, codec: CompressionCodec, fixture: [UInt8], expected: [UInt8]) throws {
        #expect(try Compression.decompress(codec, fixture, maxOutput: expected.count) == expected, "\(name)")
        #expect(throws: CompressionError.outputTooLarge(limit: expected.count - 1)) {
            try Compression.decompress(codec, fixture, maxOutput: expected.count - 1)
        }
    }

    enum Fixtures {
        static func hex(_ string: String) -> [UInt8] {
            let digits = string.unicodeScalars.filter { !$0.properties.isWhitespace }.map { UInt8($0.value) }
            func value(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10 }
            return stride(from: 0, to: digits.count, by: 2).map { value(digits[$0]) << 4 | value(digits[$0 + 1]) }
        }

        /// Python: b"".join(b"record %d: the quick brown fox jumps over the lazy dog\n" % i for i in range(40))
        static let text: [UInt8] = (0..<40).flatMap { Array("record \($0): the quick brown fox jumps over the lazy dog\n".utf8) }
        /// Python: bytes(i % 251 for i in range(70000)) — more than two 32 KiB / one 64 KB block.
        static let blocks: [UInt8] = (0..<70_000).map { UInt8($0 % 251) }
        /// snappy-java SnappyOutputStream on empty input: the bare xerial header.
        static let snappyXerialJavaEmpty = hex("82534e41505059000000000100000001")
        static let gzipPython = hex("""
            1f8b08000000000002039dd5c90d02410c05d13b513804eccf9e0dcc343b349819b6e8912002ea6cd5c94f7696a6666bc38575db62d77ed71c6c95f5
            71b6757ddabe3f5d6e56ef25bfe3e3f2fdb2b66e06f9ab1c55812aa16a84aa31aa26a89aa26a86aa39db32c4c17438e3e1cc873320ce843823e2cc88
            3324ce94045312f0863025c1940453124c493025c1940453124c899812312582af8629115322a6444c8998123125fa53c90747294d998e080000
            """)
        static let gzipTwoMembers = hex("""
            1f8b08000000000002039dd2391282501045d1dc55f4126c040576c3f06570686d19c4d5532509f18d5f9de85d0f95792dc75c8636c87becaa9b946e
            f353aef6957e7cbc3e6253f0ff7c2f7e8bd4d61c7c538a5484d409a918a904a9335217a452a432f6328c83d5a12c0f657d280b445921ca1251d688ee
            23590130bc1413e80300001f8b08000000000002039dd2c91182501405d1bd51dc10848b63360a5f0587a75f708ade2a2390de7655ef8eb6399e17ed
            e2a56e385fef8a47caea0f49a7cde7ad26f6939ceac88d8ad5fad76f435b1ff5f7564ed956b0ad649bd956b16dc6b639db166c5bb28d29315362a6c4
            4c8999123325664acc9498293153e2914abefdbaf922a6040000
            """)
        static let gzipKafkaPython = hex("""
            1f8b0800da20026b02ff9dd5c90d02410c05d13b513804eccf9e0dcc343b349819b6e8912002ea6cd5c94f7696a6666bc38575db62d77ed71c6c95f5
            71b6757ddabe3f5d6e56ef25bfe3e3f2fdb2b66e06f9ab1c55812aa16a84aa31aa26a89aa26a86aa39db32c4c17438e3e1cc873320ce843823e2cc88
            3324ce94045312f0863025c1940453124c493025c1940453124c899812312582af8629115322a6444c8998123125fa53c90747294d998e080000
            """)
        static let zstdStreamCLI = hex("""
            28b52ffd04586d050072451319704f3aa0b5963e12e9f5ffdee6ffbf12d09aa484aa557ffd6affffffbf6ddbb6ddb66d5bc24010003c779b84256232
            06c7a98a7112792c062f8620c4627760032d96844a4161c1613a43ea02292070338b0f4432e7ed647bcacedb93ed943d6f27db5376de9e6ca7ec793b
            d99eb2f3f6643b659fb7149d6c283a65273a6f263ad94a74ca4874de4674b289e89485e80482789e4e26a7e83c3d994ed1f374323d45716e0e772004
            5d06227fe2a3
            """)
        static let zstdTwoFrames = hex("""
            28b52ffd0458fd030024047265636f726420303a2074686520717569636b2062726f776e20666f78206a756d7073206f7665726c617a7920646f670a
            313233343536373839313131313131313114002804273b21ce9b0971b29510a78c84386f23c4c926429cb210e2048210e7099c4ce01481f3044e2670
            8ac0790227133845e0dcacdc811054196fb0f02128b52ffd046875030084042062726f776e20666f78206a756d7073206f76657220746865206c617a
            7920646f670a7265636f72642031393a717569636b3230313233343536373839333031323334353637383916a810d0acf57f03d07303101ae1ffff1b
            23f8ef6eee6633729bb1d971c85f4b6d176c199e3192a9
            """)
        static let zstdPythonStream = hex("""
            28b52ffd00106d050072451319704f3aa0b5963e12e9f5ffdee6ffbf12d09aa484aa557ffd6affffffbf6ddbb6ddb66d5bc24010003c779b84256232
            06c7a98a7112792c062f8620c4627760032d96844a4161c1613a43ea02292070338b0f4432e7ed647bcacedb93ed943d6f27db5376de9e6ca7ec793b
            d99eb2f3f6643b659fb7149d6c283a65273a6f263ad94a74ca4874de4674b289e89485e80482789e4e26a7e83c3d994ed1f374323d45716e0e772004
            5d06
            """)
        static let lz4CLI = hex("""
            04224d186440a700010000f1197265636f726420303a2074686520717569636b2062726f776e20666f78206a756d7073206f7665721f00936c617a79
            20646f670a36001f313600221f323600221f333600221f343600221f353600221f363600221f373600221f383600221f393600221f311d02240f1e02
            231f311f02231f312002231f312102231f312202231f312302231f312402231f312502231f312602231f322602231f322602231f322602231f322602
            231f322602231f322602231f322602231f322602231f322602231f322602231f332602231f332602231f332602231f332602231f332602231f332602
            231f332602231f332602231f332602231f332602175020646f670a00000000bda385a0
            """)
        static let lz4CLILinked64K = hex("""
            04224d185c407011010000000000e305020000ffec000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526
            2728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162
            636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e
            9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9da
            dbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafb00ffffffffffffffffffffffffffffffffffffffffffffffffffff
            ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
            ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
            ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
            ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffec5014151617188c2baf2d
            1b0000000fe7ffffffffffffffffffffffffffffffffffff6950d9dadbdcddc0a6fd6f000000003192d374
            """)
        static let lz4KafkaPython = hex("""
            04224d1868408e080000000000001400010000f1197265636f726420303a2074686520717569636b2062726f776e20666f78206a756d7073206f7665
            721f00936c617a7920646f670a36001f313600221f323600221f333600221f343600221f353600221f363600221f373600221f383600221f39360022
            1f311d02240f1e02231f311f02231f312002231f312102231f312202231f312302231f312402231f312502231f312602231f322602231f322602231f
            322602231f322602231f322602231f322602231f322602231f322602231f322602231f322602231f332602231f332602231f332602231f332602231f
            332602231f332602231f332602231f332602231f332602231f332602175020646f670a00000000
            """)
        static let lz4KafkaPythonBlocks = hex("""
            04224d18684070110100000000006105020000ffec000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526
            2728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162
            636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e
            9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9da
            dbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafb00ffffffffffffffffffffffffffffffffffffffffffffffffffff
            ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
            ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
            ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
            ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffec50141516171816010000
            ffec191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152
            535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e
            8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9ca
            cbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fa000102030405060708090a0b
            0c0d0e0f101112131415161718fb00ffffffffffffffffffffffffffffffff6d50d9dadbdcdd00000000
            """)
        static let snappyRaw = hex("""
            8e11a07265636f726420303a2074686520717569636b2062726f776e20666f78206a756d7073206f76657220011f206c617a7920646f670a0d360031
            d236000032d236000033d236000034d236000035d236000036d236000037d236000038d236000039d236000031da1d02d61e020031d61f020031d620
            020031d621020031d622020031d623020031d624020031d625020031d626020032d626020032d626020032d626020032d626020032d626020032d626
            020032d626020032d626020032d626020032d626020033d626020033d626020033d626020033d626020033d626020033d626020033d626020033d626
            020033d626020033ba2602
            """)
        static let snappyXerialKafkaPython = hex("""
            82534e41505059000000000100000001000006f9808002f0fd000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122
            232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e
            5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a
            9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6
            d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fa000102fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00
            eefb0009fb000006f9808002f0fd8a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7
            b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3
            f4f5f6f7f8f9fa000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334
            35363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f70
            7172737475767778797a7b7c7d7e7f808182838485868788898a8b8cfefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00eefb0009fb000001c8f022
            f0fd191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152
            535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e
            8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9ca
            cbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fa000102030405060708090a0b
            0c0d0e0f101112131415161718191a1bfefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb
            00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00fefb00c6fb00
            """)
        static let lz4LegacyHC = hex("""
            04224d1860401a00010000f1197265636f726420303a2074686520717569636b2062726f776e20666f78206a756d7073206f7665721f00936c617a79
            20646f670a36001f313600221f323600221f333600221f343600221f353600221f363600221f373600221f383600221f393600221f311d02240f1e02
            231f311f02231f312002231f312102231f312202231f312302231f312402231f312502231f312602231f322602231f322602231f322602231f322602
            231f322602231f322602231f322602231f322602231f322602231f322602231f332602231f332602231f332602231f332602231f332602231f332602
            231f332602231f332602231f332602231f332602175020646f670a00000000
            """)
    }
}
