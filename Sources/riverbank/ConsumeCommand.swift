import ArgumentParser
import Foundation
import KafkaClient
import KafkaProtocol
import NIOCore

/// `riverbank consume`: prints records, one per line, kcat-like.
struct ConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Print the records of a topic, one per line (any Kafka broker).",
        discussion: """
        Without --group, reads every partition of the topic; with --group, joins the consumer group \
        and commits offsets. Format tokens: %k key, %v (or %s) value, %t topic, %p partition, \
        %o offset, %T timestamp (ms), %h headers (k=v,…), %K/%S key/value length, %%, \\n, \\t.
        """
    )

    @Option(help: "Broker(s) to bootstrap from, host:port[,host:port…].") var bootstrap: String
    @Option(help: "Topic to read.") var topic: String
    @Option(help: "Consumer group (committed offsets, partitions shared with other members).") var group: String?
    @Flag(help: "Start at the earliest offset (with --group: when nothing is committed).") var fromBeginning = false
    @Option(help: "Start at the first record at or after this time (ISO-8601, or epoch milliseconds).") var fromTime: String?
    @Option(help: "Read only this partition.") var partition: Int32?
    @Option(help: "Start at this offset (with --partition).") var offset: Int64?
    @Option(help: "Exit after this many records.") var count: Int?
    @Option(help: "Output format per record (a newline is added).") var format: String = "%v"
    @Flag(name: .customLong("exit-at-end"), help: "Exit once the end of every partition (as of start) is reached.") var exitAtEnd = false
    @Option(help: "Fail if not finished within this many seconds.") var timeout: Double?
    @Option(help: "read_uncommitted or read_committed.") var isolation: String = "read_uncommitted"
    @Option(help: "Group protocol with --group: classic, or consumer (KIP-848, broker-side assignment).")
    var groupProtocol: String = "classic"
    @OptionGroup(title: "Security") var security: ClientSecurityOptions

    func validate() throws {
        if fromBeginning && fromTime != nil { throw ValidationError("--from-beginning and --from-time exclude each other") }
        if offset != nil && partition == nil { throw ValidationError("--offset needs --partition") }
        if let count, count <= 0 { throw ValidationError("--count must be positive") }
        if let fromTime, Self.parseTime(fromTime) == nil { throw ValidationError("cannot parse --from-time '\(fromTime)' (ISO-8601 or epoch ms)") }
        if !["read_uncommitted", "read_committed"].contains(isolation) { throw ValidationError("--isolation must be read_uncommitted or read_committed") }
        if exitAtEnd && group != nil { throw ValidationError("--exit-at-end works without --group") }
        if GroupProtocol(rawValue: groupProtocol) == nil { throw ValidationError("--group-protocol must be classic or consumer") }
    }

    static func parseTime(_ s: String) -> Int64? {
        if let ms = Int64(s) { return ms }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return Int64((d.timeIntervalSince1970 * 1000).rounded()) }
        f.formatOptions = [.withInternetDateTime]
        if let d = f.date(from: s) { return Int64((d.timeIntervalSince1970 * 1000).rounded()) }
        f.formatOptions = [.withFullDate]
        if let d = f.date(from: s) { return Int64((d.timeIntervalSince1970 * 1000).rounded()) }
        return nil
    }

    func run() async throws {
        var config: KafkaConsumerConfig
        do { config = try KafkaConsumerConfig(bootstrap: bootstrap, groupID: group) } catch { fail("\(error)") }
        config.autoOffsetReset = fromBeginning ? .earliest : .latest
        config.isolationLevel = isolation == "read_committed" ? .readCommitted : .readUncommitted
        config.sessionTimeout = .seconds(10)
        config.heartbeatInterval = .seconds(1)
        config.rebalanceTimeout = .seconds(30)
        config.groupProtocol = GroupProtocol(rawValue: groupProtocol) ?? .classic
        security.apply(to: &config.client)
        let consumer: KafkaConsumer
        do { consumer = try KafkaConsumer(config: config) } catch { fail("\(error)") }
        let startTime = fromTime.flatMap(Self.parseTime)
        let formatter = RecordFormatter(format)
        let out = StdoutWriter()

        if let timeout {
            Task {
                try? await Task.sleep(for: .milliseconds(Int64(timeout * 1000)))
                out.flush()
                fail("timed out after \(timeout)s")
            }
        }

        var ends = [TopicPartition: Int64]()
        do {
            if let group {
                _ = group
                let spec: OffsetSpec? = startTime.map { .timestamp($0) }
                let listener = RebalanceListener(onPartitionsAssigned: { tps in
                    guard let spec, !tps.isEmpty else { return }
                    do {
                        if case .timestamp(let t) = spec { try await consumer.seek(toTimestamp: t, partitions: tps) }
                    } catch {
                        fail("seeking to --from-time: \(error)")
                    }
                })
                try await consumer.subscribe(topics: [topic], listener: listener)
            } else {
                let info = try await consumer.cluster.topic(topic)
                let parts: [Int32]
                if let partition {
                    guard partition >= 0, Int(partition) < info.partitionCount else {
                        fail("topic \(topic) has no partition \(partition) (it has \(info.partitionCount))")
                    }
                    parts = [partition]
                } else {
                    parts = info.partitions.map(\.partition)
                }
                let spec: OffsetSpec = startTime.map { .timestamp($0) } ?? (fromBeginning ? .earliest : .latest)
                var assignment = [TopicPartition: OffsetSpec?]()
                for p in parts { assignment[TopicPartition(topic, p)] = spec }
                try await consumer.assign(assignment)
                if let offset, let partition { try await consumer.seek(TopicPartition(topic, partition), to: offset) }
                if exitAtEnd {
                    let latest = try await consumer.cluster.listOffsets(
                        Dictionary(uniqueKeysWithValues: parts.map { (TopicPartition(topic, $0), OffsetSpec.latest) }))
                    ends = latest.mapValues(\.offset)
                    // Partitions already at their end (or empty).
                    for (tp, end) in ends {
                        if let pos = await Self.startPosition(consumer, tp), pos >= end { ends[tp] = nil }
                    }
                }
            }
            if exitAtEnd && ends.isEmpty {
                out.flush()
                await consumer.close()
                return
            }
            // Options read once: property wrappers are not free in a loop run per record.
            let limit = count ?? Int.max
            let stopAtEnd = exitAtEnd
            var n = 0
            for try await record in consumer.records {
                out.append { formatter.render(record, into: &$0) }
                n += 1
                if n >= limit { break }
                if stopAtEnd, let end = ends[record.topicPartition], record.offset + 1 >= end {
                    ends[record.topicPartition] = nil
                    if ends.isEmpty { break }
                }
            }
        } catch {
            out.flush()
            await consumer.close()
            fail("\(error)")
        }
        out.flush()
        await consumer.close()
    }

    /// The resolved start position (waits briefly for offset lookup).
    static func startPosition(_ consumer: KafkaConsumer, _ tp: TopicPartition) async -> Int64? {
        for _ in 0..<200 {
            if let p = await consumer.position(tp) { return p }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }
}

/// Renders records with a kcat-like format string.
struct RecordFormatter: Sendable {
    enum Part: Sendable {
        case literal([UInt8])
        case key, value, topic, partition, offset, timestamp, headers, keyLength, valueLength
    }
    let parts: [Part]

    init(_ format: String) {
        var parts = [Part]()
        var lit = [UInt8]()
        var it = Array(format.utf8).makeIterator()
        func flushLit() { if !lit.isEmpty { parts.append(.literal(lit)); lit = [] } }
        while let c = it.next() {
            if c == UInt8(ascii: "%") {
                guard let n = it.next() else { lit.append(c); break }
                let token: Part?
                switch n {
                case UInt8(ascii: "k"): token = .key
                case UInt8(ascii: "v"), UInt8(ascii: "s"): token = .value
                case UInt8(ascii: "t"): token = .topic
                case UInt8(ascii: "p"): token = .partition
                case UInt8(ascii: "o"): token = .offset
                case UInt8(ascii: "T"): token = .timestamp
                case UInt8(ascii: "h"): token = .headers
                case UInt8(ascii: "K"): token = .keyLength
                case UInt8(ascii: "S"): token = .valueLength
                case UInt8(ascii: "%"): token = nil; lit.append(n)
                default: token = nil; lit.append(c); lit.append(n)
                }
                if let token { flushLit(); parts.append(token) }
            } else if c == UInt8(ascii: "\\") {
                guard let n = it.next() else { lit.append(c); break }
                switch n {
                case UInt8(ascii: "n"): lit.append(10)
                case UInt8(ascii: "t"): lit.append(9)
                case UInt8(ascii: "r"): lit.append(13)
                case UInt8(ascii: "0"): lit.append(0)
                case UInt8(ascii: "\\"): lit.append(n)
                default: lit.append(c); lit.append(n)
                }
            } else {
                lit.append(c)
            }
        }
        lit.append(10)
        flushLit()
        self.parts = parts
    }

    /// Appends the record's line to `out`.
    func render(_ r: ConsumerRecord, into out: inout ByteBuffer) {
        for p in parts {
            switch p {
            case .literal(let b): out.writeBytes(b)
            case .key: if let k = r.key { out.writeImmutableBuffer(k) }
            case .value: if let v = r.value { out.writeImmutableBuffer(v) }
            case .topic: out.writeString(r.topic)
            case .partition: out.writeString(String(r.partition))
            case .offset: out.writeString(String(r.offset))
            case .timestamp: out.writeString(String(r.timestamp))
            case .keyLength: out.writeString(String(r.key?.readableBytes ?? -1))
            case .valueLength: out.writeString(String(r.value?.readableBytes ?? -1))
            case .headers:
                for (i, h) in r.headers.enumerated() {
                    if i > 0 { out.writeInteger(UInt8(ascii: ",")) }
                    out.writeString(h.key)
                    out.writeInteger(UInt8(ascii: "="))
                    if let v = h.value { out.writeImmutableBuffer(v) }
                }
            }
        }
    }
}
