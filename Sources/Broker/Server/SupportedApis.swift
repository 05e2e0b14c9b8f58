import KafkaProtocol

/// The versions Riverbank advertises in ApiVersions and the ones it actually serves.
/// Ranges follow Apache Kafka 4.x (the KIP-896 baseline) plus what librdkafka 2.x and
/// kafka-python use.
enum SupportedApis {
    struct Range {
        let advertised: ClosedRange<Int16>
        let served: ClosedRange<Int16>
    }

    static let table: [ApiKey: Range] = core.merging(GroupApis.table) { a, _ in a }.merging(transactions) { a, _ in a }

    /// Transactions as Kafka 3.x/4.x serve them to clients before KIP-890's second part
    /// (transaction version 2: Produce v12, EndTxn v5, TxnOffsetCommit v5 with an epoch
    /// bump per transaction) — not advertised, so clients use the first version's protocol.
    /// AddPartitionsToTxn v4+ is the brokers' batched form, served too.
    static let transactions: [ApiKey: Range] = [
        .addPartitionsToTxn: Range(advertised: 0...5, served: 0...5),
        .addOffsetsToTxn: Range(advertised: 0...4, served: 0...4),
        .endTxn: Range(advertised: 0...4, served: 0...4),
        .txnOffsetCommit: Range(advertised: 0...4, served: 0...4),
        .describeTransactions: Range(advertised: 0...0, served: 0...0),
        .listTransactions: Range(advertised: 0...2, served: 0...2),
        .describeProducers: Range(advertised: 0...0, served: 0...0),
    ]

    static let core: [ApiKey: Range] = [
        // librdkafka disables compression unless Produce is advertised from v0, so v0–2 are
        // advertised and answered with UNSUPPORTED_VERSION (as Kafka 4 does).
        .produce: Range(advertised: 0...11, served: 3...11),
        .fetch: Range(advertised: 4...17, served: 4...17),
        .listOffsets: Range(advertised: 1...10, served: 1...10),
        .metadata: Range(advertised: 0...12, served: 0...12),
        .apiVersions: Range(advertised: 0...4, served: 0...4),
        .createTopics: Range(advertised: 2...7, served: 2...7),
        .deleteTopics: Range(advertised: 1...6, served: 1...6),
        .createPartitions: Range(advertised: 0...3, served: 0...3),
        .describeConfigs: Range(advertised: 1...4, served: 1...4),
        .alterConfigs: Range(advertised: 0...2, served: 0...2),
        .incrementalAlterConfigs: Range(advertised: 0...1, served: 0...1),
        .describeCluster: Range(advertised: 0...1, served: 0...1),
        .describeTopicPartitions: Range(advertised: 0...0, served: 0...0),
        .initProducerId: Range(advertised: 0...5, served: 0...5),
    ]

    static var apiVersions: [ApiVersionsResponse.ApiVersion] {
        table.sorted { $0.key.rawValue < $1.key.rawValue }.map {
            ApiVersionsResponse.ApiVersion(apiKey: $0.key.rawValue, minVersion: $0.value.advertised.lowerBound, maxVersion: $0.value.advertised.upperBound)
        }
    }
}
