import LogStore
import Metrics

/// The log cleaner's work as Prometheus series (`riverbank_log_cleaner_*`).
struct CleanerMetrics: Sendable {
    private let passes: Counter
    private let bytesRead: Counter
    private let bytesWritten: Counter
    private let recordsRemoved: Counter
    private let tombstonesRemoved: Counter
    private let duration: Timer

    init(factory: any MetricsFactory = MetricsSystem.factory) {
        passes = Counter(label: "riverbank_log_cleaner_passes_total", factory: factory)
        bytesRead = Counter(label: "riverbank_log_cleaner_read_bytes_total", factory: factory)
        bytesWritten = Counter(label: "riverbank_log_cleaner_written_bytes_total", factory: factory)
        recordsRemoved = Counter(label: "riverbank_log_cleaner_removed_records_total", factory: factory)
        tombstonesRemoved = Counter(label: "riverbank_log_cleaner_removed_tombstones_total", factory: factory)
        duration = Timer(label: "riverbank_log_cleaner_pass_duration_seconds", factory: factory)
    }

    func record(_ s: CleanStats) {
        passes.increment()
        bytesRead.increment(by: Int(s.bytesRead))
        bytesWritten.increment(by: Int(s.bytesWritten))
        recordsRemoved.increment(by: Int(s.recordsRead - s.recordsRetained))
        tombstonesRemoved.increment(by: Int(s.tombstonesRemoved))
        duration.recordSeconds(s.seconds)
    }
}
