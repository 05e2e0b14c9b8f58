import Foundation
import Testing
@testable import LogStore

@Suite struct FlushTests {
    /// Waits until `count` completions were reported.
    final class Completions: @unchecked Sendable {
        private let state = Locked<(done: Int, errors: Int, continuation: CheckedContinuation<Void, Never>?)>((0, 0, nil))
        let expected: Int
        init(expected: Int) { self.expected = expected }

        func record(_ error: Error?) {
            let c = state.withLock { s -> CheckedContinuation<Void, Never>? in
                s.done += 1
                if error != nil { s.errors += 1 }
                if s.done == expected, let c = s.continuation {
                    s.continuation = nil
                    return c
                }
                return nil
            }
            c?.resume()
        }

        func wait() async {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s -> Bool in
                    if s.done >= expected { return true }
                    s.continuation = c
                    return false
                }
                if ready { c.resume() }
            }
        }

        var errors: Int { state.withLock { $0.errors } }
        var done: Int { state.withLock { $0.done } }
    }

    @Test func queuedWaitersShareOneFsync() async throws {
        let dir = TempDirectory()
        let flusher = LogFlusher()
        defer { flusher.shutdown() }
        let logs = try (0..<3).map { try openLog(dir.sub("p\($0)"), flusher: flusher) }
        let waiters = 40
        let completions = Completions(expected: waiters * logs.count)
        let fsyncsBefore = logs.map(\.fsyncCount)
        let roundsBefore = flusher.roundCount
        flusher.pause()
        for i in 0..<waiters {
            for log in logs {
                let info = try log.append(batches: makeBatch(seed: i))
                log.flush(upTo: info.lastOffset) { completions.record($0) }
            }
        }
        #expect(flusher.pendingCount == waiters * logs.count)
        #expect(completions.done == 0)
        flusher.resume()
        await completions.wait()
        #expect(completions.errors == 0)
        // One round, one fdatasync per partition for all 120 waiters.
        #expect(flusher.roundCount == roundsBefore + 1)
        for (log, before) in zip(logs, fsyncsBefore) {
            #expect(log.fsyncCount == before + 1)
        }
        // Already durable: completes at once without another fsync.
        let immediate = Completions(expected: 1)
        logs[0].flush(upTo: 5) { immediate.record($0) }
        #expect(immediate.done == 1)
        #expect(logs[0].fsyncCount == fsyncsBefore[0] + 1)
    }

    @Test func concurrentProducersAllGetTheirFlush() async throws {
        let dir = TempDirectory()
        let flusher = LogFlusher()
        defer { flusher.shutdown() }
        let log = try openLog(dir.path, LogConfig(segmentBytes: 64 * 1024), flusher: flusher)
        let producers = 8, perProducer = 50
        try await withThrowingTaskGroup(of: Void.self) { group in
            for p in 0..<producers {
                group.addTask {
                    for i in 0..<perProducer {
                        let info = try log.append(batches: makeBatch(records: 2, payload: 100, seed: p * 1000 + i))
                        try await log.flush(upTo: info.lastOffset)
                    }
                }
            }
            try await group.waitForAll()
        }
        let waiters = producers * perProducer
        #expect(log.logEndOffset == Int64(waiters * 2))
        #expect(log.fsyncCount <= waiters)
        try log.close()
    }

    @Test func flushWithoutAFlusherRunsInline() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path)
        try log.append(batches: makeBatch())
        let completions = Completions(expected: 1)
        log.flush(upTo: 0) { completions.record($0) }
        #expect(completions.done == 1)
        #expect(log.fsyncCount == 1)
        try log.flushNow()
        #expect(log.fsyncCount == 1)  // nothing new to sync
        try log.append(batches: makeBatch())
        try log.flushNow()
        #expect(log.fsyncCount == 2)
    }

    @Test func flushAfterCloseOrShutdown() async throws {
        let dir = TempDirectory()
        let flusher = LogFlusher()
        let log = try openLog(dir.path, flusher: flusher)
        try log.append(batches: makeBatch())
        flusher.shutdown()
        // After shutdown the flush runs on the caller.
        try await log.flush(upTo: 0)
        try log.append(batches: makeBatch())
        try log.close()
        try await log.flush(upTo: 1)  // durable: close fsynced it
        await #expect(throws: LogError.closed) { try await log.flush(upTo: 2) }
    }

    @Test func rollsSealInTheBackground() throws {
        let dir = TempDirectory()
        let flusher = LogFlusher()
        defer { flusher.shutdown() }
        let log = try openLog(dir.path, LogConfig(segmentBytes: 1024), flusher: flusher)
        for i in 0..<12 { try log.append(batches: makeBatch(payload: 139, seed: i)) }
        flusher.shutdown()  // drains the queued seal jobs
        #expect(LogRecovery.readRecoveryPoint(directory: dir.path, logger: .silent) == 10)
        #expect(FileManager.default.fileExists(atPath: logPath(dir.path, 10, ".snapshot")))
        #expect(FileManager.default.fileExists(atPath: logPath(dir.path, 5, ".index")))
    }

    @Test func deleteRemovesTheDirectory() throws {
        let dir = TempDirectory()
        let path = dir.sub("topic-0")
        let log = try openLog(path)
        try log.append(batches: makeBatch())
        try log.delete()
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(throws: LogError.closed) { try log.append(batches: makeBatch()) }
    }
}
