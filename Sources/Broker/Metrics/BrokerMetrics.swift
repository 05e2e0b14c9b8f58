import Atomics
import Metrics

/// Counters and gauges the broker reports through swift-metrics (exported by the Prometheus
/// endpoint when one is configured).
final class BrokerMetrics: Sendable {
    private let connections: Gauge
    private let openConnections = ManagedAtomic<Int>(0)
    private let connectionsTotal: Counter
    private let badFrames: Counter
    let producedRecords: Counter
    let producedBytes: Counter
    let fetchedBytes: Counter
    let rejectedBatches: Counter
    /// Fetches read on an I/O thread because their data was not in the page cache.
    let offloadedFetches: Counter
    private let requestCounters: [Int16: Counter]
    private let unknownRequests: Counter

    /// `factory` is where the numbers go: the broker passes one over the registry it serves.
    init(factory: any MetricsFactory = MetricsSystem.factory) {
        connections = Gauge(label: "riverbank_connections", factory: factory)
        connectionsTotal = Counter(label: "riverbank_connections_total", factory: factory)
        badFrames = Counter(label: "riverbank_bad_frames_total", factory: factory)
        producedRecords = Counter(label: "riverbank_produced_records_total", factory: factory)
        producedBytes = Counter(label: "riverbank_produced_bytes_total", factory: factory)
        fetchedBytes = Counter(label: "riverbank_fetched_bytes_total", factory: factory)
        rejectedBatches = Counter(label: "riverbank_rejected_batches_total", factory: factory)
        offloadedFetches = Counter(label: "riverbank_fetch_offloaded_total", factory: factory)
        requestCounters = Dictionary(uniqueKeysWithValues: ApiKeyNames.all.map {
            ($0.key, Counter(label: "riverbank_requests_total", dimensions: [("api", $0.value)], factory: factory))
        })
        unknownRequests = Counter(label: "riverbank_requests_total", dimensions: [("api", "unknown")], factory: factory)
    }

    func connectionOpened() {
        connectionsTotal.increment()
        connections.record(openConnections.wrappingIncrementThenLoad(ordering: .relaxed))
    }

    func connectionClosed() {
        connections.record(openConnections.wrappingDecrementThenLoad(ordering: .relaxed))
    }

    func badFrame() { badFrames.increment() }

    func request(_ apiKey: Int16) {
        (requestCounters[apiKey] ?? unknownRequests).increment()
    }
}

import KafkaProtocol

enum ApiKeyNames {
    static let all: [Int16: String] = Dictionary(uniqueKeysWithValues: ApiKey.allCases.map { ($0.rawValue, $0.description) })
}
