import KafkaClient
import Synchronization

/// Which runner runs a job, when several watch one cluster: the runners join a consumer group
/// of the job's own (`_riverbank.runners.<job>`) on the one-partition definitions topic, and the
/// member assigned that partition runs the job. The group protocol does the rest: a runner that
/// dies (kill -9) misses its heartbeats, and after the session timeout the partition — and the
/// job, restored from its checkpoints in Kafka — moves to another runner; one that stops
/// gracefully leaves the group and hands over at once. Cooperative-sticky assignment keeps the
/// job where it is when another runner joins.
final class JobLease: Sendable {
    let consumer: KafkaConsumer
    let heldFlag = Mutex<Bool>(false)
    /// Called when the partition is revoked or lost, before the group moves it: stops the job
    /// (with a last checkpoint, when revoked) so that two runners never run it at once.
    let onRelease: @Sendable () async -> Void

    var held: Bool { heldFlag.withLock { $0 } }

    static func group(_ job: String) -> String { "_riverbank.runners.\(job)" }

    init(job: String, client: KafkaClientConfig, runnerID: String, sessionTimeout: Duration,
         onRelease: @escaping @Sendable () async -> Void) throws {
        var cc = KafkaConsumerConfig(bootstrapServers: client.bootstrapServers, groupID: Self.group(job))
        cc.client = client
        cc.client.clientID = runnerID
        cc.enableAutoCommit = false
        cc.autoOffsetReset = .latest
        cc.sessionTimeout = sessionTimeout
        cc.heartbeatInterval = min(.seconds(1), sessionTimeout / 3)
        // A revoked job stops after a last checkpoint: give it time before the group moves on.
        cc.rebalanceTimeout = .seconds(60)
        cc.assignors = [.cooperativeSticky]
        cc.maxPartitionFetchBytes = 64 << 10
        consumer = try KafkaConsumer(config: cc)
        self.onRelease = onRelease
    }

    /// Joins the group and keeps the membership alive until cancelled or closed.
    func run() async {
        let release = onRelease
        let listener = RebalanceListener(
            onPartitionsRevoked: { tps in
                guard !tps.isEmpty else { return }
                self.heldFlag.withLock { $0 = false }
                await release()
            },
            onPartitionsAssigned: { tps in
                if !tps.isEmpty { self.heldFlag.withLock { $0 = true } }
            },
            onPartitionsLost: { tps in
                guard !tps.isEmpty else { return }
                self.heldFlag.withLock { $0 = false }
                await release()
            })
        do {
            try await consumer.subscribe(topics: [JobTopics.definitions], listener: listener)
            // Reading (and dropping) the tiny definitions topic is what drives the membership.
            for try await _ in consumer.records {}
        } catch {
            self.heldFlag.withLock { $0 = false }
        }
    }

    func close() async {
        await consumer.close()
        heldFlag.withLock { $0 = false }
    }
}
