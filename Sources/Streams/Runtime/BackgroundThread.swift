#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// One thread at a lower CPU priority (nice 10) for work that may take hundreds of
/// milliseconds but must not take a core from the processors or the broker: writing out a
/// checkpoint's state (about 100 ms of a core per 28 MB; at nice 10 the scheduler gives the
/// processors the core when they need it — bench/FRAUD_RESULTS.md, "Checkpoints and the
/// p99"). Work runs in submission order.
final class BackgroundThread: @unchecked Sendable {
    static let checkpoints = BackgroundThread(name: "riverbank-checkpoint-writer")

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [() -> Void] = []

    init(name: String, nice: Int32 = 10) {
        let thread = Thread { [self] in
            #if canImport(Glibc)
            // Linux keeps the nice value per thread: PRIO_PROCESS with 0 is this thread alone.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice)
            #endif
            // Set from the thread itself, so that `top -H` and /proc show it.
            Thread.current.name = name
            self.loop()
        }
        thread.start()
    }

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            let work = queue.removeFirst()
            condition.unlock()
            work()
        }
    }

    /// Runs `body` on the thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            condition.lock()
            queue.append { c.resume(with: Result { try body() }) }
            condition.signal()
            condition.unlock()
        }
    }
}
