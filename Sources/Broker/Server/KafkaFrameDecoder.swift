import KafkaProtocol
import NIOCore

/// Splits the byte stream into Kafka frames: a 4-byte big-endian size, then that many bytes.
/// Frames above the configured limit are refused before any of their body is buffered.
public struct KafkaFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    public enum FrameError: Error, Equatable, CustomStringConvertible {
        case frameTooLarge(Int, limit: Int)
        case negativeSize(Int32)
        public var description: String {
            switch self {
            case .frameTooLarge(let n, let limit): return "frame of \(n) bytes exceeds the limit of \(limit) bytes"
            case .negativeSize(let n): return "negative frame size \(n)"
            }
        }
    }

    let maxFrameBytes: Int

    public init(maxFrameBytes: Int) {
        self.maxFrameBytes = maxFrameBytes
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else { return .needMoreData }
        guard size >= 0 else { throw FrameError.negativeSize(size) }
        guard Int(size) <= maxFrameBytes else { throw FrameError.frameTooLarge(Int(size), limit: maxFrameBytes) }
        guard buffer.readableBytes >= 4 + Int(size) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        let frame = buffer.readSlice(length: Int(size))!
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
