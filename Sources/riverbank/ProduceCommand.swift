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

    func validate() throws {
        guard CompressionCodec(name: compression) != nil else {
            throw ValidationError("unknown compression '\(compression)' (none, gzip, snappy, lz4, zstd)")
        }
        guard KafkaAcks(string: acks) != nil else { throw ValidationError("acks must be 0, 1 or all") }
        if let keySeparator, keySeparator.isEmpty { throw ValidationError("--key-separator must not be empty") }
        for h in header where !h.contains("=") { throw ValidationError("header '\(h)' is not key=value") }
    }

    func run() async throws {
        var config: KafkaProducerConfig
        do { config = try KafkaProducerConfig(bootstrap: bootstrap) } catch { fail("\(error)") }
        config.compression = CompressionCodec(name: compression)!
        config.acks = KafkaAcks(string: acks)!
        config.linger = .milliseconds(lingerMs)
        config.batchSize = batchSize
        config.bufferMemory = max(config.bufferMemory, batchSize)
        if noIdempotence || config.acks != .all { config.enableIdempotence = false }
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
        var lineCount = 0
        do {
            while let raw = readLine(strippingNewline: true) {
                let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : raw
                lineCount += 1
                var key: ByteBuffer? = nil
                var value = ByteBuffer(string: line)
                if let sep = keySeparator, let r = line.range(of: sep) {
                    key = ByteBuffer(string: String(line[..<r.lowerBound]))
                    value = ByteBuffer(string: String(line[r.upperBound...]))
                }
                let record = ProducerRecord(topic: topic, key: key, value: value, headers: headers, partition: partition)
                try await producer.produce(record) { result in
                    switch result {
                    case .success(let m):
                        if printOffsets { print("\(m.partition) \(m.offset)") }
                    case .failure(let e):
                        failures.add("\(e)")
                    }
                }
            }
        } catch {
            await producer.close()
            fail("\(error)")
        }
        await producer.close()
        let (n, first) = failures.snapshot()
        if n > 0 { fail("\(n) of \(lineCount) records failed; first error: \(first ?? "?")") }
    }
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
