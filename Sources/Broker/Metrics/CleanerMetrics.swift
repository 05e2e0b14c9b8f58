import LogStore
import Metrics

/// The log cleaner's work as Prometheus series (`riverbank_log_cleaner_*`).
struct CleanerMetrics: Sendable {
    private let passes = Counter(label: "riverbank_log_cleaner_passes_total")
    private let bytesRead = Counter(label: "riverbank_log_cleaner_read_bytes_total")
    private let bytesWritten = Counter(label: "riverbank_log_cleaner_written_bytes_total")
    private let recordsRemoved = Counter(label: "riverbank_log_cleaner_removed_records_total")
    private let tombstonesRemoved = Counter(label: "riverbank_log_cleaner_removed_tombstones_total")
    private let duration = Timer(label: "riverbank_log_cleaner_pass_duration_seconds")

    func record(_ s: CleanStats) {
        passes.increment()
        bytesRead.increment(by: Int(s.bytesRead))
        bytesWritten.increment(by: Int(s.bytesWritten))
        recordsRemoved.increment(by: Int(s.recordsRead - s.recordsRetained))
        tombstonesRemoved.increment(by: Int(s.tombstonesRemoved))
        duration.recordSeconds(s.seconds)
    }
}
