#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KafkaProtocol
import Logging

/// What a walk over a segment's batches found.
struct ScanOutcome {
    /// Position just past the last good batch.
    var validEnd: Int64
    /// One past the last good batch's last offset.
    var nextOffset: Int64
    var batchCount = 0
    /// Why the walk stopped before `end`, nil if it reached `end` exactly.
    var problem: String?
}

/// Opening a partition directory: finding segments, checking or rebuilding their indexes
/// and, after an unclean stop, validating and truncating the unflushed tail.
///
/// Start-up cost: closed segments before the recovery point cost a `stat` and two small
/// tail reads of their index files; only segments at or after the recovery point (normally
/// just the active one) are read, and only after an unclean stop are their CRCs checked.
enum LogRecovery {
    static let cleanShutdownFile = ".clean-shutdown"
    static let recoveryPointFile = "recovery-point"

    /// Walks batches in `file` from `position`, which must hold the batch with base offset
    /// `expectedOffset`, up to `end`. Stops at the first batch that is cut short, not
    /// structurally sane, not contiguous with the one before, out of the segment's relative
    /// offset range or (with `verifyCRC`) fails its CRC-32C.
    ///
    /// `allowGaps`: offsets may jump forward between batches, as they do in segments the cleaner
    /// rewrote. Only segments below the recovery point are ever cleaned, so the unflushed tail
    /// keeps the strict check that catches a torn write.
    static func scan(
        file: SegmentFile,
        segmentBase: Int64,
        from position: Int64,
        expectedOffset: Int64,
        end: Int64,
        verifyCRC: Bool,
        allowGaps: Bool = false,
        onBatch: (RecordBatchHeader, Int64) -> Void
    ) throws -> ScanOutcome {
        var reader = BufferedReader(file: file, limit: end, chunk: verifyCRC ? 1 << 20 : 64 << 10)
        var outcome = ScanOutcome(validEnd: position, nextOffset: expectedOffset)
        var pos = position
        while pos < end {
            guard let header = try reader.header(at: pos) else {
                outcome.problem = "\(end - pos) trailing bytes, shorter than a batch header"
                break
            }
            if let problem = header.structuralProblem(available: Int(min(end - pos, Int64(Int32.max)))) {
                outcome.problem = problem
                break
            }
            if allowGaps ? header.baseOffset < outcome.nextOffset : header.baseOffset != outcome.nextOffset {
                outcome.problem = "batch base offset \(header.baseOffset), expected \(allowGaps ? "at least " : "")\(outcome.nextOffset)"
                break
            }
            if pos + Int64(header.totalSize) > Int64(Int32.max) {
                // Index positions are 4 bytes and segment.bytes is an Int32, as in Kafka.
                outcome.problem = "segment data beyond 2 GiB"
                break
            }
            if header.lastOffset - segmentBase > Int64(UInt32.max) {
                outcome.problem = "offset \(header.lastOffset) too far from segment base \(segmentBase)"
                break
            }
            if verifyCRC {
                let ok = try reader.withBytes(at: pos, count: header.totalSize) { batchCRCIsValid($0) } ?? false
                if !ok {
                    outcome.problem = "CRC-32C mismatch in batch at offset \(header.baseOffset)"
                    break
                }
            }
            onBatch(header, pos)
            pos += Int64(header.totalSize)
            outcome.validEnd = pos
            outcome.nextOffset = header.lastOffset + 1
            outcome.batchCount += 1
        }
        return outcome
    }

    /// Everything `PartitionLog` needs from a freshly opened directory.
    struct Loaded {
        var segments: [SegmentInfo]
        var wasClean: Bool
    }

    static func load(directory: String, config: LogConfig, logger: Logger) throws -> Loaded {
        try FileSystem.createDirectory(directory)
        // A cleaner swap interrupted by a crash is finished (or, if it never committed, undone)
        // before anything else looks at the segments.
        try SegmentSwap.recover(directory: directory, logger: logger)
        let names = try FileSystem.listDirectory(directory)

        var bases = Set<Int64>()
        for name in names {
            if name.hasSuffix(".tmp") || name.hasSuffix(".deleted") {
                try FileSystem.remove(directory + "/" + name)
            } else if let base = Segment.baseOffset(fromFileName: name, suffix: SegmentSuffix.log) {
                bases.insert(base)
            }
        }
        // Index files whose log is gone (e.g. a crash in the middle of deleting a segment).
        for name in names {
            let base = Segment.baseOffset(fromFileName: name, suffix: SegmentSuffix.index)
                ?? Segment.baseOffset(fromFileName: name, suffix: SegmentSuffix.timeIndex)
            if let base, !bases.contains(base) {
                try FileSystem.remove(directory + "/" + name)
            }
        }

        // The marker goes away durably before anything else happens, so a crash from here
        // on is seen as unclean next time.
        let markerPath = directory + "/" + cleanShutdownFile
        let clean = FileSystem.exists(markerPath)
        if clean {
            try FileSystem.remove(markerPath)
            try FileSystem.syncDirectory(directory)
        }

        let sorted = bases.sorted()
        if sorted.isEmpty {
            // A new partition (or one whose files were all removed): start empty at 0.
            try createEmptyLog(directory: directory, baseOffset: 0)
            try FileSystem.syncDirectory(directory)
            let segment = makeSegment(directory: directory, base: 0, offsetEntries: [], timeEntries: [], logSize: nil, nextOffset: nil)
            return Loaded(segments: [SegmentInfo(segment: segment, size: 0, nextOffset: 0, indexer: SegmentIndexer())], wasClean: false)
        }

        var firstToRecover: Int
        // Segments below it may have been cleaned (their offsets have gaps).
        let recoveryPoint = readRecoveryPoint(directory: directory, logger: logger) ?? 0
        if clean {
            firstToRecover = sorted.count
        } else {
            let point = recoveryPoint
            firstToRecover = sorted.lastIndex(where: { $0 <= point }) ?? 0
            logger.warning("log was not shut down cleanly; recovering from segment \(sorted[firstToRecover]) (recovery point \(point))")
        }

        var infos: [SegmentInfo] = []
        var index = 0
        // Closed segments before the recovery point: trusted, indexes checked cheaply.
        while index < min(firstToRecover, sorted.count - 1) {
            if let info = try openClosedSegment(directory: directory, base: sorted[index], nextOffset: sorted[index + 1],
                                                config: config, logger: logger) {
                infos.append(info)
                index += 1
            } else {
                // Its data turned out bad while rebuilding an index: recover from here.
                firstToRecover = index
                break
            }
        }

        if clean && index == sorted.count - 1 {
            if let active = try openActiveAfterCleanShutdown(directory: directory, base: sorted[index], config: config, logger: logger) {
                infos.append(active)
                return Loaded(segments: infos, wasClean: true)
            }
            logger.warning("active segment inconsistent despite clean shutdown marker; validating it")
        }

        // Validate every remaining segment batch by batch.
        var deletedAny = false
        while index < sorted.count {
            let isLast = index == sorted.count - 1
            let cleanable = sorted[index] < recoveryPoint
            var (info, truncated) = try recoverSegment(directory: directory, base: sorted[index], config: config,
                                                       allowGaps: cleanable, logger: logger)
            // A cleaned segment may end before the next one starts (its last records were
            // removed), but no segment may overlap the next.
            let endsWrong = !isLast && (cleanable ? info.nextOffset > sorted[index + 1] : info.nextOffset != sorted[index + 1])
            if !isLast && !truncated && !endsWrong { info.nextOffset = sorted[index + 1] }
            infos.append(info)
            if !isLast && (truncated || endsWrong) {
                // The following segments no longer continue this one: drop them, so no
                // offset is ever served twice or with a gap.
                for later in sorted[(index + 1)...] {
                    logger.warning("deleting segment \(later) after corrupt or truncated segment \(sorted[index])")
                    try removeSegmentFiles(directory: directory, base: later)
                }
                deletedAny = true
                break
            }
            if !isLast {
                // A closed segment's index ends with its max timestamp.
                if let t = infos[infos.count - 1].indexer.finalTimeEntry() {
                    info.segment.timeIndex.maybeAppend(timestamp: t.timestamp, offset: t.offset)
                }
                try info.segment.persistIndexes(sync: true)
            }
            index += 1
        }
        if deletedAny { try FileSystem.syncDirectory(directory) }
        return Loaded(segments: infos, wasClean: false)
    }

    static func createEmptyLog(directory: String, baseOffset: Int64) throws {
        let path = Segment.path(directory, baseOffset, SegmentSuffix.log)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw LogError.io(operation: "create", path: path, errno: errno) }
        close(fd)
    }

    static func removeSegmentFiles(directory: String, base: Int64) throws {
        try FileSystem.remove(Segment.path(directory, base, SegmentSuffix.log))
        try FileSystem.remove(Segment.path(directory, base, SegmentSuffix.index))
        try FileSystem.remove(Segment.path(directory, base, SegmentSuffix.timeIndex))
    }

    static func makeSegment(directory: String, base: Int64, offsetEntries: [OffsetIndexEntry]?, timeEntries: [TimeIndexEntry]?,
                            logSize: Int64?, nextOffset: Int64?) -> Segment {
        Segment(
            directory: directory,
            baseOffset: base,
            log: SegmentFile(path: Segment.path(directory, base, SegmentSuffix.log)),
            offsetIndex: OffsetIndex(path: Segment.path(directory, base, SegmentSuffix.index), baseOffset: base,
                                     entries: offsetEntries, logSize: logSize, nextOffset: nextOffset),
            timeIndex: TimeIndex(path: Segment.path(directory, base, SegmentSuffix.timeIndex), baseOffset: base,
                                 entries: timeEntries, nextOffset: nextOffset))
    }

    /// A closed segment before the recovery point. Reads no log data unless an index file
    /// fails its cheap check; nil if rebuilding it showed the log data itself is damaged.
    static func openClosedSegment(directory: String, base: Int64, nextOffset: Int64, config: LogConfig,
                                  logger: Logger) throws -> SegmentInfo? {
        let logPath = Segment.path(directory, base, SegmentSuffix.log)
        guard let size = FileSystem.fileSize(logPath) else { throw LogError.io(operation: "stat", path: logPath, errno: ENOENT) }
        let offsetCheck = IndexFile<OffsetIndexEntry>.checkLastEntry(
            path: Segment.path(directory, base, SegmentSuffix.index),
            accept: OffsetIndex.acceptor(baseOffset: base, logSize: size, nextOffset: nextOffset))
        let timeCheck = IndexFile<TimeIndexEntry>.checkLastEntry(
            path: Segment.path(directory, base, SegmentSuffix.timeIndex),
            accept: TimeIndex.acceptor(baseOffset: base, nextOffset: nextOffset))
        switch (offsetCheck, timeCheck) {
        case (.success, .success(let lastTime)):
            let segment = makeSegment(directory: directory, base: base, offsetEntries: nil, timeEntries: nil,
                                      logSize: size, nextOffset: nextOffset)
            var indexer = SegmentIndexer()
            if let lastTime {
                indexer.maxTimestamp = lastTime.timestamp
                indexer.offsetOfMaxTimestamp = base + Int64(lastTime.relativeOffset)
                indexer.lastTimeIndexTimestamp = lastTime.timestamp
            }
            return SegmentInfo(segment: segment, size: size, nextOffset: nextOffset, indexer: indexer)
        default:
            var reason = ""
            if case .failure(let f) = offsetCheck { reason += "offset index \(f) " }
            if case .failure(let f) = timeCheck { reason += "time index \(f)" }
            logger.warning("rebuilding indexes of segment \(base): \(reason)")
            var (info, outcome) = try rebuild(directory: directory, base: base, size: size, verifyCRC: false,
                                              allowGaps: true, config: config)
            // A cleaned segment may end before the next one starts; it may never overlap it.
            if outcome.problem != nil || outcome.nextOffset > nextOffset {
                logger.error("segment \(base) is damaged: \(outcome.problem ?? "ends at offset \(outcome.nextOffset), next segment starts at \(nextOffset)")")
                return nil
            }
            info.nextOffset = nextOffset
            if let t = info.indexer.finalTimeEntry() {
                info.segment.timeIndex.maybeAppend(timestamp: t.timestamp, offset: t.offset)
            }
            try info.segment.persistIndexes(sync: true)
            return info
        }
    }

    /// Scans a whole segment from position 0, building fresh index entries.
    static func rebuild(directory: String, base: Int64, size: Int64, verifyCRC: Bool, allowGaps: Bool = false,
                        config: LogConfig) throws -> (SegmentInfo, ScanOutcome) {
        let log = SegmentFile(path: Segment.path(directory, base, SegmentSuffix.log))
        var indexer = SegmentIndexer()
        var offsetEntries: [OffsetIndexEntry] = []
        var timeEntries: [TimeIndexEntry] = []
        let outcome = try scan(file: log, segmentBase: base, from: 0, expectedOffset: base, end: size, verifyCRC: verifyCRC,
                               allowGaps: allowGaps) { header, position in
            let entries = indexer.observe(header, position: position, interval: config.indexIntervalBytes)
            if let e = entries.offsetEntry {
                offsetEntries.append(OffsetIndexEntry(relativeOffset: UInt32(truncatingIfNeeded: e.offset - base),
                                                       position: UInt32(truncatingIfNeeded: e.position)))
            }
            if let t = entries.timeEntry {
                timeEntries.append(TimeIndexEntry(timestamp: t.timestamp, relativeOffset: UInt32(truncatingIfNeeded: t.offset - base)))
            }
        }
        let segment = Segment(
            directory: directory, baseOffset: base, log: log,
            offsetIndex: OffsetIndex(path: Segment.path(directory, base, SegmentSuffix.index), baseOffset: base,
                                     entries: offsetEntries, logSize: nil, nextOffset: nil),
            timeIndex: TimeIndex(path: Segment.path(directory, base, SegmentSuffix.timeIndex), baseOffset: base,
                                 entries: timeEntries, nextOffset: nil))
        let info = SegmentInfo(segment: segment, size: outcome.validEnd, nextOffset: outcome.nextOffset, indexer: indexer)
        return (info, outcome)
    }

    /// Full validation of a segment that may hold unflushed data: CRC of every batch,
    /// truncation at the first bad byte, indexes rebuilt, everything fsynced.
    static func recoverSegment(directory: String, base: Int64, config: LogConfig, allowGaps: Bool = false,
                               logger: Logger) throws -> (SegmentInfo, truncated: Bool) {
        let logPath = Segment.path(directory, base, SegmentSuffix.log)
        guard let size = FileSystem.fileSize(logPath) else { throw LogError.io(operation: "stat", path: logPath, errno: ENOENT) }
        let (info, outcome) = try rebuild(directory: directory, base: base, size: size, verifyCRC: true, allowGaps: allowGaps,
                                          config: config)
        let truncated = outcome.validEnd < size
        if truncated {
            logger.warning("truncating segment \(base) from \(size) to \(outcome.validEnd) bytes: \(outcome.problem ?? "")")
            try info.segment.log.truncate(to: outcome.validEnd)
        }
        try info.segment.log.sync()
        try info.segment.persistIndexes(sync: true)
        return (info, truncated)
    }

    /// The active segment after a clean shutdown: its index files were written at close, so
    /// only the part after the last index entry is walked (headers only) to find the log
    /// end. Nil if anything does not add up, and the caller validates it fully instead.
    static func openActiveAfterCleanShutdown(directory: String, base: Int64, config: LogConfig,
                                             logger: Logger) throws -> SegmentInfo? {
        let logPath = Segment.path(directory, base, SegmentSuffix.log)
        guard let size = FileSystem.fileSize(logPath) else { throw LogError.io(operation: "stat", path: logPath, errno: ENOENT) }
        let offsetCheck = IndexFile<OffsetIndexEntry>.checkLastEntry(
            path: Segment.path(directory, base, SegmentSuffix.index),
            accept: OffsetIndex.acceptor(baseOffset: base, logSize: size, nextOffset: nil))
        let timeCheck = IndexFile<TimeIndexEntry>.checkLastEntry(
            path: Segment.path(directory, base, SegmentSuffix.timeIndex),
            accept: TimeIndex.acceptor(baseOffset: base, nextOffset: nil))
        guard case .success = offsetCheck, case .success(let lastTime) = timeCheck else { return nil }

        let segment = makeSegment(directory: directory, base: base, offsetEntries: nil, timeEntries: nil,
                                  logSize: size, nextOffset: nil)
        // Load now: the active segment's indexes take appends.
        _ = segment.offsetIndex.count
        _ = segment.timeIndex.count
        let start = segment.offsetIndex.lookup(Int64.max)

        var indexer = SegmentIndexer()
        if let lastTime {
            indexer.maxTimestamp = lastTime.timestamp
            indexer.offsetOfMaxTimestamp = base + Int64(lastTime.relativeOffset)
            indexer.lastTimeIndexTimestamp = lastTime.timestamp
        }
        let outcome = try scan(file: segment.log, segmentBase: base, from: start.position, expectedOffset: start.offset,
                               end: size, verifyCRC: false) { header, position in
            let entries = indexer.observe(header, position: position, interval: config.indexIntervalBytes)
            // Entries at or before the last loaded one are already in the file.
            if let e = entries.offsetEntry, e.position > start.position {
                segment.offsetIndex.append(offset: e.offset, position: e.position)
            }
            if let t = entries.timeEntry {
                segment.timeIndex.maybeAppend(timestamp: t.timestamp, offset: t.offset)
            }
        }
        guard outcome.problem == nil, outcome.validEnd == size else { return nil }
        return SegmentInfo(segment: segment, size: size, nextOffset: outcome.nextOffset, indexer: indexer)
    }

    // MARK: recovery point

    /// The base offset of the first segment that may hold data not yet fsynced. Written
    /// (durably, after the older segments were fsynced) when a rolled segment is sealed.
    static func readRecoveryPoint(directory: String, logger: Logger) -> Int64? {
        let path = directory + "/" + recoveryPointFile
        guard let bytes = try? FileSystem.readSmallFile(path, limit: 64), bytes.count == 12 else { return nil }
        var reader = ByteReader(bytes)
        guard let value = reader.int64(), let crc = reader.uint32(),
              crc == crc32c(Array(bytes[0..<8])), value >= 0 else {
            logger.warning("ignoring damaged recovery point file")
            return nil
        }
        return value
    }

    static func writeRecoveryPoint(_ offset: Int64, directory: String, durable: FileSystem.Durability = .full) throws {
        var w = ByteWriter(capacity: 12)
        w.int64(offset)
        w.uint32(crc32c(w.bytes))
        try FileSystem.writeAtomically(w.bytes, to: directory + "/" + recoveryPointFile, directory: directory, durable: durable)
    }
}
