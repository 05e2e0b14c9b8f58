import Foundation
import KafkaProtocol
import Logging

/// How much of a compacted log could be cleaned now, and whether it should be.
public struct CleanableRange: Sendable, Equatable {
    /// Start of the part not cleaned yet.
    public var firstDirtyOffset: Int64
    /// Cleaning stops before this: the active segment, anything not yet fsynced (the recovery
    /// point) and segments younger than `min.compaction.lag.ms` are never touched.
    public var firstUncleanableOffset: Int64
    public var cleanBytes: Int64
    public var dirtyBytes: Int64
    /// `max.compaction.lag.ms` passed for the oldest dirty record, or a kept tombstone's delete
    /// horizon passed: clean whatever the dirty ratio.
    public var mustClean: Bool
    public var minCleanableDirtyRatio: Double

    public var dirtyRatio: Double {
        let total = cleanBytes + dirtyBytes
        return total > 0 ? Double(dirtyBytes) / Double(total) : 0
    }

    /// Kafka's rule: enough of the log is dirty, or a lag or horizon forces it.
    public var shouldClean: Bool {
        if mustClean { return cleanBytes + dirtyBytes > 0 }
        return dirtyBytes > 0 && dirtyRatio >= minCleanableDirtyRatio
    }
}

/// The outcome of cleaning one log.
public struct CleanStats: Sendable, Equatable {
    public var directory: String
    public var bytesRead: Int64
    public var bytesWritten: Int64
    public var recordsRead: Int64
    public var recordsRetained: Int64
    public var recordsSuperseded: Int64
    public var tombstonesRemoved: Int64
    public var keylessRemoved: Int64
    public var emptyBatchesRetained: Int64
    public var oversizedBatchesKept: Int64
    public var segmentsBefore: Int
    public var segmentsAfter: Int
    /// The new first dirty offset.
    public var cleanedUpTo: Int64
    public var mapEntries: Int
    public var seconds: Double
    public var throttledSeconds: Double
}

extension PartitionLog {
    /// The cleaner's bookkeeping for this log.
    public var cleanerCheckpoint: (firstDirtyOffset: Int64, nextDeleteHorizonMs: Int64) {
        let c = checkpoint.withLock { $0 }
        return (c.firstDirtyOffset, c.nextDeleteHorizonMs)
    }

    /// What could be cleaned now; nil if the log is not compacted or is closed.
    public func cleanableRange(now: Int64) -> CleanableRange? {
        let recoveryPoint = sealLock.withLock { $0 }
        let mark = checkpoint.withLock { $0 }
        let snapshot = state.withLock { st -> (LogConfig, [SegmentInfo], Int64, Int64)? in
            guard st.config.compact, !st.isClosed else { return nil }
            return (st.config, Array(st.segments.dropLast()), st.startOffset, st.lastStableOffset)
        }
        guard let (config, closed, startOffset, stable) = snapshot else { return nil }
        var limit = closed.isEmpty ? startOffset : min(closed[closed.count - 1].nextOffset, recoveryPoint)
        // Nothing from the segment of an open transaction on is cleaned (segments are rewritten
        // whole): whether its records stay is not known yet.
        if stable < limit { limit = closed.last(where: { $0.baseOffset <= stable })?.baseOffset ?? startOffset }
        let firstDirty = max(mark.firstDirtyOffset, startOffset)
        var range = CleanableRange(firstDirtyOffset: firstDirty, firstUncleanableOffset: limit, cleanBytes: 0, dirtyBytes: 0,
                                   mustClean: mark.nextDeleteHorizonMs <= now, minCleanableDirtyRatio: config.minCleanableDirtyRatio)
        var firstDirtySegment: SegmentInfo?
        for info in closed {
            if info.baseOffset >= limit { break }
            if info.nextOffset <= firstDirty {
                range.cleanBytes += info.size
                continue
            }
            if config.minCompactionLagMs > 0, info.maxTimestamp > now - config.minCompactionLagMs {
                range.firstUncleanableOffset = max(info.baseOffset, firstDirty)
                break
            }
            if firstDirtySegment == nil { firstDirtySegment = info }
            range.dirtyBytes += info.size
        }
        if range.firstUncleanableOffset <= firstDirty { range.dirtyBytes = 0 }
        if config.maxCompactionLagMs < Int64.max, let first = firstDirtySegment, range.dirtyBytes > 0,
           let header = try? Self.firstHeader(of: first), header.baseTimestamp >= 0,
           now - header.baseTimestamp > config.maxCompactionLagMs {
            range.mustClean = true
        }
        return range
    }

    static func firstHeader(of info: SegmentInfo) throws -> RecordBatchHeader? {
        guard info.size >= Int64(RecordBatchHeader.size) else { return nil }
        let bytes = try info.segment.log.read(at: 0, count: RecordBatchHeader.size)
        return bytes.withUnsafeBytes { RecordBatchHeader($0) }
    }

    /// Cleans the log once (Kafka's `Cleaner.clean`): builds the offset map over the dirty part,
    /// then rewrites every closed segment from the log start to the map's end, in groups that fit
    /// one segment, swapping each group in as it completes. Offsets never change. Runs on the
    /// cleaner's thread; appends and reads go on meanwhile (they only wait for the in-memory swap).
    ///
    /// Returns nil if there was nothing to clean. Throws `SegmentCleaner.Stopped` when
    /// `shouldStop` asked to stop (the log is unchanged apart from groups already swapped).
    public func clean(now: Int64, cleaner config: LogCleanerConfig, throttler: Throttler? = nil,
                      force: Bool = false, shouldStop: @escaping () -> Bool = { false }) throws -> CleanStats? {
        let t0 = DispatchClock.now()
        guard let range = cleanableRange(now: now), force || range.shouldClean else { return nil }
        let (logConfig, closed, producers, transactions) = state.withLock { st in
            (st.config, Array(st.segments.dropLast()).filter { $0.baseOffset < range.firstUncleanableOffset },
             st.producers.lastOffsets, st.producers)
        }
        guard !closed.isEmpty else { return nil }
        logger.info("log cleaner cleaning partition", metadata: [
            "dirty-ratio": "\(String(format: "%.2f", range.dirtyRatio))", "dirty-bytes": "\(range.dirtyBytes)",
            "first-dirty": "\(range.firstDirtyOffset)", "forced": "\(range.mustClean || force)",
        ])
        let work = SegmentCleaner(path: directory, now: now, config: logConfig, cleaner: config,
                                  throttler: throttler ?? .unlimited, shouldStop: shouldStop)
        work.transactions = transactions

        // 1. The offset map over the dirty segments, whole segments while they fit.
        let dirty = closed.filter { $0.nextOffset > range.firstDirtyOffset }
        let expected = dirty.reduce(0) { $0 + Int($1.nextOffset - max($1.baseOffset, range.firstDirtyOffset)) }
        var map = OffsetMap(memoryBytes: config.dedupeBufferBytes, expectedKeys: expected)
        var end = range.firstDirtyOffset
        for info in dirty {
            if info.baseOffset >= range.firstUncleanableOffset { break }
            let span = Int(info.nextOffset - max(info.baseOffset, range.firstDirtyOffset))
            if map.count > 0 && span > map.remaining { break }
            end = try work.buildMap(&map, from: max(info.baseOffset, range.firstDirtyOffset), segment: info)
            if end < info.nextOffset { break }
        }

        // 2. Rewrite [log start, end) group by group.
        let cleanedUpTo = max(end, range.firstDirtyOffset)
        let toClean = closed.filter { $0.baseOffset < cleanedUpTo }
        var nextHorizon = Int64.max
        var segmentsAfter = 0
        for group in Self.groups(toClean, config: logConfig) {
            let output: SegmentCleaner.Output
            do {
                output = try work.rewrite(group, directory: directory, map: map, activeProducers: producers)
            } catch {
                Self.removeCleanedFiles(directory, group[0].baseOffset)
                throw error
            }
            if shouldStop() {
                Self.removeCleanedFiles(directory, group[0].baseOffset)
                throw SegmentCleaner.Stopped()
            }
            try swapIn(group, output: output)
            nextHorizon = min(nextHorizon, output.nextDeleteHorizonMs)
            segmentsAfter += 1
        }

        // 3. Remember how far we got (a crash before this only means re-cleaning, never loss).
        let mark = CleanerCheckpoint(firstDirtyOffset: cleanedUpTo, nextDeleteHorizonMs: nextHorizon)
        try mark.save(directory: directory)
        checkpoint.withLock { $0 = mark }

        let c = work.counters
        let stats = CleanStats(directory: directory, bytesRead: c.bytesRead, bytesWritten: c.bytesWritten,
                               recordsRead: c.recordsRead, recordsRetained: c.recordsRetained,
                               recordsSuperseded: c.recordsSuperseded, tombstonesRemoved: c.tombstonesRemoved,
                               keylessRemoved: c.keylessRemoved, emptyBatchesRetained: c.emptyBatchesRetained,
                               oversizedBatchesKept: c.oversizedBatchesKept, segmentsBefore: toClean.count,
                               segmentsAfter: segmentsAfter, cleanedUpTo: cleanedUpTo, mapEntries: map.count,
                               seconds: DispatchClock.seconds(since: t0), throttledSeconds: work.throttler.sleptSeconds)
        logger.info("log cleaner cleaned partition", metadata: [
            "dirty-ratio": "\(String(format: "%.2f", range.dirtyRatio))", "segments": "\(toClean.count) → \(segmentsAfter)",
            "bytes": "\(c.bytesRead) → \(c.bytesWritten)", "records": "\(c.recordsRead) → \(c.recordsRetained)",
            "tombstones-removed": "\(c.tombstonesRemoved)", "cleaned-up-to": "\(cleanedUpTo)",
            "seconds": "\(String(format: "%.3f", stats.seconds))",
        ])
        return stats
    }

    /// Consecutive segments whose total size fits one segment and whose offsets fit the index's
    /// 4-byte relative offsets (Kafka's `groupSegmentsBySize`).
    static func groups(_ segments: [SegmentInfo], config: LogConfig) -> [[SegmentInfo]] {
        var groups: [[SegmentInfo]] = []
        var current: [SegmentInfo] = []
        var size: Int64 = 0
        for info in segments {
            if let first = current.first {
                let fits = size + info.size <= Int64(config.segmentBytes)
                    && info.nextOffset - first.baseOffset <= Int64(UInt32.max)
                    && (size + info.size) / Int64(max(config.indexIntervalBytes, 1)) < Int64(config.maxIndexEntries)
                if !fits {
                    groups.append(current)
                    current = []
                    size = 0
                }
            }
            current.append(info)
            size += info.size
        }
        if !current.isEmpty { groups.append(current) }
        return groups
    }

    static func removeCleanedFiles(_ directory: String, _ base: Int64) {
        for suffix in SegmentSwap.suffixes { try? FileSystem.remove(SegmentSwap.cleanedPath(directory, base, suffix)) }
    }

    /// Commits the swap on disk and replaces the group in memory. Holds `maintenanceLock` so
    /// close, delete and retention cannot change the segment list meanwhile; appends and seals
    /// never take it, and wait only for the in-memory splice at the end.
    func swapIn(_ group: [SegmentInfo], output: SegmentCleaner.Output) throws {
        let base = group[0].baseOffset
        try maintenanceLock.withLock { _ in
            let current = state.withLock { st -> Bool in
                guard !st.isClosed, let i = st.segments.firstIndex(where: { $0.baseOffset == base }),
                      i + group.count < st.segments.count else { return false }
                return zip(st.segments[i..<(i + group.count)], group).allSatisfy { $0.segment === $1.segment }
            }
            guard current else {
                Self.removeCleanedFiles(directory, base)
                throw SegmentCleaner.Stopped()
            }
            // Readers holding the old segments keep reading the old files through these.
            for info in group {
                info.segment.log.pin()
                _ = info.segment.offsetIndex.count
                _ = info.segment.timeIndex.count
            }
            let swap = SegmentSwap(newBase: base, replaced: group.map(\.baseOffset))
            try swap.commit(directory: directory)
            let nextOffset = group[group.count - 1].nextOffset
            let segment = LogRecovery.makeSegment(directory: directory, base: base, offsetEntries: nil, timeEntries: nil,
                                                  logSize: output.size, nextOffset: nextOffset)
            do {
                try swap.complete(directory: directory)
            } catch {
                // The manifest is durable: the next open finishes the swap. Until then the log
                // must not serve a directory it no longer understands.
                state.withLock { st in
                    if st.failure == nil { st.failure = "cleaner swap failed: \(error)" }
                }
                throw error
            }
            var info = SegmentInfo(segment: segment, size: output.size, nextOffset: nextOffset, indexer: output.indexer)
            info.firstAppendTimeMs = nil
            state.withLock { st in
                guard let i = st.segments.firstIndex(where: { $0.baseOffset == base }) else { return }
                st.segments.replaceSubrange(i..<(i + group.count), with: [info])
            }
        }
    }
}

/// Monotonic time for durations.
enum DispatchClock {
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    static func seconds(since t0: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
}
