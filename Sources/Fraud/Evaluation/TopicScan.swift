import KafkaClient

/// Reads topics from their beginning to their end as of the call (what `fraud evaluate`
/// needs: a consistent cut of labels and scores), handing each record's value to `body`.
public enum TopicScan {
    /// Returns the records read. A topic that does not exist is an error with its name.
    @discardableResult
    public static func readToEnd(_ topic: String, client: KafkaClientConfig, idle: Duration = .seconds(30),
                                 _ body: (ConsumerRecord) throws -> Void) async throws -> Int {
        let admin = KafkaAdmin(config: client)
        let ends: [TopicPartition: ListedOffset], starts: [TopicPartition: ListedOffset]
        do {
            let info = try await admin.describeTopic(topic)
            let tps = (0..<info.partitionCount).map { TopicPartition(topic, Int32($0)) }
            ends = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: tps.map { ($0, OffsetSpec.latest) }))
            starts = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: tps.map { ($0, OffsetSpec.earliest) }))
        } catch {
            await admin.close()
            throw error
        }
        await admin.close()
        let live = ends.keys.filter { (ends[$0]?.offset ?? 0) > (starts[$0]?.offset ?? 0) }
        guard !live.isEmpty else { return 0 }
        var cc = KafkaConsumerConfig(bootstrapServers: client.bootstrapServers)
        cc.client = client
        cc.enableAutoCommit = false
        let consumer = try KafkaConsumer(config: cc)
        try await consumer.assign(offsets: Dictionary(uniqueKeysWithValues: live.map { ($0, starts[$0]!.offset) }))
        var left = Set(live)
        var n = 0
        var it = consumer.records.makeAsyncIterator()
        do {
            while !left.isEmpty {
                guard let chunk = try await it.nextChunk(until: .now + idle) else { break }
                for r in chunk {
                    let tp = TopicPartition(r.topic, r.partition)
                    guard let end = ends[tp]?.offset, r.offset < end else { continue }
                    try body(r)
                    n += 1
                    if r.offset + 1 >= end { left.remove(tp) }
                }
                // Compacted or transactional gaps: the position may pass the end without a record at it.
                for tp in left { if let p = await consumer.position(tp), p >= ends[tp]!.offset { left.remove(tp) } }
            }
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
        return n
    }
}
