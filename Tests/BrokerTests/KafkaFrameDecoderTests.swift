@testable import Broker
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@Suite struct KafkaFrameDecoderTests {
    func frame(_ body: [UInt8]) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(Int32(body.count), endianness: .big)
        b.writeBytes(body)
        return b
    }

    @Test func splitsFramesFedByteByByte() throws {
        // NIO's verifier feeds the input in every split (byte by byte included) and checks the output.
        let bodies: [[UInt8]] = [[1, 2, 3], [], Array(repeating: 7, count: 300)]
        var input = ByteBuffer()
        for b in bodies { input.writeImmutableBuffer(frame(b)) }
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(input, bodies.map { ByteBuffer(bytes: $0) })],
            decoderFactory: { KafkaFrameDecoder(maxFrameBytes: 1024) })
    }

    @Test func refusesOversizedFrameBeforeBuffering() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: 100)))
        var b = ByteBuffer()
        b.writeInteger(Int32(101), endianness: .big)
        #expect(throws: KafkaFrameDecoder.FrameError.frameTooLarge(101, limit: 100)) {
            try channel.writeInbound(b)
        }
    }

    @Test func refusesNegativeSize() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: 100)))
        var b = ByteBuffer()
        b.writeInteger(Int32(-5), endianness: .big)
        #expect(throws: KafkaFrameDecoder.FrameError.negativeSize(-5)) {
            try channel.writeInbound(b)
        }
    }
}
