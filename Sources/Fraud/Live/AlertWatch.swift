import DequeModule
import Foundation
import KafkaClient
import Streams

/// The live view of the main README command: one line per alert (score, rules, evidence) and,
/// every few seconds, transactions/s, alerts/s, precision and recall so far (against the
/// generator's labels) and end-to-end latency (the alert's arrival here − the producer's send
/// time of its transaction). Reads `fraud-alerts`, the labels topic and the offsets of
/// `transactions`: what any Kafka consumer can see, nothing inside the job.
public struct AlertWatch: Sendable {
    public var client: KafkaClientConfig
    public var alertsTopic = FraudTopics.alerts
    public var labelsTopic: String? = FraudTopics.labels
    public var transactionsTopic = FraudTopics.transactions
    /// Also measure end-to-end latency over every record of this topic (`fraud-scores`: every
    /// transaction, not only the alerted ones) — what the benchmark reports.
    public var latencyTopic: String? = nil
    /// Alert lines printed per second at most (the rest are counted in the summary).
    public var linesPerSecond = 20
    public var summaryEvery: Duration = .seconds(5)
    /// Alerts and labels are matched once both have had this long to arrive.
    public var settle: Duration = .seconds(3)
    /// Stop after this long (nil: until cancelled).
    public var duration: Duration? = nil

    public init(client: KafkaClientConfig) { self.client = client }

    /// Runs until cancelled or `duration` passes; `out` gets every line. Returns the last summary.
    @discardableResult
    public func run(_ out: @Sendable (String) -> Void) async throws -> LiveSummary {
        let admin = KafkaAdmin(config: client)
        do {
            let summary = try await watch(admin, out)
            await admin.close()
            return summary
        } catch {
            await admin.close()
            throw error
        }
    }

    private func watch(_ admin: KafkaAdmin, _ out: @Sendable (String) -> Void) async throws -> LiveSummary {
        var topics = [alertsTopic]
        if let labelsTopic { topics.append(labelsTopic) }
        if let latencyTopic { topics.append(latencyTopic) }
        var assignment: [TopicPartition: OffsetSpec?] = [:]
        var txParts: [TopicPartition] = []
        for t in topics {
            let info = try await admin.describeTopic(t)
            for p in 0..<info.partitionCount { assignment[TopicPartition(t, Int32(p))] = .latest }
        }
        if let info = try? await admin.describeTopic(transactionsTopic) {
            txParts = (0..<info.partitionCount).map { TopicPartition(transactionsTopic, Int32($0)) }
        }
        var cc = KafkaConsumerConfig(bootstrapServers: client.bootstrapServers)
        cc.client = client
        cc.enableAutoCommit = false
        let consumer = try KafkaConsumer(config: cc)
        do {
            try await consumer.assign(assignment)
            let summary = try await follow(consumer, admin, txParts, out)
            await consumer.close()
            return summary
        } catch {
            await consumer.close()
            throw error
        }
    }

    /// The loop: alerts and labels as they come, a summary every `summaryEvery`.
    private func follow(_ consumer: KafkaConsumer, _ admin: KafkaAdmin, _ txParts: [TopicPartition],
                        _ out: @Sendable (String) -> Void) async throws -> LiveSummary {
        var summary = LiveSummary(settleMillis: settle.millis)
        var decoder = AlertDecoder()
        var labels = FraudLabelDecoder()
        var produced = JSONObjectDecoding(table: JSONFieldTable(["produced_at"]))
        let clock = ContinuousClock()
        let start = clock.now
        var nextSummary = start + summaryEvery
        var secondStart = start
        var printedThisSecond = 0, suppressed = 0
        var lastTx: (at: ContinuousClock.Instant, total: Int64)? = nil
        if !txParts.isEmpty { lastTx = (clock.now, try await Self.total(admin, txParts)) }
        var it = consumer.records.makeAsyncIterator()
        out("watching \(alertsTopic)" + (labelsTopic.map { " (labels from \($0))" } ?? "") + " — Ctrl-C to stop")
        while !Task.isCancelled {
            if let duration, clock.now - start >= duration { break }
            let chunk: [ConsumerRecord]
            do {
                chunk = try await it.nextChunk(until: min(nextSummary, clock.now + .milliseconds(200))) ?? []
            } catch is CancellationError {
                break
            }
            let now = currentTimeMillis()
            for r in chunk {
                guard let bytes = r.valueBytes else { continue }
                if r.topic == alertsTopic {
                    guard let a = try? decoder.decode(bytes) else { continue }
                    summary.alert(a, arrivedAt: now)
                    if clock.now - secondStart >= .seconds(1) {
                        if suppressed > 0 { out("  … \(suppressed) more alerts in that second") }
                        secondStart = clock.now
                        printedThisSecond = 0
                        suppressed = 0
                    }
                    if printedThisSecond < linesPerSecond {
                        out(a.line(latencyMillis: a.producedMillis.map { now - $0 }))
                        printedThisSecond += 1
                    } else {
                        suppressed += 1
                    }
                } else if r.topic == latencyTopic {
                    let sent = try? bytes.withUnsafeBytes { raw in
                        try produced.decode(raw) { (f) throws(FormatError) -> Int64? in f.has(0) ? try f.timestamp(0).millis : nil }
                    }
                    if let sent = sent ?? nil { summary.scored(latencyMillis: Double(max(now - sent, 0))) }
                } else if let l = try? labels.decode(bytes) {
                    summary.label(l, arrivedAt: now)
                }
            }
            if clock.now >= nextSummary {
                summary.settle(now: currentTimeMillis())
                if let last = lastTx, let total = try? await Self.total(admin, txParts) {
                    let secs = Double((clock.now - last.at).components.seconds) + Double((clock.now - last.at).components.attoseconds) / 1e18
                    summary.transactionsPerSecond = secs > 0 ? Double(total - last.total) / secs : 0
                    lastTx = (clock.now, total)
                }
                summary.closeInterval(seconds: Double(summaryEvery.millis) / 1000)
                out(summary.line)
                nextSummary = clock.now + summaryEvery
            }
        }
        summary.settle(now: currentTimeMillis() + settle.millis)
        return summary
    }

    static func total(_ admin: KafkaAdmin, _ tps: [TopicPartition]) async throws -> Int64 {
        let ends = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: tps.map { ($0, OffsetSpec.latest) }))
        return ends.values.reduce(0) { $0 + $1.offset }
    }
}

/// The running figures of a watch: counts, precision and recall over settled alerts and
/// labels, latency percentiles of the last interval and overall.
public struct LiveSummary: Sendable {
    let settleMillis: Int64
    public private(set) var alerts = 0
    public private(set) var labels = 0
    public private(set) var truePositives = 0
    public private(set) var settledAlerts = 0
    public private(set) var caughtFrauds = 0
    public private(set) var settledFrauds = 0
    public var transactionsPerSecond = 0.0
    public private(set) var alertsPerSecond = 0.0
    var alertIds = Set<String>()
    var labelIds = Set<String>()
    var pendingAlerts = Deque<(id: String, at: Int64)>()
    var pendingLabels = Deque<(id: String, at: Int64)>()
    var intervalAlerts = 0
    var intervalLatencies: [Double] = []
    public private(set) var latencies = LatencyHistogram()
    /// Over every scored transaction (with `latencyTopic`).
    public private(set) var scoreLatencies = LatencyHistogram()
    var intervalScores = LatencyHistogram()
    public private(set) var scoredPerSecond = 0.0

    init(settleMillis: Int64) { self.settleMillis = settleMillis }

    public var precision: Double? { settledAlerts == 0 ? nil : Double(truePositives) / Double(settledAlerts) }
    public var recall: Double? { settledFrauds == 0 ? nil : Double(caughtFrauds) / Double(settledFrauds) }

    mutating func alert(_ a: AlertRecord, arrivedAt now: Int64) {
        // A re-delivered alert (same id) counts once.
        guard alertIds.insert(a.transactionId).inserted else { return }
        alerts += 1
        intervalAlerts += 1
        pendingAlerts.append((a.transactionId, now))
        if let p = a.producedMillis {
            let l = Double(max(now - p, 0))
            intervalLatencies.append(l)
            latencies.record(l)
        }
    }

    mutating func scored(latencyMillis l: Double) {
        scoreLatencies.record(l)
        intervalScores.record(l)
    }

    mutating func label(_ l: FraudLabel, arrivedAt now: Int64) {
        guard labelIds.insert(l.transactionId).inserted else { return }
        labels += 1
        pendingLabels.append((l.transactionId, now))
    }

    /// Matches what has had `settle` to meet its counterpart.
    mutating func settle(now: Int64) {
        while let a = pendingAlerts.first, a.at + settleMillis <= now {
            pendingAlerts.removeFirst()
            settledAlerts += 1
            if labelIds.contains(a.id) { truePositives += 1 }
        }
        while let l = pendingLabels.first, l.at + settleMillis <= now {
            pendingLabels.removeFirst()
            settledFrauds += 1
            if alertIds.contains(l.id) { caughtFrauds += 1 }
        }
    }

    var intervalScoreP50: Double? = nil
    var intervalScoreP99: Double? = nil
    var intervalP50: Double? = nil
    var intervalP99: Double? = nil

    mutating func closeInterval(seconds: Double) {
        alertsPerSecond = seconds > 0 ? Double(intervalAlerts) / seconds : 0
        scoredPerSecond = seconds > 0 ? Double(intervalScores.count) / seconds : 0
        intervalScoreP50 = intervalScores.percentile(0.5)
        intervalScoreP99 = intervalScores.percentile(0.99)
        intervalScores = LatencyHistogram()
        intervalLatencies.sort()
        intervalP50 = FraudEvaluation.percentile(intervalLatencies, 0.5)
        intervalP99 = FraudEvaluation.percentile(intervalLatencies, 0.99)
        intervalAlerts = 0
        intervalLatencies.removeAll(keepingCapacity: true)
    }

    public var line: String {
        func pct(_ v: Double?) -> String { v.map { String(format3: $0) } ?? "–" }
        func ms(_ v: Double?) -> String { v.map { "\(Int($0.rounded())) ms" } ?? "–" }
        return "── \(Int(transactionsPerSecond.rounded())) tx/s · \(String(format1: alertsPerSecond)) alerts/s · "
            + "precision \(pct(precision)) · recall \(pct(recall)) (\(alerts) alerts, \(labels) labelled frauds so far) · "
            + "latency p50 \(ms(intervalP50)) p99 \(ms(intervalP99)) (all: p99 \(ms(latencies.percentile(0.99))))"
            + (scoreLatencies.count == 0 ? "" : " · scored \(Int(scoredPerSecond.rounded()))/s, p50 \(ms(intervalScoreP50)) p99 \(ms(intervalScoreP99))")
    }

    /// The run's figures, for benchmark files.
    public var figures: [String: Double] {
        var f: [String: Double] = ["alerts": Double(alerts), "labelled_frauds": Double(labels),
                                   "settled_alerts": Double(settledAlerts), "settled_frauds": Double(settledFrauds)]
        if let p = precision { f["precision"] = p }
        if let r = recall { f["recall"] = r }
        for (name, h) in [("alert", latencies), ("scored", scoreLatencies)] where h.count > 0 {
            f["\(name)_count"] = Double(h.count)
            for (q, label) in [(0.5, "p50"), (0.99, "p99"), (0.999, "p999")] { f["\(name)_latency_\(label)_ms"] = h.percentile(q)! }
            f["\(name)_latency_max_ms"] = h.max
        }
        return f
    }
}

/// Latencies in milliseconds, bucketed at 1 ms below 100 ms and ~1 % above: percentiles of a
/// whole run in constant memory.
public struct LatencyHistogram: Sendable {
    var buckets = [Int](repeating: 0, count: 100 + 800)
    public private(set) var count = 0

    static func bucket(_ ms: Double) -> Int {
        if ms < 100 { return Swift.max(Int(ms), 0) }
        // 1 % steps from 100 ms: ln(ms/100)/ln(1.01).
        return min(100 + Int((ms / 100).logarithm() / 0.00995033), 899)
    }

    static func value(_ b: Int) -> Double {
        b < 100 ? Double(b) + 0.5 : 100 * ((Double(b - 100) + 0.5) * 0.00995033).exponential()
    }

    public private(set) var max = 0.0

    public mutating func record(_ ms: Double) {
        buckets[Self.bucket(ms)] += 1
        count += 1
        if ms > max { max = ms }
    }

    public func percentile(_ p: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = Int((p * Double(count)).rounded(.up))
        var seen = 0
        for (b, n) in buckets.enumerated() {
            seen += n
            if seen >= rank { return Self.value(b) }
        }
        return Self.value(buckets.count - 1)
    }
}

extension Double {
    func logarithm() -> Double { Foundation.log(self) }
    func exponential() -> Double { Foundation.exp(self) }
}

extension String {
    init(format3 v: Double) { self = String(Double(Int((v * 1000).rounded())) / 1000) }
    init(format1 v: Double) { self = String(Double(Int((v * 10).rounded())) / 10) }
}
