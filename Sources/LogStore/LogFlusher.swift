import Foundation
import Logging

/// One background thread that fsyncs partition logs for every partition of the broker.
///
/// Group commit: requests queue while a round runs; the next round takes the whole queue,
/// fsyncs each partition named in it once, and completes all of that partition's waiters.
/// Under load, many producers waiting for `acks=all` therefore share one `fdatasync`.
/// The same thread runs segment-seal jobs (fsync of a rolled segment, producer snapshot,
/// recovery point), so they never stall an append.
///
/// Completion handlers run on the flusher thread: they must be quick (hop to an event loop
/// or resume a continuation), never block on another flush.
public final class LogFlusher: @unchecked Sendable {
    // All mutable fields are guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [Request] = []
    private var paused = false
    private var stopping = false
    private var finished = false
    private var rounds = 0
    private let logger: Logger

    enum Request {
        case flush(PartitionLog, completion: @Sendable (Error?) -> Void)
        case task(@Sendable () -> Void)
    }

    /// Starts the thread. Call `shutdown()` when done (the thread keeps the flusher alive).
    public init(name: String = "riverbank-log-flusher", logger: Logger = Logger(label: "riverbank.logstore.flusher")) {
        self.logger = logger
        let thread = Thread { [self] in self.run() }
        thread.name = name
        thread.start()
    }

    /// Serves everything already queued, then stops the thread and waits for it. Requests
    /// made afterwards run synchronously on the caller's thread.
    public func shutdown() {
        condition.lock()
        stopping = true
        paused = false
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    /// Rounds run so far (a round fsyncs each partition that has waiters once).
    var roundCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return rounds
    }

    /// Holds requests in the queue until `resume()` (tests use it to make group commit
    /// deterministic).
    func pause() {
        condition.lock()
        paused = true
        condition.unlock()
    }

    func resume() {
        condition.lock()
        paused = false
        condition.broadcast()
        condition.unlock()
    }

    var pendingCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count
    }

    func submitFlush(_ log: PartitionLog, completion: @escaping @Sendable (Error?) -> Void) {
        if !enqueue(.flush(log, completion: completion)) {
            Self.serveFlushes(log, completions: [completion])
        }
    }

    func submitTask(_ task: @escaping @Sendable () -> Void) {
        if !enqueue(.task(task)) { task() }
    }

    /// False once shut down.
    private func enqueue(_ request: Request) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if finished || stopping { return false }
        queue.append(request)
        condition.signal()
        return true
    }

    private func run() {
        while true {
            condition.lock()
            while (queue.isEmpty || paused) && !stopping {
                condition.wait()
            }
            if queue.isEmpty && stopping {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            condition.unlock()

            serve(batch)

            condition.lock()
            rounds += 1
            condition.unlock()
        }
    }

    private func serve(_ batch: [Request]) {
        // Seal jobs first, in submission order; then one sync per partition.
        var order: [ObjectIdentifier] = []
        var waiters: [ObjectIdentifier: (PartitionLog, [@Sendable (Error?) -> Void])] = [:]
        for request in batch {
            switch request {
            case .task(let task):
                task()
            case .flush(let log, let completion):
                let id = ObjectIdentifier(log)
                if waiters[id] == nil {
                    order.append(id)
                    waiters[id] = (log, [completion])
                } else {
                    waiters[id]?.1.append(completion)
                }
            }
        }
        for id in order {
            guard let (log, completions) = waiters[id] else { continue }
            Self.serveFlushes(log, completions: completions)
        }
    }

    /// Every waiter asked for data appended before it enqueued, and the sync covers the log
    /// end as of its start, so one successful sync completes them all.
    private static func serveFlushes(_ log: PartitionLog, completions: [@Sendable (Error?) -> Void]) {
        var failure: Error?
        do { _ = try log.syncAppended() } catch { failure = error }
        for completion in completions { completion(failure) }
    }
}
