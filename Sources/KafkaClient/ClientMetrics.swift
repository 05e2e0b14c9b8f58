import CoreMetrics
import KafkaProtocol

/// What the producer reports through swift-metrics (Prometheus names; every metric carries the
/// client id). Updated per batch or request, never per record.
final class ProducerMetrics: Sendable {
    let records: Counter
    let failedRecords: Counter
    let bytes: Counter
    let retries: Counter
    let requestLatency: CoreMetrics.Timer
    let bufferedBytes: Gauge

    init(clientID: String, factory: any MetricsFactory) {
        let d = [("client_id", clientID)]
        records = Counter(label: "kafka_client_produced_records_total", dimensions: d, factory: factory)
        failedRecords = Counter(label: "kafka_client_produce_failed_records_total", dimensions: d, factory: factory)
        bytes = Counter(label: "kafka_client_produced_bytes_total", dimensions: d, factory: factory)
        retries = Counter(label: "kafka_client_produce_retries_total", dimensions: d, factory: factory)
        requestLatency = CoreMetrics.Timer(label: "kafka_client_produce_request_duration_seconds", dimensions: d, factory: factory)
        bufferedBytes = Gauge(label: "kafka_client_producer_buffered_bytes", dimensions: d, factory: factory)
    }
}

/// What the consumer reports: records handed to the application, fetched bytes and fetch
/// latency, rebalances, and the lag of every assigned partition (high watermark minus the
/// position the consumer has fetched up to).
final class ConsumerMetrics: Sendable {
    let records: Counter
    let bytes: Counter
    let fetchLatency: CoreMetrics.Timer
    let rebalances: Counter
    private let clientID: String
    private let factory: any MetricsFactory
    private let lagGauges = Locked([TopicPartition: Gauge]())

    init(clientID: String, factory: any MetricsFactory) {
        self.clientID = clientID
        self.factory = factory
        let d = [("client_id", clientID)]
        records = Counter(label: "kafka_client_consumed_records_total", dimensions: d, factory: factory)
        bytes = Counter(label: "kafka_client_fetched_bytes_total", dimensions: d, factory: factory)
        fetchLatency = CoreMetrics.Timer(label: "kafka_client_fetch_duration_seconds", dimensions: d, factory: factory)
        rebalances = Counter(label: "kafka_client_rebalances_total", dimensions: d, factory: factory)
    }

    func lag(_ tp: TopicPartition, _ value: Int64) {
        let g = lagGauges.withLock { gauges -> Gauge in
            if let g = gauges[tp] { return g }
            let g = Gauge(label: "kafka_client_consumer_lag",
                          dimensions: [("client_id", clientID), ("topic", tp.topic), ("partition", "\(tp.partition)")], factory: factory)
            gauges[tp] = g
            return g
        }
        g.record(max(0, value))
    }
}
