import ArgumentParser
import Foundation
import KafkaClient
import KafkaProtocol
import NIOCore

/// `riverbank produce`: one record per stdin line, kcat-like.
struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Produce one record per line of standard input to a topic (any Kafka broker).",
        discussion: """
        Each input line becomes one record's value. With --key-separator, the text before the first \
        separator is the key and the rest the value. Exits non-zero if any record fails.
        """
    )

    @Option(help: "Broker(s) to bootstrap from, host:port[,host:port…].") var bootstrap: String
    @Option(help: "Topic to produce to.") var topic: String
    @Option(help: "Split each line into key and value at the first occurrence of this string.") var keySeparator: String?
    @Option(help: "Compression codec: none, gzip, snappy, lz4, zstd.") var compression: String = "none"
    @Option(help: "Acks: 0, 1 or all (-1).") var acks: String = "all"
    @Option(help: "Produce to this partition (default: the key's partition, murmur2).") var partition: Int32?
    @Option(help: "Header key=value (repeatable).") var header: [String] = []
    @Option(help: "Linger in milliseconds.") var lingerMs: Int = 5
    @Option(help: "Batch size in bytes.") var batchSize: Int = 1_000_000
    @Flag(help: "Print partition and offset of each record to stdout.") var printOffsets = false
    @Flag(help: "Disable idempotence.") var noIdempotence = false
    @OptionGroup(title: "Security") var security: ClientSecurityOptions

    func validate() throws {
        guard CompressionCodec(name: compression) != nil else {
            throw ValidationError("unknown compression '\(compression)' (none, gzip, snappy, lz4, zstd)")
        }
        guard KafkaAcks(string: acks) != nil else { throw ValidationError("acks must be 0, 1 or all") }
        if let keySeparator, keySeparator.isEmpty { throw ValidationError("--key-separator must not be empty") }
        for h in header where !h.contains("=") { throw ValidationError("header '\(h)' is not key=value") }
    }

    func run() async throws {
        var config = makeProducerConfig(bootstrap: bootstrap, compression: compression, acks: acks, lingerMs: lingerMs,
                                        batchSize: batchSize, noIdempotence: noIdempotence, security: security)
        config.client.requestTimeout = .seconds(30)
        config.deliveryTimeout = .seconds(60)
        let headers: [RecordHeader] = header.map { h in
            let i = h.firstIndex(of: "=")!
            return RecordHeader(key: String(h[..<i]), value: ByteBuffer(string: String(h[h.index(after: i)...])))
        }
        let producer: KafkaProducer
        do { producer = try KafkaProducer(config: config) } catch { fail("\(error)") }

        let failures = FailureCounter()
        let printOffsets = self.printOffsets
        let out = StdoutWriter()
        let separator = keySeparator.map { Array($0.utf8) }
        let topic = self.topic
        let partition = self.partition
        let onDelivery: @Sendable (DeliveryResult) -> Void = { result in
            switch result {
            case .success(let m):
                if printOffsets { out.append { $0.writeString("\(m.partition) \(m.offset)\n") } }
            case .failure(let e):
                failures.add("\(e)")
            }
        }
        let input = StdinLines()
        var lineCount = 0
        do {
            while let lines = try await input.next() {
                for line in lines {
                    lineCount += 1
                    var key: ByteBuffer? = nil
                    var value = line
                    if let separator, let at = Self.find(separator, in: line) {
                        key = line.getSlice(at: line.readerIndex, length: at)
                        value = line.getSlice(at: line.readerIndex + at + separator.count, length: line.readableBytes - at - separator.count)!
                    }
                    let record = ProducerRecord(topic: topic, key: key, value: value, headers: headers, partition: partition)
                    if try !producer.tryProduce(record, onDelivery: onDelivery) {
                        try await producer.produce(record, onDelivery: onDelivery)
                    }
                }
            }
        } catch {
            await producer.close()
            out.flush()
            fail("\(error)")
        }
        await producer.close()
        out.flush()
        let (n, first) = failures.snapshot()
        if n > 0 { fail("\(n) of \(lineCount) records failed; first error: \(first ?? "?")") }
    }
}

extension ProduceCommand {
    /// Offset of the first occurrence of `needle` in `line`'s readable bytes.
    static func find(_ needle: [UInt8], in line: ByteBuffer) -> Int? {
        line.withUnsafeReadableBytes { hay in
            guard needle.count <= hay.count, let first = needle.first else { return nil }
            var i = 0
            while i + needle.count <= hay.count {
                guard let hit = memchr(hay.baseAddress! + i, Int32(first), hay.count - i - needle.count + 1) else { return nil }
                let at = hay.baseAddress!.distance(to: UnsafeRawPointer(hit))
                if needle.count == 1 || memcmp(hay.baseAddress! + at, needle, needle.count) == 0 { return at }
                i = at + 1
            }
            return nil
        }
    }
}

/// The producer settings `produce` and `perf produce` share (options already validated).
func makeProducerConfig(bootstrap: String, compression: String, acks: String, lingerMs: Int, batchSize: Int,
                        noIdempotence: Bool, security: ClientSecurityOptions) -> KafkaProducerConfig {
    var config: KafkaProducerConfig
    do { config = try KafkaProducerConfig(bootstrap: bootstrap) } catch { fail("\(error)") }
    config.compression = CompressionCodec(name: compression)!
    config.acks = KafkaAcks(string: acks)!
    config.linger = .milliseconds(lingerMs)
    config.batchSize = batchSize
    config.bufferMemory = max(config.bufferMemory, batchSize)
    if noIdempotence || config.acks != .all { config.enableIdempotence = false }
    security.apply(to: &config.client)
    return config
}

final class FailureCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var first: String?
    func add(_ s: String) {
        lock.lock(); defer { lock.unlock() }
        count += 1
        if first == nil { first = s }
    }
    func snapshot() -> (Int, String?) {
        lock.lock(); defer { lock.unlock() }
        return (count, first)
    }
}

/// Prints "riverbank: error: …" to stderr and exits with status 1.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("riverbank: error: \(message)\n".utf8))
    Foundation.exit(1)
}
