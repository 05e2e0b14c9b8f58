import KafkaProtocol
import Logging
import NIOCore

/// One client connection. Requests may complete out of order (an acks=all produce waits for
/// fsync, a fetch long-polls) but Kafka clients match responses by order, so answers are
/// queued and written strictly in request order. Too many requests in flight stop reading
/// from the socket until answers drain (back-pressure instead of unbounded memory).
/// On `ChannelShouldQuiesceEvent` (graceful shutdown) it reads nothing more, answers what it
/// has read — an acks=all produce after its fsync, a parked fetch when it wakes — then closes.
final class ConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let broker: RequestDispatcher
    private var logger: Logger
    private let maxInFlight: Int

    private enum Slot {
        case pending
        case ready(ByteBuffer?)
    }
    /// Answers in request order; the head is written as soon as it is ready.
    private var slots: [UInt64: Slot] = [:]
    private var nextSlot: UInt64 = 0
    private var headSlot: UInt64 = 0
    private var readPaused = false
    /// No more answers can be written (the channel is gone, or half-closed by quiescing).
    private var closed = false
    private var quiescing = false

    init(broker: RequestDispatcher, logger: Logger, maxInFlight: Int = 256) {
        self.broker = broker
        self.logger = logger
        self.maxInFlight = maxInFlight
    }

    func channelActive(context: ChannelHandlerContext) {
        if let remote = context.remoteAddress { logger[metadataKey: "peer"] = "\(remote)" }
        broker.metrics.connectionOpened()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        broker.metrics.connectionClosed()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed else { return }  // half-closed while quiescing: nothing more is served
        let frame = unwrapInboundIn(data)
        let slot = nextSlot
        nextSlot += 1
        slots[slot] = .pending
        let eventLoop = context.eventLoop
        let ctx = RequestContext(eventLoop: eventLoop, clientAddress: context.remoteAddress, logger: logger)
        switch broker.handle(frame: frame, context: ctx) {
        case .respond(let buffer):
            complete(slot: slot, with: buffer, context: context)
        case .noResponse:
            complete(slot: slot, with: nil, context: context)
        case .later(let future):
            future.hop(to: eventLoop).assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success(let buffer): complete(slot: slot, with: buffer, context: context)
                case .failure(let error):
                    logger.warning("request failed, closing connection", metadata: ["error": "\(error)"])
                    context.close(promise: nil)
                }
            }
        case .close(let reason):
            logger.warning("closing connection", metadata: ["reason": "\(reason)"])
            context.close(promise: nil)
            return
        }
        if slots.count >= maxInFlight && !readPaused {
            readPaused = true
            _ = context.channel.setOption(ChannelOptions.autoRead, value: false)
        }
    }

    private func complete(slot: UInt64, with buffer: ByteBuffer?, context: ChannelHandlerContext) {
        guard !closed else { return }
        slots[slot] = .ready(buffer)
        var wrote = false
        while case .ready(let b)? = slots[headSlot] {
            slots[headSlot] = nil
            headSlot += 1
            if let b {
                context.write(wrapOutboundOut(b), promise: nil)
                wrote = true
            }
        }
        if wrote { context.flush() }
        if quiescing {
            closeIfAnswered(context: context)
        } else if readPaused && slots.count < maxInFlight / 2 {
            readPaused = false
            _ = context.channel.setOption(ChannelOptions.autoRead, value: true)
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        quiescing = true
        _ = context.channel.setOption(ChannelOptions.autoRead, value: false)
        closeIfAnswered(context: context)
    }

    /// While quiescing, once nothing is pending: half-close, so the answers being written and
    /// then a FIN reach the client, and read on (discarding) until the client closes its side.
    /// Closing outright with unread bytes in the socket would send a reset instead.
    private func closeIfAnswered(context: ChannelHandlerContext) {
        guard slots.isEmpty, !closed else { return }
        closed = true
        context.close(mode: .output, promise: nil)
        _ = context.channel.setOption(ChannelOptions.autoRead, value: true)
        context.read()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let e = error as? KafkaFrameDecoder.FrameError {
            logger.warning("bad frame, closing connection", metadata: ["error": "\(e)"])
            broker.metrics.badFrame()
        } else if let e = error as? IOError, e.errnoCode == 104 || e.errnoCode == 32 {
            logger.debug("connection reset", metadata: ["error": "\(e)"])
        } else {
            logger.info("connection error, closing", metadata: ["error": "\(error)"])
        }
        context.close(promise: nil)
    }
}

/// What the dispatcher decided for one request frame.
enum DispatchResult {
    case respond(ByteBuffer)
    case noResponse
    case later(EventLoopFuture<ByteBuffer?>)
    case close(String)
}

/// Per-request facts a handler may need.
struct RequestContext {
    let eventLoop: any EventLoop
    let clientAddress: SocketAddress?
    let logger: Logger
    /// Of the request being served (handlers that frame their own answer need it).
    var correlationId: Int32 = 0
}
