/// A native Swift Kafka client (producer, consumer, admin) on SwiftNIO, sharing
/// `KafkaProtocol` with the broker. Works against any Kafka-compatible broker.
public enum KafkaClientInfo {
    public static let softwareName = "riverbank-swift"
    public static let softwareVersion = "0.1.0"
}
