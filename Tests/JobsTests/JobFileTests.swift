import Foundation
@testable import Jobs
import Testing

/// Job files: the shipped ones are valid; a broken one reports every problem with its line,
/// column and caret; no input crashes the parser.
@Suite struct JobFileTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test(arguments: ["hourly-spend.yaml", "velocity.yaml", "big-spenders.yaml"])
    func shippedJobsAreValid(file: String) throws {
        let path = Self.repo.appendingPathComponent("jobs/\(file)").path
        switch JobFile.load(path: path) {
        case .success(let job):
            #expect(!job.definition.sinks.isEmpty)
            #expect(job.definition.parallelism == 2 && job.definition.checkpointInterval == .seconds(1))
        case .failure(let d):
            Issue.record("\(file) is invalid:\n\(d.rendered)")
        }
    }

    @Test func schemasFlowThroughTheOperators() throws {
        let text = try String(contentsOf: Self.repo.appendingPathComponent("jobs/big-spenders.yaml"), encoding: .utf8)
        let job = try JobFile.check(text, file: "big-spenders.yaml").get()
        let history = try #require(job.schemas["history"])
        #expect(history.fields.map(\.name) == ["tx_id", "customer_id", "amount", "ts_ms", "prev_avg", "prev_cnt"])
        #expect(history.fields.last?.type == .bigint)
        #expect(job.schemas["big"] == history)
        let velocity = try JobFile.check(String(contentsOf: Self.repo.appendingPathComponent("jobs/velocity.yaml"), encoding: .utf8), file: "v").get()
        #expect(velocity.schemas["velocity"]?.fields.map(\.name) == ["customer_id", "cnt", "window_start", "window_end"])
    }

    static let broken = """
    name: broken
    sources:
      tx:
        topic: transactions
        schema:
          customer_id: STRING
          amount: DOUBLE
          ts: TIMESTAMP
        event-time: ts
        out-of-ordernes: 5s
        idle-timeout: soon
    operators:
      - name: big
        filter: tx
        where: amout > 100
      - name: hourly
        window: big
        key: customer_id
        tumbling: 1h
        select:
          total: SUM(amount) + 'x'
      - name: later
        filter: nowhere
        where: TRUE
    sinks:
      - name: out
        from: hourly
        topic: out
    """

    @Test func structuralProblemsAreAllReportedWithTheirPlaces() {
        guard case .failure(let d) = JobFile.check(Self.broken, file: "broken.yaml") else {
            Issue.record("accepted a broken file")
            return
        }
        let byLine = Dictionary(grouping: d.all, by: \.location.line)
        // The unknown key, with the nearest known one; the bad duration; both at once.
        #expect(byLine[10]?.first?.message.contains("unknown key 'out-of-ordernes' (did you mean 'out-of-orderness'?)") == true, "\(d.rendered)")
        #expect(byLine[10]?.first?.location.column == 5)
        #expect(byLine[11]?.first?.message.contains("'soon' is not a duration") == true)
        #expect(d.rendered.contains("broken.yaml:10:5: error:"))
    }

    @Test func expressionProblemsPointInsideTheFile() {
        // Structure fixed: now names, references and types are checked, all at once.
        let text = Self.broken.replacingOccurrences(of: "    out-of-ordernes: 5s\n    idle-timeout: soon\n", with: "")
        guard case .failure(let d) = JobFile.check(text, file: "j.yaml") else {
            Issue.record("accepted")
            return
        }
        let unknown = d.all.first { $0.message.contains("amout") }
        #expect(unknown?.location.line == 13 && unknown?.location.column == 12, "\(d.rendered)")
        #expect(unknown?.message.contains("did you mean `amount`?") == true)
        #expect(d.all.contains { $0.location.line == 19 && $0.message.contains("does not apply to DOUBLE and STRING") }, "\(d.rendered)")
        #expect(d.all.contains { $0.location.line == 21 && $0.message.contains("input 'nowhere'") })
        #expect(d.rendered.contains("^"))
        #expect(d.count >= 3)
    }

    @Test func blockAndQuotedExpressionsArePlacedWhereTheirTextIs() {
        let text = """
        name: j
        sources:
          tx: { topic: t, schema: { amount: DOUBLE, n: BIGINT } }
        operators:
          - name: f
            filter: tx
            where: |
              amount > 10
                AND nn > 2
          - name: g
            filter: f
            where: "amount < 'ten'"
        sinks:
          - { name: out, from: g, topic: o }
        """
        guard case .failure(let d) = JobFile.check(text, file: "b.yaml") else {
            Issue.record("accepted")
            return
        }
        let nn = d.all.first { $0.message.contains("nn") }
        #expect(nn?.location.line == 9 && nn?.location.column == 13, "\(d.rendered)")
        let cmp = d.all.first { $0.location.line == 12 }
        #expect(cmp != nil && (cmp!.location.column >= 13), "\(d.rendered)")
    }

    @Test func aWindowReadsOnlyItsKeysOutsideAggregates() {
        func check(_ select: String, having: String? = nil) -> Diagnostics? {
            let text = """
            name: w
            sources:
              tx: { topic: t, schema: { customer_id: BIGINT, merchant: STRING, amount: DOUBLE, ts: TIMESTAMP }, event-time: ts }
            operators:
              - name: hourly
                window: tx
                key: [customer_id, UPPER(merchant)]
                tumbling: 1h
                select: { v: \(select) }
            \(having.map { "    having: \($0)" } ?? "")
            sinks:
              - { name: out, from: hourly, topic: o }
            """
            if case .failure(let d) = JobFile.check(text, file: "w.yaml") { return d }
            return nil
        }
        #expect(check("SUM(amount) / COUNT(*)") == nil)
        #expect(check("customer_id + 1") == nil)
        #expect(check("UPPER(merchant) || '!'") == nil, "a key expression written the same way")
        #expect(check("window_end") == nil)
        let d = check("amount * 2")
        #expect(d?.all.first?.message.contains("`amount` is neither a key nor inside an aggregate") == true, "\(d?.rendered ?? "")")
        #expect(d?.all.first?.location.line == 9 && d?.all.first?.location.column == 18, "\(d?.rendered ?? "")")
        #expect(check("merchant") != nil, "the key is UPPER(merchant), not merchant")
        #expect(check("COUNT(*)", having: "amount > 5") != nil)
        #expect(check("COUNT(*)", having: "MAX(amount) > 5") == nil)
    }

    @Test func invalidYAMLAndLimitsAreReported() {
        if case .failure(let d) = JobFile.check("name: [unclosed", file: "y.yaml") {
            #expect(d.all.first?.message.hasPrefix("not valid YAML") == true)
        } else { Issue.record("accepted invalid YAML") }
        if case .failure(let d) = JobFile.check(String(repeating: "#", count: JobFileParser.maxBytes + 1), file: "big.yaml") {
            #expect(d.all.first?.message.contains("limit") == true)
        } else { Issue.record("accepted an oversized file") }
        if case .failure(let d) = JobFile.check("- just\n- a list\n", file: "l.yaml") {
            #expect(d.all.first?.message.contains("mapping") == true)
        } else { Issue.record("accepted a list") }
    }

    @Test func durations() {
        #expect(DurationText.parse("500ms") == .milliseconds(500))
        #expect(DurationText.parse("1h30m") == .seconds(5400))
        #expect(DurationText.parse("0") == .zero)
        #expect(DurationText.parse("2d") == .seconds(172_800))
        for bad in ["", "5", "five", "5x", "-1s", "1.5s", "99999999999999999999d"] { #expect(DurationText.parse(bad) == nil, "\(bad)") }
        #expect(DurationText.format(.seconds(3600)) == "1h" && DurationText.format(.milliseconds(1500)) == "1500ms")
    }

    /// Mutations of a valid file (bytes replaced, inserted, deleted; cut short): never a crash;
    /// either a valid job or problems whose lines are inside the file.
    @Test func fuzzedFilesNeverCrashTheParser() throws {
        let base = try Array(String(contentsOf: Self.repo.appendingPathComponent("jobs/big-spenders.yaml"), encoding: .utf8).utf8)
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array(":-{}[]\"' \n\t#|>&*!%@`,?abcdefxyz0123456789()+*/<>=".utf8)
        var accepted = 0
        for _ in 0..<1500 {
            var b = base
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                guard !b.isEmpty else { break }
                let i = Int.random(in: 0..<b.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: b[i] = alphabet.randomElement(using: &rng)!
                case 1: b.insert(alphabet.randomElement(using: &rng)!, at: i)
                case 2: b.remove(at: i)
                default: b = Array(b.prefix(i))
                }
            }
            let text = String(decoding: b, as: UTF8.self)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
            switch JobFile.check(text, file: "fuzz.yaml") {
            case .success: accepted += 1
            case .failure(let d):
                #expect(!d.isEmpty)
                for x in d.all { #expect(x.location.line >= 1 && x.location.line <= lines + 1, "\(x.rendered)") }
            }
        }
        #expect(accepted < 1500)
    }
}
