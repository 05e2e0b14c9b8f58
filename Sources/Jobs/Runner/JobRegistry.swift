import Foundation
import KafkaClient
import NIOCore

/// Reads and writes the deployed-job records: what `job deploy`, `job stop`, `job list` and
/// `job status` use, against any Kafka cluster that a runner watches.
public struct JobRegistry: Sendable {
    public let client: KafkaClientConfig

    public init(client: KafkaClientConfig) { self.client = client }

    /// Creates the two compacted topics when missing.
    public func ensureTopics() async throws {
        let admin = KafkaAdmin(config: client)
        defer { Task { await admin.close() } }
        let created = try await admin.createTopics([JobTopics.definitions, JobTopics.status].map {
            NewTopic(name: $0, partitions: 1, replicationFactor: 1, configs: ["cleanup.policy": "compact"])
        }, ifNotExists: true)
        if let (t, e) = created.first { throw JobRunnerError.registry("cannot create \(t): \(e)") }
    }

    public func definitions() async throws -> [String: DeployedJob] {
        try await Self.decode(readLatest(JobTopics.definitions), as: DeployedJob.self)
    }

    public func statuses() async throws -> [String: JobStatus] {
        try await Self.decode(readLatest(JobTopics.status), as: JobStatus.self)
    }

    /// Writes a definition (acknowledged by the broker before this returns).
    public func write(_ job: DeployedJob) async throws {
        try await send(JobTopics.definitions, key: job.name, value: Array(JobTopics.encoder.encode(job)))
    }

    func send(_ topic: String, key: String, value: [UInt8]?) async throws {
        var pc = KafkaProducerConfig(bootstrapServers: client.bootstrapServers)
        pc.client = client
        pc.allowAutoTopicCreation = false
        let producer = try KafkaProducer(config: pc)
        defer { Task { await producer.close() } }
        _ = try await producer.send(ProducerRecord(topic: topic, key: Array(key.utf8), value: value))
    }

    static func decode<T: Decodable>(_ latest: [String: [UInt8]?], as: T.Type) -> [String: T] {
        var out: [String: T] = [:]
        let d = JSONDecoder()
        for (k, v) in latest {
            // A record that does not decode (written by a newer version, damaged) is skipped.
            guard let v, let job = try? d.decode(T.self, from: Data(v)) else { continue }
            out[k] = job
        }
        return out
    }

    /// The latest value of every key of a one-partition compacted topic (nil: deleted).
    func readLatest(_ topic: String) async throws -> [String: [UInt8]?] {
        let admin = KafkaAdmin(config: client)
        let tp = TopicPartition(topic, 0)
        let end: Int64, start: Int64
        do {
            end = try await admin.listOffsets([tp: .latest])[tp]?.offset ?? 0
            start = try await admin.listOffsets([tp: .earliest])[tp]?.offset ?? 0
        } catch {
            await admin.close()
            throw JobRunnerError.registry("cannot read \(topic) (is a Riverbank or Kafka broker at \(client.bootstrapServers.map(\.description).joined(separator: ",")), and has a runner created it?): \(error)")
        }
        await admin.close()
        var latest: [String: [UInt8]?] = [:]
        guard end > start else { return latest }
        var cc = KafkaConsumerConfig(bootstrapServers: client.bootstrapServers)
        cc.client = client
        cc.enableAutoCommit = false
        let consumer = try KafkaConsumer(config: cc)
        try await consumer.assign(offsets: [tp: start])
        var it = consumer.records.makeAsyncIterator()
        var pos = start
        while pos < end {
            guard let chunk = try await it.nextChunk(until: .now + .seconds(10)) else { break }
            if chunk.isEmpty {
                if let p = await consumer.position(tp), p >= end { break }
                continue
            }
            for r in chunk where r.offset < end {
                guard let k = r.keyString else { continue }
                latest.updateValue(r.valueBytes, forKey: k)
            }
            pos = (chunk.last?.offset ?? pos) + 1
        }
        await consumer.close()
        return latest
    }
}

/// Why a runner or the registry failed. `retryable`: worth trying again as it is (the cluster
/// was unreachable), not a definition to fix.
public enum JobRunnerError: Error, CustomStringConvertible, Sendable {
    case registry(String)
    case invalidDefinition(String)

    public var retryable: Bool {
        if case .registry = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .registry(let m): return m
        case .invalidDefinition(let m): return m
        }
    }
}
