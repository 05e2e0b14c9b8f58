import CoreMetrics
import KafkaClient
import KafkaProtocol

/// How a job runs: where the brokers are, how many workers, where reading starts and whether
/// it stops at the end of what the topics hold when it starts (a bounded run: replays,
/// backfills, benchmarks) or runs until shut down.
public struct StreamJobConfig: Sendable {
    public enum Start: Sendable, Equatable {
        case earliest, latest
        /// The first record at or after this time (epoch ms) in each partition: time travel.
        case timestamp(Int64)
    }

    public var client: KafkaClientConfig
    /// Workers (Swift tasks on the cooperative pool, so at most one per core runs at once);
    /// partitions are spread over them, one task per partition.
    public var parallelism = 1
    public var start: Start = .earliest
    public var bounded = false
    /// With `bounded`: stop before the first record at or after this time (epoch ms) instead of
    /// at the end (a replay of a past interval).
    public var until: Int64? = nil
    /// While no data comes, workers wake this often to advance time and detect idleness.
    public var tick: Duration = .milliseconds(100)
    public var compression: CompressionCodec = .lz4
    public var linger: Duration = .milliseconds(5)
    public var acks: KafkaAcks = .all
    /// Sink, late and dead-letter topics missing at start are created with this many
    /// partitions (nil: as many as the sources have).
    public var sinkPartitions: Int32? = nil
    /// Fetch sizes for the sources' consumers. Read-ahead is kept small: records waiting in
    /// the consumer are memory (decoded, ~3× their compressed size) and latency, not speed.
    public var maxPartitionFetchBytes: Int32 = 1 << 20
    public var consumerBufferBytes = 8 << 20
    /// The sink producer's buffer; when full, workers wait (back-pressure to the sources).
    public var producerBufferBytes = 32 << 20

    /// Checkpoint every this long (nil: no checkpoints; a restart starts over). Each worker
    /// snapshots its tasks between batches, waits for the sink's records to be acknowledged,
    /// then writes the snapshots to `<job>.checkpoints`.
    public var checkpointInterval: Duration? = nil
    /// Start even when the checkpoint holds state of operators this job no longer has (that
    /// state is dropped; Flink's --allowNonRestoredState). Off: such a start is refused.
    public var allowDroppedState = false
    /// A local copy of the latest checkpoints, for a fast restart on this machine.
    public var stateDirectory: String? = nil

    public enum Delivery: String, Sendable, CaseIterable {
        /// After a crash, output since the last checkpoint is written again (duplicates).
        case atLeastOnce = "at-least-once"
        /// Output commits in one transaction with the checkpoint that follows it: consumers
        /// reading with isolation.level=read_committed see every result exactly once, whatever
        /// crashes. Needs checkpoints (and a broker with transactions); output becomes visible
        /// at each checkpoint, so the interval is the latency read_committed consumers see.
        case exactlyOnce = "exactly-once"
    }

    public var delivery: Delivery = .atLeastOnce

    /// Where metrics go (nil: the process's bootstrapped MetricsSystem).
    public var metricsFactory: (any MetricsFactory)? = nil

    public init(client: KafkaClientConfig) { self.client = client }
    public init(bootstrap: String) throws { client = try KafkaClientConfig(bootstrap: bootstrap) }
}
