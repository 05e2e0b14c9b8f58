import Foundation
import Logging
import Yams

/// A topic definition file from `topics/` (YAML):
///
///     name: transactions
///     partitions: 6
///     configs:
///       retention.ms: 604800000
public struct TopicDefinition: Sendable, Equatable {
    public var name: String
    public var partitions: Int32
    public var configs: [String: String]
    public var source: String

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public static func parse(yaml: String, source: String) throws -> TopicDefinition {
        let node: Any?
        do { node = try Yams.load(yaml: yaml) } catch { throw Invalid(description: "\(source): invalid YAML: \(error)") }
        guard let map = node as? [String: Any] else { throw Invalid(description: "\(source): not a YAML mapping") }
        let allowed: Set<String> = ["name", "partitions", "configs", "description", "replication-factor"]
        for k in map.keys where !allowed.contains(k) { throw Invalid(description: "\(source): unknown key '\(k)'") }
        guard let name = map["name"] as? String else { throw Invalid(description: "\(source): 'name' is required") }
        if let problem = TopicName.validationError(name) { throw Invalid(description: "\(source): \(problem)") }
        var partitions: Int32 = 1
        if let p = map["partitions"] {
            guard let n = p as? Int, n > 0, n <= 10_000 else { throw Invalid(description: "\(source): partitions must be 1–10000") }
            partitions = Int32(n)
        }
        var configs: [String: String] = [:]
        if let c = map["configs"] {
            guard let m = c as? [String: Any] else { throw Invalid(description: "\(source): configs must be a mapping") }
            for (k, v) in m {
                let value = "\(v)"
                var probe = TopicConfig()
                if let problem = probe.set(k, value) { throw Invalid(description: "\(source): \(problem)") }
                configs[k] = value
            }
        }
        return TopicDefinition(name: name, partitions: partitions, configs: configs, source: source)
    }

    /// Every `*.yaml`/`*.yml` file in a folder, sorted by name; duplicate names are an error.
    public static func load(directory: String) throws -> [TopicDefinition] {
        let url = URL(fileURLWithPath: directory)
        let files = try FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)
            .filter { ["yaml", "yml"].contains($0.pathExtension) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        var seen = [String: String]()
        var out = [TopicDefinition]()
        for f in files {
            let d = try parse(yaml: String(contentsOf: f, encoding: .utf8), source: f.lastPathComponent)
            if let other = seen[d.name] { throw Invalid(description: "topic '\(d.name)' is defined in both \(other) and \(d.source)") }
            seen[d.name] = d.source
            out.append(d)
        }
        return out
    }
}

extension TopicManager {
    /// Start-up application of topic definitions: missing topics are created, partitions grown,
    /// configs made equal to the definition (keys the definition does not name are reset).
    func apply(_ definitions: [TopicDefinition]) {
        for d in definitions {
            if let t = topic(named: d.name) {
                let current = Int32(t.partitions.count)
                if d.partitions > current {
                    do {
                        try addPartitions(name: d.name, totalCount: d.partitions, validateOnly: false)
                        logger.info("topic definition: partitions increased", metadata: ["topic": "\(d.name)", "from": "\(current)", "to": "\(d.partitions)"])
                    } catch {
                        logger.error("topic definition: could not add partitions", metadata: ["topic": "\(d.name)", "error": "\(error.message)"])
                    }
                } else if d.partitions < current {
                    logger.warning("topic definition asks for fewer partitions than exist; Kafka cannot shrink a topic, keeping \(current)",
                                   metadata: ["topic": "\(d.name)"])
                }
                if t.config.overrides != d.configs {
                    do {
                        try updateConfig(name: d.name, validateOnly: false) { c in
                            c = TopicConfig()
                            for (k, v) in d.configs { if let p = c.set(k, v) { return p } }
                            return nil
                        }
                        logger.info("topic definition: configs updated", metadata: ["topic": "\(d.name)"])
                    } catch {
                        logger.error("topic definition: could not alter configs", metadata: ["topic": "\(d.name)", "error": "\(error.message)"])
                    }
                }
            } else {
                do {
                    try create(name: d.name, partitions: d.partitions, configs: d.configs.mapValues { Optional($0) })
                } catch {
                    logger.error("topic definition: could not create topic", metadata: ["topic": "\(d.name)", "error": "\(error.message)"])
                }
            }
        }
    }
}
