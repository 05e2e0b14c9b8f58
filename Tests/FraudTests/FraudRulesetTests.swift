import Foundation
@testable import Fraud
@testable import Jobs
import Testing

/// `riverbank fraud ruleset`'s validator: what it accepts, every reason it refuses, and that
/// no file crashes it.
@Suite struct FraudRulesetTests {
    @Test func aYAMLOrJSONRulesetIsReadAndWrittenBackTheSame() throws {
        let y = try FraudRuleset(text: "version: night-owl-1\nalert_threshold: 0.75\nburst_count: 4\nw_night: 1\n")
        #expect(y.version == "night-owl-1")
        #expect(y.values == ["alert_threshold": .double(0.75), "burst_count": .integer(4), "w_night": .double(1)])
        let j = try FraudRuleset(text: String(decoding: y.jsonBytes, as: UTF8.self))
        #expect(j == y)
        #expect(String(decoding: y.jsonBytes, as: UTF8.self) == #"{"version":"night-owl-1","alert_threshold":0.75,"w_night":1.0,"burst_count":4}"#)
        #expect(try FraudRuleset(text: #"{"version": "v2"}"#).values.isEmpty)
    }

    @Test func everyProblemIsReportedAtOnceWithItsField() {
        do {
            _ = try FraudRuleset(text: "w_velocity: 3\nalert_treshold: 0.5\nburst_count: 2.5\nw_time: true\nspike_factor: \"6\"\n")
            Issue.record("accepted")
        } catch {
            let p = error.problems
            #expect(p.count == 6, "\(p)")
            for field in ["version", "w_velocity", "alert_treshold", "burst_count", "w_time", "spike_factor"] {
                #expect(p.contains { $0.hasPrefix(field) }, "\(field) in \(p)")
            }
        }
        for bad in ["", "- a\n- b\n", "version: has space", "version: \(String(repeating: "x", count: 65))", "{", "version: v\nversion: w\n"] {
            #expect(throws: FraudRuleset.Invalid.self, "\(bad)") { try FraudRuleset(text: bad) }
        }
        #expect(throws: FraudRuleset.Invalid.self) { try FraudRuleset(text: "version: v\n" + String(repeating: "#", count: 70_000)) }
    }

    /// Random damage to a valid file: a clear refusal or a ruleset whose every value is in
    /// range, never a crash.
    @Test func damagedFilesAreRefusedOrValidNeverACrash() {
        let good = Array(#"{"version":"v-1","alert_threshold":0.8,"w_velocity":0.5,"burst_count":5,"travel_kmh":900}"#.utf8)
        var rng = SystemRandomNumberGenerator()
        var accepted = 0
        for _ in 0..<5000 {
            var b = good
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0 where !b.isEmpty: b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                case 1 where !b.isEmpty: b.removeSubrange(Int.random(in: 0..<b.count, using: &rng)...)
                case 2: b.insert(Array("-.9e\":{[,".utf8).randomElement(using: &rng)!, at: Int.random(in: 0...b.count, using: &rng))
                default: if !b.isEmpty { b.remove(at: Int.random(in: 0..<b.count, using: &rng)) }
                }
            }
            guard let r = try? FraudRuleset(text: String(decoding: b, as: UTF8.self)) else { continue }
            accepted += 1
            for p in FraudRuleset.parameters {
                switch (p.kind, r.values[p.name]) {
                case (.double(let range), .double(let d)?): #expect(range.contains(d))
                case (.integer(let range), .integer(let i)?): #expect(range.contains(i))
                case (_, nil): break
                default: Issue.record("\(p.name) has the wrong kind")
                }
            }
        }
        #expect(accepted > 0)
    }

    /// What `--help` states as each parameter's default is what the job file falls back to.
    @Test func theDocumentedDefaultsAreTheJobFilesDefaults() throws {
        let text = try String(contentsOf: FraudJobTests.repo.appendingPathComponent("jobs/fraud-scoring.yaml"), encoding: .utf8)
        for p in FraudRuleset.parameters {
            #expect(text.contains("\(p.name): COALESCE(champion.\(p.name), \(p.defaultValue))"), "\(p.name) defaults to \(p.defaultValue)")
            switch (p.kind, p.defaultValue) {
            case (.double(let r), .double(let d)): #expect(r.contains(d))
            case (.integer(let r), .integer(let i)): #expect(r.contains(i))
            default: Issue.record("\(p.name): the default is of another kind")
            }
        }
    }
}
