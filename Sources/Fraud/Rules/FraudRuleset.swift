import Yams

/// A ruleset of the fraud job as the fraud team publishes it on `fraud-rules` (table `rulesets`
/// of jobs/fraud-scoring.yaml): a version and any of the parameters below. The job file holds
/// the defaults; a record overrides those it names, the next transaction on every partition
/// scores with it. Validated here before it is published, since the job itself only checks
/// types: a weight of 40 or a threshold of -1 would be a valid record and a very bad day.
public struct FraudRuleset: Sendable, Equatable {
    /// Which ruleset a record sets: the one that alerts, or the one scored beside it in shadow.
    public enum Slot: String, Sendable, CaseIterable {
        case champion, challenger
    }

    public enum Kind: Sendable, Equatable {
        case double(ClosedRange<Double>)
        case integer(ClosedRange<Int64>)

        /// The job file's column type for it.
        public var sqlType: String {
            switch self {
            case .double: "DOUBLE"
            case .integer: "BIGINT"
            }
        }
    }

    /// One tunable number: its name on the topic and in the job file, its range, the job
    /// file's default (a test holds the file to it), what it does.
    public struct Parameter: Sendable {
        public let name: String
        public let kind: Kind
        public let defaultValue: Value
        public let doc: String

        init(name: String, kind: Kind, doc: String) {
            self.name = name
            self.kind = kind
            // The default closes the doc, in parentheses: one place for both.
            let open = doc.lastIndex(of: "(")!
            let text = doc[doc.index(after: open)...].dropLast()
            switch kind {
            case .double: defaultValue = .double(Double(text)!)
            case .integer: defaultValue = .integer(Int64(text)!)
            }
            self.doc = String(doc[..<open]).trimmingCharacters(in: .whitespaces)
        }
    }

    /// The parameters, in the job file's order (a test holds the job's table schema to this list).
    public static let parameters: [Parameter] = [
        Parameter(name: "alert_threshold", kind: .double(0...1), doc: "alert when the risk score exceeds it (0.8)"),
        Parameter(name: "rules_weight", kind: .double(0...2), doc: "weight of the rules' sum, capped at 1 (0.3)"),
        Parameter(name: "model_weight", kind: .double(0...2), doc: "weight of the learned model's probability (1.4)"),
        Parameter(name: "w_velocity", kind: .double(0...1), doc: "more than 5 transactions in an hour, or burst_count in 10 minutes (0.5)"),
        Parameter(name: "w_amount", kind: .double(0...1), doc: "amount above 3 x the customer's previous average (0.3)"),
        Parameter(name: "w_spike", kind: .double(0...1), doc: "amount above spike_factor x the previous average, after 3 or more (0.5)"),
        Parameter(name: "w_location", kind: .double(0...1), doc: "more than 500 miles from the previous transaction (0.2)"),
        Parameter(name: "w_travel", kind: .double(0...1), doc: "faster than travel_kmh over more than 300 km (0.9)"),
        Parameter(name: "w_time", kind: .double(0...1), doc: "local hour outside 06-22 (0.1)"),
        Parameter(name: "w_night", kind: .double(0...1), doc: "local hour before night_before_hour (0.3)"),
        Parameter(name: "w_country", kind: .double(0...1), doc: "first transaction in a country, after 5 or more (0.3)"),
        Parameter(name: "w_category", kind: .double(0...1), doc: "first purchase in a merchant category, after 10 or more (0.4)"),
        Parameter(name: "burst_count", kind: .integer(2...100), doc: "transactions in 10 minutes that make a burst (5)"),
        Parameter(name: "spike_factor", kind: .double(1...100), doc: "multiple of the previous average that makes a spike (6.0)"),
        Parameter(name: "travel_kmh", kind: .double(100...5000), doc: "implied speed that makes travel impossible (900.0)"),
        Parameter(name: "night_before_hour", kind: .integer(0...12), doc: "local hour before which a transaction is at night (5)"),
        Parameter(name: "w_merchant", kind: .double(0...1), doc: "merchant_min_reports or more confirmed fraud reports at the merchant in the 24 hours before (0.3)"),
        Parameter(name: "merchant_min_reports", kind: .integer(1...1000), doc: "fraud reports at a merchant in 24 hours that make it suspect (4)"),
    ]

    public enum Value: Sendable, Equatable, CustomStringConvertible {
        case double(Double)
        case integer(Int64)

        public var description: String {
            switch self {
            case .double(let d): "\(d)"
            case .integer(let i): "\(i)"
            }
        }
    }

    public var version: String
    /// By parameter name; absent ones keep the job file's default.
    public var values: [String: Value]

    public init(version: String, values: [String: Value] = [:]) {
        self.version = version
        self.values = values
    }

    /// Every problem of a ruleset file at once, each naming the field.
    public struct Invalid: Error, CustomStringConvertible {
        public var problems: [String]
        public var description: String { problems.joined(separator: "\n") }
    }

    /// From a JSON or YAML file's text (JSON is YAML): `version` and parameters, nothing else.
    public init(text: String) throws(Invalid) {
        guard text.utf8.count <= 64 * 1024 else { throw Invalid(problems: ["a ruleset file is at most 64 KiB"]) }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw Invalid(problems: ["not YAML or JSON: \(error)"]) }
        guard let mapping = node?.mapping else { throw Invalid(problems: ["a ruleset is a mapping of version and parameters"]) }
        var problems: [String] = []
        // YAML lets a key repeat and keeps the last; in a ruleset that is a mistake to show.
        var map: [String: Any] = [:]
        for (k, v) in mapping {
            guard let key = k.scalar?.string else {
                problems.append("keys are parameter names")
                continue
            }
            if map[key] != nil { problems.append("\(key): given twice") }
            map[key] = key == "version" ? (v.scalar?.string ?? "<not text>") : v.any
        }
        var version = ""
        if let v = map["version"] as? String, Self.validVersion(v) {
            version = v
        } else {
            problems.append("version: required, 1 to 64 letters, digits, '.', '_' or '-'\(map["version"].map { " (got \($0))" } ?? "")")
        }
        var values: [String: Value] = [:]
        let known = Dictionary(uniqueKeysWithValues: Self.parameters.map { ($0.name, $0) })
        for (key, raw) in map.sorted(by: { $0.key < $1.key }) where key != "version" {
            guard let p = known[key] else {
                problems.append("\(key): not a parameter (known: \(Self.parameters.map(\.name).joined(separator: ", ")))")
                continue
            }
            // A weight of `true` or "0.5" is a mistake, not a number.
            let d: Double
            switch raw {
            case is Bool: d = .nan
            case let i as Int: d = Double(i)
            case let x as Double: d = x
            default: d = .nan
            }
            guard !d.isNaN else {
                problems.append("\(key): a number, got \(raw)")
                continue
            }
            switch p.kind {
            case .double(let r):
                if d.isFinite && r.contains(d) { values[key] = .double(d) } else { problems.append("\(key): \(d) is outside \(r.lowerBound)...\(r.upperBound)") }
            case .integer(let r):
                if d.rounded() == d, d.magnitude < 1e15, r.contains(Int64(d)) {
                    values[key] = .integer(Int64(d))
                } else {
                    problems.append("\(key): a whole number in \(r.lowerBound)...\(r.upperBound), got \(raw)")
                }
            }
        }
        if !problems.isEmpty { throw Invalid(problems: problems) }
        self.init(version: version, values: values)
    }

    static func validVersion(_ v: String) -> Bool {
        (1...64).contains(v.utf8.count) && v.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F || b == 0x2D
        }
    }

    /// The record value: one JSON object, keys sorted (stable bytes for the same ruleset).
    public var jsonBytes: [UInt8] {
        var parts = ["\"version\":\"\(version)\""]
        for p in Self.parameters {
            switch values[p.name] {
            case .double(let d): parts.append("\"\(p.name)\":\(d)")
            case .integer(let i): parts.append("\"\(p.name)\":\(i)")
            case nil: break
            }
        }
        return Array("{\(parts.joined(separator: ","))}".utf8)
    }
}
