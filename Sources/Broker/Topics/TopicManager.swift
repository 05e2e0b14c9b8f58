import Definitions
import Foundation
import KafkaProtocol
import Logging
import LogStore
import NIOConcurrencyHelpers

/// A topic: identity, configuration and partitions.
final class Topic: @unchecked Sendable {
    let name: String
    let id: KafkaUUID
    let isInternal: Bool
    private let lock = NIOLock()
    private var _config: TopicConfig
    private var _partitions: [PartitionState]

    init(name: String, id: KafkaUUID, config: TopicConfig, partitions: [PartitionState], isInternal: Bool = false) {
        self.name = name
        self.id = id
        self._config = config
        self._partitions = partitions
        self.isInternal = isInternal
    }

    var config: TopicConfig {
        get { lock.withLock { _config } }
        set { lock.withLock { _config = newValue } }
    }
    var partitions: [PartitionState] { lock.withLock { _partitions } }

    func partition(_ index: Int32) -> PartitionState? {
        lock.withLock { index >= 0 && Int(index) < _partitions.count ? _partitions[Int(index)] : nil }
    }

    func appendPartitions(_ more: [PartitionState]) {
        lock.withLock { _partitions.append(contentsOf: more) }
    }
}

/// What is persisted about a topic (its logs hold the data).
struct TopicMetadataFile: Codable, Equatable {
    var name: String
    var id: String
    var partitions: Int32
    var configs: [String: String]
}

/// Owns every topic: creation, deletion, partitions, configs, and their persistence in
/// `<data-dir>/__cluster/topics/<name>.json` (written atomically: temp file, fsync, rename).
final class TopicManager: @unchecked Sendable {
    struct Failure: Error {
        let code: ErrorCode
        let message: String
    }

    let dataDir: URL
    let metaDir: URL
    let flusher: LogFlusher
    let logger: Logger
    private let lock = NIOLock()
    private var byName: [String: Topic] = [:]
    private var byId: [KafkaUUID: Topic] = [:]
    let defaultConfig: [String: String]

    init(dataDir: URL, defaultConfig: [String: String], flusher: LogFlusher, logger: Logger) throws {
        self.dataDir = dataDir
        self.metaDir = dataDir.appendingPathComponent("__cluster/topics", isDirectory: true)
        self.defaultConfig = defaultConfig
        self.flusher = flusher
        self.logger = logger
        try FileManager.default.createDirectory(at: metaDir, withIntermediateDirectories: true)
    }

    var allTopics: [Topic] { lock.withLock { Array(byName.values) }.sorted { $0.name < $1.name } }
    func topic(named name: String) -> Topic? { lock.withLock { byName[name] } }
    func topic(id: KafkaUUID) -> Topic? { lock.withLock { byId[id] } }

    func partitionDirectory(_ topic: String, _ p: Int32) -> URL {
        dataDir.appendingPathComponent("\(topic)-\(p)", isDirectory: true)
    }

    static func logConfig(_ c: TopicConfig) -> LogConfig {
        var lc = LogConfig()
        lc.segmentBytes = Int(c.segmentBytes)
        lc.segmentMs = c.segmentMs
        lc.retentionMs = c.retentionMs
        lc.retentionBytes = c.retentionBytes
        lc.indexIntervalBytes = Int(c.indexIntervalBytes)
        lc.maxIndexEntries = Int(max(c.segmentIndexBytes / 8, 2))
        let policies = c.cleanupPolicies
        lc.deleteEnabled = policies.contains("delete")
        lc.compact = policies.contains("compact")
        lc.minCleanableDirtyRatio = c.minCleanableDirtyRatio
        lc.minCompactionLagMs = c.minCompactionLagMs
        lc.maxCompactionLagMs = c.maxCompactionLagMs
        lc.deleteRetentionMs = c.deleteRetentionMs
        return lc
    }

    private func openPartition(_ topic: String, _ p: Int32, _ config: TopicConfig) throws -> PartitionState {
        let dir = partitionDirectory(topic, p)
        var l = logger
        l[metadataKey: "partition"] = "\(topic)-\(p)"
        let log = try PartitionLog.open(directory: dir, config: Self.logConfig(config), flusher: flusher, logger: l)
        return PartitionState(topic: topic, index: p, log: log)
    }

    /// Loads every persisted topic and opens its partitions (recovering them if needed).
    func loadAll() throws {
        let files = (try? FileManager.default.contentsOfDirectory(at: metaDir, includingPropertiesForKeys: nil)) ?? []
        for file in files where file.pathExtension == "json" {
            do {
                let meta = try JSONDecoder().decode(TopicMetadataFile.self, from: Data(contentsOf: file))
                guard TopicName.validationError(meta.name) == nil, let id = KafkaUUID(base64: meta.id), meta.partitions > 0 else {
                    logger.error("ignoring invalid topic metadata", metadata: ["file": "\(file.path)"])
                    continue
                }
                let config = TopicConfig(overrides: meta.configs)
                var parts = [PartitionState]()
                for p in 0..<meta.partitions { parts.append(try openPartition(meta.name, p, config)) }
                let t = Topic(name: meta.name, id: id, config: config, partitions: parts)
                lock.withLock {
                    byName[t.name] = t
                    byId[t.id] = t
                }
            } catch {
                logger.error("could not load topic", metadata: ["file": "\(file.path)", "error": "\(error)"])
            }
        }
        removeOrphanDirectories()
    }

    /// Partition directories whose topic is gone (a delete interrupted by a crash) are removed.
    private func removeOrphanDirectories() {
        let known = lock.withLock { byName }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: dataDir.path)) ?? []
        for entry in entries where !entry.hasPrefix("__") {
            guard let dash = entry.lastIndex(of: "-"), let p = Int32(entry[entry.index(after: dash)...]) else { continue }
            let name = String(entry[..<dash])
            if let t = known[name], p < Int32(t.partitions.count) { continue }
            logger.warning("removing orphan partition directory", metadata: ["dir": "\(entry)"])
            try? FileManager.default.removeItem(at: dataDir.appendingPathComponent(entry))
        }
    }

    private func persist(_ meta: TopicMetadataFile) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try enc.encode(meta)
        try DurableFile.writeAtomically(data, to: metaDir.appendingPathComponent("\(meta.name).json"))
    }

    private func persist(_ t: Topic) throws {
        try persist(TopicMetadataFile(name: t.name, id: t.id.description, partitions: Int32(t.partitions.count), configs: t.config.overrides))
    }

    /// Creates a topic; `validateOnly` checks without creating.
    @discardableResult
    func create(name: String, partitions: Int32, configs: [String: String?], validateOnly: Bool = false) throws(Failure) -> Topic? {
        if let problem = TopicName.validationError(name) { throw Failure(code: .invalidTopicException, message: problem) }
        guard partitions > 0, partitions <= 10_000 else {
            throw Failure(code: .invalidPartitions, message: "number of partitions must be between 1 and 10000, got \(partitions)")
        }
        var merged: [String: String?] = defaultConfig.mapValues { Optional($0) }
        for (k, v) in configs { merged[k] = v }
        let config: TopicConfig
        switch TopicConfig.validated(merged) {
        case .success(let c): config = c
        case .failure(let e): throw Failure(code: e.code, message: e.message)
        }
        lock.lock()
        defer { lock.unlock() }
        if byName[name] != nil { throw Failure(code: .topicAlreadyExists, message: "topic '\(name)' already exists") }
        // Kafka forbids names that collide once '.' and '_' are treated alike (metric names).
        let norm = name.replacingOccurrences(of: ".", with: "_")
        if let other = byName.keys.first(where: { $0.replacingOccurrences(of: ".", with: "_") == norm }) {
            throw Failure(code: .invalidTopicException, message: "topic '\(name)' collides with existing topic '\(other)'")
        }
        if validateOnly { return nil }
        logDeprecated(configs.keys, topic: name)
        var id = KafkaUUID.random()
        while byId[id] != nil { id = KafkaUUID.random() }
        do {
            var parts = [PartitionState]()
            for p in 0..<partitions { parts.append(try openPartition(name, p, config)) }
            let t = Topic(name: name, id: id, config: config, partitions: parts)
            try persist(t)
            byName[name] = t
            byId[id] = t
            logger.info("created topic", metadata: ["topic": "\(name)", "partitions": "\(partitions)", "id": "\(id)"])
            return t
        } catch {
            throw Failure(code: .kafkaStorageError, message: "could not create topic: \(error)")
        }
    }

    func delete(name: String) throws(Failure) {
        lock.lock()
        guard let t = byName.removeValue(forKey: name) else {
            lock.unlock()
            throw Failure(code: .unknownTopicOrPartition, message: "topic '\(name)' does not exist")
        }
        byId[t.id] = nil
        lock.unlock()
        // Metadata first: if we crash half-way, orphan directories are removed at start-up.
        try? FileManager.default.removeItem(at: metaDir.appendingPathComponent("\(name).json"))
        for p in t.partitions {
            p.notifyAppended()
            do { try p.log.delete() } catch { logger.error("could not delete partition files", metadata: ["partition": "\(name)-\(p.index)", "error": "\(error)"]) }
        }
        logger.info("deleted topic", metadata: ["topic": "\(name)"])
    }

    func addPartitions(name: String, totalCount: Int32, validateOnly: Bool) throws(Failure) {
        guard let t = topic(named: name) else { throw Failure(code: .unknownTopicOrPartition, message: "topic '\(name)' does not exist") }
        let current = Int32(t.partitions.count)
        guard totalCount > current else {
            throw Failure(code: .invalidPartitions, message: "topic currently has \(current) partitions, \(totalCount) would not be an increase")
        }
        guard totalCount <= 10_000 else { throw Failure(code: .invalidPartitions, message: "at most 10000 partitions") }
        if validateOnly { return }
        do {
            var more = [PartitionState]()
            for p in current..<totalCount { more.append(try openPartition(name, p, t.config)) }
            t.appendPartitions(more)
            try persist(t)
        } catch {
            throw Failure(code: .kafkaStorageError, message: "could not add partitions: \(error)")
        }
    }

    /// Replaces or edits a topic's overrides and applies them to its open logs.
    func updateConfig(name: String, validateOnly: Bool, _ edit: (inout TopicConfig) -> String?) throws(Failure) {
        guard let t = topic(named: name) else { throw Failure(code: .unknownTopicOrPartition, message: "topic '\(name)' does not exist") }
        var c = t.config
        if let problem = edit(&c) { throw Failure(code: .invalidConfig, message: problem) }
        if validateOnly { return }
        let old = t.config.overrides
        logDeprecated(c.overrides.keys.filter { old[$0] != c.overrides[$0] }, topic: name)
        t.config = c
        do { try persist(t) } catch { throw Failure(code: .kafkaStorageError, message: "\(error)") }
        for p in t.partitions { p.log.update(config: Self.logConfig(c)) }
    }

    /// Kafka 3.x accepts these and ignores them; say so instead of failing old tools.
    private func logDeprecated<S: Sequence>(_ keys: S, topic: String) where S.Element == String {
        for k in keys where TopicConfig.deprecatedKeys.contains(k) {
            logger.info("accepted deprecated topic config; it has no effect", metadata: ["topic": "\(topic)", "config": "\(k)",
                                                                                       "doc": "\(TopicConfig.keys[k]?.doc ?? "")"])
        }
    }

    /// Every open partition log (the log cleaner walks them).
    var allLogs: [PartitionLog] { allTopics.flatMap { $0.partitions.map(\.log) } }

    func enforceRetention(now: Int64) {
        for t in allTopics {
            for p in t.partitions {
                let removed = p.log.enforceRetention(now: now).count
                if removed > 0 {
                    logger.info("retention removed segments", metadata: ["partition": "\(t.name)-\(p.index)", "segments": "\(removed)"])
                }
            }
        }
    }

    func closeAll() {
        for t in allTopics {
            for p in t.partitions {
                do { try p.log.close() } catch { logger.error("could not close log", metadata: ["partition": "\(t.name)-\(p.index)", "error": "\(error)"]) }
            }
        }
    }
}
