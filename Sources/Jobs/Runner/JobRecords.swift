import Foundation

/// A deployed job: the record `riverbank job deploy` writes to the compacted definitions topic,
/// keyed by the job's name. Runners watch the topic and run what it says, so a deploy reaches
/// every runner and survives restarts (as Kafka Connect keeps its connector configs).
public struct DeployedJob: Codable, Sendable, Equatable {
    public enum Desired: String, Codable, Sendable {
        case running, stopped
    }

    public var name: String
    public var version: String
    /// Where it was deployed from (for messages).
    public var file: String
    /// The job file's YAML, checked again by the runner before it runs.
    public var text: String
    public var desired: Desired
    /// Bumped by every deploy and stop: a runner restarts a job whose generation changed.
    public var generation: Int64
    /// Epoch seconds.
    public var deployedAt: Double
    public var deployedBy: String?
    /// Start even if the checkpoint holds state of operators this version no longer has.
    public var allowDroppedState: Bool?

    public init(name: String, version: String, file: String, text: String, desired: Desired, generation: Int64,
                deployedAt: Double = Date().timeIntervalSince1970, deployedBy: String? = nil) {
        self.name = name
        self.version = version
        self.file = file
        self.text = text
        self.desired = desired
        self.generation = generation
        self.deployedAt = deployedAt
        self.deployedBy = deployedBy
    }
}

/// What a runner reports about a job it runs, to the compacted status topic (key: the job's
/// name), about once a second and at every change of state.
public struct JobStatus: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        /// Planned, reading its checkpoint, connecting.
        case starting
        case running
        /// Asked to stop: finishing its batch and writing a last checkpoint.
        case stopping
        case stopped
        /// It could not start or it failed; `error` says why. A new deploy retries it.
        case failed
    }

    public struct Partition: Codable, Sendable, Equatable {
        public var topic: String
        public var partition: Int32
        /// The next offset the job will read, and the partition's end: lag is the difference.
        public var position: Int64
        public var end: Int64?
        public var lag: Int64? { end.map { max(0, $0 - position) } }
    }

    public var name: String
    public var version: String
    public var generation: Int64
    public var state: State
    public var error: String?
    public var runner: String
    /// Epoch seconds.
    public var updatedAt: Double
    public var startedAt: Double?
    public var firstOutputAt: Double?
    public var recordsIn: Int
    public var recordsOut: Int
    public var late: Int
    public var deadLettered: Int
    /// Over the last report interval.
    public var eventsPerSecond: Double
    /// Epoch millis of the event time the job has completed; how far it is behind the wall clock.
    public var watermark: Int64?
    public var watermarkDelayMs: Int64?
    public var checkpoints: Int
    public var lastCheckpointAt: Double?
    public var lastCheckpointBytes: Int
    public var restoredTasks: Int
    public var partitions: [Partition]

    public var lag: Int64 { partitions.reduce(0) { $0 + ($1.lag ?? 0) } }
}

/// The internal topics of deployed jobs.
public enum JobTopics {
    /// Deployed definitions, compacted, one partition (order of deploys is total).
    public static let definitions = "_riverbank.jobs"
    /// Runners' reports, compacted.
    public static let status = "_riverbank.job-status"

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()
}
