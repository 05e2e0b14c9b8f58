import Foundation
import KafkaProtocol
import NIOCore
import Testing

@testable import KafkaClient

/// Everything the consumer delivers within `window` (to check that nothing more arrives).
func drain(_ consumer: KafkaConsumer, window: Duration) async throws -> [ConsumerRecord] {
    let box = Locked<[ConsumerRecord]>([])
    try await withThrowingTaskGroup(of: Void.self) { g in
        g.addTask { for try await r in consumer.records { box.withLock { $0.append(r) } } }
        g.addTask { try await Task.sleep(for: window) }
        _ = try await g.next()
        g.cancelAll()
    }
    return box.withLock { $0 }
}

/// KafkaClient's transactional producer against a Riverbank broker process (librdkafka,
/// kafka-python and aiokafka are checked against the same broker in Tests/interop).
@Suite(.serialized) struct TransactionIntegrationTests {
    func transactionalProducer(_ broker: TestBroker, id: String) throws -> KafkaProducer {
        var pc = try KafkaProducerConfig(bootstrap: broker.bootstrap)
        pc.transactionalID = id
        pc.transactionTimeout = .seconds(20)
        return try KafkaProducer(config: pc)
    }

    func committedReader(_ broker: TestBroker, _ topic: String, partitions: Int32) async throws -> KafkaConsumer {
        var cc = try KafkaConsumerConfig(bootstrap: broker.bootstrap, groupID: nil)
        cc.isolationLevel = .readCommitted
        cc.autoOffsetReset = .earliest
        let c = try KafkaConsumer(config: cc)
        try await c.assign((0..<partitions).map { TopicPartition(topic, $0) })
        return c
    }

    @Test(.needs(.riverbank)) func transactionsCommitOrAbortAsAWhole() async throws {
        let broker = try await TestBroker.start(.riverbank)
        defer { broker.stop() }
        let admin = try KafkaAdmin(bootstrap: broker.bootstrap)
        let topic = uniqueName("it-txn")
        try await admin.createTopic(topic, partitions: 2)
        let producer = try transactionalProducer(broker, id: uniqueName("tx"))
        // Outside a transaction nothing may be sent.
        await #expect(throws: KafkaError.self) { try await producer.produce(ProducerRecord(topic: topic, key: "k", value: "v")) }
        try await producer.initTransactions()
        await #expect(throws: KafkaError.self) { try await producer.produce(ProducerRecord(topic: topic, key: "k", value: "v")) }

        try producer.beginTransaction()
        for i in 0..<10 { try await producer.produce(ProducerRecord(topic: topic, key: "c\(i)", value: "one-\(i)", partition: Int32(i % 2))) }
        try await producer.commitTransaction()
        try producer.beginTransaction()
        for i in 0..<6 { try await producer.produce(ProducerRecord(topic: topic, key: "a\(i)", value: "aborted-\(i)", partition: Int32(i % 2))) }
        await producer.flush()
        try await producer.abortTransaction()
        try producer.beginTransaction()
        for i in 0..<4 { try await producer.produce(ProducerRecord(topic: topic, key: "d\(i)", value: "two-\(i)", partition: Int32(i % 2))) }
        try await producer.commitTransaction()
        await producer.close()

        let reader = try await committedReader(broker, topic, partitions: 2)
        let got = try await drain(reader, window: .seconds(3))
        #expect(got.count == 14)
        #expect(Set(got.compactMap(\.valueString)) == Set((0..<10).map { "one-\($0)" } + (0..<4).map { "two-\($0)" }))
        for p in 0...1 {
            let values = got.filter { $0.partition == Int32(p) }.compactMap(\.valueString)
            #expect(values == stride(from: p, to: 10, by: 2).map { "one-\($0)" } + stride(from: p, to: 4, by: 2).map { "two-\($0)" })
        }
        await reader.close()
        // read_uncommitted sees the aborted records too (not the markers).
        var cc = try KafkaConsumerConfig(bootstrap: broker.bootstrap, groupID: nil)
        cc.isolationLevel = .readUncommitted
        cc.autoOffsetReset = .earliest
        let all = try KafkaConsumer(config: cc)
        try await all.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
        let everything = try await drain(all, window: .seconds(3))
        #expect(everything.count == 20)
        await all.close()
        await admin.close()
    }

    @Test(.needs(.riverbank)) func consumeTransformProduceCommitsItsInputOffsetsWithItsOutput() async throws {
        let broker = try await TestBroker.start(.riverbank)
        defer { broker.stop() }
        let admin = try KafkaAdmin(bootstrap: broker.bootstrap)
        let input = uniqueName("it-in"), output = uniqueName("it-out"), group = uniqueName("ctp")
        try await admin.createTopic(input, partitions: 1)
        try await admin.createTopic(output, partitions: 1)
        let plain = try KafkaProducer(config: try KafkaProducerConfig(bootstrap: broker.bootstrap))
        for i in 0..<20 { _ = try await plain.send(ProducerRecord(topic: input, key: "k\(i)", value: "\(i)")) }
        await plain.close()

        var cc = try KafkaConsumerConfig(bootstrap: broker.bootstrap, groupID: group)
        cc.enableAutoCommit = false
        cc.autoOffsetReset = .earliest
        cc.isolationLevel = .readCommitted
        let consumer = try KafkaConsumer(config: cc)
        try await consumer.subscribe(topics: [input])
        let producer = try transactionalProducer(broker, id: uniqueName("ctp-tx"))
        try await producer.initTransactions()
        let tp = TopicPartition(input, 0)

        // First ten: committed with their offsets. (Two reads: a second iterator goes on
        // where the first, left early, stopped.)
        let first = try await collect(consumer, count: 10)
        let second = try await collect(consumer, count: 10)
        #expect(first.map(\.offset) == Array(0..<10) && second.map(\.offset) == Array(10..<20))
        try producer.beginTransaction()
        for r in first { try await producer.produce(ProducerRecord(topic: output, key: r.keyString, value: "x\(r.valueString!)")) }
        try await producer.sendOffsetsToTransaction([tp: first.last!.offset + 1], group: try await consumer.groupMetadata())
        try await producer.commitTransaction()
        #expect(try await consumer.committed([tp])[tp] == 10)

        // Next ten: aborted — neither the output nor the offsets move.
        try producer.beginTransaction()
        for r in second { try await producer.produce(ProducerRecord(topic: output, key: r.keyString, value: "x\(r.valueString!)")) }
        try await producer.sendOffsetsToTransaction([tp: second.last!.offset + 1], group: try await consumer.groupMetadata())
        try await producer.abortTransaction()
        #expect(try await consumer.committed([tp])[tp] == 10)
        await producer.close()
        await consumer.close()

        let reader = try await committedReader(broker, output, partitions: 1)
        let out = try await drain(reader, window: .seconds(3))
        #expect(out.compactMap(\.valueString) == (0..<10).map { "x\($0)" })
        await reader.close()
        await admin.close()
    }

    @Test(.needs(.riverbank)) func aNewProducerWithTheSameIDFencesTheOldOne() async throws {
        let broker = try await TestBroker.start(.riverbank)
        defer { broker.stop() }
        let admin = try KafkaAdmin(bootstrap: broker.bootstrap)
        let topic = uniqueName("it-fence")
        try await admin.createTopic(topic, partitions: 1)
        let id = uniqueName("fence")
        let zombie = try transactionalProducer(broker, id: id)
        try await zombie.initTransactions()
        try zombie.beginTransaction()
        try await zombie.produce(ProducerRecord(topic: topic, key: "z", value: "zombie"))
        await zombie.flush()

        let successor = try transactionalProducer(broker, id: id)
        try await successor.initTransactions()
        do {
            try await zombie.commitTransaction()
            Issue.record("the fenced producer committed")
        } catch let e as KafkaError {
            #expect(e.kind == .fenced || e.kind == .transactionAbortable, "\(e)")
        }
        try successor.beginTransaction()
        try await successor.produce(ProducerRecord(topic: topic, key: "s", value: "successor"))
        try await successor.commitTransaction()
        await successor.close()
        await zombie.close()

        let reader = try await committedReader(broker, topic, partitions: 1)
        let got = try await drain(reader, window: .seconds(3))
        #expect(got.compactMap(\.valueString) == ["successor"])
        await reader.close()
        await admin.close()
    }
}

extension TransactionIntegrationTests {
    /// A consumer at the tail while transactions end: a fetch that returns only a commit
    /// marker must not make it skip the next transaction's first batch (it did).
    @Test(.needs(.riverbank)) func aConsumerAtTheTailSeesEveryTransactionsRecords() async throws {
        let broker = try await TestBroker.start(.riverbank)
        defer { broker.stop() }
        let admin = try KafkaAdmin(bootstrap: broker.bootstrap)
        let topic = uniqueName("it-tail")
        try await admin.createTopic(topic, partitions: 1)
        for isolation in [IsolationLevel.readUncommitted, .readCommitted] {
            var cc = try KafkaConsumerConfig(bootstrap: broker.bootstrap, groupID: nil)
            cc.isolationLevel = isolation
            cc.autoOffsetReset = .latest
            let consumer = try KafkaConsumer(config: cc)
            try await consumer.assign([TopicPartition(topic, 0)])
            try await waitUntil { await consumer.position(TopicPartition(topic, 0)) != nil }
            let producer = try transactionalProducer(broker, id: uniqueName("tail"))
            try await producer.initTransactions()
            let reader = Task { try await drain(consumer, window: .seconds(4)) }
            var sent: [String] = []
            for t in 0..<40 {
                try producer.beginTransaction()
                for i in 0..<5 {
                    let v = "\(isolation)-\(t)-\(i)"
                    sent.append(v)
                    try await producer.produce(ProducerRecord(topic: topic, key: "k", value: v))
                }
                try await producer.commitTransaction()
                try await Task.sleep(for: .milliseconds(10))
            }
            let got = try await reader.value.compactMap(\.valueString)
            #expect(got == sent, "\(isolation): \(got.count) of \(sent.count) records; first missing: \(sent.first { !got.contains($0) } ?? "-")")
            await producer.close()
            await consumer.close()
        }
        await admin.close()
    }
}
