@testable import Broker
import Foundation
import KafkaProtocol
import Logging
import LogStore
import NIOCore
import NIOPosix
import Testing

/// Drives the request dispatcher in-process: real decoding, real handlers, a real log in a
/// temporary directory.
final class DispatcherHarness {
    let dir: URL
    let flusher = LogFlusher()
    let dispatcher: RequestDispatcher
    // A real loop: acks=all answers are completed from the log's flusher thread, which an
    // EmbeddedEventLoop (single-threaded by design) must never see.
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    var loop: any EventLoop { group.next() }
    var correlation: Int32 = 0

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rb-dispatch-\(UUID().uuidString)")
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let topics = try TopicManager(dataDir: dir, defaultConfig: [:], flusher: flusher, logger: logger)
        var config = BrokerConfig()
        config.dataDir = dir.path
        dispatcher = RequestDispatcher(config: config, topics: topics, producerIds: try ProducerIdManager(dataDir: dir),
                                       metrics: BrokerMetrics(), clusterId: "test-cluster", logger: logger)
    }

    deinit {
        dispatcher.topics.closeAll()
        flusher.shutdown()
        try? group.syncShutdownGracefully()
        try? FileManager.default.removeItem(at: dir)
    }

    func frame<M: KafkaRequestMessage>(_ m: M, version: Int16) throws -> ByteBuffer {
        correlation += 1
        var b = ByteBuffer()
        RequestHeader(apiKey: M.apiKey.rawValue, apiVersion: version, correlationId: correlation, clientId: "t")
            .write(to: &b, flexible: M.requestHeaderFlexible(version))
        try m.encode(version: version, into: &b)
        return b
    }

    func context() -> RequestContext { RequestContext(eventLoop: loop, clientAddress: nil, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })) }

    /// Sends a request and decodes the answer (running the loop for deferred ones).
    func call<M: KafkaRequestMessage>(_ m: M, version: Int16) throws -> M.Response {
        let result = dispatcher.handle(frame: try frame(m, version: version), context: context())
        var out: ByteBuffer
        switch result {
        case .respond(let b): out = b
        case .later(let f):
            out = try #require(try f.wait())
        case .noResponse: throw HarnessError.noResponse
        case .close(let why): throw HarnessError.closed(why)
        }
        let size = out.readInteger(endianness: .big, as: Int32.self)
        #expect(Int(size ?? -1) == out.readableBytes)
        #expect(out.readInteger(endianness: .big, as: Int32.self) == correlation)
        if M.responseHeaderFlexible(version) { try RequestHeader.skipTaggedFields(in: &out) }
        return try M.decodeResponse(from: out, version: version)
    }

    enum HarnessError: Error { case noResponse, closed(String) }
}

@Suite struct DispatcherTests {
    @Test func produceThenFetchAndListOffsets() throws {
        let h = try DispatcherHarness()
        var create = CreateTopicsRequest()
        var t = CreateTopicsRequest.Topic()
        t.name = "orders"
        t.numPartitions = 2
        t.replicationFactor = 1
        create.topics = [t]
        let created = try h.call(create, version: 5)
        #expect(created.topics.first?.errorCode == 0)

        let records = (0..<10).map { Record(timestamp: 1000 + Int64($0), key: ByteBuffer(string: "k\($0)"), value: ByteBuffer(string: "v\($0)")) }
        let batch = try RecordBatch.build(records: records, compression: .zstd)
        var produce = ProduceRequest()
        produce.acks = -1
        produce.topics = [.init(name: "orders", partitions: [.init(index: 1, records: batch)])]
        let pr = try h.call(produce, version: 9)
        #expect(pr.topics[0].partitions[0].errorCode == 0)
        #expect(pr.topics[0].partitions[0].baseOffset == 0)

        var fetch = FetchRequest()
        fetch.maxWaitMs = 0
        fetch.topics = [.init(topic: "orders", partitions: [.init(partition: 1, fetchOffset: 3, partitionMaxBytes: 1 << 20)])]
        let fr = try h.call(fetch, version: 11)
        let part = fr.topics[0].partitions[0]
        #expect(part.errorCode == 0)
        #expect(part.highWatermark == 10)
        let got = try RecordBatch.records(in: try #require(part.records))
        #expect(got.map(\.offset) == Array(0..<10))
        #expect(got[3].value == ByteBuffer(string: "v3"))

        var lo = ListOffsetsRequest()
        lo.topics = [.init(name: "orders", partitions: [.init(partitionIndex: 1, timestamp: 1004), .init(partitionIndex: 1, timestamp: -1),
                                                        .init(partitionIndex: 1, timestamp: -2), .init(partitionIndex: 1, timestamp: 5000),
                                                        .init(partitionIndex: 1, timestamp: -3)])]
        let lr = try h.call(lo, version: 7)
        #expect(lr.topics[0].partitions.map(\.offset) == [4, 10, 0, -1, 9])
        #expect(lr.topics[0].partitions[0].timestamp == 1004)

        // Out of range and unknown partitions get Kafka's errors.
        fetch.topics = [.init(topic: "orders", partitions: [.init(partition: 1, fetchOffset: 99, partitionMaxBytes: 1 << 20),
                                                            .init(partition: 7, fetchOffset: 0, partitionMaxBytes: 1 << 20)])]
        let bad = try h.call(fetch, version: 11)
        #expect(bad.topics[0].partitions.map(\.errorCode) == [ErrorCode.offsetOutOfRange.rawValue, ErrorCode.unknownTopicOrPartition.rawValue])
    }

    @Test func idempotentRetryIsAnsweredWithOriginalOffsets() throws {
        let h = try DispatcherHarness()
        let pid = try h.call(InitProducerIdRequest(), version: 4)
        #expect(pid.errorCode == 0)
        let batch = try RecordBatch.build(records: [Record(timestamp: 1, key: nil, value: ByteBuffer(string: "x"))],
                                          producerId: pid.producerId, producerEpoch: pid.producerEpoch, baseSequence: 0)
        var produce = ProduceRequest()
        produce.acks = -1
        produce.topics = [.init(name: "auto", partitions: [.init(index: 0, records: batch)])]
        var md = MetadataRequest()
        md.topics = [.init(name: "auto")]
        _ = try h.call(md, version: 9)  // auto-creates the topic
        let first = try h.call(produce, version: 9)
        let retry = try h.call(produce, version: 9)
        #expect(first.topics[0].partitions[0].baseOffset == 0)
        #expect(retry.topics[0].partitions[0].errorCode == 0)
        #expect(retry.topics[0].partitions[0].baseOffset == 0)
        let skipped = try RecordBatch.build(records: [Record(timestamp: 1, key: nil, value: ByteBuffer(string: "y"))],
                                            producerId: pid.producerId, producerEpoch: pid.producerEpoch, baseSequence: 5)
        produce.topics = [.init(name: "auto", partitions: [.init(index: 0, records: skipped)])]
        let gap = try h.call(produce, version: 9)
        #expect(gap.topics[0].partitions[0].errorCode == ErrorCode.outOfOrderSequenceNumber.rawValue)
    }

    @Test func unsupportedVersionsAndKeys() throws {
        let h = try DispatcherHarness()
        // ApiVersions newer than ours: a v0 answer with UNSUPPORTED_VERSION and our ranges.
        var b = ByteBuffer()
        RequestHeader(apiKey: 18, apiVersion: 99, correlationId: 7, clientId: nil).write(to: &b, flexible: true)
        guard case .respond(var out) = h.dispatcher.handle(frame: b, context: h.context()) else {
            Issue.record("expected an answer")
            return
        }
        out.moveReaderIndex(forwardBy: 8)
        let r = try ApiVersionsRequest.decodeResponse(from: out, version: 0)
        #expect(r.errorCode == ErrorCode.unsupportedVersion.rawValue)
        #expect(r.apiKeys.contains { $0.apiKey == 0 && $0.minVersion == 0 })

        var unknown = ByteBuffer()
        RequestHeader(apiKey: 999, apiVersion: 0, correlationId: 1, clientId: nil).write(to: &unknown, flexible: false)
        guard case .close = h.dispatcher.handle(frame: unknown, context: h.context()) else {
            Issue.record("unknown api key must close the connection")
            return
        }
        // Produce v2 is advertised (librdkafka needs it) but answered UNSUPPORTED_VERSION.
        var produce = ProduceRequest()
        produce.topics = [.init(name: "x", partitions: [.init(index: 0, records: ByteBuffer(bytes: [1, 2, 3]))])]
        let old = try h.call(produce, version: 2)
        #expect(old.topics[0].partitions[0].errorCode == ErrorCode.unsupportedVersion.rawValue)
    }

    @Test func fuzzedFramesNeverCrashTheDispatcher() throws {
        let h = try DispatcherHarness()
        var md = MetadataRequest()
        md.topics = [.init(name: "fuzz")]
        _ = try h.call(md, version: 12)
        let batch = try RecordBatch.build(records: [Record(timestamp: 5, key: ByteBuffer(string: "k"), value: ByteBuffer(string: "v"))])
        var produce = ProduceRequest()
        produce.topics = [.init(name: "fuzz", partitions: [.init(index: 0, records: batch)])]
        var fetch = FetchRequest()
        fetch.maxWaitMs = 0
        fetch.topics = [.init(topic: "fuzz", partitions: [.init(partition: 0, fetchOffset: 0, partitionMaxBytes: 1000)])]
        var lo = ListOffsetsRequest()
        lo.topics = [.init(name: "fuzz", partitions: [.init(partitionIndex: 0, timestamp: 1)])]
        let seeds = [try h.frame(produce, version: 9), try h.frame(produce, version: 3), try h.frame(fetch, version: 12),
                     try h.frame(fetch, version: 4), try h.frame(lo, version: 6), try h.frame(md, version: 12), try h.frame(md, version: 1)]
        var rng = SplitMix64(seed: 0x5EED)
        for i in 0..<6000 {
            var bytes = Array(seeds[i % seeds.count].readableBytesView)
            switch i % 3 {
            case 0:  // flip a few bits
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    let at = Int(rng.next() % UInt64(bytes.count))
                    bytes[at] ^= UInt8(1 << (rng.next() % 8))
                }
            case 1: bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))  // truncate
            default: bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }  // noise
            }
            _ = h.dispatcher.handle(frame: ByteBuffer(bytes: bytes), context: h.context())
        }
        // Still serving afterwards.
        let after = try h.call(lo, version: 6)
        #expect(after.topics[0].partitions[0].errorCode == 0)
    }
}

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
