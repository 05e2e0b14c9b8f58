import ArgumentParser
import Foundation
import KafkaClient
import KafkaProtocol
import NIOCore

/// `riverbank perf`: throughput tests of the KafkaClient library against any broker, in the
/// spirit of kafka-producer-perf-test / kafka-consumer-perf-test. The records are produced and
/// consumed through the library API (no stdin/stdout in the timed part).
struct PerfCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perf",
        abstract: "Measure KafkaClient produce/consume throughput against a broker.",
        subcommands: [PerfProduce.self, PerfConsume.self]
    )
}

struct PerfProduce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Produce --records records as fast as the producer takes them; print the throughput.",
        discussion: """
        Values come from --payload-file (one value per line, used in turn) or are --record-size \
        random-looking bytes. Prints one JSON line: records, bytes, seconds, records_per_sec, mb_per_sec.
        """
    )

    @Option(help: "Broker(s) to bootstrap from, host:port[,host:port…].") var bootstrap: String
    @Option(help: "Topic to produce to.") var topic: String
    @Option(help: "Number of records.") var records: Int
    @Option(help: "Value size in bytes when no --payload-file is given.") var recordSize: Int = 1024
    @Option(help: "File with one value per line (loaded before timing).") var payloadFile: String?
    @Option(help: "Compression codec: none, gzip, snappy, lz4, zstd.") var compression: String = "none"
    @Option(help: "Acks: 0, 1 or all (-1).") var acks: String = "all"
    @Option(help: "Linger in milliseconds.") var lingerMs: Int = 5
    @Option(help: "Batch size in bytes.") var batchSize: Int = 1_000_000
    @Flag(help: "Disable idempotence.") var noIdempotence = false
    @OptionGroup(title: "Security") var security: ClientSecurityOptions

    func validate() throws {
        guard CompressionCodec(name: compression) != nil else { throw ValidationError("unknown compression '\(compression)'") }
        guard KafkaAcks(string: acks) != nil else { throw ValidationError("acks must be 0, 1 or all") }
        guard records > 0, recordSize >= 0 else { throw ValidationError("--records must be positive") }
    }

    /// The whole file in one buffer (one copy; values are slices of it).
    static func readFile(_ path: String) -> ByteBuffer {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { fail("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { fail("cannot stat \(path)") }
        var buf = ByteBufferAllocator().buffer(capacity: Int(st.st_size))
        while true {
            let n = buf.writeWithUnsafeMutableBytes(minimumWritableBytes: 1 << 16) { p in max(0, read(fd, p.baseAddress!, p.count)) }
            if n == 0 { break }
        }
        return buf
    }

    func run() async throws {
        var values = [ByteBuffer]()
        if let payloadFile {
            let all = Self.readFile(payloadFile)
            var start = 0
            all.withUnsafeReadableBytes { p in
                while start < p.count {
                    let nl = memchr(p.baseAddress! + start, 0x0A, p.count - start)
                    let end = nl.map { p.baseAddress!.distance(to: UnsafeRawPointer($0)) } ?? p.count
                    if end > start { values.append(all.getSlice(at: start, length: end - start)!) }
                    start = end + 1
                }
            }
            if values.isEmpty { fail("\(payloadFile) has no lines") }
        } else {
            var rng = SystemRandomNumberGenerator()
            for _ in 0..<16 {
                var b = ByteBuffer()
                for _ in 0..<recordSize { b.writeInteger(UInt8(ascii: "a") + UInt8.random(in: 0..<26, using: &rng)) }
                values.append(b)
            }
        }
        let config = makeProducerConfig(bootstrap: bootstrap, compression: compression, acks: acks, lingerMs: lingerMs,
                                        batchSize: batchSize, noIdempotence: noIdempotence, security: security)
        let producer: KafkaProducer
        do { producer = try KafkaProducer(config: config) } catch { fail("\(error)") }
        do { _ = try await producer.partitionCount(topic: topic) } catch { fail("\(error)") }

        let failures = FailureCounter()
        let onDelivery: @Sendable (DeliveryResult) -> Void = { r in
            if case .failure(let e) = r { failures.add("\(e)") }
        }
        let progress = Progress(total: records, label: "produced")
        var bytes = 0
        let clock = ContinuousClock()
        let start = clock.now
        do {
            for i in 0..<records {
                let v = values[i % values.count]
                bytes += v.readableBytes
                let record = ProducerRecord(topic: topic, value: v)
                if try !producer.tryProduce(record, onDelivery: onDelivery) {
                    try await producer.produce(record, onDelivery: onDelivery)
                }
                if i & 0xFFFF == 0 { progress.update(i) }
            }
            await producer.flush()
        } catch {
            await producer.close()
            fail("\(error)")
        }
        let elapsed = clock.now - start
        progress.finish()
        await producer.close()
        let (n, first) = failures.snapshot()
        if n > 0 { fail("\(n) of \(records) records failed; first error: \(first ?? "?")") }
        printResult(records: records, bytes: bytes, elapsed: elapsed)
    }
}

struct PerfConsume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Read --records records from the beginning of a topic; print the throughput.",
        discussion: "Prints one JSON line: records, bytes, seconds, records_per_sec, mb_per_sec."
    )

    @Option(help: "Broker(s) to bootstrap from, host:port[,host:port…].") var bootstrap: String
    @Option(help: "Topic to read (every partition, from the earliest offset).") var topic: String
    @Option(help: "Number of records to read.") var records: Int
    @Option(help: "Fail if not finished within this many seconds.") var timeout: Double = 300
    @OptionGroup(title: "Security") var security: ClientSecurityOptions

    func run() async throws {
        var config: KafkaConsumerConfig
        do { config = try KafkaConsumerConfig(bootstrap: bootstrap) } catch { fail("\(error)") }
        config.autoOffsetReset = .earliest
        security.apply(to: &config.client)
        let consumer: KafkaConsumer
        do { consumer = try KafkaConsumer(config: config) } catch { fail("\(error)") }
        let timeout = self.timeout
        Task {
            try? await Task.sleep(for: .milliseconds(Int64(timeout * 1000)))
            fail("timed out after \(timeout)s")
        }
        let progress = Progress(total: records, label: "consumed")
        var n = 0
        var bytes = 0
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let info = try await consumer.cluster.topic(topic)
            try await consumer.assign(info.partitions.map { TopicPartition(topic, $0.partition) })
            for try await r in consumer.records {
                bytes += (r.value?.readableBytes ?? 0) + (r.key?.readableBytes ?? 0)
                n += 1
                if n & 0xFFFF == 0 { progress.update(n) }
                if n >= records { break }
            }
        } catch {
            await consumer.close()
            fail("\(error)")
        }
        let elapsed = clock.now - start
        progress.finish()
        await consumer.close()
        if n < records { fail("the topic ended after \(n) records") }
        printResult(records: n, bytes: bytes, elapsed: elapsed)
    }
}

private func printResult(records: Int, bytes: Int, elapsed: Duration) {
    let s = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let line = String(format: "{\"records\": %d, \"bytes\": %d, \"seconds\": %.4f, \"records_per_sec\": %.1f, \"mb_per_sec\": %.2f}",
                      records, bytes, s, Double(records) / s, Double(bytes) / s / 1e6)
    print(line)
}

/// Progress on stderr when it is a terminal (long CLI work shows where it is).
private struct Progress {
    let total: Int
    let label: String
    let enabled = isatty(2) != 0

    func update(_ n: Int) {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\(label) \(n)/\(total) (\(n * 100 / max(total, 1)) %)".utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\(label) \(total)/\(total) (100 %)\n".utf8))
    }
}
