import Foundation
import Logging

/// Broker-wide cleaner settings, named after Kafka's `log.cleaner.*`.
public struct LogCleanerConfig: Sendable, Equatable {
    /// `log.cleaner.enable`.
    public var enabled = true
    /// `log.cleaner.dedupe.buffer.size`: memory for the key → offset map of one pass (24 bytes a
    /// key). A pass that has more distinct keys cleans what fits and continues next time.
    public var dedupeBufferBytes = 128 << 20
    /// `log.cleaner.io.max.bytes.per.second`: read + write rate cap (infinity: none). Kafka's
    /// default is none; 50 MB/s keeps an acks=all producer's p99 within ~1 ms of an idle
    /// broker's while a pass runs on a 2-core machine (unthrottled: ~8 ms; bench/RESULTS.md).
    public var ioMaxBytesPerSecond: Double = 50_000_000
    /// `log.cleaner.backoff.ms`: pause between checks when no log needs cleaning.
    public var backoffMs: Int64 = 15_000
    /// `log.cleaner.io.buffer.size`: read and write chunk.
    public var ioBufferBytes = 1 << 20
    /// A batch decompressing past this is kept as it is (hostile or unusual input is never lost).
    public var maxDecompressedBatchBytes = 64 << 20

    public init() {}
}

/// The log cleaner (Kafka's LogCleaner with one thread): finds the compacted log with the
/// largest dirty ratio above its `min.cleanable.dirty.ratio` (or one a lag or tombstone horizon
/// forces), cleans it, and repeats; when none needs it, waits `backoffMs`.
///
/// Runs on its own thread, never an event loop; memory is bounded by the dedupe buffer and the
/// I/O chunks, disk traffic by the throttle.
public final class LogCleaner: @unchecked Sendable {
    public let config: LogCleanerConfig
    private let logger: Logger
    private let clock: @Sendable () -> Int64
    // Everything below is guarded by `condition`.
    private let condition = NSCondition()
    private var sources: [@Sendable () -> [PartitionLog]] = []
    private var stopping = false
    private var running = false
    private var finished = true
    private var wakeRequested = false
    /// Logs whose last pass failed, with when to try again.
    private var failedUntil: [ObjectIdentifier: Int64] = [:]
    private var totals = CleanerTotals()
    private var listeners: [@Sendable (CleanStats) -> Void] = []

    public init(config: LogCleanerConfig = LogCleanerConfig(), logger: Logger = Logger(label: "riverbank.logstore.cleaner"),
                clock: @escaping @Sendable () -> Int64 = PartitionLog.wallClockMs) {
        self.config = config
        self.logger = logger
        self.clock = clock
    }

    /// Adds a provider of logs to look at (each pass asks it again, so new partitions count).
    public func addSource(_ logs: @escaping @Sendable () -> [PartitionLog]) {
        condition.withLock { sources.append(logs) }
    }

    /// Called after each cleaned log (metrics).
    public func onCleaned(_ listener: @escaping @Sendable (CleanStats) -> Void) {
        condition.withLock { listeners.append(listener) }
    }

    /// Totals since start (metrics and tests).
    public var statistics: CleanerTotals { condition.withLock { totals } }

    public func start() {
        guard config.enabled else { return }
        let go = condition.withLock { () -> Bool in
            guard !running else { return false }
            running = true
            finished = false
            stopping = false
            return true
        }
        guard go else { return }
        let thread = Thread { [self] in self.run() }
        thread.name = "riverbank-log-cleaner"
        thread.start()
    }

    /// Asks for a pass now instead of after the backoff (tests, or after a config change).
    public func wakeUp() {
        condition.withLock {
            wakeRequested = true
            condition.broadcast()
        }
    }

    /// Stops the thread, interrupting a pass between batches (what was swapped in stays; the
    /// rest is redone next time), and waits for it.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running && !finished { condition.wait() }
        running = false
        condition.unlock()
    }

    private var isStopping: Bool { condition.withLock { stopping } }

    /// Sleeps up to `seconds`; false if shutdown began meanwhile.
    private func pause(_ seconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: seconds)
        while !stopping {
            if !condition.wait(until: deadline) { break }
        }
        return !stopping
    }

    private func run() {
        while !isStopping {
            let cleaned = cleanFilthiest()
            if cleaned { continue }
            condition.lock()
            let deadline = Date(timeIntervalSinceNow: Double(config.backoffMs) / 1000)
            while !stopping && !wakeRequested {
                if !condition.wait(until: deadline) { break }
            }
            wakeRequested = false
            condition.unlock()
        }
        condition.withLock {
            finished = true
            condition.broadcast()
        }
    }

    /// One pass: cleans the log that needs it most, if any. Returns whether one was cleaned.
    @discardableResult
    public func cleanFilthiest() -> Bool {
        let now = clock()
        let (providers, failed) = condition.withLock { (sources, failedUntil) }
        var best: (PartitionLog, CleanableRange)?
        for provider in providers {
            for log in provider() {
                if let until = failed[ObjectIdentifier(log)], until > now { continue }
                guard let range = log.cleanableRange(now: now), range.shouldClean else { continue }
                if let b = best {
                    // Forced logs first, then the dirtiest.
                    if (b.1.mustClean ? 1 : 0, b.1.dirtyRatio) >= (range.mustClean ? 1 : 0, range.dirtyRatio) { continue }
                }
                best = (log, range)
            }
        }
        guard let (log, _) = best else { return false }
        var throttler = Throttler(bytesPerSecond: config.ioMaxBytesPerSecond) { [self] in pause($0) }
        do {
            guard let stats = try log.clean(now: now, cleaner: config, throttler: throttler,
                                            shouldStop: { [self] in isStopping }) else { return false }
            _ = throttler.observe(0)
            let listeners = condition.withLock { () -> [@Sendable (CleanStats) -> Void] in
                totals.add(stats)
                failedUntil[ObjectIdentifier(log)] = nil
                return self.listeners
            }
            for l in listeners { l(stats) }
            return true
        } catch is SegmentCleaner.Stopped {
            return false
        } catch {
            // Kafka marks such a partition uncleanable; we retry after a while, and the log itself
            // is untouched (nothing is swapped in before it is complete).
            logger.error("log cleaner failed; will retry later", metadata: ["partition": "\(log.directory)", "error": "\(error)"])
            condition.withLock {
                totals.failures += 1
                failedUntil[ObjectIdentifier(log)] = now + max(60_000, config.backoffMs * 10)
            }
            return false
        }
    }
}

/// Running totals of the cleaner's work.
public struct CleanerTotals: Sendable, Equatable {
    public var passes: Int64 = 0
    public var failures: Int64 = 0
    public var bytesRead: Int64 = 0
    public var bytesWritten: Int64 = 0
    public var recordsRemoved: Int64 = 0
    public var tombstonesRemoved: Int64 = 0
    public var seconds: Double = 0

    mutating func add(_ s: CleanStats) {
        passes += 1
        bytesRead += s.bytesRead
        bytesWritten += s.bytesWritten
        recordsRemoved += s.recordsRead - s.recordsRetained
        tombstonesRemoved += s.tombstonesRemoved
        seconds += s.seconds
    }
}
