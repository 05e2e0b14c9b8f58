import Atomics
import Metrics

/// Counters and gauges the broker reports through swift-metrics (exported by the Prometheus
/// endpoint when one is configured).
final class BrokerMetrics: Sendable {
    private let connections = Gauge(label: "riverbank_connections")
    private let openConnections = ManagedAtomic<Int>(0)
    private let connectionsTotal = Counter(label: "riverbank_connections_total")
    private let badFrames = Counter(label: "riverbank_bad_frames_total")
    let producedRecords = Counter(label: "riverbank_produced_records_total")
    let producedBytes = Counter(label: "riverbank_produced_bytes_total")
    let fetchedBytes = Counter(label: "riverbank_fetched_bytes_total")
    let rejectedBatches = Counter(label: "riverbank_rejected_batches_total")

    func connectionOpened() {
        connectionsTotal.increment()
        connections.record(openConnections.wrappingIncrementThenLoad(ordering: .relaxed))
    }

    func connectionClosed() {
        connections.record(openConnections.wrappingDecrementThenLoad(ordering: .relaxed))
    }

    func badFrame() { badFrames.increment() }

    private let requestCounters: [Int16: Counter] = Dictionary(uniqueKeysWithValues: ApiKeyNames.all.map {
        ($0.key, Counter(label: "riverbank_requests_total", dimensions: [("api", $0.value)]))
    })
    private let unknownRequests = Counter(label: "riverbank_requests_total", dimensions: [("api", "unknown")])

    func request(_ apiKey: Int16) {
        (requestCounters[apiKey] ?? unknownRequests).increment()
    }
}

import KafkaProtocol

enum ApiKeyNames {
    static let all: [Int16: String] = Dictionary(uniqueKeysWithValues: ApiKey.allCases.map { ($0.rawValue, $0.description) })
}
