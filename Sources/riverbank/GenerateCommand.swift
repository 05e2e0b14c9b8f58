import ArgumentParser
import Atomics
import Foundation
import Fraud
import Jobs
import KafkaClient
import KafkaProtocol
import NIOCore
import UnixSignals

/// `riverbank generate`: labelled card transactions (genuine spending with injected fraud
/// patterns) to a topic, or to JSON-lines files.
struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate labelled card transactions (genuine customers plus injected fraud patterns).",
        discussion: """
        Transactions go to --topic keyed by customer_id; the record timestamp is the send time (as a \
        bank's producer sets it; the job's alerts carry it as produced_at, latency is measured from it), \
        the event time is the value's `timestamp`; \
        one label per fraudulent transaction goes to --labels-topic (also keyed by customer_id). \
        The bank's delayed fraud reports (90 % of the fraud, 2 hours to 30 days later) go to \
        --feedback-topic keyed by customer_id, each at its report time among the transactions. \
        With --output, all are written as JSON lines instead. --rate N sends N transactions per \
        second of wall-clock time (0: as fast as possible); event time starts at --start-time \
        (default now) and runs at --event-rate transactions per second, by default the customers' \
        own pace (4.5 a day each), so each customer's history looks real however fast it is sent. \
        Runs until --count or --duration, else until SIGINT/SIGTERM. The same --seed and options \
        give the same transactions.
        """
    )

    @Option(help: "Broker(s) to bootstrap from, host:port[,host:port…].") var bootstrap: String = "127.0.0.1:9092"
    @Option(help: "Topic of the transactions.") var topic: String = FraudTopics.transactions
    @Option(help: "Topic of the fraud labels.") var labelsTopic: String = FraudTopics.labels
    @Option(help: "Topic of the bank's delayed fraud reports (disputes, chargebacks); '' for none.")
    var feedbackTopic: String = FraudTopics.feedback
    @Option(help: "Compacted topic of the customers' records (home, typical amount), written once before the transactions; '' for none.")
    var customersTopic: String = FraudTopics.customers
    @Option(help: "Write transactions as JSON lines to this file ('-' for stdout) instead of a topic.") var output: String?
    @Option(help: "With --output: write the labels as JSON lines to this file.") var labelsOutput: String?
    @Option(help: "With --output: write the fraud reports as JSON lines to this file.") var feedbackOutput: String?
    @Option(help: "Transactions per second (0: as fast as possible).") var rate: Double = 200
    @Option(help: "Transactions per second of event time (default: the customers' own pace, \(GenerateCommand.perCustomerPerDay) a day each).") var eventRate: Double?
    @Option(help: "Stop after this many transactions.") var count: Int?
    @Option(help: "Stop after this long (e.g. 60s, 5m, 1h, 500ms).") var duration: String?
    @Option(help: "Number of simulated customers.") var customers: Int = 10_000
    @Option(help: "Share of transactions that are fraudulent.") var fraudRatio: Double = 0.02
    @Option(help: "Fraud patterns and weights, e.g. velocity-attack=1,amount-spike=2 (default: all seven, equally).")
    var mix: String?
    @Option(help: "Random seed (same seed, same transactions).") var seed: UInt64 = 42
    @Option(help: "Event time of the first transaction, ISO-8601 (default: now).") var startTime: String?
    @Option(help: "Compression codec: none, gzip, snappy, lz4, zstd.") var compression: String = "lz4"
    @Option(help: "Acks: 0, 1 or all (-1).") var acks: String = "all"
    @Option(help: "Linger in milliseconds.") var lingerMs: Int = 5
    @Option(help: "Batch size in bytes.") var batchSize: Int = 1_000_000
    @Flag(help: "Disable idempotence.") var noIdempotence = false
    @Flag(help: "No progress line every second.") var quiet = false
    @OptionGroup(title: "Security") var security: ClientSecurityOptions

    func validate() throws {
        guard CompressionCodec(name: compression) != nil else {
            throw ValidationError("unknown compression '\(compression)' (none, gzip, snappy, lz4, zstd)")
        }
        guard KafkaAcks(string: acks) != nil else { throw ValidationError("acks must be 0, 1 or all") }
        guard rate >= 0, rate.isFinite else { throw ValidationError("--rate must be ≥ 0") }
        if let eventRate { guard eventRate > 0, eventRate.isFinite else { throw ValidationError("--event-rate must be > 0") } }
        guard customers > 0 else { throw ValidationError("--customers must be > 0") }
        guard (0...1).contains(fraudRatio) else { throw ValidationError("--fraud-ratio must be in 0…1") }
        if let count, count < 0 { throw ValidationError("--count must be ≥ 0") }
        if let duration, Self.parseDuration(duration) == nil {
            throw ValidationError("--duration '\(duration)' is not a duration (60s, 5m, 1h, 500ms)")
        }
        if let mix { do { _ = try GeneratorConfig.parseMix(mix) } catch { throw ValidationError("\(error)") } }
        if let startTime, Timestamp(parsing: startTime) == nil {
            throw ValidationError("--start-time '\(startTime)' is not an ISO-8601 time")
        }
        if labelsOutput != nil && output == nil { throw ValidationError("--labels-output goes with --output") }
        if feedbackOutput != nil && output == nil { throw ValidationError("--feedback-output goes with --output") }
    }

    /// The mean of the customers' 1–8 transactions a day.
    static let perCustomerPerDay = 4.5

    /// Seconds in `60s`, `5m`, `1h`, `500ms` or a bare number of seconds.
    static func parseDuration(_ s: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, factor) in units where s.hasSuffix(suffix) {
            if let v = Double(s.dropLast(suffix.count)), v >= 0 { return v * factor }
        }
        if let v = Double(s), v >= 0 { return v }
        return nil
    }

    func run() async throws {
        let wallStart = Date()
        let startMillis = startTime.flatMap { Timestamp(parsing: $0)?.millis } ?? Int64(wallStart.timeIntervalSince1970 * 1000)
        var config = GeneratorConfig(startMillis: startMillis)
        config.customers = customers
        config.seed = seed
        // Event time runs at the customers' pace, whatever the sending rate: 10,000 customers
        // make ~0.5 transactions per second of event time, so a demo at 200/s compresses days
        // into minutes while each customer's history stays realistic for the rules.
        config.ratePerSecond = eventRate ?? Double(customers) * Self.perCustomerPerDay / 86_400
        config.fraudRatio = fraudRatio
        if let mix { config.mix = try GeneratorConfig.parseMix(mix) }
        config.reports = output == nil ? !feedbackTopic.isEmpty : feedbackOutput != nil

        let built = ContinuousClock.now
        var generator = TransactionGenerator(config: config)
        if !quiet {
            let ms = (ContinuousClock.now - built).milliseconds
            stderr("world: \(customers) customers, \(generator.world.merchants.count) merchants, \(generator.world.cities.count) cities (\(ms) ms)")
        }

        let sink: GenerateSink
        if let output {
            sink = GenerateSink(files: try OutputFile(path: output), labels: try labelsOutput.map { try OutputFile(path: $0) },
                                reports: try feedbackOutput.map { try OutputFile(path: $0) })
        } else {
            var pc = makeProducerConfig(bootstrap: bootstrap, compression: compression, acks: acks, lingerMs: lingerMs,
                                        batchSize: batchSize, noIdempotence: noIdempotence, security: security)
            pc.client.requestTimeout = .seconds(30)
            pc.deliveryTimeout = .seconds(60)
            do {
                sink = GenerateSink(producer: try KafkaProducer(config: pc), topic: topic, labelsTopic: labelsTopic,
                                    feedbackTopic: feedbackTopic)
            } catch { fail("\(error)") }
        }

        if !customersTopic.isEmpty, output == nil {
            let t0 = ContinuousClock.now
            do {
                for c in generator.world.customers.indices {
                    try await sink.sendCustomer(topic: customersTopic, id: World.customerId(c), generator.world.customerRecordJSON(c))
                }
            } catch {
                await sink.close()
                fail("\(error)")
            }
            if !quiet { stderr("customers: \(customers) records to '\(customersTopic)' (\((ContinuousClock.now - t0).milliseconds) ms)") }
        }

        let stop = StopFlag()
        let signals = Task {
            for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                stop.set()
                break
            }
        }
        let limit = count ?? Int.max
        let deadline = duration.flatMap(Self.parseDuration).map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
        let clockStart = ContinuousClock.now
        var sent = 0
        var lastReport = clockStart
        var lastSent = 0
        do {
            while sent < limit && !stop.isSet {
                if let deadline, ContinuousClock.now >= deadline { break }
                if rate > 0 {
                    // The wall clock paces sending: what is due by now goes, then a short sleep.
                    let due = Int(Double((ContinuousClock.now - clockStart).milliseconds) * rate / 1000)
                    var batch = 0
                    while sent < min(limit, due) && batch < 10_000 {
                        try await sink.send(&generator)
                        sent += 1
                        batch += 1
                    }
                    if sent >= due {
                        let wait = max(1, min(50, Int64(1000 / rate)))
                        try? await Task.sleep(for: .milliseconds(wait))
                    }
                } else {
                    for _ in 0..<min(2_000, limit - sent) {
                        try await sink.send(&generator)
                        sent += 1
                    }
                    await Task.yield()
                }
                // A rejected record will not be the last: stop at once.
                if sink.failures.snapshot().0 > 0 { break }
                let now = ContinuousClock.now
                if !quiet && now - lastReport >= .seconds(1) {
                    let secs = Double((now - lastReport).milliseconds) / 1000
                    stderr("[\((now - clockStart).milliseconds / 1000)s] sent \(sent) (\(Int(Double(sent - lastSent) / secs))/s) " + Self.fraudText(generator.stats))
                    lastReport = now
                    lastSent = sent
                }
            }
        } catch {
            await sink.close()
            fail("\(error)")
        }
        signals.cancel()
        await sink.close()
        let elapsed = Double((ContinuousClock.now - clockStart).milliseconds) / 1000
        let s = generator.stats
        stderr("sent \(s.transactions) transactions in \(String(format: "%.2f", elapsed)) s (\(Int(Double(s.transactions) / max(elapsed, 0.001)))/s), " + Self.fraudText(s))
        if s.transactions > 0 {
            let first = Timestamp(millis: startMillis).iso8601, last = Timestamp(millis: generator.clockMillis).iso8601
            stderr("event time \(first) … \(last), \(generator.pendingCount) fraud transactions still scheduled")
            if generator.config.reports {
                stderr("fraud reports: \(sink.reportsSent.load(ordering: .relaxed)) sent, \(generator.pendingReportCount) not yet due")
            }
        }
        let (n, firstError) = sink.failures.snapshot()
        if n > 0 { fail("\(n) records failed; first error: \(firstError ?? "?")") }
    }

    static func fraudText(_ s: GeneratorStats) -> String {
        let ratio = s.transactions > 0 ? Double(s.fraud) / Double(s.transactions) * 100 : 0
        let parts = FraudPattern.allCases.map { "\($0.rawValue)=\(s.count($0))" }.joined(separator: " ")
        return "fraud \(s.fraud) (\(String(format: "%.2f", ratio))%): \(parts)"
    }

    func stderr(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
}

/// Where generated records go: a producer (two topics) or JSON-lines files.
final class GenerateSink: Sendable {
    let producer: KafkaProducer?
    let topic: String
    let labelsTopic: String
    let feedbackTopic: String
    let file: OutputFile?
    let labelsFile: OutputFile?
    let reportsFile: OutputFile?
    let failures = FailureCounter()
    let reportsSent = ManagedAtomic<Int>(0)

    init(producer: KafkaProducer, topic: String, labelsTopic: String, feedbackTopic: String) {
        self.producer = producer
        self.topic = topic
        self.labelsTopic = labelsTopic
        self.feedbackTopic = feedbackTopic
        file = nil
        labelsFile = nil
        reportsFile = nil
    }

    init(files: OutputFile, labels: OutputFile?, reports: OutputFile?) {
        producer = nil
        topic = ""
        labelsTopic = ""
        feedbackTopic = ""
        file = files
        labelsFile = labels
        reportsFile = reports
    }

    /// The generator's next transaction, then the reports due by its time (event-time order).
    func send(_ generator: inout TransactionGenerator) async throws {
        try await send(generator.next())
        while let r = generator.nextReport() {
            reportsSent.wrappingIncrement(ordering: .relaxed)
            if let producer {
                try await produce(producer, ProducerRecord(topic: feedbackTopic, key: Array(r.customerId.utf8), value: r.jsonBytes))
            } else {
                reportsFile?.writeLine(r.jsonBytes)
            }
        }
    }

    func send(_ item: (Transaction, FraudLabel?)) async throws {
        let (tx, label) = item
        if let producer {
            let key = Array(tx.customerId.utf8)
            try await produce(producer, ProducerRecord(topic: topic, key: key, value: tx.jsonBytes))
            if let label {
                try await produce(producer, ProducerRecord(topic: labelsTopic, key: key, value: label.jsonBytes))
            }
        } else {
            file?.writeLine(tx.jsonBytes)
            if let label { labelsFile?.writeLine(label.jsonBytes) }
        }
    }

    /// A customer's record, keyed by their id (a compacted topic keeps the latest).
    func sendCustomer(topic: String, id: String, _ json: [UInt8]) async throws {
        guard let producer else { return }
        try await produce(producer, ProducerRecord(topic: topic, key: Array(id.utf8), value: json))
    }

    private func produce(_ producer: KafkaProducer, _ record: ProducerRecord) async throws {
        let failures = self.failures
        let onDelivery: @Sendable (DeliveryResult) -> Void = { result in
            if case .failure(let e) = result { failures.add("\(e)") }
        }
        if try !producer.tryProduce(record, onDelivery: onDelivery) {
            try await producer.produce(record, onDelivery: onDelivery)
        }
    }

    func close() async {
        if let producer { await producer.close() }
        file?.close()
        labelsFile?.close()
        reportsFile?.close()
    }
}

/// A JSON-lines file written by its own thread (`StdoutWriter` over the file's descriptor).
final class OutputFile: Sendable {
    let writer: StdoutWriter
    let fd: Int32

    init(path: String) throws {
        if path == "-" {
            fd = 1
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw ValidationError("cannot open \(path): \(String(cString: strerror(errno)))") }
        }
        writer = StdoutWriter(fd: fd)
    }

    func writeLine(_ bytes: [UInt8]) {
        writer.append {
            $0.writeBytes(bytes)
            $0.writeInteger(UInt8(ascii: "\n"))
        }
    }

    func close() {
        writer.flush()
        if fd > 2 { _ = Foundation.close(fd) }
    }
}

/// Set once by a signal handler task, read by the generating loop.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
