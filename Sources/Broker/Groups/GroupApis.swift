import KafkaProtocol

/// Versions of the consumer-group APIs (filled in as the group coordinator lands).
enum GroupApis {
    static let table: [ApiKey: SupportedApis.Range] = [:]
}
