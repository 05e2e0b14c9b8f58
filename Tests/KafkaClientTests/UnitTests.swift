import KafkaProtocol
import NIOCore
import Testing

@testable import KafkaClient

// Expected values from kafka-python's `kafka.partitioner.default.murmur2` (the Java client's
// algorithm; kafka-python reports the hash unsigned) and `(h & 0x7fffffff) % n`.
@Suite struct Murmur2Tests {
    static let vectors: [([UInt8], UInt32, [Int32])] = [
        (Array("21".utf8), 3_321_034_988, [0, 0, 3, 0]),
        ([], 275_646_681, [0, 0, 2, 9]),
        (Array("a".utf8), 2_731_586_172, [0, 1, 5, 4]),
        (Array("ab".utf8), 316_155_434, [0, 2, 0, 2]),
        (Array("abc".utf8), 479_470_107, [0, 0, 4, 3]),
        (Array("abcd".utf8), 2_971_317_748, [0, 2, 5, 8]),
        (Array("abcde".utf8), 461_995_741, [0, 1, 4, 1]),
        (Array("customer-1".utf8), 1_939_597_761, [0, 0, 3, 9]),
        (Array("customer-42".utf8), 3_751_979_801, [0, 0, 1, 9]),
        (Array("hello world".utf8), 1_221_641_059, [0, 1, 2, 7]),
        (Array("ключ".utf8), 2_122_343_024, [0, 2, 4, 8]),
        ((0...255).map { UInt8($0) }, 2_346_620_022, [0, 1, 3, 10]),
    ]

    @Test func hashesMatchJavaClient() {
        for (key, expected, _) in Self.vectors {
            #expect(UInt32(bitPattern: Murmur2.hash(key)) == expected, "key \(key)")
        }
    }

    @Test func partitionsMatchJavaClient() {
        for (key, _, parts) in Self.vectors {
            for (n, want) in zip([1, 3, 7, 12], parts) {
                #expect(Murmur2.partition(forKey: key, partitionCount: n) == want, "key \(key) n \(n)")
            }
        }
    }
}

@Suite struct ProducerBatchTests {
    func makeBatch(_ n: Int, capacity: Int = 1 << 20) -> ProducerBatch {
        let b = ProducerBatch(tp: TopicPartition("t", 0), capacity: capacity, allocator: ByteBufferAllocator())
        for i in 0..<n {
            b.append(timestamp: 1_700_000_000_000 + Int64(i % 5) * 7 - 3, key: i % 3 == 0 ? nil : ByteBuffer(string: "k\(i)"),
                     value: i % 4 == 0 ? nil : ByteBuffer(string: String(repeating: "v", count: i)),
                     headers: i % 2 == 0 ? [RecordHeader(key: "h", value: ByteBuffer(string: "\(i)")), RecordHeader(key: "n", value: nil)] : [],
                     completion: .none)
        }
        return b
    }

    @Test(arguments: CompressionCodec.allCases)
    func batchDecodesWithKafkaProtocol(codec: CompressionCodec) throws {
        let b = makeBatch(100)
        b.producerId = 42
        b.producerEpoch = 3
        b.baseSequence = 17
        let bytes = try b.build(compression: codec, allocator: ByteBufferAllocator())
        let header = try RecordBatchHeader.peek(bytes)
        #expect(header.recordCount == 100)
        #expect(header.producerId == 42 && header.producerEpoch == 3 && header.baseSequence == 17)
        #expect(header.compression == codec)
        #expect(header.crc == CRC32C.batchChecksum(bytes))
        #expect(header.maxTimestamp == 1_700_000_000_000 + 4 * 7 - 3)
        let records = try RecordBatch.records(in: bytes)
        #expect(records.count == 100)
        for (i, r) in records.enumerated() {
            #expect(r.offset == Int64(i))
            #expect(r.timestamp == 1_700_000_000_000 + Int64(i % 5) * 7 - 3)
            #expect(r.key == (i % 3 == 0 ? nil : ByteBuffer(string: "k\(i)")))
            #expect(r.value == (i % 4 == 0 ? nil : ByteBuffer(string: String(repeating: "v", count: i))))
            #expect(r.headers.count == (i % 2 == 0 ? 2 : 0))
        }
        // Built once: a retry sends the identical bytes.
        #expect(try b.build(compression: codec, allocator: ByteBufferAllocator()) == bytes)
    }

    @Test func batchSizeLimit() {
        let b = ProducerBatch(tp: TopicPartition("t", 0), capacity: 1000, allocator: ByteBufferAllocator())
        #expect(b.hasRoom(for: 5000))  // an empty batch takes any one record
        b.append(timestamp: 0, key: nil, value: ByteBuffer(repeating: 1, count: 800), headers: [], completion: .none)
        #expect(!b.hasRoom(for: 200))
        #expect(b.hasRoom(for: 100))
    }

    @Test func completionsCarryOffsets() async throws {
        let b = ProducerBatch(tp: TopicPartition("t", 2), capacity: 1 << 20, allocator: ByteBufferAllocator())
        let results = Locked<[DeliveryResult]>([])
        for i in 0..<3 {
            b.append(timestamp: Int64(i), key: nil, value: nil, headers: [], completion: .callback { r in results.withLock { $0.append(r) } })
        }
        b.complete(baseOffset: 100, logAppendTime: -1)
        let got = results.withLock { $0 }.map { try? $0.get() }
        #expect(got.map { $0?.offset } == [100, 101, 102])
        #expect(got.map { $0?.timestamp } == [0, 1, 2])
        #expect(got.allSatisfy { $0?.partition == 2 })
    }
}

@Suite struct AssignorTests {
    @Test func rangeLikeJava() {
        let members = [AssignorMember(memberID: "b", topics: ["t", "u"]), AssignorMember(memberID: "a", topics: ["t", "u"])]
        let r = Assignors.range(members: members, partitionCounts: ["t": 5, "u": 2])
        #expect(r["a"] == [TopicPartition("t", 0), TopicPartition("t", 1), TopicPartition("t", 2), TopicPartition("u", 0)])
        #expect(r["b"] == [TopicPartition("t", 3), TopicPartition("t", 4), TopicPartition("u", 1)])
    }

    @Test func rangeOnlySubscribed() {
        let members = [AssignorMember(memberID: "a", topics: ["t"]), AssignorMember(memberID: "b", topics: ["u"])]
        let r = Assignors.range(members: members, partitionCounts: ["t": 2, "u": 1])
        #expect(r["a"] == [TopicPartition("t", 0), TopicPartition("t", 1)])
        #expect(r["b"] == [TopicPartition("u", 0)])
    }

    @Test func stickyIsBalancedAndComplete() {
        let members = (0..<3).map { AssignorMember(memberID: "m\($0)", topics: ["t", "u"]) }
        let r = Assignors.stickyAssignment(members: members, partitionCounts: ["t": 7, "u": 3])
        let all = r.values.flatMap { $0 }
        #expect(Set(all).count == 10 && all.count == 10)
        let sizes = r.values.map(\.count)
        #expect(sizes.max()! - sizes.min()! <= 1)
    }

    @Test func cooperativeKeepsOwnedAndHoldsBackMoves() {
        // m0 owned everything; m1 joins. Sticky target moves half to m1, but cooperative
        // assignment first only takes them away from m0 (they are revoked, then handed out).
        let owned = (0..<6).map { TopicPartition("t", Int32($0)) }
        let members = [AssignorMember(memberID: "m0", topics: ["t"], owned: owned, generation: 1),
                       AssignorMember(memberID: "m1", topics: ["t"])]
        let first = Assignors.cooperativeSticky(members: members, partitionCounts: ["t": 6])
        #expect(first["m0"]!.count == 3)
        #expect(Set(first["m0"]!).isSubset(of: Set(owned)))
        #expect(first["m1"]!.isEmpty)
        // Follow-up round: m0 now owns its 3; m1 gets the other 3.
        let second = Assignors.cooperativeSticky(
            members: [AssignorMember(memberID: "m0", topics: ["t"], owned: first["m0"]!, generation: 2),
                      AssignorMember(memberID: "m1", topics: ["t"], owned: [], generation: 2)],
            partitionCounts: ["t": 6])
        #expect(second["m0"] == first["m0"])
        #expect(Set(second["m1"]!) == Set(owned).subtracting(first["m0"]!))
    }

    @Test func ownershipConflictsGoToHigherGeneration() {
        let tp = TopicPartition("t", 0)
        let members = [AssignorMember(memberID: "a", topics: ["t"], owned: [tp], generation: 1),
                       AssignorMember(memberID: "b", topics: ["t"], owned: [tp], generation: 2)]
        let v = Assignors.validOwnership(members: members, partitionCounts: ["t": 1])
        #expect(v["b"] == [tp])
        #expect(v["a"] == nil)
    }
}

@Suite struct ConfigParsingTests {
    @Test func brokerAddresses() throws {
        #expect(try BrokerAddress(parsing: "localhost:9093") == BrokerAddress(host: "localhost", port: 9093))
        #expect(try BrokerAddress(parsing: "kafka") == BrokerAddress(host: "kafka", port: 9092))
        #expect(try BrokerAddress(parsing: "[::1]:19092") == BrokerAddress(host: "::1", port: 19092))
        #expect(try BrokerAddress.parseList("a:1, b:2").count == 2)
        #expect(throws: KafkaError.self) { try BrokerAddress(parsing: "host:notaport") }
        #expect(throws: KafkaError.self) { try BrokerAddress.parseList(" , ") }
    }

    @Test func acksAndErrors() {
        #expect(KafkaAcks(string: "all") == .all)
        #expect(KafkaAcks(string: "0") == KafkaAcks.none)
        #expect(KafkaAcks(string: "2") == nil)
        #expect(KafkaError.name(of: 6) == "NOT_LEADER_OR_FOLLOWER")
        #expect(KafkaError.name(of: 3) == "UNKNOWN_TOPIC_OR_PARTITION")
    }

    @Test func idempotenceNeedsAcksAll() throws {
        var c = KafkaProducerConfig(bootstrapServers: [BrokerAddress(host: "127.0.0.1", port: 1)])
        c.acks = .leader
        c.enableIdempotence = true
        #expect(throws: KafkaError.self) { try KafkaProducer(config: c) }
        c.enableIdempotence = nil
        #expect(!c.idempotent)
        c.acks = .all
        #expect(c.idempotent)
    }
}

@Suite struct KafkaErrorTests {
    @Test func descriptionsSayWhatHappened() {
        let tp = TopicPartition("t", 1)
        let cases: [(KafkaError, String)] = [
            (.broker(code: 6, message: "moved", context: "Produce"), "Produce: NOT_LEADER_OR_FOLLOWER (6): moved"),
            (.broker(code: 999, message: nil, context: "Fetch"), "Fetch: UNKNOWN_ERROR_999 (999)"),
            (.partition(tp, code: 10, message: nil), "t-1: MESSAGE_TOO_LARGE (10)"),
            (.connectionFailed("h:1: refused"), "connection failed: h:1: refused"),
            (.connectionClosed("h:1"), "connection closed: h:1"),
            (.requestTimedOut(api: "Metadata", broker: "h:1"), "Metadata request to h:1 timed out"),
            (.deliveryTimedOut(tp), "record for t-1 not delivered within the delivery timeout"),
            (.unsupportedApi("OffsetFetch"), "broker does not support OffsetFetch"),
            (.protocolError("short frame"), "protocol error: short frame"),
            (.invalidConfiguration("bad port in x"), "invalid configuration: bad port in x"),
            (.authenticationFailed("h:1 does not enable PLAIN (it offers SCRAM-SHA-512)"),
             "authentication failed: h:1 does not enable PLAIN (it offers SCRAM-SHA-512)"),
            (.unknownTopic("nope"), "unknown topic or partition: nope"),
            (.recordTooLarge(size: 10, limit: 5), "record of 10 bytes exceeds the limit of 5 bytes"),
            (.closed, "client is closed"),
            (.invalidState("seek on unassigned partition t-1"), "seek on unassigned partition t-1"),
        ]
        for (e, text) in cases {
            #expect(e.description == text)
            #expect("\(e)" == text)
            #expect(e.message == text)
        }
    }

    @Test func kindCodeAndPartition() {
        let tp = TopicPartition("t", 1)
        let e = KafkaError.partition(tp, code: 6, message: nil)
        #expect(e.kind == .broker && e.code == 6 && e.partition == tp)
        #expect(KafkaError.broker(code: 3, message: nil, context: "x").partition == nil)
        #expect(KafkaError.deliveryTimedOut(tp).partition == tp && KafkaError.deliveryTimedOut(tp).code == nil)
        #expect(KafkaError.authenticationFailed("x").kind == .authenticationFailed)
        #expect(KafkaError.authenticationFailed("x").kind != .connectionFailed)
        #expect(KafkaError.Kind.authenticationFailed.description == "authenticationFailed")
        // `catch KafkaError.Kind.x` works without naming every kind.
        func kindOf(_ error: any Error) -> String {
            switch error {
            case KafkaError.Kind.closed: return "closed"
            case KafkaError.Kind.broker: return "broker"
            default: return "other"
            }
        }
        #expect(kindOf(KafkaError.closed) == "closed")
        #expect(kindOf(e) == "broker")
        #expect(kindOf(KafkaError.protocolError("x")) == "other")
        #expect(kindOf(CancellationError()) == "other")
    }

    @Test func retriable() {
        let tp = TopicPartition("t", 0)
        // Kafka's retriable codes, network trouble and timeouts: trying again can help.
        for code: Int16 in [2, 3, 5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 41, 51, 56, 70, 71, 72, 74, 75, 78, 80, 88, 89, 100, 103] {
            #expect(KafkaError.broker(code: code, message: nil, context: "x").isRetriable, "code \(code)")
            #expect(KafkaError.partition(tp, code: code, message: nil).isRetriable, "code \(code)")
        }
        for e: KafkaError in [.connectionFailed("x"), .connectionClosed("x"), .requestTimedOut(api: "Fetch", broker: "b"),
                              .deliveryTimedOut(tp)] {
            #expect(e.isRetriable, "\(e)")
        }
        // The rest stay as they are however often they are retried.
        for code: Int16 in [-1, 1, 10, 17, 22, 25, 27, 29, 35, 36, 40, 45, 47, 58, 87, 90, 110, 999] {
            #expect(!KafkaError.broker(code: code, message: nil, context: "x").isRetriable, "code \(code)")
        }
        for e: KafkaError in [.authenticationFailed("x"), .invalidConfiguration("x"), .recordTooLarge(size: 2, limit: 1),
                              .unsupportedApi("x"), .protocolError("x"), .unknownTopic("x"), .closed, .invalidState("x")] {
            #expect(!e.isRetriable, "\(e)")
        }
    }
}

@Suite struct SASLTests {
    /// RFC 7677 section 3's SCRAM-SHA-256 exchange, byte for byte.
    @Test func scramSHA256MatchesRFC7677() throws {
        var c = SASLClient(KafkaSASL(mechanism: .scramSHA256, username: "user", password: "pencil"), clientNonce: "rOprNGfwEbeRWgbNEkqO")
        #expect(String(decoding: c.start(), as: UTF8.self) == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        let final = try c.respond(to: Array(serverFirst.utf8))
        #expect(final.map { String(decoding: $0, as: UTF8.self) }
            == "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
        #expect(try c.respond(to: Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8)) == nil)
    }

    @Test func scramRejectsAWrongServerSignatureAndHostileChallenges() throws {
        var c = SASLClient(KafkaSASL(mechanism: .scramSHA256, username: "user", password: "pencil"), clientNonce: "rOprNGfwEbeRWgbNEkqO")
        _ = c.start()
        _ = try c.respond(to: Array("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".utf8))
        #expect(throws: KafkaError.self) { try c.respond(to: Array("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".utf8)) }
        for hostile in ["r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",      // nonce not ours
                        "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999",  // endless hashing
                        "r=rOprNGfwEbeRWgbNEkqOx,s=%%%,i=4096",                 // bad salt
                        "r=rOprNGfwEbeRWgbNEkqOx,m=ext,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "garbage"] {
            var d = SASLClient(KafkaSASL(mechanism: .scramSHA512, username: "u", password: "p"), clientNonce: "rOprNGfwEbeRWgbNEkqO")
            _ = d.start()
            #expect(throws: KafkaError.self) { try d.respond(to: Array(hostile.utf8)) }
        }
    }

    @Test func plainAndNameEscaping() throws {
        var p = SASLClient(KafkaSASL(mechanism: .plain, username: "alice", password: "s3cret"))
        #expect(p.start() == Array("\0alice\0s3cret".utf8))
        #expect(try p.respond(to: []) == nil)
        var s = SASLClient(KafkaSASL(mechanism: .scramSHA512, username: "a=b,c", password: "x"), clientNonce: "n0nce")
        #expect(String(decoding: s.start(), as: UTF8.self) == "n,,n=a=3Db=2Cc,r=n0nce")
    }
}
