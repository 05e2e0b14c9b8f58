import Atomics
import KafkaProtocol
import NIOCore
import NIOPosix
import NIOSSL

/// Splits the inbound byte stream into Kafka frames (int32 size prefix, removed).
final class KafkaClientFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxFrame: Int
    init(maxFrame: Int) { self.maxFrame = maxFrame }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else { return .needMoreData }
        guard size >= 4, Int(size) <= maxFrame else {
            throw KafkaError.protocolError("response frame of \(size) bytes")
        }
        guard buffer.readableBytes >= 4 + Int(size) else {
            // A large fetch response: make room for all of it once instead of doubling (and
            // copying) the buffer on the way.
            buffer.reserveCapacity(minimumWritableBytes: 4 + Int(size) - buffer.readableBytes)
            return .needMoreData
        }
        buffer.moveReaderIndex(forwardBy: 4)
        let frame = buffer.readSlice(length: Int(size))!
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }
}

/// One request on its way out: the frame, and what to do with the response.
struct OutboundKafkaRequest {
    var correlationId: Int32
    var frame: ByteBuffer
    /// False for Produce with acks=0: the promise completes once written.
    var expectResponse: Bool
    var flexibleResponseHeader: Bool
    var timeout: TimeAmount
    var apiName: String
    var promise: EventLoopPromise<ByteBuffer>
}

/// Matches responses to requests by correlation id; many requests may be in flight
/// (pipelining). A request without an answer within its timeout fails, and the connection is
/// closed (its later responses could not be trusted to line up any more).
final class KafkaClientHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = OutboundKafkaRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var promise: EventLoopPromise<ByteBuffer>
        var flexible: Bool
        var timeout: Scheduled<Void>?
    }
    private var pending: [Int32: Pending] = [:]
    private var closedError: KafkaError?
    let peer: String
    /// Why the connection ended, readable after the pipeline is gone (a TLS handshake failure
    /// closes the channel before the first request is even written).
    let closeReason: Locked<KafkaError?>

    init(peer: String, closeReason: Locked<KafkaError?> = Locked(nil)) {
        self.peer = peer
        self.closeReason = closeReason
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let req = unwrapOutboundIn(data)
        if let err = closedError {
            req.promise.fail(err)
            promise?.fail(err)
            return
        }
        if !req.expectResponse {
            let p = context.eventLoop.makePromise(of: Void.self)
            let peer = self.peer
            p.futureResult.whenComplete { r in
                switch r {
                case .success: req.promise.succeed(ByteBuffer())
                case .failure(let e): req.promise.fail(KafkaError.connectionClosed("\(peer): \(e)"))
                }
            }
            context.write(wrapOutboundOut(req.frame), promise: p)
            return
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let id = req.correlationId
        let api = req.apiName
        let task = context.eventLoop.scheduleTask(in: req.timeout) {
            let (handler, ctx) = loopBound.value
            handler.timedOut(id, api: api, context: ctx)
        }
        pending[id] = Pending(promise: req.promise, flexible: req.flexibleResponseHeader, timeout: task)
        context.write(wrapOutboundOut(req.frame), promise: promise)
    }

    private func timedOut(_ id: Int32, api: String, context: ChannelHandlerContext) {
        guard let p = pending.removeValue(forKey: id) else { return }
        p.promise.fail(KafkaError.requestTimedOut(api: api, broker: peer))
        failAll(KafkaError.connectionClosed("\(peer): closed after a request timed out"))
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        guard let id = frame.readInteger(endianness: .big, as: Int32.self) else { return }
        guard let p = pending.removeValue(forKey: id) else { return }  // late answer to a timed-out request
        p.timeout?.cancel()
        if p.flexible {
            do { try RequestHeader.skipTaggedFields(in: &frame) } catch {
                p.promise.fail(KafkaError.protocolError("bad response header tags: \(error)"))
                return
            }
        }
        p.promise.succeed(frame)
    }

    private func failAll(_ error: KafkaError) {
        if closedError == nil {
            closedError = error
            closeReason.withLock { if $0 == nil { $0 = error } }
        }
        let all = pending
        pending.removeAll()
        for (_, p) in all {
            p.timeout?.cancel()
            p.promise.fail(error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(KafkaError.connectionClosed(peer))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            failAll(KafkaError.connectionFailed("\(peer): TLS: \(error)"))
        } else {
            failAll(KafkaError.connectionClosed("\(peer): \(error)"))
        }
        context.close(promise: nil)
    }
}

/// API versions this client can speak, capped where newer versions need features it does not
/// use (Fetch v13+ and Produce v12+ name topics by id).
enum ClientApiVersions {
    static let caps: [ApiKey: Int16] = [
        .fetch: 12,
        .produce: 11,
    ]
}

/// One TCP connection to one broker, after ApiVersions negotiation. Safe to use from any task;
/// requests are pipelined.
public final class BrokerConnection: Sendable {
    public let nodeId: Int32
    public let address: BrokerAddress
    let channel: any Channel
    let clientId: String
    let requestTimeout: TimeAmount
    private let correlation = ManagedAtomic<Int32>(1)
    /// The broker's supported version range per API key.
    let brokerVersions: [Int16: ClosedRange<Int16>]

    private init(nodeId: Int32, address: BrokerAddress, channel: any Channel, clientId: String, requestTimeout: TimeAmount,
                 brokerVersions: [Int16: ClosedRange<Int16>]) {
        self.nodeId = nodeId
        self.address = address
        self.channel = channel
        self.clientId = clientId
        self.requestTimeout = requestTimeout
        self.brokerVersions = brokerVersions
    }

    public var isActive: Bool { channel.isActive }

    /// Connects and negotiates API versions.
    static func connect(nodeId: Int32, address: BrokerAddress, group: any EventLoopGroup, clientId: String,
                        connectTimeout: TimeAmount, requestTimeout: TimeAmount, tls: NIOSSLContext? = nil,
                        sasl: KafkaSASL? = nil, maxResponseBytes: Int = 512 << 20) async throws -> BrokerConnection {
        let peer = "\(address)"
        let serverName = address.tlsServerName
        let closeReason = Locked<KafkaError?>(nil)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            // Fetch responses run to megabytes: let reads grow past NIO's 64 KiB default.
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 16 << 10, maximum: 1 << 20))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaClientFrameDecoder(maxFrame: maxResponseBytes)))
                    try channel.pipeline.syncOperations.addHandler(KafkaClientHandler(peer: peer, closeReason: closeReason))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: address.host, port: address.port).get()
        } catch {
            throw KafkaError.connectionFailed("\(peer): \(error)")
        }
        do {
            let versions = try await negotiate(channel: channel, peer: peer, clientId: clientId, timeout: requestTimeout)
            if let sasl {
                try await authenticate(channel: channel, peer: peer, clientId: clientId, timeout: requestTimeout,
                                       versions: versions, sasl: sasl)
            }
            return BrokerConnection(nodeId: nodeId, address: address, channel: channel, clientId: clientId,
                                    requestTimeout: requestTimeout, brokerVersions: versions)
        } catch let e as KafkaError {
            try? await channel.close()
            if e.kind == .connectionClosed || e.kind == .connectionFailed {
                // Say why it closed (e.g. the TLS handshake failed) rather than that it did.
                throw closeReason.withLock { $0 } ?? e
            }
            throw e
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// SASL after ApiVersions: SaslHandshake v1 names the mechanism, then SaslAuthenticate
    /// carries the tokens until the exchange completes. Any failure closes the connection.
    private static func authenticate(channel: any Channel, peer: String, clientId: String, timeout: TimeAmount,
                                     versions: [Int16: ClosedRange<Int16>], sasl: KafkaSASL) async throws {
        guard let hs = versions[ApiKey.saslHandshake.rawValue], hs.upperBound >= 1,
              let auth = versions[ApiKey.saslAuthenticate.rawValue] else {
            throw KafkaError.authenticationFailed("\(peer) does not offer SASL (SaslHandshake v1 and SaslAuthenticate)")
        }
        let hsBody = try await rawSend(channel: channel, SaslHandshakeRequest(mechanism: sasl.mechanism.rawValue), version: 1,
                                       correlationId: 1, clientId: clientId, timeout: timeout, peer: peer)
        let handshake = try SaslHandshakeRequest.decodeResponse(from: hsBody, version: 1)
        if handshake.errorCode != 0 {
            throw KafkaError.authenticationFailed(
                "\(peer) does not enable \(sasl.mechanism.rawValue) (it offers \(handshake.mechanisms.joined(separator: ", ")))")
        }
        let version = min(auth.upperBound, SaslAuthenticateRequest.versions.upperBound)
        var client = SASLClient(sasl)
        var token: [UInt8]? = client.start()
        var correlationId: Int32 = 2
        while let t = token {
            let body = try await rawSend(channel: channel, SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: t)), version: version,
                                         correlationId: correlationId, clientId: clientId, timeout: timeout, peer: peer)
            correlationId += 1
            let r = try SaslAuthenticateRequest.decodeResponse(from: body, version: version)
            if r.errorCode != 0 {
                throw KafkaError.authenticationFailed("\(peer): \(r.errorMessage ?? KafkaError.name(of: r.errorCode))")
            }
            token = try client.respond(to: Array(r.authBytes.readableBytesView))
        }
    }

    private static func negotiate(channel: any Channel, peer: String, clientId: String, timeout: TimeAmount) async throws -> [Int16: ClosedRange<Int16>] {
        var version: Int16 = 3
        for _ in 0..<2 {
            var req = ApiVersionsRequest()
            req.clientSoftwareName = KafkaClientInfo.softwareName
            req.clientSoftwareVersion = KafkaClientInfo.softwareVersion
            let body = try await rawSend(channel: channel, req, version: version, correlationId: 0, clientId: clientId,
                                         timeout: timeout, peer: peer)
            // A broker that does not know our version answers in v0 with UNSUPPORTED_VERSION
            // and its own range for ApiVersions.
            let resp: ApiVersionsResponse
            if let r = try? ApiVersionsRequest.decodeResponse(from: body, version: version) {
                resp = r
            } else {
                resp = try ApiVersionsRequest.decodeResponse(from: body, version: 0)
            }
            if resp.errorCode == ErrorCode.unsupportedVersion.rawValue {
                let theirs = resp.apiKeys.first { $0.apiKey == ApiKey.apiVersions.rawValue }?.maxVersion ?? 0
                let next = min(theirs, 3)
                if next == version { break }
                version = next
                continue
            }
            try KafkaError.check(resp.errorCode, nil, "ApiVersions to \(peer)")
            var out = [Int16: ClosedRange<Int16>]()
            for k in resp.apiKeys where k.minVersion <= k.maxVersion { out[k.apiKey] = k.minVersion...k.maxVersion }
            return out
        }
        throw KafkaError.unsupportedApi("ApiVersions (\(peer))")
    }

    /// A request as it goes on the wire: size prefix, header, body encoded straight behind it.
    static func frame<R: KafkaRequestMessage>(_ request: R, version: Int16, correlationId: Int32, clientId: String,
                                               allocator: ByteBufferAllocator, sizeHint: Int = 0) throws -> ByteBuffer {
        var frame = allocator.buffer(capacity: 256 + sizeHint)
        frame.writeInteger(Int32(0), endianness: .big)
        RequestHeader(apiKey: R.apiKey.rawValue, apiVersion: version, correlationId: correlationId, clientId: clientId)
            .write(to: &frame, flexible: R.requestHeaderFlexible(version))
        try request.encode(version: version, into: &frame)
        frame.setInteger(Int32(frame.readableBytes - 4), at: frame.readerIndex, endianness: .big)
        return frame
    }

    private static func rawSend<R: KafkaRequestMessage>(channel: any Channel, _ request: R, version: Int16, correlationId: Int32,
                                                       clientId: String, timeout: TimeAmount, peer: String,
                                                       expectResponse: Bool = true) async throws -> ByteBuffer {
        let frame = try frame(request, version: version, correlationId: correlationId, clientId: clientId,
                              allocator: channel.allocator)
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let out = OutboundKafkaRequest(correlationId: correlationId, frame: frame, expectResponse: expectResponse,
                                       flexibleResponseHeader: R.responseHeaderFlexible(version), timeout: timeout,
                                       apiName: R.apiKey.description, promise: promise)
        channel.writeAndFlush(out).whenFailure { err in promise.fail(KafkaError.connectionClosed("\(peer): \(err)")) }
        return try await promise.futureResult.get()
    }

    /// The version to use for `R`: the highest both sides support, or nil.
    public func version<R: KafkaRequestMessage>(for type: R.Type) -> Int16? {
        guard let theirs = brokerVersions[R.apiKey.rawValue] else { return nil }
        let ourMax = min(R.versions.upperBound, ClientApiVersions.caps[R.apiKey] ?? Int16.max)
        let hi = min(ourMax, theirs.upperBound)
        let lo = max(R.versions.lowerBound, theirs.lowerBound)
        return hi >= lo ? hi : nil
    }

    public func supports(_ key: ApiKey) -> Bool { brokerVersions[key.rawValue] != nil }

    /// Sends a request and awaits its response, at the negotiated version (or `version`).
    public func send<R: KafkaRequestMessage>(_ request: R, version: Int16? = nil, timeout: TimeAmount? = nil) async throws -> R.Response {
        let (v, future) = try start(request, version: version, timeout: timeout)
        let body = try await future.get()
        return try Self.decode(R.self, body, version: v, from: address)
    }

    /// Writes a request now (requests started from one task go out in the order started) and
    /// returns the version used and the future raw response body.
    /// `sizeHint`: expected encoded size (a produce request's batches), so the frame is
    /// allocated once.
    func start<R: KafkaRequestMessage>(_ request: R, version: Int16? = nil, timeout: TimeAmount? = nil,
                                       expectResponse: Bool = true, sizeHint: Int = 0) throws -> (Int16, EventLoopFuture<ByteBuffer>) {
        guard let v = version ?? self.version(for: R.self) else {
            throw KafkaError.unsupportedApi("\(R.apiKey) at \(address)")
        }
        let id = correlation.loadThenWrappingIncrement(ordering: .relaxed) & Int32.max
        let frame = try Self.frame(request, version: v, correlationId: id, clientId: clientId,
                                   allocator: channel.allocator, sizeHint: sizeHint)
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let out = OutboundKafkaRequest(correlationId: id, frame: frame, expectResponse: expectResponse,
                                       flexibleResponseHeader: R.responseHeaderFlexible(v), timeout: timeout ?? requestTimeout,
                                       apiName: R.apiKey.description, promise: promise)
        let peer = "\(address)"
        channel.writeAndFlush(out).whenFailure { err in promise.fail(KafkaError.connectionClosed("\(peer): \(err)")) }
        return (v, promise.futureResult)
    }

    static func decode<R: KafkaRequestMessage>(_: R.Type, _ body: ByteBuffer, version v: Int16, from address: BrokerAddress) throws -> R.Response {
        do {
            return try R.decodeResponse(from: body, version: v)
        } catch {
            throw KafkaError.protocolError("\(R.apiKey) v\(v) response from \(address): \(error)")
        }
    }

    public func close() async {
        try? await channel.close()
    }
}
