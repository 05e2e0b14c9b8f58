import Metrics

/// What the transaction coordinator reports: transactions ended by outcome and by whom,
/// how long ending them took (Prepare to the markers durable), and how many are open.
struct TransactionMetrics: Sendable {
    let committed: Counter
    let abortedByClient: Counter
    /// Aborted by the coordinator: past their timeout, or their producer fenced by a new one.
    let abortedOnTimeout: Counter
    let abortedOnFencing: Counter
    let endDuration: Timer
    let open: Gauge

    init(factory: any MetricsFactory = MetricsSystem.factory) {
        committed = Counter(label: "riverbank_transactions_ended_total", dimensions: [("outcome", "commit"), ("by", "client")], factory: factory)
        abortedByClient = Counter(label: "riverbank_transactions_ended_total", dimensions: [("outcome", "abort"), ("by", "client")], factory: factory)
        abortedOnTimeout = Counter(label: "riverbank_transactions_ended_total", dimensions: [("outcome", "abort"), ("by", "timeout")], factory: factory)
        abortedOnFencing = Counter(label: "riverbank_transactions_ended_total", dimensions: [("outcome", "abort"), ("by", "fencing")], factory: factory)
        endDuration = Timer(label: "riverbank_transaction_end_duration_seconds", factory: factory)
        open = Gauge(label: "riverbank_transactions_open", factory: factory)
    }
}
