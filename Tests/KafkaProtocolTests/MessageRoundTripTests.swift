import Testing
import NIOCore
@testable import KafkaProtocol

// Round trips, byte-exact fixtures and decoder fuzzing for the message definitions.
// Each sample builder sets a non-default value in every field that exists in the version it
// is asked for (and leaves absent fields at their defaults), so a field coded in the wrong
// versions, or not at all, makes the round trip differ.

// MARK: - Helpers

private let uuidA = KafkaUUID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)
private let uuidB = KafkaUUID(high: 0x1111_2222_3333_4444, low: 0x5555_6666_7777_8888)

private func buf(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }
private func buf(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }
private func bytes(_ b: ByteBuffer) -> [UInt8] { Array(b.readableBytesView) }

/// Structural equality through reflection, for the older message types that are not
/// Equatable; ByteBuffers compare by their readable bytes.
private func deepEqual(_ a: Any, _ b: Any) -> Bool {
    if let x = a as? ByteBuffer, let y = b as? ByteBuffer { return x == y }
    guard ObjectIdentifier(type(of: a)) == ObjectIdentifier(type(of: b)) else { return false }
    let ma = Mirror(reflecting: a), mb = Mirror(reflecting: b)
    let ca = Array(ma.children), cb = Array(mb.children)
    if ca.isEmpty && cb.isEmpty { return String(reflecting: a) == String(reflecting: b) }
    guard ca.count == cb.count else { return false }
    for (x, y) in zip(ca, cb) {
        guard x.label == y.label, deepEqual(x.value, y.value) else { return false }
    }
    return true
}

private func equatableEqual<E: Equatable>(_ a: E, _ b: Any) -> Bool { a == (b as? E) }

/// Equal by `==` when the type is Equatable, and structurally in any case.
private func same<T>(_ a: T, _ b: T) -> Bool {
    if let e = a as? any Equatable, !equatableEqual(e, b) { return false }
    return deepEqual(a, b)
}

private func encodeRequest<T: KafkaRequestMessage>(_ m: T, version: Int16) throws -> ByteBuffer {
    var b = ByteBuffer()
    try m.encode(version: version, into: &b)
    return b
}

private func encodeResponse<T: KafkaRequestMessage>(_: T.Type, _ r: T.Response, version: Int16) throws -> ByteBuffer {
    var b = ByteBuffer()
    try T.encodeResponse(r, version: version, into: &b)
    return b
}

/// Encodes, decodes (which rejects trailing bytes), compares, and checks that re-encoding the
/// decoded value gives the same bytes.
private func checkRoundTrip<T: KafkaRequestMessage>(_ request: T, _ response: T.Response, version v: Int16,
                                             sourceLocation: SourceLocation = #_sourceLocation) throws {
    let name = "\(T.self) v\(v)"
    let reqBytes = try encodeRequest(request, version: v)
    let decoded = try T.decode(from: reqBytes, version: v)
    #expect(same(decoded, request), "\(name) request differs after round trip", sourceLocation: sourceLocation)
    #expect(try encodeRequest(decoded, version: v) == reqBytes, "\(name) request re-encodes differently", sourceLocation: sourceLocation)

    let respBytes = try encodeResponse(T.self, response, version: v)
    let decodedResp = try T.decodeResponse(from: respBytes, version: v)
    #expect(same(decodedResp, response), "\(name) response differs after round trip", sourceLocation: sourceLocation)
    #expect(try encodeResponse(T.self, decodedResp, version: v) == respBytes, "\(name) response re-encodes differently",
            sourceLocation: sourceLocation)

    // One extra byte must be refused as trailing garbage.
    var extra = reqBytes
    extra.writeInteger(UInt8(0))
    #expect(throws: KafkaDecodingError.trailingBytes(1), sourceLocation: sourceLocation) { try T.decode(from: extra, version: v) }
}

/// One API under test: sample builders for every version, used by the round-trip and fuzz tests.
struct MessageApiCase: Sendable, CustomTestStringConvertible {
    let name: String
    let versions: ClosedRange<Int16>
    let roundTrip: @Sendable (Int16) throws -> Void
    /// Valid encodings of the sample request and response of a version.
    let samples: @Sendable (Int16) throws -> (request: ByteBuffer, response: ByteBuffer)
    /// Decodes arbitrary bytes as request and response of a version; if that succeeds,
    /// re-encodes and decodes again and reports whether the value survived.
    let decodeArbitrary: @Sendable (ByteBuffer, Int16) -> Bool
    /// The coding order of the request and response fields of a version, as `LayoutTracer` sees it.
    let layouts: @Sendable (Int16) throws -> (request: String, response: String)
    let requestName: String
    let responseName: String
    var testDescription: String { name }

    init<T: KafkaRequestMessage>(_: T.Type, request: @escaping @Sendable (Int16) -> T,
                                 response: @escaping @Sendable (Int16) -> T.Response) {
        name = "\(T.self)"
        requestName = "\(T.self)"
        responseName = "\(T.Response.self)"
        versions = T.versions
        layouts = { v in
            var m = T()
            var r = T.Response()
            return (try LayoutTracer.trace(&m, version: v, flexible: T.isFlexible(v)),
                    try LayoutTracer.trace(&r, version: v, flexible: T.isFlexible(v)))
        }
        roundTrip = { v in try checkRoundTrip(request(v), response(v), version: v) }
        samples = { v in (try encodeRequest(request(v), version: v), try encodeResponse(T.self, response(v), version: v)) }
        decodeArbitrary = { bytes, v in
            var ok = true
            if let m = try? T.decode(from: bytes, version: v) {
                if let again = try? T.decode(from: encodeRequest(m, version: v), version: v) {
                    ok = ok && same(again, m)
                } else {
                    ok = false
                }
            }
            if let r = try? T.decodeResponse(from: bytes, version: v) {
                if let again = try? T.decodeResponse(from: encodeResponse(T.self, r, version: v), version: v) {
                    ok = ok && same(again, r)
                } else {
                    ok = false
                }
            }
            return ok
        }
    }
}

/// A coder that "decodes" made-up values and records which primitive each field is coded as:
/// b int8, h int16, H uint16, i int32, l int64, ? bool, d float64, u uuid, s string,
/// S nullable string, y bytes, Y nullable bytes/records, [ array (nullable or not; one
/// element follows), t tagged-field section. Nullable structures show as their int8 marker.
private struct LayoutTracer: KafkaCoder {
    let version: Int16
    let flexible: Bool
    var isDecoding: Bool { true }
    var out = ""

    static func trace<T: KafkaStruct>(_ value: inout T, version: Int16, flexible: Bool) throws -> String {
        var t = LayoutTracer(version: version, flexible: flexible)
        try value.code(&t)
        return t.out
    }

    mutating func int8(_ v: inout Int8) throws { out += "b"; v = 1 }
    mutating func int16(_ v: inout Int16) throws { out += "h"; v = 1 }
    mutating func uint16(_ v: inout UInt16) throws { out += "H"; v = 1 }
    mutating func int32(_ v: inout Int32) throws { out += "i"; v = 1 }
    mutating func int64(_ v: inout Int64) throws { out += "l"; v = 1 }
    mutating func bool(_ v: inout Bool) throws { out += "?"; v = true }
    mutating func float64(_ v: inout Double) throws { out += "d"; v = 1 }
    mutating func uuid(_ v: inout KafkaUUID) throws { out += "u"; v = uuidA }
    mutating func string(_ v: inout String) throws { out += "s"; v = "x" }
    mutating func nullableString(_ v: inout String?) throws { out += "S"; v = "x" }
    mutating func bytes(_ v: inout ByteBuffer) throws { out += "y"; v = buf("x") }
    mutating func nullableBytes(_ v: inout ByteBuffer?) throws { out += "Y"; v = buf("x") }
    mutating func arrayCount(_ count: Int?) throws -> Int? { out += "["; return 1 }
    mutating func taggedFields(_ known: inout TaggedFields) throws { if flexible { out += "t" } }
}

/// Field layouts of every version (index = version), derived from Apache Kafka's JSON message
/// schemas (clients/src/main/resources/common/message): untagged fields present in the version,
/// in order, with nullability from "nullableVersions"; arrays hold one element. Regenerate or
/// extend by hand from the schema when a version is added.
private let schemaLayouts: [String: [String]] = [
    "ApiVersionsRequest": ["", "", "", "sst", "sst"],
    "ApiVersionsResponse": ["h[hhh", "h[hhhi", "h[hhhi", "h[hhhtit", "h[hhhtit"],
    "MetadataRequest": ["[s", "[s", "[s", "[s", "[s?", "[s?", "[s?", "[s?", "[s???", "[st???t", "[uSt???t", "[uSt??t", "[uSt??t"],
    "MetadataResponse": ["[isi[hs[hii[i[i", "[isiSi[hs?[hii[i[i", "[isiSSi[hs?[hii[i[i", "i[isiSSi[hs?[hii[i[i", "i[isiSSi[hs?[hii[i[i", "i[isiSSi[hs?[hii[i[i[i", "i[isiSSi[hs?[hii[i[i[i", "i[isiSSi[hs?[hiii[i[i[i", "i[isiSSi[hs?[hiii[i[i[iii", "i[isiStSi[hs?[hiii[i[i[ititit", "i[isiStSi[hsu?[hiii[i[i[ititit", "i[isiStSi[hsu?[hiii[i[i[ititt", "i[isiStSi[hSu?[hiii[i[i[ititt"],
    "ProduceRequest": ["hi[s[iY", "hi[s[iY", "hi[s[iY", "Shi[s[iY", "Shi[s[iY", "Shi[s[iY", "Shi[s[iY", "Shi[s[iY", "Shi[s[iY", "Shi[s[iYttt", "Shi[s[iYttt", "Shi[s[iYttt"],
    "ProduceResponse": ["[s[ihl", "[s[ihli", "[s[ihlli", "[s[ihlli", "[s[ihlli", "[s[ihllli", "[s[ihllli", "[s[ihllli", "[s[ihlll[iSSi", "[s[ihlll[iStSttit", "[s[ihlll[iStSttit", "[s[ihlll[iStSttit"],
    "FetchRequest": ["iii[s[ili", "iii[s[ili", "iii[s[ili", "iiii[s[ili", "iiiib[s[ili", "iiiib[s[illi", "iiiib[s[illi", "iiiibii[s[illi[s[i", "iiiibii[s[illi[s[i", "iiiibii[s[iilli[s[i", "iiiibii[s[iilli[s[i", "iiiibii[s[iilli[s[is", "iiiibii[s[iililitt[s[itst", "iiiibii[u[iililitt[u[itst", "iiiibii[u[iililitt[u[itst", "iiibii[u[iililitt[u[itst", "iiibii[u[iililitt[u[itst", "iiibii[u[iililitt[u[itst"],
    "FetchResponse": ["[s[ihlY", "i[s[ihlY", "i[s[ihlY", "i[s[ihlY", "i[s[ihll[llY", "i[s[ihlll[llY", "i[s[ihlll[llY", "ihi[s[ihlll[llY", "ihi[s[ihlll[llY", "ihi[s[ihlll[llY", "ihi[s[ihlll[llY", "ihi[s[ihlll[lliY", "ihi[s[ihlll[lltiYttt", "ihi[u[ihlll[lltiYttt", "ihi[u[ihlll[lltiYttt", "ihi[u[ihlll[lltiYttt", "ihi[u[ihlll[lltiYttt", "ihi[u[ihlll[lltiYttt"],
    "ListOffsetsRequest": ["i[s[ili", "i[s[il", "ib[s[il", "ib[s[il", "ib[s[iil", "ib[s[iil", "ib[s[iilttt", "ib[s[iilttt", "ib[s[iilttt", "ib[s[iilttt", "ib[s[iilttit"],
    "ListOffsetsResponse": ["[s[ih[l", "[s[ihll", "i[s[ihll", "i[s[ihll", "i[s[ihlli", "i[s[ihlli", "i[s[ihllittt", "i[s[ihllittt", "i[s[ihllittt", "i[s[ihllittt", "i[s[ihllittt"],
    "CreateTopicsRequest": ["[sih[i[i[sSi", "[sih[i[i[sSi?", "[sih[i[i[sSi?", "[sih[i[i[sSi?", "[sih[i[i[sSi?", "[sih[i[it[sStti?t", "[sih[i[it[sStti?t", "[sih[i[it[sStti?t"],
    "CreateTopicsResponse": ["[sh", "[shS", "i[shS", "i[shS", "i[shS", "i[shSih[sS?b?ttt", "i[shSih[sS?b?ttt", "i[suhSih[sS?b?ttt"],
    "DeleteTopicsRequest": ["[si", "[si", "[si", "[si", "[sit", "[sit", "[Sutit"],
    "DeleteTopicsResponse": ["[sh", "i[sh", "i[sh", "i[sh", "i[shtt", "i[shStt", "i[SuhStt"],
    "CreatePartitionsRequest": ["[si[[ii?", "[si[[ii?", "[si[[itti?t", "[si[[itti?t"],
    "CreatePartitionsResponse": ["i[shS", "i[shS", "i[shStt", "i[shStt"],
    "DescribeConfigsRequest": ["[bs[s", "[bs[s?", "[bs[s?", "[bs[s??", "[bs[st??t"],
    "DescribeConfigsResponse": ["i[hSbs[sS???", "i[hSbs[sS?b?[sSb", "i[hSbs[sS?b?[sSb", "i[hSbs[sS?b?[sSbbS", "i[hSbs[sS?b?[sSbtbSttt"],
    "AlterConfigsRequest": ["[bs[sS?", "[bs[sS?", "[bs[sStt?t"],
    "AlterConfigsResponse": ["i[hSbs", "i[hSbs", "i[hSbstt"],
    "IncrementalAlterConfigsRequest": ["[bs[sbS?", "[bs[sbStt?t"],
    "IncrementalAlterConfigsResponse": ["i[hSbs", "i[hSbstt"],
    "DescribeClusterRequest": ["?t", "?bt"],
    "DescribeClusterResponse": ["ihSsi[isiStit", "ihSbsi[isiStit"],
    "DescribeTopicPartitionsRequest": ["[stibsitt"],
    "DescribeTopicPartitionsResponse": ["i[hSu?[hiii[i[i[i[i[ititbsitt"],
    "InitProducerIdRequest": ["Si", "Si", "Sit", "Silht", "Silht", "Silht"],
    "InitProducerIdResponse": ["ihlh", "ihlh", "ihlht", "ihlht", "ihlht", "ihlht"],
    "FindCoordinatorRequest": ["s", "sb", "sb", "sbt", "b[st", "b[st", "b[st"],
    "FindCoordinatorResponse": ["hisi", "ihSisi", "ihSisi", "ihSisit", "i[sisihStt", "i[sisihStt", "i[sisihStt"],
    "JoinGroupRequest": ["siss[sy", "siiss[sy", "siiss[sy", "siiss[sy", "siiss[sy", "siisSs[sy", "siisSs[sytt", "siisSs[sytt", "siisSs[sytSt", "siisSs[sytSt"],
    "JoinGroupResponse": ["hisss[sy", "hisss[sy", "ihisss[sy", "ihisss[sy", "ihisss[sy", "ihisss[sSy", "ihisss[sSytt", "ihiSSss[sSytt", "ihiSSss[sSytt", "ihiSSs?s[sSytt"],
    "SyncGroupRequest": ["sis[sy", "sis[sy", "sis[sy", "sisS[sy", "sisS[sytt", "sisSSS[sytt"],
    "SyncGroupResponse": ["hy", "ihy", "ihy", "ihy", "ihyt", "ihSSyt"],
    "HeartbeatRequest": ["sis", "sis", "sis", "sisS", "sisSt"],
    "HeartbeatResponse": ["h", "ih", "ih", "ih", "iht"],
    "LeaveGroupRequest": ["ss", "ss", "ss", "s[sS", "s[sStt", "s[sSStt"],
    "LeaveGroupResponse": ["h", "ih", "ih", "ih[sSh", "ih[sShtt", "ih[sShtt"],
    "OffsetCommitRequest": ["s[s[ilS", "sis[s[illS", "sisl[s[ilS", "sisl[s[ilS", "sisl[s[ilS", "sis[s[ilS", "sis[s[iliS", "sisS[s[iliS", "sisS[s[iliSttt", "sisS[s[iliSttt"],
    "OffsetCommitResponse": ["[s[ih", "[s[ih", "[s[ih", "i[s[ih", "i[s[ih", "i[s[ih", "i[s[ih", "i[s[ih", "i[s[ihttt", "i[s[ihttt"],
    "OffsetFetchRequest": ["s[s[i", "s[s[i", "s[s[i", "s[s[i", "s[s[i", "s[s[i", "s[s[itt", "s[s[it?t", "[s[s[itt?t", "[sSi[s[itt?t"],
    "OffsetFetchResponse": ["[s[ilSh", "[s[ilSh", "[s[ilShh", "i[s[ilShh", "i[s[ilShh", "i[s[iliShh", "i[s[iliShttht", "i[s[iliShttht", "i[s[s[iliShtthtt", "i[s[s[iliShtthtt"],
    "ListGroupsRequest": ["", "", "", "t", "[st", "[s[st"],
    "ListGroupsResponse": ["h[ss", "ih[ss", "ih[ss", "ih[sstt", "ih[ssstt", "ih[sssstt"],
    "DescribeGroupsRequest": ["[s", "[s", "[s", "[s?", "[s?", "[s?t"],
    "DescribeGroupsResponse": ["[hssss[sssyy", "i[hssss[sssyy", "i[hssss[sssyy", "i[hssss[sssyyi", "i[hssss[sSssyyi", "i[hssss[sSssyytitt"],
    "DeleteGroupsRequest": ["[s", "[s", "[st"],
    "DeleteGroupsResponse": ["i[sh", "i[sh", "i[shtt"],
    "OffsetDeleteRequest": ["s[s[i"],
    "OffsetDeleteResponse": ["hi[s[ih"],
    "ConsumerGroupHeartbeatRequest": ["ssiSSi[sS[u[itt", "ssiSSi[sSS[u[itt"],
    "ConsumerGroupHeartbeatResponse": ["ihSSiib[u[ittt", "ihSSiib[u[ittt"],
    "ConsumerGroupDescribeRequest": ["[s?t"],
    "ConsumerGroupDescribeResponse": ["i[hSssiis[sSSiss[sS[us[itt[us[itttitt"],
    "SaslHandshakeRequest": ["s", "s"],
    "SaslHandshakeResponse": ["h[s", "h[s"],
    "SaslAuthenticateRequest": ["y", "y", "yt"],
    "SaslAuthenticateResponse": ["hSy", "hSyl", "hSylt"],
    "DeleteRecordsRequest": ["[s[ili", "[s[ili", "[s[ilttit"],
    "DeleteRecordsResponse": ["i[s[ilh", "i[s[ilh", "i[s[ilhttt"],
    "AddPartitionsToTxnRequest": ["slh[s[i", "slh[s[i", "slh[s[i", "slh[s[itt", "[slh?[s[ittt", "[slh?[s[ittt"],
    "AddPartitionsToTxnResponse": ["i[s[ih", "i[s[ih", "i[s[ih", "i[s[ihttt", "ih[s[s[ihtttt", "ih[s[s[ihtttt"],
    "AddOffsetsToTxnRequest": ["slhs", "slhs", "slhs", "slhst", "slhst"],
    "AddOffsetsToTxnResponse": ["ih", "ih", "ih", "iht", "iht"],
    "EndTxnRequest": ["slh?", "slh?", "slh?", "slh?t", "slh?t", "slh?t"],
    "EndTxnResponse": ["ih", "ih", "ih", "iht", "iht", "ihlht"],
    "WriteTxnMarkersRequest": ["[lh?[s[ii", "[lh?[s[ititt", "[lh?[s[itibtt"],
    "WriteTxnMarkersResponse": ["[l[s[ih", "[l[s[ihtttt", "[l[s[ihtttt"],
    "TxnOffsetCommitRequest": ["sslh[s[ilS", "sslh[s[ilS", "sslh[s[iliS", "sslhisS[s[iliSttt", "sslhisS[s[iliSttt", "sslhisS[s[iliSttt"],
    "TxnOffsetCommitResponse": ["i[s[ih", "i[s[ih", "i[s[ih", "i[s[ihttt", "i[s[ihttt", "i[s[ihttt"],
    "DescribeProducersRequest": ["[s[itt"],
    "DescribeProducersResponse": ["i[s[ihS[liililtttt"],
    "DescribeTransactionsRequest": ["[st"],
    "DescribeTransactionsResponse": ["i[hssillh[s[ittt"],
    "ListTransactionsRequest": ["[s[lt", "[s[llt", "[s[llSt"],
    "ListTransactionsResponse": ["ih[s[slstt", "ih[s[slstt", "ih[s[slstt"],
]

// MARK: - Samples: existing APIs

private enum Samples {
    static func apiVersionsRequest(_ v: Int16) -> ApiVersionsRequest {
        var r = ApiVersionsRequest()
        if v >= 3 {
            r.clientSoftwareName = "apache-kafka-java"
            r.clientSoftwareVersion = "3.9.0"
        }
        return r
    }

    static func apiVersionsResponse(_ v: Int16) -> ApiVersionsResponse {
        var r = ApiVersionsResponse()
        r.errorCode = 35
        r.apiKeys = [.init(apiKey: 0, minVersion: 3, maxVersion: 11), .init(apiKey: 18, minVersion: 0, maxVersion: 4)]
        if v >= 1 { r.throttleTimeMs = 12 }
        return r
    }

    static func metadataRequest(_ v: Int16) -> MetadataRequest {
        var r = MetadataRequest()
        var named = MetadataRequest.Topic(name: "orders")
        if v >= 10 { named.topicId = uuidA }
        r.topics = [named]
        if v >= 10 { r.topics?.append(MetadataRequest.Topic(name: nil, topicId: uuidB)) }
        if v >= 1 && v % 2 == 1 { r.topics = nil }  // all topics
        if v >= 4 { r.allowAutoTopicCreation = false }
        if v >= 8 && v <= 10 { r.includeClusterAuthorizedOperations = true }
        if v >= 8 { r.includeTopicAuthorizedOperations = true }
        return r
    }

    static func metadataResponse(_ v: Int16) -> MetadataResponse {
        var r = MetadataResponse()
        if v >= 3 { r.throttleTimeMs = 5 }
        r.brokers = [.init(nodeId: 1, host: "b1.local", port: 9092, rack: v >= 1 ? "rack-a" : nil),
                     .init(nodeId: 2, host: "b2.local", port: 9093)]
        if v >= 2 { r.clusterId = "cluster-xyz" }
        if v >= 1 { r.controllerId = 2 }
        var p = MetadataResponse.Partition()
        p.errorCode = 9
        p.partitionIndex = 3
        p.leaderId = 2
        if v >= 7 { p.leaderEpoch = 17 }
        p.replicaNodes = [1, 2]
        p.isrNodes = [2]
        if v >= 5 { p.offlineReplicas = [1] }
        var t = MetadataResponse.Topic()
        t.errorCode = 3
        t.name = "orders"
        if v >= 10 { t.topicId = uuidA }
        if v >= 1 { t.isInternal = true }
        t.partitions = [p, MetadataResponse.Partition()]
        if v >= 8 { t.topicAuthorizedOperations = 0x0F0 }
        var unnamed = MetadataResponse.Topic()
        if v >= 12 { unnamed.name = nil }
        r.topics = [t, unnamed]
        if v >= 8 && v <= 10 { r.clusterAuthorizedOperations = 0x1F }
        return r
    }

    static func produceRequest(_ v: Int16) -> ProduceRequest {
        var r = ProduceRequest()
        if v >= 3 { r.transactionalId = "txn-1" }
        r.acks = 1
        r.timeoutMs = 1500
        r.topics = [.init(name: "orders", partitions: [.init(index: 2, records: buf([0, 1, 2, 3, 4])),
                                                       .init(index: 3, records: nil)])]
        return r
    }

    static func produceResponse(_ v: Int16) -> ProduceResponse {
        var p = ProduceResponse.Partition()
        p.index = 2
        p.errorCode = 87
        p.baseOffset = 1000
        if v >= 2 { p.logAppendTimeMs = 1_700_000_000_000 }
        if v >= 5 { p.logStartOffset = 10 }
        if v >= 8 {
            p.recordErrors = [.init(batchIndex: 4, message: "bad"), .init(batchIndex: 5, message: nil)]
            p.errorMessage = "invalid record"
        }
        var r = ProduceResponse()
        r.topics = [.init(name: "orders", partitions: [p])]
        if v >= 1 { r.throttleTimeMs = 3 }
        return r
    }

    static func fetchRequest(_ v: Int16) -> FetchRequest {
        var r = FetchRequest()
        if v <= 14 { r.replicaId = -2 }
        r.maxWaitMs = 250
        r.minBytes = 7
        if v >= 3 { r.maxBytes = 1 << 20 }
        if v >= 4 { r.isolationLevel = 1 }
        if v >= 7 {
            r.sessionId = 42
            r.sessionEpoch = 3
        }
        var p = FetchRequest.Partition(partition: 4, fetchOffset: 99, partitionMaxBytes: 65536)
        if v >= 9 { p.currentLeaderEpoch = 6 }
        if v >= 12 { p.lastFetchedEpoch = 5 }
        if v >= 5 { p.logStartOffset = 11 }
        var t = FetchRequest.Topic()
        if v <= 12 { t.topic = "orders" } else { t.topicId = uuidA }
        t.partitions = [p]
        r.topics = [t]
        if v >= 7 {
            var f = FetchRequest.ForgottenTopic()
            if v <= 12 { f.topic = "old" } else { f.topicId = uuidB }
            f.partitions = [0, 1]
            r.forgottenTopics = [f]
        }
        if v >= 11 { r.rackId = "rack-b" }
        return r
    }

    static func fetchResponse(_ v: Int16) -> FetchResponse {
        var p = FetchResponse.Partition()
        p.partitionIndex = 4
        p.errorCode = 1
        p.highWatermark = 500
        if v >= 4 {
            p.lastStableOffset = 400
            var a = FetchResponse.AbortedTransaction()
            a.producerId = 77
            a.firstOffset = 300
            p.abortedTransactions = [a]
        }
        if v >= 5 { p.logStartOffset = 12 }
        if v >= 11 { p.preferredReadReplica = 2 }
        p.records = buf([9, 8, 7])
        var empty = FetchResponse.Partition()
        empty.partitionIndex = 5
        if v >= 4 { empty.abortedTransactions = [] }
        var t = FetchResponse.Topic()
        if v <= 12 { t.topic = "orders" } else { t.topicId = uuidA }
        t.partitions = [p, empty]
        var r = FetchResponse()
        if v >= 1 { r.throttleTimeMs = 8 }
        if v >= 7 {
            r.errorCode = 70
            r.sessionId = 42
        }
        r.topics = [t]
        return r
    }

    static func listOffsetsRequest(_ v: Int16) -> ListOffsetsRequest {
        var r = ListOffsetsRequest()
        r.replicaId = -2
        if v >= 2 { r.isolationLevel = 1 }
        var p = ListOffsetsRequest.Partition(partitionIndex: 1, timestamp: ListOffsetsRequest.earliestTimestamp)
        if v >= 4 { p.currentLeaderEpoch = 9 }
        if v == 0 { p.maxNumOffsets = 5 }
        r.topics = [.init(name: "orders", partitions: [p])]
        if v >= 10 { r.timeoutMs = 3000 }
        return r
    }

    static func listOffsetsResponse(_ v: Int16) -> ListOffsetsResponse {
        var p = ListOffsetsResponse.Partition()
        p.partitionIndex = 1
        p.errorCode = 6
        if v == 0 { p.oldStyleOffsets = [10, 5] }
        if v >= 1 {
            p.timestamp = 1_700_000_000_123
            p.offset = 10
        }
        if v >= 4 { p.leaderEpoch = 4 }
        var t = ListOffsetsResponse.Topic()
        t.name = "orders"
        t.partitions = [p]
        var r = ListOffsetsResponse()
        if v >= 2 { r.throttleTimeMs = 2 }
        r.topics = [t]
        return r
    }
}

// MARK: - Samples: topic and config administration

private extension Samples {
    static func createTopicsRequest(_ v: Int16) -> CreateTopicsRequest {
        var r = CreateTopicsRequest()
        r.topics = [
            .init(name: "orders", numPartitions: 6, replicationFactor: 3,
                  assignments: [.init(partitionIndex: 0, brokerIds: [1, 2, 3]), .init(partitionIndex: 1, brokerIds: [])],
                  configs: [.init(name: "cleanup.policy", value: "compact"), .init(name: "retention.ms", value: nil)]),
            .init(name: "events", numPartitions: -1, replicationFactor: -1),
        ]
        r.timeoutMs = 1234
        if v >= 1 { r.validateOnly = true }
        return r
    }

    static func createTopicsResponse(_ v: Int16) -> CreateTopicsResponse {
        var t = CreateTopicsResponse.Topic()
        t.name = "orders"
        if v >= 7 { t.topicId = uuidA }
        t.errorCode = 36
        if v >= 1 { t.errorMessage = "Topic 'orders' already exists." }
        if v >= 5 {
            t.topicConfigErrorCode = 29
            t.numPartitions = 6
            t.replicationFactor = 3
            t.configs = [.init(name: "cleanup.policy", value: "compact", readOnly: true, configSource: 5, isSensitive: true),
                         .init(name: "secret", value: nil)]
        }
        var other = CreateTopicsResponse.Topic()
        other.name = "events"
        if v >= 5 { other.configs = nil }
        var r = CreateTopicsResponse()
        if v >= 2 { r.throttleTimeMs = 100 }
        r.topics = [t, other]
        return r
    }

    static func deleteTopicsRequest(_ v: Int16) -> DeleteTopicsRequest {
        var r = DeleteTopicsRequest()
        if v >= 6 {
            r.topics = [.init(name: "orders"), .init(name: nil, topicId: uuidA)]
        } else {
            r.topicNames = ["orders", "events"]
        }
        r.timeoutMs = 30000
        return r
    }

    static func deleteTopicsResponse(_ v: Int16) -> DeleteTopicsResponse {
        var a = DeleteTopicsResponse.Result()
        a.name = "orders"
        if v >= 6 { a.topicId = uuidA }
        a.errorCode = 3
        if v >= 5 { a.errorMessage = "unknown" }
        var b = DeleteTopicsResponse.Result()
        b.name = v >= 6 ? nil : "events"
        if v >= 6 { b.topicId = uuidB }
        var r = DeleteTopicsResponse()
        if v >= 1 { r.throttleTimeMs = 4 }
        r.responses = [a, b]
        return r
    }

    static func createPartitionsRequest(_ v: Int16) -> CreatePartitionsRequest {
        var r = CreatePartitionsRequest()
        r.topics = [.init(name: "orders", count: 8, assignments: [.init(brokerIds: [1, 2]), .init(brokerIds: [2, 3])]),
                    .init(name: "events", count: 4, assignments: nil)]
        r.timeoutMs = 5000
        r.validateOnly = true
        return r
    }

    static func createPartitionsResponse(_ v: Int16) -> CreatePartitionsResponse {
        .init(throttleTimeMs: 6, results: [.init(name: "orders", errorCode: .invalidPartitions, errorMessage: "too few"),
                                           .init(name: "events", errorCode: .none)])
    }

    static func describeConfigsRequest(_ v: Int16) -> DescribeConfigsRequest {
        var r = DescribeConfigsRequest()
        r.resources = [.init(resourceType: ConfigResourceType.topic.rawValue, resourceName: "orders",
                             configurationKeys: ["retention.ms", "cleanup.policy"]),
                       .init(resourceType: ConfigResourceType.broker.rawValue, resourceName: "1", configurationKeys: nil)]
        if v >= 1 { r.includeSynonyms = true }
        if v >= 3 { r.includeDocumentation = true }
        return r
    }

    static func describeConfigsResponse(_ v: Int16) -> DescribeConfigsResponse {
        var c = DescribeConfigsResponse.Config()
        c.name = "retention.ms"
        c.value = "604800000"
        c.readOnly = true
        if v == 0 { c.isDefault = true }
        if v >= 1 {
            c.configSource = DescribeConfigsResponse.ConfigSource.dynamicTopicConfig.rawValue
            c.synonyms = [.init(name: "retention.ms", value: "604800000", source: 1), .init(name: "log.retention.ms", value: nil, source: 5)]
        }
        c.isSensitive = true
        if v >= 3 {
            c.configType = 5
            c.documentation = "How long to keep logs."
        }
        var secret = DescribeConfigsResponse.Config()
        secret.name = "sasl.jaas.config"
        secret.value = nil
        var r = DescribeConfigsResponse()
        r.throttleTimeMs = 9
        r.results = [.init(errorCode: .unknownTopicOrPartition, errorMessage: "nope", resourceType: 2, resourceName: "orders",
                           configs: [c, secret])]
        return r
    }

    static func alterConfigsRequest(_ v: Int16) -> AlterConfigsRequest {
        var r = AlterConfigsRequest()
        r.resources = [.init(resourceType: 2, resourceName: "orders",
                             configs: [.init(name: "retention.ms", value: "1000"), .init(name: "cleanup.policy", value: nil)])]
        r.validateOnly = true
        return r
    }

    static func alterConfigsResponse(_ v: Int16) -> AlterConfigsResponse {
        .init(throttleTimeMs: 11, responses: [.init(errorCode: .invalidConfig, errorMessage: "bad value", resourceType: 2, resourceName: "orders"),
                                              .init(errorCode: .none, resourceType: 4, resourceName: "1")])
    }

    static func incrementalAlterConfigsRequest(_ v: Int16) -> IncrementalAlterConfigsRequest {
        var r = IncrementalAlterConfigsRequest()
        r.resources = [.init(resourceType: 2, resourceName: "orders",
                             configs: [.init(name: "retention.ms", operation: .set, value: "1000"),
                                       .init(name: "cleanup.policy", operation: .delete, value: nil),
                                       .init(name: "x", operation: .subtract, value: "a")])]
        r.validateOnly = true
        return r
    }

    static func incrementalAlterConfigsResponse(_ v: Int16) -> IncrementalAlterConfigsResponse {
        .init(throttleTimeMs: 12, responses: [.init(errorCode: .invalidConfig, errorMessage: "bad", resourceType: 2, resourceName: "orders")])
    }

    static func describeClusterRequest(_ v: Int16) -> DescribeClusterRequest {
        var r = DescribeClusterRequest()
        r.includeClusterAuthorizedOperations = true
        if v >= 1 { r.endpointType = 2 }
        return r
    }

    static func describeClusterResponse(_ v: Int16) -> DescribeClusterResponse {
        var r = DescribeClusterResponse()
        r.throttleTimeMs = 1
        r.errorCode = 31
        r.errorMessage = "denied"
        if v >= 1 { r.endpointType = 2 }
        r.clusterId = "cluster-xyz"
        r.controllerId = 1
        r.brokers = [.init(brokerId: 1, host: "b1", port: 9092, rack: "r1"), .init(brokerId: 2, host: "b2", port: 9093)]
        r.clusterAuthorizedOperations = 0x7F
        return r
    }

    static func describeTopicPartitionsRequest(_ v: Int16) -> DescribeTopicPartitionsRequest {
        var r = DescribeTopicPartitionsRequest()
        r.topics = [.init(name: "orders"), .init(name: "events")]
        r.responsePartitionLimit = 100
        r.cursor = .init(topicName: "orders", partitionIndex: 7)
        return r
    }

    static func describeTopicPartitionsResponse(_ v: Int16) -> DescribeTopicPartitionsResponse {
        var p = DescribeTopicPartitionsResponse.Partition()
        p.errorCode = 5
        p.partitionIndex = 7
        p.leaderId = 2
        p.leaderEpoch = 3
        p.replicaNodes = [1, 2, 3]
        p.isrNodes = [2, 3]
        p.eligibleLeaderReplicas = [1]
        p.lastKnownElr = []
        p.offlineReplicas = [1]
        var t = DescribeTopicPartitionsResponse.Topic()
        t.errorCode = 0
        t.name = "orders"
        t.topicId = uuidA
        t.isInternal = true
        t.partitions = [p]
        t.topicAuthorizedOperations = 0x0F
        var missing = DescribeTopicPartitionsResponse.Topic()
        missing.errorCode = 3
        missing.name = nil
        var r = DescribeTopicPartitionsResponse()
        r.throttleTimeMs = 2
        r.topics = [t, missing]
        r.nextCursor = .init(topicName: "orders", partitionIndex: 8)
        return r
    }

    static func deleteRecordsRequest(_ v: Int16) -> DeleteRecordsRequest {
        var r = DeleteRecordsRequest()
        r.topics = [.init(name: "orders", partitions: [.init(partitionIndex: 0, offset: 100), .init(partitionIndex: 1, offset: -1)])]
        r.timeoutMs = 2000
        return r
    }

    static func deleteRecordsResponse(_ v: Int16) -> DeleteRecordsResponse {
        .init(throttleTimeMs: 3, topics: [.init(name: "orders", partitions: [.init(partitionIndex: 0, lowWatermark: 100),
                                                                             .init(partitionIndex: 1, lowWatermark: -1, errorCode: .offsetOutOfRange)])])
    }
}

// MARK: - Samples: producers, coordinators and groups

private extension Samples {
    static func initProducerIdRequest(_ v: Int16) -> InitProducerIdRequest {
        var r = InitProducerIdRequest(transactionalId: "txn-1", transactionTimeoutMs: 60000)
        if v >= 3 {
            r.producerId = 4000
            r.producerEpoch = 2
        }
        return r
    }

    static func initProducerIdResponse(_ v: Int16) -> InitProducerIdResponse {
        .init(throttleTimeMs: 7, errorCode: .coordinatorLoadInProgress, producerId: 4001, producerEpoch: 3)
    }

    static func findCoordinatorRequest(_ v: Int16) -> FindCoordinatorRequest {
        var r = FindCoordinatorRequest()
        if v <= 3 { r.key = "my-group" }
        if v >= 1 { r.keyType = FindCoordinatorRequest.KeyType.transaction.rawValue }
        if v >= 4 { r.coordinatorKeys = ["txn-1", "txn-2"] }
        return r
    }

    static func findCoordinatorResponse(_ v: Int16) -> FindCoordinatorResponse {
        var r = FindCoordinatorResponse()
        if v >= 1 { r.throttleTimeMs = 10 }
        if v <= 3 {
            r.errorCode = 15
            if v >= 1 { r.errorMessage = "loading" }
            r.nodeId = 1
            r.host = "b1.local"
            r.port = 9092
        }
        if v >= 4 {
            r.coordinators = [.init(key: "txn-1", nodeId: 1, host: "b1.local", port: 9092),
                              .init(key: "txn-2", nodeId: -1, host: "", port: -1, errorCode: .coordinatorNotAvailable, errorMessage: "later")]
        }
        return r
    }

    static func joinGroupRequest(_ v: Int16) -> JoinGroupRequest {
        var r = JoinGroupRequest()
        r.groupId = "g1"
        r.sessionTimeoutMs = 45000
        if v >= 1 { r.rebalanceTimeoutMs = 300_000 }
        r.memberId = "consumer-1-abc"
        if v >= 5 { r.groupInstanceId = "instance-1" }
        r.protocolType = "consumer"
        r.protocols = [.init(name: "range", metadata: buf([0, 0, 0, 0, 0, 1])), .init(name: "cooperative-sticky", metadata: buf([]))]
        if v >= 8 { r.reason = "rebalance" }
        return r
    }

    static func joinGroupResponse(_ v: Int16) -> JoinGroupResponse {
        var r = JoinGroupResponse()
        if v >= 2 { r.throttleTimeMs = 1 }
        r.errorCode = 79
        r.generationId = 5
        if v >= 7 { r.protocolType = "consumer" }
        r.protocolName = "range"
        r.leader = "consumer-1-abc"
        if v >= 9 { r.skipAssignment = true }
        r.memberId = "consumer-1-abc"
        r.members = [.init(memberId: "consumer-1-abc", groupInstanceId: v >= 5 ? "instance-1" : nil, metadata: buf([1, 2, 3])),
                     .init(memberId: "consumer-2-def", metadata: buf([]))]
        return r
    }

    static func syncGroupRequest(_ v: Int16) -> SyncGroupRequest {
        var r = SyncGroupRequest()
        r.groupId = "g1"
        r.generationId = 5
        r.memberId = "consumer-1-abc"
        if v >= 3 { r.groupInstanceId = "instance-1" }
        if v >= 5 {
            r.protocolType = "consumer"
            r.protocolName = "range"
        }
        r.assignments = [.init(memberId: "consumer-1-abc", assignment: buf([0, 3, 1])), .init(memberId: "consumer-2-def", assignment: buf([]))]
        return r
    }

    static func syncGroupResponse(_ v: Int16) -> SyncGroupResponse {
        var r = SyncGroupResponse()
        if v >= 1 { r.throttleTimeMs = 2 }
        r.errorCode = 27
        if v >= 5 {
            r.protocolType = "consumer"
            r.protocolName = "range"
        }
        r.assignment = buf([0, 3, 1])
        return r
    }

    static func heartbeatRequest(_ v: Int16) -> HeartbeatRequest {
        var r = HeartbeatRequest()
        r.groupId = "g1"
        r.generationId = 5
        r.memberId = "consumer-1-abc"
        if v >= 3 { r.groupInstanceId = "instance-1" }
        return r
    }

    static func heartbeatResponse(_ v: Int16) -> HeartbeatResponse {
        .init(throttleTimeMs: v >= 1 ? 3 : 0, errorCode: .rebalanceInProgress)
    }

    static func leaveGroupRequest(_ v: Int16) -> LeaveGroupRequest {
        var r = LeaveGroupRequest()
        r.groupId = "g1"
        if v <= 2 { r.memberId = "consumer-1-abc" }
        if v >= 3 {
            r.members = [.init(memberId: "consumer-1-abc", groupInstanceId: "instance-1", reason: v >= 5 ? "shutdown" : nil),
                         .init(memberId: "consumer-2-def")]
        }
        return r
    }

    static func leaveGroupResponse(_ v: Int16) -> LeaveGroupResponse {
        var r = LeaveGroupResponse()
        if v >= 1 { r.throttleTimeMs = 4 }
        r.errorCode = 25
        if v >= 3 {
            r.members = [.init(memberId: "consumer-1-abc", groupInstanceId: "instance-1", errorCode: .unknownMemberId),
                         .init(memberId: "consumer-2-def", errorCode: .none)]
        }
        return r
    }

    static func offsetCommitRequest(_ v: Int16) -> OffsetCommitRequest {
        var r = OffsetCommitRequest()
        r.groupId = "g1"
        if v >= 1 {
            r.generationIdOrMemberEpoch = 5
            r.memberId = "consumer-1-abc"
        }
        if v >= 7 { r.groupInstanceId = "instance-1" }
        if v >= 2 && v <= 4 { r.retentionTimeMs = 86_400_000 }
        var p = OffsetCommitRequest.Partition(partitionIndex: 2, committedOffset: 1234, committedMetadata: "meta")
        if v >= 6 { p.committedLeaderEpoch = 8 }
        if v == 1 { p.commitTimestamp = 1_700_000_000_000 }
        r.topics = [.init(name: "orders", partitions: [p, .init(partitionIndex: 3, committedOffset: 0, committedMetadata: nil)])]
        return r
    }

    static func offsetCommitResponse(_ v: Int16) -> OffsetCommitResponse {
        .init(throttleTimeMs: v >= 3 ? 5 : 0,
              topics: [.init(name: "orders", partitions: [.init(partitionIndex: 2, errorCode: .illegalGeneration),
                                                          .init(partitionIndex: 3, errorCode: .none)])])
    }

    static func offsetFetchRequest(_ v: Int16) -> OffsetFetchRequest {
        var r = OffsetFetchRequest()
        if v <= 7 {
            r.groupId = "g1"
            r.topics = [.init(name: "orders", partitionIndexes: [0, 1, 2])]
            if v >= 2 && v % 2 == 1 { r.topics = nil }
        }
        if v >= 8 {
            var g = OffsetFetchRequest.Group(groupId: "g1", topics: [.init(name: "orders", partitionIndexes: [0, 1])])
            if v >= 9 {
                g.memberId = "member-1"
                g.memberEpoch = 12
            }
            r.groups = [g, .init(groupId: "g2", topics: nil)]
        }
        if v >= 7 { r.requireStable = true }
        return r
    }

    static func offsetFetchResponse(_ v: Int16) -> OffsetFetchResponse {
        var p = OffsetFetchResponse.Partition(partitionIndex: 1, committedOffset: 77, metadata: "meta", errorCode: .unstableOffsetCommit)
        if v >= 5 { p.committedLeaderEpoch = 3 }
        let none = OffsetFetchResponse.Partition(partitionIndex: 2, committedOffset: -1, metadata: nil)
        let topics = [OffsetFetchResponse.Topic(name: "orders", partitions: [p, none])]
        var r = OffsetFetchResponse()
        if v >= 3 { r.throttleTimeMs = 6 }
        if v <= 7 {
            r.topics = topics
            if v >= 2 { r.errorCode = 16 }
        }
        if v >= 8 {
            r.groups = [.init(groupId: "g1", topics: topics, errorCode: .notCoordinator), .init(groupId: "g2", topics: [])]
        }
        return r
    }

    static func listGroupsRequest(_ v: Int16) -> ListGroupsRequest {
        var r = ListGroupsRequest()
        if v >= 4 { r.statesFilter = ["Stable", "Empty"] }
        if v >= 5 { r.typesFilter = ["classic"] }
        return r
    }

    static func listGroupsResponse(_ v: Int16) -> ListGroupsResponse {
        var r = ListGroupsResponse()
        if v >= 1 { r.throttleTimeMs = 7 }
        r.errorCode = 15
        r.groups = [.init(groupId: "g1", protocolType: "consumer", groupState: v >= 4 ? "Stable" : "", groupType: v >= 5 ? "classic" : ""),
                    .init(groupId: "g2", protocolType: "")]
        return r
    }

    static func describeGroupsRequest(_ v: Int16) -> DescribeGroupsRequest {
        var r = DescribeGroupsRequest()
        r.groups = ["g1", "g2"]
        if v >= 3 { r.includeAuthorizedOperations = true }
        return r
    }

    static func describeGroupsResponse(_ v: Int16) -> DescribeGroupsResponse {
        var g = DescribeGroupsResponse.Group()
        g.errorCode = 16
        g.groupId = "g1"
        g.groupState = "Stable"
        g.protocolType = "consumer"
        g.protocolData = "range"
        g.members = [.init(memberId: "consumer-1-abc", groupInstanceId: v >= 4 ? "instance-1" : nil, clientId: "client-1",
                           clientHost: "/10.0.0.1", memberMetadata: buf([0, 1]), memberAssignment: buf([0, 2]))]
        if v >= 3 { g.authorizedOperations = 0x3FF }
        var r = DescribeGroupsResponse()
        if v >= 1 { r.throttleTimeMs = 8 }
        r.groups = [g, DescribeGroupsResponse.Group()]
        return r
    }

    static func deleteGroupsRequest(_ v: Int16) -> DeleteGroupsRequest {
        .init(groupsNames: ["g1", "g2"])
    }

    static func deleteGroupsResponse(_ v: Int16) -> DeleteGroupsResponse {
        .init(throttleTimeMs: 9, results: [.init(groupId: "g1", errorCode: .nonEmptyGroup), .init(groupId: "g2", errorCode: .none)])
    }

    static func offsetDeleteRequest(_ v: Int16) -> OffsetDeleteRequest {
        var r = OffsetDeleteRequest()
        r.groupId = "g1"
        r.topics = [.init(name: "orders", partitions: [.init(partitionIndex: 0), .init(partitionIndex: 4)])]
        return r
    }

    static func offsetDeleteResponse(_ v: Int16) -> OffsetDeleteResponse {
        var r = OffsetDeleteResponse()
        r.errorCode = 69
        r.throttleTimeMs = 10
        r.topics = [.init(name: "orders", partitions: [.init(partitionIndex: 0, errorCode: .groupSubscribedToTopic)])]
        return r
    }

    static func consumerGroupHeartbeatRequest(_ v: Int16) -> ConsumerGroupHeartbeatRequest {
        var r = ConsumerGroupHeartbeatRequest()
        r.groupId = "g1"
        r.memberId = "m-1"
        r.memberEpoch = 4
        r.instanceId = "instance-1"
        r.rackId = "rack-a"
        r.rebalanceTimeoutMs = 300_000
        r.subscribedTopicNames = ["orders", "events"]
        if v >= 1 { r.subscribedTopicRegex = "ord.*" }
        r.serverAssignor = "uniform"
        r.topicPartitions = [.init(topicId: uuidA, partitions: [0, 1]), .init(topicId: uuidB, partitions: [])]
        return r
    }

    static func consumerGroupHeartbeatResponse(_ v: Int16) -> ConsumerGroupHeartbeatResponse {
        var r = ConsumerGroupHeartbeatResponse()
        r.throttleTimeMs = 1
        r.errorCode = 110
        r.errorMessage = "fenced"
        r.memberId = "m-1"
        r.memberEpoch = 5
        r.heartbeatIntervalMs = 5000
        r.assignment = .init(topicPartitions: [.init(topicId: uuidA, partitions: [0, 1, 2])])
        return r
    }

    static func consumerGroupDescribeRequest(_ v: Int16) -> ConsumerGroupDescribeRequest {
        var r = ConsumerGroupDescribeRequest()
        r.groupIds = ["g1", "g2"]
        r.includeAuthorizedOperations = true
        return r
    }

    static func consumerGroupDescribeResponse(_ v: Int16) -> ConsumerGroupDescribeResponse {
        var m = ConsumerGroupDescribeResponse.Member()
        m.memberId = "m-1"
        m.instanceId = "instance-1"
        m.rackId = "rack-a"
        m.memberEpoch = 5
        m.clientId = "client-1"
        m.clientHost = "/10.0.0.1"
        m.subscribedTopicNames = ["orders"]
        m.subscribedTopicRegex = "ord.*"
        m.assignment = .init(topicPartitions: [.init(topicId: uuidA, topicName: "orders", partitions: [0, 1])])
        m.targetAssignment = .init(topicPartitions: [.init(topicId: uuidA, topicName: "orders", partitions: [0, 1, 2])])
        var g = ConsumerGroupDescribeResponse.Group()
        g.errorCode = 69
        g.errorMessage = "not found"
        g.groupId = "g1"
        g.groupState = "Stable"
        g.groupEpoch = 6
        g.assignmentEpoch = 6
        g.assignorName = "uniform"
        g.members = [m]
        g.authorizedOperations = 0x1F
        var r = ConsumerGroupDescribeResponse()
        r.throttleTimeMs = 3
        r.groups = [g, ConsumerGroupDescribeResponse.Group()]
        return r
    }

    static func saslHandshakeRequest(_ v: Int16) -> SaslHandshakeRequest { .init(mechanism: "SCRAM-SHA-256") }

    static func saslHandshakeResponse(_ v: Int16) -> SaslHandshakeResponse {
        .init(errorCode: .unsupportedSaslMechanism, mechanisms: ["PLAIN", "SCRAM-SHA-512"])
    }

    static func saslAuthenticateRequest(_ v: Int16) -> SaslAuthenticateRequest {
        .init(authBytes: ByteBuffer(string: "n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL"))
    }

    static func saslAuthenticateResponse(_ v: Int16) -> SaslAuthenticateResponse {
        var r = SaslAuthenticateResponse()
        r.errorCode = 58  // SASL_AUTHENTICATION_FAILED
        r.errorMessage = "bad password"
        r.authBytes = ByteBuffer(string: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")
        if v >= 1 { r.sessionLifetimeMs = 3_600_000 }
        return r
    }
}

// MARK: - Samples: transactions

private extension Samples {
    static func addPartitionsToTxnRequest(_ v: Int16) -> AddPartitionsToTxnRequest {
        let topics: [AddPartitionsToTxnRequest.Topic] = [.init(name: "orders", partitions: [0, 3]), .init(name: "events", partitions: [])]
        if v >= 4 {
            return .init(transactions: [
                .init(transactionalId: "txn-1", producerId: 4000, producerEpoch: 2, verifyOnly: true, topics: topics),
                .init(transactionalId: "txn-2", producerId: 4001, producerEpoch: 0, topics: []),
            ])
        }
        return .init(transactionalId: "txn-1", producerId: 4000, producerEpoch: 2, topics: topics)
    }

    static func addPartitionsToTxnResponse(_ v: Int16) -> AddPartitionsToTxnResponse {
        let topics: [AddPartitionsToTxnResponse.TopicResult] = [
            .init(name: "orders", resultsByPartition: [.init(partitionIndex: 0, errorCode: .concurrentTransactions),
                                                       .init(partitionIndex: 3, errorCode: .none)]),
            .init(name: "events", resultsByPartition: []),
        ]
        if v >= 4 {
            return .init(throttleTimeMs: 4, errorCode: v >= 5 ? .transactionAbortable : .notCoordinator,
                         resultsByTransaction: [.init(transactionalId: "txn-1", topicResults: topics),
                                                .init(transactionalId: "txn-2", topicResults: [])])
        }
        return .init(throttleTimeMs: 4, resultsByTopic: topics)
    }

    static func addOffsetsToTxnRequest(_ v: Int16) -> AddOffsetsToTxnRequest {
        .init(transactionalId: "txn-1", producerId: 4000, producerEpoch: 2, groupId: "g1")
    }

    static func addOffsetsToTxnResponse(_ v: Int16) -> AddOffsetsToTxnResponse {
        .init(throttleTimeMs: 5, errorCode: .groupAuthorizationFailed)
    }

    static func endTxnRequest(_ v: Int16) -> EndTxnRequest {
        .init(transactionalId: "txn-1", producerId: 4000, producerEpoch: 2, committed: true)
    }

    static func endTxnResponse(_ v: Int16) -> EndTxnResponse {
        var r = EndTxnResponse(throttleTimeMs: 6, errorCode: .invalidTxnState)
        if v >= 5 {
            r.producerId = 4002
            r.producerEpoch = 3
        }
        return r
    }

    static func writeTxnMarkersRequest(_ v: Int16) -> WriteTxnMarkersRequest {
        .init(markers: [
            .init(producerId: 4000, producerEpoch: 2, transactionResult: true,
                  topics: [.init(name: "orders", partitionIndexes: [0, 3]), .init(name: "events", partitionIndexes: [])],
                  coordinatorEpoch: 9, transactionVersion: v >= 2 ? 2 : 0),
            .init(producerId: 4001, producerEpoch: 0, transactionResult: false, topics: [], coordinatorEpoch: 9),
        ])
    }

    static func writeTxnMarkersResponse(_ v: Int16) -> WriteTxnMarkersResponse {
        .init(markers: [
            .init(producerId: 4000, topics: [.init(name: "orders", partitions: [.init(partitionIndex: 0, errorCode: .none),
                                                                               .init(partitionIndex: 3, errorCode: .notLeaderOrFollower)])]),
            .init(producerId: 4001, topics: []),
        ])
    }

    static func txnOffsetCommitRequest(_ v: Int16) -> TxnOffsetCommitRequest {
        var r = TxnOffsetCommitRequest()
        r.transactionalId = "txn-1"
        r.groupId = "g1"
        r.producerId = 4000
        r.producerEpoch = 2
        if v >= 3 {
            r.generationId = 5
            r.memberId = "consumer-1-abc"
            r.groupInstanceId = "instance-1"
        }
        r.topics = [.init(name: "orders", partitions: [
            .init(partitionIndex: 2, committedOffset: 1234, committedLeaderEpoch: v >= 2 ? 8 : -1, committedMetadata: "meta"),
            .init(partitionIndex: 3, committedOffset: 0, committedMetadata: nil),
        ])]
        return r
    }

    static func txnOffsetCommitResponse(_ v: Int16) -> TxnOffsetCommitResponse {
        .init(throttleTimeMs: 7, topics: [.init(name: "orders", partitions: [.init(partitionIndex: 2, errorCode: .unknownMemberId),
                                                                             .init(partitionIndex: 3, errorCode: .none)])])
    }

    static func describeProducersRequest(_ v: Int16) -> DescribeProducersRequest {
        .init(topics: [.init(name: "orders", partitionIndexes: [0, 1]), .init(name: "events", partitionIndexes: [])])
    }

    static func describeProducersResponse(_ v: Int16) -> DescribeProducersResponse {
        .init(throttleTimeMs: 8, topics: [.init(name: "orders", partitions: [
            .init(partitionIndex: 0, activeProducers: [
                .init(producerId: 4000, producerEpoch: 2, lastSequence: 41, lastTimestamp: 1_700_000_000_000, coordinatorEpoch: 9,
                      currentTxnStartOffset: 1200),
                .init(producerId: 4001, producerEpoch: 0),
            ]),
            .init(partitionIndex: 1, errorCode: .notLeaderOrFollower, errorMessage: "not the leader"),
        ])])
    }

    static func describeTransactionsRequest(_ v: Int16) -> DescribeTransactionsRequest {
        .init(transactionalIds: ["txn-1", "txn-2"])
    }

    static func describeTransactionsResponse(_ v: Int16) -> DescribeTransactionsResponse {
        .init(throttleTimeMs: 9, transactionStates: [
            .init(transactionalId: "txn-1", transactionState: "Ongoing", transactionTimeoutMs: 60000,
                  transactionStartTimeMs: 1_700_000_000_000, producerId: 4000, producerEpoch: 2,
                  topics: [.init(topic: "orders", partitions: [0, 3]), .init(topic: "events", partitions: [])]),
            .init(errorCode: .transactionalIdNotFound, transactionalId: "txn-2", transactionState: "", producerId: -1, producerEpoch: -1),
        ])
    }

    static func listTransactionsRequest(_ v: Int16) -> ListTransactionsRequest {
        var r = ListTransactionsRequest(stateFilters: ["Ongoing", "PrepareCommit"], producerIdFilters: [4000, 4001])
        if v >= 1 { r.durationFilter = 60000 }
        if v >= 2 { r.transactionalIdPattern = "txn-.*" }
        return r
    }

    static func listTransactionsResponse(_ v: Int16) -> ListTransactionsResponse {
        .init(throttleTimeMs: 10, errorCode: .coordinatorLoadInProgress, unknownStateFilters: ["Bogus"],
              transactionStates: [.init(transactionalId: "txn-1", producerId: 4000, transactionState: "Ongoing"),
                                  .init(transactionalId: "txn-2", producerId: 4001, transactionState: "PrepareAbort")])
    }
}

private let allMessageApiCases: [MessageApiCase] = [
    MessageApiCase(ApiVersionsRequest.self, request: Samples.apiVersionsRequest, response: Samples.apiVersionsResponse),
    MessageApiCase(MetadataRequest.self, request: Samples.metadataRequest, response: Samples.metadataResponse),
    MessageApiCase(ProduceRequest.self, request: Samples.produceRequest, response: Samples.produceResponse),
    MessageApiCase(FetchRequest.self, request: Samples.fetchRequest, response: Samples.fetchResponse),
    MessageApiCase(ListOffsetsRequest.self, request: Samples.listOffsetsRequest, response: Samples.listOffsetsResponse),
    MessageApiCase(CreateTopicsRequest.self, request: Samples.createTopicsRequest, response: Samples.createTopicsResponse),
    MessageApiCase(DeleteTopicsRequest.self, request: Samples.deleteTopicsRequest, response: Samples.deleteTopicsResponse),
    MessageApiCase(CreatePartitionsRequest.self, request: Samples.createPartitionsRequest, response: Samples.createPartitionsResponse),
    MessageApiCase(DescribeConfigsRequest.self, request: Samples.describeConfigsRequest, response: Samples.describeConfigsResponse),
    MessageApiCase(AlterConfigsRequest.self, request: Samples.alterConfigsRequest, response: Samples.alterConfigsResponse),
    MessageApiCase(IncrementalAlterConfigsRequest.self, request: Samples.incrementalAlterConfigsRequest,
            response: Samples.incrementalAlterConfigsResponse),
    MessageApiCase(DescribeClusterRequest.self, request: Samples.describeClusterRequest, response: Samples.describeClusterResponse),
    MessageApiCase(DescribeTopicPartitionsRequest.self, request: Samples.describeTopicPartitionsRequest,
            response: Samples.describeTopicPartitionsResponse),
    MessageApiCase(DeleteRecordsRequest.self, request: Samples.deleteRecordsRequest, response: Samples.deleteRecordsResponse),
    MessageApiCase(InitProducerIdRequest.self, request: Samples.initProducerIdRequest, response: Samples.initProducerIdResponse),
    MessageApiCase(FindCoordinatorRequest.self, request: Samples.findCoordinatorRequest, response: Samples.findCoordinatorResponse),
    MessageApiCase(JoinGroupRequest.self, request: Samples.joinGroupRequest, response: Samples.joinGroupResponse),
    MessageApiCase(SyncGroupRequest.self, request: Samples.syncGroupRequest, response: Samples.syncGroupResponse),
    MessageApiCase(HeartbeatRequest.self, request: Samples.heartbeatRequest, response: Samples.heartbeatResponse),
    MessageApiCase(LeaveGroupRequest.self, request: Samples.leaveGroupRequest, response: Samples.leaveGroupResponse),
    MessageApiCase(OffsetCommitRequest.self, request: Samples.offsetCommitRequest, response: Samples.offsetCommitResponse),
    MessageApiCase(OffsetFetchRequest.self, request: Samples.offsetFetchRequest, response: Samples.offsetFetchResponse),
    MessageApiCase(ListGroupsRequest.self, request: Samples.listGroupsRequest, response: Samples.listGroupsResponse),
    MessageApiCase(DescribeGroupsRequest.self, request: Samples.describeGroupsRequest, response: Samples.describeGroupsResponse),
    MessageApiCase(DeleteGroupsRequest.self, request: Samples.deleteGroupsRequest, response: Samples.deleteGroupsResponse),
    MessageApiCase(OffsetDeleteRequest.self, request: Samples.offsetDeleteRequest, response: Samples.offsetDeleteResponse),
    MessageApiCase(ConsumerGroupHeartbeatRequest.self, request: Samples.consumerGroupHeartbeatRequest,
            response: Samples.consumerGroupHeartbeatResponse),
    MessageApiCase(ConsumerGroupDescribeRequest.self, request: Samples.consumerGroupDescribeRequest,
            response: Samples.consumerGroupDescribeResponse),
    MessageApiCase(SaslHandshakeRequest.self, request: Samples.saslHandshakeRequest, response: Samples.saslHandshakeResponse),
    MessageApiCase(SaslAuthenticateRequest.self, request: Samples.saslAuthenticateRequest, response: Samples.saslAuthenticateResponse),
    MessageApiCase(AddPartitionsToTxnRequest.self, request: Samples.addPartitionsToTxnRequest, response: Samples.addPartitionsToTxnResponse),
    MessageApiCase(AddOffsetsToTxnRequest.self, request: Samples.addOffsetsToTxnRequest, response: Samples.addOffsetsToTxnResponse),
    MessageApiCase(EndTxnRequest.self, request: Samples.endTxnRequest, response: Samples.endTxnResponse),
    MessageApiCase(WriteTxnMarkersRequest.self, request: Samples.writeTxnMarkersRequest, response: Samples.writeTxnMarkersResponse),
    MessageApiCase(TxnOffsetCommitRequest.self, request: Samples.txnOffsetCommitRequest, response: Samples.txnOffsetCommitResponse),
    MessageApiCase(DescribeProducersRequest.self, request: Samples.describeProducersRequest, response: Samples.describeProducersResponse),
    MessageApiCase(DescribeTransactionsRequest.self, request: Samples.describeTransactionsRequest,
            response: Samples.describeTransactionsResponse),
    MessageApiCase(ListTransactionsRequest.self, request: Samples.listTransactionsRequest, response: Samples.listTransactionsResponse),
]

// MARK: - Round trips

@Suite struct MessageRoundTripTests {
    @Test(arguments: allMessageApiCases)
    func everyVersionRoundTrips(_ api: MessageApiCase) throws {
        for v in api.versions { try api.roundTrip(v) }
    }

    /// Catches fields coded in versions where the schema does not have them, which a round
    /// trip alone cannot see (both sides agree on the wrong layout).
    @Test(arguments: allMessageApiCases)
    func fieldLayoutsMatchTheSchema(_ api: MessageApiCase) throws {
        let req = try #require(schemaLayouts[api.requestName], "no layout for \(api.requestName)")
        let resp = try #require(schemaLayouts[api.responseName], "no layout for \(api.responseName)")
        #expect(req.count == api.versions.count && resp.count == api.versions.count, "version range differs from the schema")
        for v in api.versions where Int(v) < req.count && Int(v) < resp.count {
            let got = try api.layouts(v)
            #expect(got.request == req[Int(v)], "\(api.requestName) v\(v)")
            #expect(got.response == resp[Int(v)], "\(api.responseName) v\(v)")
        }
    }

    @Test func unsupportedVersionsAreRefused() {
        #expect(throws: KafkaDecodingError.unsupportedVersion(apiKey: 10, version: 7)) {
            try FindCoordinatorRequest.decode(from: ByteBuffer(), version: 7)
        }
        #expect(throws: KafkaDecodingError.unsupportedVersion(apiKey: 75, version: 1)) {
            try DescribeTopicPartitionsRequest.decode(from: ByteBuffer(), version: 1)
        }
    }

    @Test func nullableFieldsRoundTripAsNull() throws {
        // Nulls in the versions where the schema allows them.
        var join = JoinGroupResponse()
        join.protocolName = nil
        join.protocolType = nil
        let j = try JoinGroupRequest.decodeResponse(from: encodeResponse(JoinGroupRequest.self, join, version: 7), version: 7)
        #expect(j.protocolName == nil && j.protocolType == nil)
        // Before v7 the protocol name is not nullable: nil goes out as "".
        let j6 = try JoinGroupRequest.decodeResponse(from: encodeResponse(JoinGroupRequest.self, join, version: 6), version: 6)
        #expect(j6.protocolName == "")

        var dtp = DescribeTopicPartitionsRequest()
        dtp.cursor = nil
        let d = try DescribeTopicPartitionsRequest.decode(from: encodeRequest(dtp, version: 0), version: 0)
        #expect(d.cursor == nil)

        var cgh = ConsumerGroupHeartbeatResponse()
        cgh.assignment = nil
        let c = try ConsumerGroupHeartbeatRequest.decodeResponse(
            from: encodeResponse(ConsumerGroupHeartbeatRequest.self, cgh, version: 0), version: 0)
        #expect(c == cgh)

        var of = OffsetFetchRequest()
        of.groupId = "g"
        of.topics = nil
        // v1 cannot express "all topics": nil goes out as an empty list.
        #expect(try OffsetFetchRequest.decode(from: encodeRequest(of, version: 1), version: 1).topics == [])
        #expect(try OffsetFetchRequest.decode(from: encodeRequest(of, version: 2), version: 2).topics == nil)
    }

    @Test func versionAwareAccessors() {
        var f = FindCoordinatorRequest()
        f.key = "g"
        f.coordinatorKeys = ["a", "b"]
        #expect(f.keys(version: 3) == ["g"])
        #expect(f.keys(version: 4) == ["a", "b"])
        var l = LeaveGroupRequest()
        l.memberId = "m"
        #expect(l.leavingMembers(version: 2).map(\.memberId) == ["m"])
        #expect(l.leavingMembers(version: 3).isEmpty)
        var o = OffsetFetchRequest()
        o.groupId = "g"
        o.topics = nil
        #expect(o.requestedGroups(version: 7) == [.init(groupId: "g", topics: nil)])
    }

    @Test func transactionApisAccessorsAndVersions() {
        let client = AddPartitionsToTxnRequest(transactionalId: "t", producerId: 5, producerEpoch: 1,
                                               topics: [.init(name: "a", partitions: [0])])
        #expect(client.requestedTransactions(version: 3) == [.init(transactionalId: "t", producerId: 5, producerEpoch: 1,
                                                                   verifyOnly: false, topics: [.init(name: "a", partitions: [0])])])
        #expect(client.requestedTransactions(version: 4).isEmpty)
        #expect(ApiKey(rawValue: 65) == .describeTransactions && ApiKey.describeTransactions.description == "DescribeTransactions")
        #expect(ApiKey(rawValue: 66) == .listTransactions && ApiKey.listTransactions.description == "ListTransactions")
        #expect(ErrorCode(code: 52) == .transactionCoordinatorFenced)
        #expect(ErrorCode(code: 105) == .transactionalIdNotFound)
        #expect(ErrorCode(code: 120) == .transactionAbortable)
        #expect(throws: KafkaDecodingError.unsupportedVersion(apiKey: 27, version: 3)) {
            try WriteTxnMarkersRequest.decode(from: ByteBuffer(), version: 3)
        }
        #expect(throws: KafkaDecodingError.unsupportedVersion(apiKey: 65, version: 1)) {
            try DescribeTransactionsRequest.decode(from: ByteBuffer(), version: 1)
        }
        // Flexibility: WriteTxnMarkers from v1, the KIP-664 APIs always, the others from v3.
        #expect(!WriteTxnMarkersRequest.isFlexible(0) && WriteTxnMarkersRequest.isFlexible(1))
        #expect(ListTransactionsRequest.isFlexible(0) && DescribeProducersRequest.isFlexible(0) && DescribeTransactionsRequest.isFlexible(0))
        #expect(!EndTxnRequest.isFlexible(2) && EndTxnRequest.isFlexible(3) && TxnOffsetCommitRequest.isFlexible(3))
    }

    @Test func unknownTaggedFieldsAreSkipped() throws {
        // Heartbeat v4 with an unknown tag (7, two bytes) in the top-level tagged fields.
        let wire: [UInt8] = [
            0x02, 0x67,              // group id "g" (compact: length + 1)
            0x00, 0x00, 0x00, 0x05,  // generation id 5
            0x02, 0x6D,              // member id "m"
            0x00,                    // group instance id: null
            0x01,                    // one tagged field
            0x07, 0x02, 0xAB, 0xCD,  // tag 7, size 2, payload
        ]
        let h = try HeartbeatRequest.decode(from: buf(wire), version: 4)
        #expect(h.groupId == "g" && h.generationId == 5 && h.memberId == "m" && h.groupInstanceId == nil)
    }
}

// MARK: - Byte-exact fixtures (hand-computed from the schemas)

@Suite struct MessageRoundTripFixtureTests {
    private func expectBytes<T: KafkaRequestMessage & Equatable>(_ m: T, version: Int16, _ expected: [UInt8],
                                                                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        let b = try encodeRequest(m, version: version)
        #expect(bytes(b) == expected, sourceLocation: sourceLocation)
        #expect(try T.decode(from: buf(expected), version: version) == m, sourceLocation: sourceLocation)
    }

    private func expectResponseBytes<T: KafkaRequestMessage>(_: T.Type, _ r: T.Response, version: Int16, _ expected: [UInt8],
                                                             sourceLocation: SourceLocation = #_sourceLocation) throws
    where T.Response: Equatable {
        let b = try encodeResponse(T.self, r, version: version)
        #expect(bytes(b) == expected, sourceLocation: sourceLocation)
        #expect(try T.decodeResponse(from: buf(expected), version: version) == r, sourceLocation: sourceLocation)
    }

    @Test func findCoordinatorV1Request() throws {
        var r = FindCoordinatorRequest()
        r.key = "grp"
        r.keyType = 1
        try expectBytes(r, version: 1, [
            0x00, 0x03, 0x67, 0x72, 0x70,  // key: int16 length 3, "grp"
            0x01,                          // key type: int8 1 (transaction)
        ])
    }

    @Test func findCoordinatorV3Request() throws {
        var r = FindCoordinatorRequest()
        r.key = "grp"
        try expectBytes(r, version: 3, [
            0x04, 0x67, 0x72, 0x70,  // key: compact string, varint length+1 = 4, "grp"
            0x00,                    // key type 0 (group)
            0x00,                    // no tagged fields
        ])
    }

    @Test func findCoordinatorV4Request() throws {
        var r = FindCoordinatorRequest()
        r.keyType = 0
        r.coordinatorKeys = ["a", "bc"]
        try expectBytes(r, version: 4, [
            0x00,              // key type 0
            0x03,              // coordinator keys: compact array, count+1 = 3
            0x02, 0x61,        // "a"
            0x03, 0x62, 0x63,  // "bc"
            0x00,              // no tagged fields
        ])
    }

    @Test func findCoordinatorV2Response() throws {
        var r = FindCoordinatorResponse()
        r.throttleTimeMs = 10
        r.errorCode = 0
        r.errorMessage = nil
        r.nodeId = 1
        r.host = "h1"
        r.port = 9092
        try expectResponseBytes(FindCoordinatorRequest.self, r, version: 2, [
            0x00, 0x00, 0x00, 0x0A,  // throttle time 10
            0x00, 0x00,              // error code 0
            0xFF, 0xFF,              // error message: null (int16 -1)
            0x00, 0x00, 0x00, 0x01,  // node id 1
            0x00, 0x02, 0x68, 0x31,  // host "h1"
            0x00, 0x00, 0x23, 0x84,  // port 9092
        ])
    }

    @Test func findCoordinatorV4Response() throws {
        var r = FindCoordinatorResponse()
        r.throttleTimeMs = 0
        r.coordinators = [.init(key: "g", nodeId: 2, host: "h", port: 9092, errorCode: .none, errorMessage: nil)]
        try expectResponseBytes(FindCoordinatorRequest.self, r, version: 4, [
            0x00, 0x00, 0x00, 0x00,  // throttle time 0
            0x02,                    // coordinators: compact array of 1
            0x02, 0x67,              //   key "g"
            0x00, 0x00, 0x00, 0x02,  //   node id 2
            0x02, 0x68,              //   host "h"
            0x00, 0x00, 0x23, 0x84,  //   port 9092
            0x00, 0x00,              //   error code 0
            0x00,                    //   error message: null (compact 0)
            0x00,                    //   coordinator's tagged fields
            0x00,                    // top-level tagged fields
        ])
    }

    @Test func createTopicsV4Request() throws {
        let r = CreateTopicsRequest(topics: [.init(name: "t", numPartitions: 3, replicationFactor: 1,
                                                   configs: [.init(name: "k", value: nil)])],
                                    timeoutMs: 60000, validateOnly: false)
        try expectBytes(r, version: 4, [
            0x00, 0x00, 0x00, 0x01,  // topics: int32 count 1
            0x00, 0x01, 0x74,        //   name "t"
            0x00, 0x00, 0x00, 0x03,  //   num partitions 3
            0x00, 0x01,              //   replication factor 1
            0x00, 0x00, 0x00, 0x00,  //   assignments: empty
            0x00, 0x00, 0x00, 0x01,  //   configs: 1
            0x00, 0x01, 0x6B,        //     name "k"
            0xFF, 0xFF,              //     value: null
            0x00, 0x00, 0xEA, 0x60,  // timeout 60000
            0x00,                    // validate only: false
        ])
    }

    @Test func createTopicsV5Request() throws {
        let r = CreateTopicsRequest(topics: [.init(name: "t", numPartitions: 3, replicationFactor: 1,
                                                   assignments: [.init(partitionIndex: 0, brokerIds: [1])],
                                                   configs: [.init(name: "k", value: "v")])],
                                    timeoutMs: 60000, validateOnly: true)
        try expectBytes(r, version: 5, [
            0x02,                    // topics: compact array of 1
            0x02, 0x74,              //   name "t"
            0x00, 0x00, 0x00, 0x03,  //   num partitions 3
            0x00, 0x01,              //   replication factor 1
            0x02,                    //   assignments: 1
            0x00, 0x00, 0x00, 0x00,  //     partition 0
            0x02,                    //     broker ids: 1
            0x00, 0x00, 0x00, 0x01,  //       broker 1
            0x00,                    //     assignment's tagged fields
            0x02,                    //   configs: 1
            0x02, 0x6B,              //     name "k"
            0x02, 0x76,              //     value "v"
            0x00,                    //     config's tagged fields
            0x00,                    //   topic's tagged fields
            0x00, 0x00, 0xEA, 0x60,  // timeout 60000
            0x01,                    // validate only: true
            0x00,                    // top-level tagged fields
        ])
    }

    @Test func createTopicsV5ResponseWithTaggedConfigError() throws {
        var t = CreateTopicsResponse.Topic(name: "t", errorCode: .none, numPartitions: 3, replicationFactor: 1, configs: nil)
        t.topicConfigErrorCode = 29
        let r = CreateTopicsResponse(throttleTimeMs: 0, topics: [t])
        try expectResponseBytes(CreateTopicsRequest.self, r, version: 5, [
            0x00, 0x00, 0x00, 0x00,  // throttle time 0
            0x02,                    // topics: 1
            0x02, 0x74,              //   name "t"
            0x00, 0x00,              //   error code 0
            0x00,                    //   error message: null
            0x00, 0x00, 0x00, 0x03,  //   num partitions 3
            0x00, 0x01,              //   replication factor 1
            0x00,                    //   configs: null
            0x01,                    //   tagged fields: 1
            0x00, 0x02, 0x00, 0x1D,  //     tag 0 (TopicConfigErrorCode), size 2, value 29
            0x00,                    // top-level tagged fields
        ])
    }

    @Test func createTopicsV0Response() throws {
        let r = CreateTopicsResponse(throttleTimeMs: 5, topics: [.init(name: "t", errorCode: .topicAlreadyExists, errorMessage: nil)])
        // v0 has neither throttle time nor error message.
        var expected = r
        expected.throttleTimeMs = 0
        let b = try encodeResponse(CreateTopicsRequest.self, r, version: 0)
        #expect(bytes(b) == [
            0x00, 0x00, 0x00, 0x01,  // topics: 1
            0x00, 0x01, 0x74,        //   name "t"
            0x00, 0x24,              //   error code 36
        ])
        #expect(try CreateTopicsRequest.decodeResponse(from: b, version: 0) == expected)
    }

    @Test func describeTopicPartitionsCursorMarker() throws {
        var r = DescribeTopicPartitionsRequest()
        r.topics = [.init(name: "t")]
        r.responsePartitionLimit = 2000
        r.cursor = .init(topicName: "t", partitionIndex: 5)
        try expectBytes(r, version: 0, [
            0x02, 0x02, 0x74, 0x00,  // topics: 1, name "t", tagged fields
            0x00, 0x00, 0x07, 0xD0,  // response partition limit 2000
            0x01,                    // cursor present
            0x02, 0x74,              //   topic name "t"
            0x00, 0x00, 0x00, 0x05,  //   partition 5
            0x00,                    //   cursor's tagged fields
            0x00,                    // top-level tagged fields
        ])
        r.cursor = nil
        try expectBytes(r, version: 0, [0x02, 0x02, 0x74, 0x00, 0x00, 0x00, 0x07, 0xD0,
                                        0xFF,  // cursor: null (int8 -1)
                                        0x00])
    }

    @Test func offsetFetchV1AndV8Requests() throws {
        var r = OffsetFetchRequest()
        r.groupId = "g"
        r.topics = [.init(name: "t", partitionIndexes: [0])]
        try expectBytes(r, version: 1, [
            0x00, 0x01, 0x67,        // group id "g"
            0x00, 0x00, 0x00, 0x01,  // topics: 1
            0x00, 0x01, 0x74,        //   name "t"
            0x00, 0x00, 0x00, 0x01,  //   partition indexes: 1
            0x00, 0x00, 0x00, 0x00,  //     0
        ])
        var b = OffsetFetchRequest()
        b.groups = [.init(groupId: "g", topics: nil)]
        b.requireStable = true
        try expectBytes(b, version: 8, [
            0x02,        // groups: 1
            0x02, 0x67,  //   group id "g"
            0x00,        //   topics: null (all)
            0x00,        //   group's tagged fields
            0x01,        // require stable
            0x00,        // top-level tagged fields
        ])
    }

    // MARK: Transactions

    @Test func addPartitionsToTxnV2Request() throws {
        let r = AddPartitionsToTxnRequest(transactionalId: "t1", producerId: 5, producerEpoch: 1,
                                          topics: [.init(name: "a", partitions: [0, 2])])
        try expectBytes(r, version: 2, [
            0x00, 0x02, 0x74, 0x31,                          // transactional id "t1"
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // producer id 5
            0x00, 0x01,                                      // producer epoch 1
            0x00, 0x00, 0x00, 0x01,                          // topics: 1
            0x00, 0x01, 0x61,                                //   name "a"
            0x00, 0x00, 0x00, 0x02,                          //   partitions: 2
            0x00, 0x00, 0x00, 0x00,                          //     0
            0x00, 0x00, 0x00, 0x02,                          //     2
        ])
    }

    @Test func addPartitionsToTxnV4Request() throws {
        let r = AddPartitionsToTxnRequest(transactions: [
            .init(transactionalId: "t", producerId: 7, producerEpoch: 2, verifyOnly: true, topics: [.init(name: "a", partitions: [1])]),
        ])
        try expectBytes(r, version: 4, [
            0x02,                                            // transactions: compact array of 1
            0x02, 0x74,                                      //   transactional id "t"
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  //   producer id 7
            0x00, 0x02,                                      //   producer epoch 2
            0x01,                                            //   verify only: true
            0x02,                                            //   topics: 1
            0x02, 0x61,                                      //     name "a"
            0x02,                                            //     partitions: 1
            0x00, 0x00, 0x00, 0x01,                          //       1
            0x00,                                            //     topic's tagged fields
            0x00,                                            //   transaction's tagged fields
            0x00,                                            // top-level tagged fields
        ])
    }

    @Test func addPartitionsToTxnV3AndV4Responses() throws {
        let topics = [AddPartitionsToTxnResponse.TopicResult(name: "a", resultsByPartition: [.init(partitionIndex: 1, errorCode: .concurrentTransactions)])]
        try expectResponseBytes(AddPartitionsToTxnRequest.self, .init(throttleTimeMs: 0, resultsByTopic: topics), version: 3, [
            0x00, 0x00, 0x00, 0x00,  // throttle time 0
            0x02,                    // results by topic: 1
            0x02, 0x61,              //   name "a"
            0x02,                    //   results by partition: 1
            0x00, 0x00, 0x00, 0x01,  //     partition 1
            0x00, 0x33,              //     error 51 (CONCURRENT_TRANSACTIONS)
            0x00,                    //     partition's tagged fields
            0x00,                    //   topic's tagged fields
            0x00,                    // top-level tagged fields
        ])
        let batched = AddPartitionsToTxnResponse(throttleTimeMs: 0, errorCode: .none,
                                                 resultsByTransaction: [.init(transactionalId: "t", topicResults: topics)])
        try expectResponseBytes(AddPartitionsToTxnRequest.self, batched, version: 4, [
            0x00, 0x00, 0x00, 0x00,  // throttle time 0
            0x00, 0x00,              // top-level error code 0
            0x02,                    // results by transaction: 1
            0x02, 0x74,              //   transactional id "t"
            0x02,                    //   topic results: 1
            0x02, 0x61,              //     name "a"
            0x02,                    //     results by partition: 1
            0x00, 0x00, 0x00, 0x01,  //       partition 1
            0x00, 0x33,              //       error 51
            0x00, 0x00, 0x00,        //     partition's, topic's, transaction's tagged fields
            0x00,                    // top-level tagged fields
        ])
    }

    @Test func addOffsetsToTxnV3Request() throws {
        try expectBytes(AddOffsetsToTxnRequest(transactionalId: "t", producerId: 1, producerEpoch: 0, groupId: "g"), version: 3, [
            0x02, 0x74,                                      // transactional id "t"
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // producer id 1
            0x00, 0x00,                                      // producer epoch 0
            0x02, 0x67,                                      // group id "g"
            0x00,                                            // tagged fields
        ])
    }

    @Test func endTxnV3RequestAndV5Response() throws {
        try expectBytes(EndTxnRequest(transactionalId: "t", producerId: 256, producerEpoch: 3, committed: true), version: 3, [
            0x02, 0x74,                                      // transactional id "t"
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,  // producer id 256
            0x00, 0x03,                                      // producer epoch 3
            0x01,                                            // committed
            0x00,                                            // tagged fields
        ])
        try expectResponseBytes(EndTxnRequest.self, .init(errorCode: .none, producerId: 256, producerEpoch: 4), version: 5, [
            0x00, 0x00, 0x00, 0x00,                          // throttle time 0
            0x00, 0x00,                                      // error code 0
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,  // producer id 256 (v5+)
            0x00, 0x04,                                      // producer epoch 4 (v5+)
            0x00,                                            // tagged fields
        ])
        // Before v5 the producer id and epoch are not sent: they decode as their defaults.
        let r = EndTxnResponse(throttleTimeMs: 1, errorCode: .invalidTxnState, producerId: 256, producerEpoch: 4)
        let b = try encodeResponse(EndTxnRequest.self, r, version: 2)
        #expect(bytes(b) == [0x00, 0x00, 0x00, 0x01, 0x00, 0x30])
        #expect(try EndTxnRequest.decodeResponse(from: b, version: 2) == EndTxnResponse(throttleTimeMs: 1, errorCode: .invalidTxnState))
    }

    @Test func writeTxnMarkersV0V1V2Requests() throws {
        var r = WriteTxnMarkersRequest(markers: [.init(producerId: 9, producerEpoch: 1, transactionResult: true,
                                                       topics: [.init(name: "a", partitionIndexes: [0])], coordinatorEpoch: 5)])
        try expectBytes(r, version: 0, [
            0x00, 0x00, 0x00, 0x01,                          // markers: 1
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,  //   producer id 9
            0x00, 0x01,                                      //   producer epoch 1
            0x01,                                            //   transaction result: COMMIT
            0x00, 0x00, 0x00, 0x01,                          //   topics: 1
            0x00, 0x01, 0x61,                                //     name "a"
            0x00, 0x00, 0x00, 0x01,                          //     partition indexes: 1
            0x00, 0x00, 0x00, 0x00,                          //       0
            0x00, 0x00, 0x00, 0x05,                          //   coordinator epoch 5
        ])
        try expectBytes(r, version: 1, [
            0x02,                                            // markers: compact array of 1
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,  //   producer id 9
            0x00, 0x01,                                      //   producer epoch 1
            0x01,                                            //   COMMIT
            0x02,                                            //   topics: 1
            0x02, 0x61,                                      //     name "a"
            0x02,                                            //     partition indexes: 1
            0x00, 0x00, 0x00, 0x00,                          //       0
            0x00,                                            //     topic's tagged fields
            0x00, 0x00, 0x00, 0x05,                          //   coordinator epoch 5
            0x00,                                            //   marker's tagged fields
            0x00,                                            // top-level tagged fields
        ])
        r.markers[0].transactionVersion = 2
        try expectBytes(r, version: 2, [
            0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x01, 0x01,
            0x02, 0x02, 0x61, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x05,  //   coordinator epoch 5
            0x02,                    //   transaction version 2 (v2+)
            0x00, 0x00,              //   marker's and top-level tagged fields
        ])
        #expect(r.markers[0].controlType == .commit)
    }

    @Test func txnOffsetCommitV3Request() throws {
        var r = TxnOffsetCommitRequest()
        r.transactionalId = "t"
        r.groupId = "g"
        r.producerId = 1
        r.producerEpoch = 0
        r.generationId = 2
        r.memberId = "m"
        r.groupInstanceId = nil
        r.topics = [.init(name: "a", partitions: [.init(partitionIndex: 0, committedOffset: 10, committedMetadata: "")])]
        try expectBytes(r, version: 3, [
            0x02, 0x74,                                      // transactional id "t"
            0x02, 0x67,                                      // group id "g"
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // producer id 1
            0x00, 0x00,                                      // producer epoch 0
            0x00, 0x00, 0x00, 0x02,                          // generation id 2
            0x02, 0x6D,                                      // member id "m"
            0x00,                                            // group instance id: null
            0x02,                                            // topics: 1
            0x02, 0x61,                                      //   name "a"
            0x02,                                            //   partitions: 1
            0x00, 0x00, 0x00, 0x00,                          //     partition 0
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0A,  //     committed offset 10
            0xFF, 0xFF, 0xFF, 0xFF,                          //     committed leader epoch -1
            0x01,                                            //     metadata "" (not null)
            0x00,                                            //     partition's tagged fields
            0x00,                                            //   topic's tagged fields
            0x00,                                            // top-level tagged fields
        ])
    }

    @Test func describeProducersV0RequestAndResponse() throws {
        try expectBytes(DescribeProducersRequest(topics: [.init(name: "a", partitionIndexes: [0, 1])]), version: 0, [
            0x02,                    // topics: 1
            0x02, 0x61,              //   name "a"
            0x03,                    //   partition indexes: 2
            0x00, 0x00, 0x00, 0x00,  //     0
            0x00, 0x00, 0x00, 0x01,  //     1
            0x00,                    //   topic's tagged fields
            0x00,                    // top-level tagged fields
        ])
        let r = DescribeProducersResponse(topics: [.init(name: "a", partitions: [
            .init(partitionIndex: 0, activeProducers: [.init(producerId: 3, producerEpoch: 1, lastSequence: 9, lastTimestamp: 1000,
                                                             coordinatorEpoch: 2, currentTxnStartOffset: -1)]),
        ])])
        try expectResponseBytes(DescribeProducersRequest.self, r, version: 0, [
            0x00, 0x00, 0x00, 0x00,                          // throttle time 0
            0x02,                                            // topics: 1
            0x02, 0x61,                                      //   name "a"
            0x02,                                            //   partitions: 1
            0x00, 0x00, 0x00, 0x00,                          //     partition 0
            0x00, 0x00,                                      //     error code 0
            0x00,                                            //     error message: null
            0x02,                                            //     active producers: 1
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,  //       producer id 3
            0x00, 0x00, 0x00, 0x01,                          //       producer epoch 1 (an int32 here)
            0x00, 0x00, 0x00, 0x09,                          //       last sequence 9
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xE8,  //       last timestamp 1000
            0x00, 0x00, 0x00, 0x02,                          //       coordinator epoch 2
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  //       current txn start offset -1
            0x00, 0x00, 0x00, 0x00,                          //     producer's, partition's, topic's, top-level tagged fields
        ])
    }

    @Test func describeTransactionsV0Request() throws {
        try expectBytes(DescribeTransactionsRequest(transactionalIds: ["t1", "t2"]), version: 0, [
            0x03,              // transactional ids: compact array of 2
            0x03, 0x74, 0x31,  //   "t1"
            0x03, 0x74, 0x32,  //   "t2"
            0x00,              // tagged fields
        ])
    }

    @Test func listTransactionsV2Requests() throws {
        let r = ListTransactionsRequest(stateFilters: ["Ongoing"], producerIdFilters: [7], durationFilter: 60000,
                                        transactionalIdPattern: "t.*")
        try expectBytes(r, version: 2, [
            0x02,                                            // state filters: 1
            0x08, 0x4F, 0x6E, 0x67, 0x6F, 0x69, 0x6E, 0x67,  //   "Ongoing"
            0x02,                                            // producer id filters: 1
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  //   7
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xEA, 0x60,  // duration filter 60000 (v1+)
            0x04, 0x74, 0x2E, 0x2A,                          // transactional id pattern "t.*" (v2+)
            0x00,                                            // tagged fields
        ])
        // The defaults: no filters, duration -1, pattern null.
        try expectBytes(ListTransactionsRequest(), version: 2, [
            0x01, 0x01,                                      // empty state and producer id filters
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  // duration filter -1
            0x00,                                            // pattern: null
            0x00,                                            // tagged fields
        ])
        try expectBytes(ListTransactionsRequest(), version: 0, [0x01, 0x01, 0x00])
    }
}

// MARK: - Consumer protocol (embedded in JoinGroup / SyncGroup bytes)

@Suite struct MessageRoundTripConsumerProtocolTests {
    @Test(arguments: ConsumerProtocolSubscription.versions)
    func subscriptionRoundTrips(_ v: Int16) throws {
        var s = ConsumerProtocolSubscription(topics: ["orders", "events"], userData: buf([1, 2]))
        if v >= 1 { s.ownedPartitions = [.init(topic: "orders", partitions: [0, 2])] }
        if v >= 2 { s.generationId = 7 }
        if v >= 3 { s.rackId = "rack-a" }
        let b = try s.encoded(version: v)
        let (version, decoded) = try ConsumerProtocolSubscription.decodeWithVersion(from: b)
        #expect(version == v)
        #expect(decoded == s)
    }

    @Test(arguments: ConsumerProtocolAssignment.versions)
    func assignmentRoundTrips(_ v: Int16) throws {
        let a = ConsumerProtocolAssignment(assignedPartitions: [.init(topic: "orders", partitions: [0, 1]), .init(topic: "e", partitions: [])],
                                           userData: v % 2 == 0 ? nil : buf([9]))
        let (version, decoded) = try ConsumerProtocolAssignment.decodeWithVersion(from: a.encoded(version: v))
        #expect(version == v)
        #expect(decoded == a)
    }

    @Test func layoutsMatchTheSchema() throws {
        let subscription = ["[sY", "[sY[s[i", "[sY[s[ii", "[sY[s[iiS"]
        for v in ConsumerProtocolSubscription.versions {
            var s = ConsumerProtocolSubscription()
            #expect(try LayoutTracer.trace(&s, version: v, flexible: false) == subscription[Int(v)])
            var a = ConsumerProtocolAssignment()
            #expect(try LayoutTracer.trace(&a, version: v, flexible: false) == "[s[iY")
        }
    }

    @Test func subscriptionV0Fixture() throws {
        // What kafka-python and older clients send.
        let wire: [UInt8] = [
            0x00, 0x00,              // version 0
            0x00, 0x00, 0x00, 0x01,  // topics: 1
            0x00, 0x01, 0x74,        //   "t"
            0x00, 0x00, 0x00, 0x00,  // user data: empty (not null)
        ]
        let s = try ConsumerProtocolSubscription.decode(from: buf(wire))
        #expect(s == ConsumerProtocolSubscription(topics: ["t"], userData: buf([])))
        #expect(bytes(try s.encoded(version: 0)) == wire)
    }

    @Test func subscriptionV3Fixture() throws {
        let wire: [UInt8] = [
            0x00, 0x03,              // version 3
            0x00, 0x00, 0x00, 0x01,  // topics: 1
            0x00, 0x01, 0x74,        //   "t"
            0xFF, 0xFF, 0xFF, 0xFF,  // user data: null
            0x00, 0x00, 0x00, 0x01,  // owned partitions: 1
            0x00, 0x01, 0x74,        //   topic "t"
            0x00, 0x00, 0x00, 0x01,  //   partitions: 1
            0x00, 0x00, 0x00, 0x02,  //     2
            0x00, 0x00, 0x00, 0x04,  // generation id 4
            0x00, 0x01, 0x72,        // rack id "r"
        ]
        let s = ConsumerProtocolSubscription(topics: ["t"], userData: nil, ownedPartitions: [.init(topic: "t", partitions: [2])],
                                             generationId: 4, rackId: "r")
        #expect(bytes(try s.encoded(version: 3)) == wire)
        #expect(try ConsumerProtocolSubscription.decode(from: buf(wire)) == s)
    }

    @Test func newerVersionsParseAsNewestAndTrailingBytesAreIgnored() throws {
        // A hypothetical v4 that appended a field: parsed with the v3 layout.
        var wire = try ConsumerProtocolSubscription(topics: ["t"], generationId: 2, rackId: nil).encoded(version: 3)
        wire.setInteger(Int16(4), at: wire.readerIndex, endianness: .big)
        wire.writeInteger(Int32(0x1234_5678), endianness: .big)
        let (v, s) = try ConsumerProtocolSubscription.decodeWithVersion(from: wire)
        #expect(v == 4)
        #expect(s.topics == ["t"] && s.generationId == 2)

        var neg = ByteBuffer()
        neg.writeInteger(Int16(-1), endianness: .big)
        #expect(throws: KafkaDecodingError.self) { try ConsumerProtocolAssignment.decode(from: neg) }
        #expect(throws: KafkaDecodingError.self) { try ConsumerProtocolAssignment.decode(from: ByteBuffer()) }
        #expect(throws: KafkaDecodingError.self) { try ConsumerProtocolAssignment().encoded(version: 4) }
    }

    @Test func assignmentFixture() throws {
        let wire: [UInt8] = [
            0x00, 0x01,              // version 1
            0x00, 0x00, 0x00, 0x01,  // assigned partitions: 1
            0x00, 0x01, 0x74,        //   topic "t"
            0x00, 0x00, 0x00, 0x02,  //   partitions: 2
            0x00, 0x00, 0x00, 0x00,  //     0
            0x00, 0x00, 0x00, 0x01,  //     1
            0x00, 0x00, 0x00, 0x00,  // user data: empty
        ]
        let a = ConsumerProtocolAssignment(assignedPartitions: [.init(topic: "t", partitions: [0, 1])], userData: buf([]))
        #expect(bytes(try a.encoded(version: 1)) == wire)
        #expect(try ConsumerProtocolAssignment.decode(from: buf(wire)) == a)
    }
}

// MARK: - Fuzzing

/// SplitMix64: a small deterministic generator so failures reproduce.
private struct SplitMix64: RandomNumberGenerator {
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

@Suite struct MessageRoundTripFuzzTests {
    /// Random bytes, bit flips, truncations and splices of valid encodings: decoding must
    /// throw or succeed (never trap), and whatever decodes must survive re-encoding.
    @Test(arguments: allMessageApiCases)
    func decodingArbitraryBytesNeverCrashes(_ api: MessageApiCase) throws {
        var rng = SplitMix64(seed: 0x5EED_0000 &+ UInt64(api.name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        let versions = Array(api.versions)
        var seeds: [Int16: [ByteBuffer]] = [:]
        for v in versions {
            let s = try api.samples(v)
            seeds[v] = [s.request, s.response]
        }
        var survivors = 0
        let iterations = 3000
        for i in 0..<iterations {
            let v = versions[Int.random(in: 0..<versions.count, using: &rng)]
            let seed = seeds[v]![Int.random(in: 0..<2, using: &rng)]
            var input: [UInt8]
            switch i % 4 {
            case 0:  // random bytes
                input = (0..<Int.random(in: 0...80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 1:  // bit flips
                input = bytes(seed)
                for _ in 0..<Int.random(in: 1...4, using: &rng) where !input.isEmpty {
                    let at = Int.random(in: 0..<input.count, using: &rng)
                    input[at] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
                }
            case 2:  // truncation
                input = Array(bytes(seed).prefix(Int.random(in: 0...seed.readableBytes, using: &rng)))
            default:  // overwrite a run with extreme length-like values
                input = bytes(seed)
                if !input.isEmpty {
                    let at = Int.random(in: 0..<input.count, using: &rng)
                    let pattern: [UInt8] = [[0xFF, 0xFF, 0xFF, 0xFF], [0x7F, 0xFF, 0xFF, 0xFF], [0x80, 0x00], [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]]
                        .randomElement(using: &rng)!
                    for (k, b) in pattern.enumerated() where at + k < input.count { input[at + k] = b }
                }
            }
            let ok = api.decodeArbitrary(buf(input), v)
            #expect(ok, "\(api.name) v\(v): a decoded value did not survive re-encoding; input \(input)")
            if ok { survivors += 1 }
        }
        #expect(survivors == iterations)
    }

    @Test func consumerProtocolDecodingNeverCrashes() throws {
        var rng = SplitMix64(seed: 0xC0FFEE)
        let seeds = try [
            ConsumerProtocolSubscription(topics: ["a", "b"], userData: buf([1]), ownedPartitions: [.init(topic: "a", partitions: [1])],
                                         generationId: 3, rackId: "r").encoded(version: 3),
            ConsumerProtocolAssignment(assignedPartitions: [.init(topic: "a", partitions: [1, 2])], userData: nil).encoded(version: 1),
        ]
        for i in 0..<3000 {
            var input = bytes(seeds[i % 2])
            if i % 3 == 0 {
                input = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let at = Int.random(in: 0..<input.count, using: &rng)
                    input[at] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
                }
            }
            _ = try? ConsumerProtocolSubscription.decode(from: buf(input))
            _ = try? ConsumerProtocolAssignment.decode(from: buf(input))
        }
    }
}
