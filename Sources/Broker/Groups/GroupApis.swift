import KafkaProtocol

/// Versions of the consumer-group APIs: every version of Apache Kafka's schemas (which
/// covers the Kafka 4.x ranges, librdkafka 2.x and kafka-python's older versions).
enum GroupApis {
    static let table: [ApiKey: SupportedApis.Range] = [
        .findCoordinator: SupportedApis.Range(advertised: 0...6, served: 0...6),
        .joinGroup: SupportedApis.Range(advertised: 0...9, served: 0...9),
        .syncGroup: SupportedApis.Range(advertised: 0...5, served: 0...5),
        .heartbeat: SupportedApis.Range(advertised: 0...4, served: 0...4),
        .leaveGroup: SupportedApis.Range(advertised: 0...5, served: 0...5),
        .offsetCommit: SupportedApis.Range(advertised: 0...9, served: 0...9),
        .offsetFetch: SupportedApis.Range(advertised: 0...9, served: 0...9),
        .listGroups: SupportedApis.Range(advertised: 0...5, served: 0...5),
        .describeGroups: SupportedApis.Range(advertised: 0...5, served: 0...5),
        .deleteGroups: SupportedApis.Range(advertised: 0...2, served: 0...2),
        .offsetDelete: SupportedApis.Range(advertised: 0...0, served: 0...0),
        .consumerGroupHeartbeat: SupportedApis.Range(advertised: 0...1, served: 0...1),
        .consumerGroupDescribe: SupportedApis.Range(advertised: 0...0, served: 0...0),
    ]
}
