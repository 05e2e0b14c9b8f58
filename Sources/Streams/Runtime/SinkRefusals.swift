import Atomics
import KafkaClient
import KafkaProtocol
import NIOCore

/// Output records the broker refused for their content (a timestamp outside the topic's
/// range, too large, no key for a compacted topic): handed over by the sink producer, sent by
/// the workers to the dead-letter topic with the reason — or sent again when only their
/// batch's neighbour was at fault. The job keeps running; nothing is dropped.
final class SinkRefusals: Sendable {
    private let queue = Locked<[RefusedRecord]>([])
    /// Handed over and not yet queued again on the producer: a checkpoint completes only when
    /// none is left from before it (its offsets promise their dead letters).
    let outstanding = ManagedAtomic<Int>(0)

    func add(_ rs: [RefusedRecord]) {
        outstanding.wrappingIncrement(by: rs.count, ordering: .relaxed)
        queue.withLock { $0.append(contentsOf: rs) }
    }

    func take() -> [RefusedRecord] {
        queue.withLock { q in
            defer { q = [] }
            return q
        }
    }

    func done(_ n: Int) { outstanding.wrappingDecrement(by: n, ordering: .relaxed) }
}

extension SinkRefusals {
    /// Output the broker refused for its content: to the dead-letter topic with the reason (or
    /// sent again, when the broker named another record of its batch as the cause).
    func send(_ producer: KafkaProducer, _ runner: StreamJobRunner, _ onDelivery: @escaping @Sendable (DeliveryResult) -> Void) async throws {
        let rs = take()
        guard !rs.isEmpty else { return }
        var dead = 0
        for r in rs {
            defer { done(1) }
            if r.isCause {
                dead += 1
                let original = ProducerRecord(topic: r.topic, key: r.key, value: r.value, headers: r.headers, partition: r.partition, timestamp: r.timestamp)
                try await Self.deadLetter(original, reason: "the broker refused this output record for \(r.topic) (partition \(r.partition), timestamp \(r.timestamp)): \(r.reason)", producer, runner, onDelivery)
            } else {
                try await producer.produce(ProducerRecord(topic: r.topic, key: r.key, value: r.value, headers: r.headers,
                                                          partition: r.partition, timestamp: r.timestamp), onDelivery: onDelivery)
            }
        }
        if dead > 0 {
            runner.logger.warning("output records refused by the broker went to the dead-letter topic",
                                  metadata: ["count": "\(dead)", "topic": "\(runner.job.deadLetterTopic)", "first": "\(rs.first { $0.isCause }?.reason ?? "")"])
        }
    }

    /// One output record to the dead-letter topic, with why and where it was going. Its
    /// timestamp is now (the original may be why it was refused; it is kept in a header). A
    /// value too large for any topic is cut to its first 64 KiB, and the header says so.
    static func deadLetter(_ r: ProducerRecord, reason: String, _ producer: KafkaProducer, _ runner: StreamJobRunner,
                           _ onDelivery: @escaping @Sendable (DeliveryResult) -> Void) async throws {
        let job = runner.job
        guard r.topic != job.deadLetterTopic && r.topic != job.lateTopic else {
            throw StreamsError.deliveryFailed("the broker refused a record for \(r.topic), where refused records go: \(reason)")
        }
        var h = r.headers
        h.append(RecordHeader(key: "riverbank.dead-letter.reason", value: ByteBuffer(string: reason)))
        h.append(RecordHeader(key: "riverbank.dead-letter.operator", value: ByteBuffer(string: "sink \(r.topic)")))
        h.append(RecordHeader(key: "riverbank.job", value: ByteBuffer(string: "\(job.identity.name)@\(job.identity.version)")))
        if let ts = r.timestamp { h.append(RecordHeader(key: "riverbank.dead-letter.timestamp", value: ByteBuffer(string: "\(ts)"))) }
        var value = r.value
        let cap = 64 << 10
        if let v = value, v.readableBytes > cap {
            h.append(RecordHeader(key: "riverbank.dead-letter.truncated", value: ByteBuffer(string: "\(v.readableBytes)")))
            value = v.getSlice(at: v.readerIndex, length: cap)
        }
        try await producer.produce(ProducerRecord(topic: job.deadLetterTopic, key: r.key, value: value, headers: h), onDelivery: onDelivery)
        var c = TaskCounters()
        c.deadLettered = 1
        runner.progress.add(c, outputs: false)
    }
}
