import Foundation
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
                if let problem = TopicConfigKeys.problem(k, value) { throw Invalid(description: "\(source): \(problem)") }
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
