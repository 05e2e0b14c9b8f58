import Foundation
import NIOConcurrencyHelpers

/// Hands out producer ids for idempotent producers. Ids are reserved in blocks persisted to
/// `__cluster/producer-ids` before use, so an id is never handed out twice, even after kill -9.
final class ProducerIdManager: @unchecked Sendable {
    static let blockSize: Int64 = 1000
    private let file: URL
    private let lock = NIOLock()
    private var next: Int64
    private var blockEnd: Int64

    init(dataDir: URL) throws {
        file = dataDir.appendingPathComponent("__cluster/producer-ids")
        let saved = (try? String(contentsOf: file, encoding: .utf8)).flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        next = max(0, saved)
        blockEnd = next
    }

    func nextProducerId() throws -> Int64 {
        try lock.withLock {
            if next >= blockEnd {
                let end = next + Self.blockSize
                try DurableFile.writeAtomically(Data("\(end)\n".utf8), to: file)
                blockEnd = end
            }
            defer { next += 1 }
            return next
        }
    }
}
