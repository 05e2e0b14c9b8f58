import KafkaClient
import Testing

@Test func clientIdentifiesItself() {
    // ApiVersions v3+ carries these; Kafka requires [a-zA-Z0-9._-] for both.
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
    #expect(KafkaClientInfo.softwareName.allSatisfy { allowed.contains($0) })
    #expect(KafkaClientInfo.softwareVersion.allSatisfy { allowed.contains($0) })
}
