import Atomics
import Foundation
import KafkaProtocol
import Logging
import NIOCore
import NIOPosix

/// How a handler answers: now, later (a future on the request's event loop), or not at all
/// (acks=0 produce).
enum Reply<R> {
    case now(R)
    case later(EventLoopFuture<R>)
    /// The framed answer, encoded by the handler itself (a large fetch is encoded on the I/O
    /// thread that read it, so its copy into the frame never runs on the event loop).
    case framedLater(EventLoopFuture<ByteBuffer>)
    case none
}

/// Parses request headers, checks versions and routes each request to its handler; the
/// handlers live in `Handlers/`, one file per API family.
final class RequestDispatcher: Sendable {
    let config: BrokerConfig
    let topics: TopicManager
    let producerIds: ProducerIdManager
    let metrics: BrokerMetrics
    let clusterId: String
    let logger: Logger
    /// The consumer-group coordinator (nil: group APIs are not served).
    let groups: GroupCoordinator?
    /// The transaction coordinator (nil: transactional producers are refused).
    let transactions: TransactionCoordinator?
    let allocator = ByteBufferAllocator()
    /// Threads for reads that may wait on the disk (cold segments, time lookups); nil reads
    /// them in place (tests, or `io-threads: 0`).
    let ioThreads: NIOThreadPool?
    private let draining = ManagedAtomic(false)

    /// Graceful shutdown began: long polls are answered now rather than at their max wait.
    var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Answers every parked fetch and stops new ones from parking.
    func beginDraining() {
        draining.store(true, ordering: .relaxed)
        for t in topics.allTopics { for p in t.partitions { p.notifyAppended() } }
    }

    init(config: BrokerConfig, topics: TopicManager, producerIds: ProducerIdManager, metrics: BrokerMetrics, clusterId: String, logger: Logger,
         groups: GroupCoordinator? = nil, transactions: TransactionCoordinator? = nil, ioThreads: NIOThreadPool? = nil) {
        self.groups = groups
        self.transactions = transactions
        self.ioThreads = ioThreads
        self.config = config
        self.topics = topics
        self.producerIds = producerIds
        self.metrics = metrics
        self.clusterId = clusterId
        self.logger = logger
    }

    func handle(frame: ByteBuffer, context: RequestContext) -> DispatchResult {
        var body = frame
        let header: RequestHeader
        do {
            header = try RequestHeader.readPrefix(from: &body)
        } catch {
            return .close("malformed request header: \(error)")
        }
        metrics.request(header.apiKey)
        guard let key = ApiKey(rawValue: header.apiKey), let range = SupportedApis.table[key] else {
            return .close("unsupported api key \(header.apiKey) (correlation id \(header.correlationId))")
        }
        if key == .apiVersions && !range.served.contains(header.apiVersion) {
            // KIP-511: a client newer than us gets a v0 answer naming what we support.
            var r = ApiVersionsResponse()
            r.errorCode = ErrorCode.unsupportedVersion.rawValue
            r.apiKeys = SupportedApis.apiVersions
            return encode(ApiVersionsRequest.self, r, version: 0, correlationId: header.correlationId)
        }
        guard range.advertised.contains(header.apiVersion) else {
            return .close("unsupported version \(header.apiVersion) of \(key) (served \(range.advertised))")
        }
        let v = header.apiVersion
        switch key {
        case .apiVersions: return serve(ApiVersionsRequest.self, header, body, context, apiVersions)
        case .metadata: return serve(MetadataRequest.self, header, body, context, metadata)
        case .produce: return serve(ProduceRequest.self, header, body, context, produce)
        case .fetch: return serve(FetchRequest.self, header, body, context, fetch)
        case .listOffsets: return serve(ListOffsetsRequest.self, header, body, context, listOffsets)
        default:
            return serveAdmin(key, header, body, context) ?? serveGroups(key, header, body, context)
                ?? serveTransactions(key, header, body, context) ?? .close("no handler for \(key) v\(v)")
        }
    }

    /// Decodes the body, runs the handler, frames the answer.
    func serve<M: KafkaRequestMessage>(_: M.Type, _ header: RequestHeader, _ body: ByteBuffer, _ context: RequestContext,
                                       _ handler: (M, Int16, RequestContext) -> Reply<M.Response>) -> DispatchResult {
        var body = body
        let request: M
        do {
            if M.requestHeaderFlexible(header.apiVersion) { try RequestHeader.skipTaggedFields(in: &body) }
            request = try M.decode(from: body, version: header.apiVersion, allowTrailingBytes: true)
        } catch {
            return .close("malformed \(M.apiKey) v\(header.apiVersion) request: \(error)")
        }
        var context = context
        context.correlationId = header.correlationId
        switch handler(request, header.apiVersion, context) {
        case .now(let r):
            return encode(M.self, r, version: header.apiVersion, correlationId: header.correlationId)
        case .none:
            return .noResponse
        case .later(let f):
            let correlationId = header.correlationId
            let version = header.apiVersion
            return .later(f.flatMapThrowing { r in
                switch self.encode(M.self, r, version: version, correlationId: correlationId) {
                case .respond(let b): return b
                default: throw DispatchFailure(message: "could not encode \(M.apiKey) response")
                }
            })
        case .framedLater(let f):
            return .later(f.map { Optional($0) })
        }
    }

    /// The answer framed for the wire, on the caller's thread; throws if it cannot be encoded.
    func frame<M: KafkaRequestMessage>(_: M.Type, _ response: M.Response, version: Int16, correlationId: Int32) throws -> ByteBuffer {
        switch encode(M.self, response, version: version, correlationId: correlationId) {
        case .respond(let b): return b
        default: throw DispatchFailure(message: "could not encode \(M.apiKey) response")
        }
    }

    struct DispatchFailure: Error { let message: String }

    func encode<M: KafkaRequestMessage>(_: M.Type, _ response: M.Response, version: Int16, correlationId: Int32) -> DispatchResult {
        var buf = allocator.buffer(capacity: 512 + ((response as? EncodedSizeHinting)?.encodedSizeHint ?? 0))
        buf.writeInteger(Int32(0), endianness: .big)
        ResponseHeader.write(correlationId: correlationId, flexible: M.responseHeaderFlexible(version), to: &buf)
        do {
            try M.encodeResponse(response, version: version, into: &buf)
        } catch {
            return .close("could not encode \(M.apiKey) v\(version) response: \(error)")
        }
        buf.setInteger(Int32(buf.readableBytes - 4), at: buf.readerIndex, endianness: .big)
        return .respond(buf)
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
