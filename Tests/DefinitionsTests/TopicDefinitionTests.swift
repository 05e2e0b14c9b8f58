import Definitions
import Foundation
import Testing

/// Topic definitions parse and validate without the broker.
@Suite struct TopicDefinitionTests {
    @Test func parsesNamePartitionsAndConfigs() throws {
        let d = try TopicDefinition.parse(yaml: """
            name: transactions
            partitions: 6
            description: card transactions
            configs:
              retention.ms: 604800000
              cleanup.policy: delete
            """, source: "transactions.yaml")
        #expect(d.name == "transactions")
        #expect(d.partitions == 6)
        #expect(d.configs == ["retention.ms": "604800000", "cleanup.policy": "delete"])
        #expect(d.source == "transactions.yaml")
        #expect(try TopicDefinition.parse(yaml: "name: t", source: "t.yaml").partitions == 1)
    }

    @Test(arguments: [
        ("name: t\nconfigs:\n  no.such.key: 1\n", "unknown topic config 'no.such.key'"),
        ("name: t\nconfigs:\n  retention.ms: forever\n", "retention.ms must be a long"),
        ("name: t\nconfigs:\n  segment.bytes: 3\n", "segment.bytes must be at least 14"),
        ("name: t\nconfigs:\n  cleanup.policy: shred\n", "cleanup.policy must be one of"),
        ("name: t\npartitions: 0\n", "partitions must be 1–10000"),
        ("partitions: 2\n", "'name' is required"),
        ("name: 'has space'\n", "contains a character other than"),
        ("name: t\npartitionz: 3\n", "unknown key 'partitionz'"),
        ("- a\n- list\n", "not a YAML mapping"),
        ("name: [unclosed\n", "invalid YAML"),
    ])
    func refusesWithTheFileAndTheProblem(yaml: String, problem: String) {
        do {
            _ = try TopicDefinition.parse(yaml: yaml, source: "bad.yaml")
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect("\(error)".hasPrefix("bad.yaml: "))
            #expect("\(error)".contains(problem), "\(error)")
        }
    }

    @Test func loadsAFolderAndRefusesDuplicateNames() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rb-defs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "name: b\npartitions: 2\n".write(to: dir.appendingPathComponent("b.yml"), atomically: true, encoding: .utf8)
        try "name: a\n".write(to: dir.appendingPathComponent("a.yaml"), atomically: true, encoding: .utf8)
        try "not a definition".write(to: dir.appendingPathComponent("README.txt"), atomically: true, encoding: .utf8)
        #expect(try TopicDefinition.load(directory: dir.path).map(\.name) == ["a", "b"])

        try "name: a\npartitions: 3\n".write(to: dir.appendingPathComponent("c.yaml"), atomically: true, encoding: .utf8)
        #expect(throws: TopicDefinition.Invalid.self) { try TopicDefinition.load(directory: dir.path) }
    }

    @Test func configKeysKnowTheirDefaultsAndChecks() {
        #expect(TopicConfigKeys.keys["retention.ms"]?.defaultValue == "604800000")
        #expect(TopicConfigKeys.problem("retention.ms", "-1") == nil)
        #expect(TopicConfigKeys.problem("retention.ms", nil) == nil)
        #expect(TopicConfigKeys.problem("no.such.key", nil) == "unknown topic config 'no.such.key'")
    }
}
