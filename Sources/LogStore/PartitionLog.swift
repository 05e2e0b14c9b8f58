import Foundation
import Logging

/// The log of one partition: a directory of segments with offset and time indexes.
///
/// Durability policy:
/// - `append` only `write`s (one `pwritev` per call): data is in the page cache, readable
///   at once, and survives a process crash but not a power loss. That is what `acks=0/1`
///   get, as in Kafka with its default flush settings.
/// - `flush(upTo:)` completes once everything appended so far is `fdatasync`ed (group
///   commit on the shared `LogFlusher`). The broker answers `acks=all` only then, so an
///   acknowledged record survives kill -9 and power loss.
/// - A rolled segment is sealed in the background (fsync of data and indexes, producer
///   snapshot, recovery point); `close()` fsyncs everything and writes `.clean-shutdown`.
///
/// Threading: all state is behind one lock, held briefly. Reads copy file data outside the
/// lock with `pread` on a descriptor that stays valid even if retention deletes the
/// segment meanwhile (segments are reference counted; see `SegmentFile`).
public final class PartitionLog: Sendable {
    public let directory: String
    let logger: Logger
    let flusher: LogFlusher?
    let clock: @Sendable () -> Int64
    let state: Locked<State>
    /// Serializes seal jobs, close and snapshot pruning; holds the recovery point written
    /// to disk. Lock order: `sealLock` before `state`.
    let sealLock: Locked<Int64>
    /// Serializes changes to the segment list other than appends and rolls: cleaner swaps,
    /// retention, close and delete. Lock order: `maintenanceLock`, `sealLock`, `state`.
    let maintenanceLock = Locked<Void>(())
    /// Where the log cleaner got to (compacted logs).
    let checkpoint: Locked<CleanerCheckpoint>

    struct State {
        var config: LogConfig
        /// Sorted by base offset; the last is the active segment. Never empty while open.
        var segments: [SegmentInfo]
        var producers: ProducerStateManager
        var startOffset: Int64
        var endOffset: Int64
        /// Every offset below this is fsynced.
        var flushedOffset: Int64
        /// A segment file was created since the directory was last fsynced.
        var directoryDirty = false
        var isClosed = false
        /// Set after a failed write or fsync; the log refuses writes until reopened.
        var failure: String?
        /// fdatasync calls on log files (tests check group commit with it).
        var fsyncCount = 0

        var active: SegmentInfo { segments[segments.count - 1] }

        func checkWritable() throws {
            if isClosed { throw LogError.closed }
            if let failure { throw LogError.failed(failure) }
        }

        /// Index of the segment holding `offset`: the last one whose base is <= it.
        func segmentIndex(containing offset: Int64) -> Int {
            var lo = 0, hi = segments.count - 1, found = 0
            while lo <= hi {
                let mid = (lo + hi) / 2
                if segments[mid].baseOffset <= offset {
                    found = mid
                    lo = mid + 1
                } else {
                    hi = mid - 1
                }
            }
            return found
        }
    }

    /// Milliseconds since the epoch.
    public static func wallClockMs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }

    private init(directory: String, config: LogConfig, loaded: LogRecovery.Loaded, producers: ProducerStateManager,
                 recoveryPoint: Int64, flusher: LogFlusher?, logger: Logger, clock: @escaping @Sendable () -> Int64) {
        self.directory = directory
        self.logger = logger
        self.flusher = flusher
        self.clock = clock
        let first = loaded.segments[0].baseOffset
        let end = loaded.segments[loaded.segments.count - 1].nextOffset
        state = Locked(State(config: config, segments: loaded.segments, producers: producers,
                             startOffset: first, endOffset: end, flushedOffset: end))
        sealLock = Locked(recoveryPoint)
        checkpoint = Locked(CleanerCheckpoint.load(directory: directory))
    }

    /// Opens (creating if needed) the log in `directory`, recovering it if the last run did
    /// not close it cleanly.
    ///
    /// - Parameters:
    ///   - flusher: shared background flusher; nil runs flushes and seals on the caller.
    ///   - clock: wall clock in ms, for `segmentMs` and producer expiration.
    public static func open(directory: URL, config: LogConfig = .default, flusher: LogFlusher? = nil,
                            logger: Logger = Logger(label: "riverbank.logstore"),
                            clock: @escaping @Sendable () -> Int64 = PartitionLog.wallClockMs) throws -> PartitionLog {
        try open(path: directory.path, config: config, flusher: flusher, logger: logger, clock: clock)
    }

    public static func open(path: String, config: LogConfig = .default, flusher: LogFlusher? = nil,
                            logger: Logger = Logger(label: "riverbank.logstore"),
                            clock: @escaping @Sendable () -> Int64 = PartitionLog.wallClockMs) throws -> PartitionLog {
        var logger = logger
        logger[metadataKey: "partitionDir"] = "\(path)"
        let config = config.normalized
        var loaded = try LogRecovery.load(directory: path, config: config, logger: logger)
        // segment.ms counts from the active segment's first record, as Kafka's does, so a
        // restart does not restart the clock (a compacted topic's tail would otherwise stay
        // uncleanable as long as the broker keeps restarting).
        let last = loaded.segments.count - 1
        if loaded.segments[last].size > 0, let first = try? Self.firstHeader(of: loaded.segments[last]) {
            let now = clock()
            loaded.segments[last].firstAppendTimeMs = first.maxTimestamp >= 0 ? min(now, first.maxTimestamp) : now
        }
        let producers = try loadProducerState(directory: path, segments: loaded.segments, now: clock(), logger: logger)
        let activeBase = loaded.segments[loaded.segments.count - 1].baseOffset
        if !loaded.wasClean {
            // Everything before the active segment is now validated and fsynced.
            try LogRecovery.writeRecoveryPoint(activeBase, directory: path)
        }
        let log = PartitionLog(directory: path, config: config, loaded: loaded, producers: producers,
                               recoveryPoint: activeBase, flusher: flusher, logger: logger, clock: clock)
        logger.debug("opened log", metadata: [
            "segments": "\(loaded.segments.count)", "logEndOffset": "\(log.logEndOffset)", "clean": "\(loaded.wasClean)",
        ])
        return log
    }

    // MARK: properties

    public var logEndOffset: Int64 { state.withLock { $0.endOffset } }
    public var logStartOffset: Int64 { state.withLock { $0.startOffset } }
    public var sizeInBytes: Int64 { state.withLock { $0.segments.reduce(0) { $0 + $1.size } } }
    public var segmentCount: Int { state.withLock { $0.segments.count } }
    public var config: LogConfig { state.withLock { $0.config } }
    public var isClosed: Bool { state.withLock { $0.isClosed } }

    /// Base offsets of the segments, oldest first.
    public var segmentBaseOffsets: [Int64] { state.withLock { $0.segments.map(\.baseOffset) } }

    /// fdatasync calls made on log files so far.
    var fsyncCount: Int { state.withLock { $0.fsyncCount } }

    /// What the log knows about an idempotent producer.
    public func producerState(for producerId: Int64) -> ProducerStateEntry? {
        state.withLock { $0.producers.entry(for: producerId) }
    }

    /// Changes settings at runtime; they apply from the next append or retention pass.
    public func update(config: LogConfig) {
        state.withLock { $0.config = config.normalized }
    }

    // MARK: close / delete

    /// Flushes everything, writes indexes, a producer snapshot and the clean-shutdown
    /// marker, and releases the segments (in-flight reads finish on their descriptors).
    public func close() throws {
        try maintenanceLock.withLock { _ in try closeLocked() }
    }

    private func closeLocked() throws {
        try sealLock.withLock { (recoveryPoint: inout Int64) throws in
            try state.withLock { (st: inout State) throws in
                guard !st.isClosed else { return }
                st.isClosed = true
                defer { st.segments.removeAll() }
                if let failure = st.failure {
                    // No marker: the next open must validate what is on disk.
                    throw LogError.failed(failure)
                }
                let last = st.segments.count - 1
                if let t = st.segments[last].indexer.finalTimeEntry() {
                    st.segments[last].segment.timeIndex.maybeAppend(timestamp: t.timestamp, offset: t.offset)
                }
                for info in st.segments where info.nextOffset > st.flushedOffset || info.baseOffset >= recoveryPoint {
                    try info.segment.log.sync()
                    st.fsyncCount += 1
                }
                for info in st.segments {
                    try info.segment.persistIndexes(sync: true)
                }
                st.flushedOffset = st.endOffset
                try writeSnapshot(ProducerSnapshot.encode(st.producers, offset: st.endOffset), offset: st.endOffset,
                                  durable: .fileOnly)
                let activeBase = st.segments[last].baseOffset
                try LogRecovery.writeRecoveryPoint(activeBase, directory: directory, durable: .fileOnly)
                recoveryPoint = activeBase
                pruneSnapshots()
                try FileSystem.syncDirectory(directory)
                // Written last and not fsynced: losing it only costs a recovery at next
                // open, and it can never reach disk before the data it vouches for.
                try FileSystem.writeAtomically([], to: directory + "/" + LogRecovery.cleanShutdownFile,
                                               directory: directory, durable: .none)
            }
        }
    }

    /// Closes the log without flushing and removes its directory (DeleteTopics).
    public func delete() throws {
        maintenanceLock.withLock { _ in
            sealLock.withLock { _ in
                state.withLock { st in
                    st.isClosed = true
                    for info in st.segments { info.segment.log.pin() }
                    st.segments.removeAll()
                }
            }
        }
        do {
            try FileManager.default.removeItem(atPath: directory)
        } catch {
            throw LogError.io(operation: "remove directory", path: directory, errno: EIO)
        }
    }
}

extension Logger {
    /// A logger that drops everything (tests, and callers that do not want log output).
    static var silent: Logger {
        Logger(label: "riverbank.logstore.silent", factory: { _ in SwiftLogNoOpLogHandler() })
    }
}
