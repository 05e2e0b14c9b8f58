import Logging

/// Producer-state persistence: snapshots at segment roll and close, and the rebuild on open
/// from the newest good snapshot plus a header-only walk of the batches after it.
extension PartitionLog {
    static func snapshotOffsets(directory: String) -> [Int64] {
        ((try? FileSystem.listDirectory(directory)) ?? [])
            .compactMap { Segment.baseOffset(fromFileName: $0, suffix: SegmentSuffix.snapshot) }
            .sorted()
    }

    static func loadProducerState(directory: String, segments: [SegmentInfo], now: Int64,
                                  logger: Logger) throws -> ProducerStateManager {
        guard let first = segments.first, let last = segments.last else { return ProducerStateManager() }
        let startOffset = first.baseOffset
        let endOffset = last.nextOffset

        var state = ProducerStateManager()
        var from = startOffset
        var found = false
        for offset in snapshotOffsets(directory: directory).reversed() {
            let path = Segment.path(directory, offset, SegmentSuffix.snapshot)
            if offset > endOffset {
                // Taken before a crash cut the log shorter: it describes batches that are gone.
                try FileSystem.remove(path)
                continue
            }
            guard let bytes = try? FileSystem.readSmallFile(path), let decoded = ProducerSnapshot.decode(bytes),
                  decoded.offset == offset else {
                logger.warning("ignoring damaged producer snapshot \(offset)")
                continue
            }
            state = decoded.state
            from = max(offset, startOffset)
            found = true
            break
        }
        if !found && endOffset > startOffset {
            logger.info("no usable producer snapshot; rebuilding producer state from batch headers")
        }

        // Replay batches in [from, endOffset), reading headers only.
        if from < endOffset {
            var i = 0
            while i < segments.count, segments[i].nextOffset <= from { i += 1 }
            while i < segments.count {
                let info = segments[i]
                let start: (offset: Int64, position: Int64) = from > info.baseOffset ? info.segment.offsetIndex.lookup(from) : (info.baseOffset, 0)
                let outcome = try LogRecovery.scan(file: info.segment.log, segmentBase: info.baseOffset, from: start.position,
                                                   expectedOffset: start.offset, end: info.size, verifyCRC: false,
                                                   allowGaps: true) { header, position in
                    guard header.baseOffset >= from else { return }
                    if header.isControl && header.hasProducerId {
                        // Only the record says commit or abort: read the (tiny) marker batch.
                        let bytes = try? info.segment.log.read(at: position, count: header.totalSize)
                        let marker = bytes.flatMap { Self.marker(inControlBatch: $0, header: header) }
                        if marker == nil { logger.warning("unreadable transaction marker at offset \(header.baseOffset)") }
                        state.replayMarker(header, marker: marker, now: now)
                    } else {
                        state.replay(header, now: now)
                    }
                }
                if let problem = outcome.problem {
                    logger.warning("producer state rebuild stopped early in segment \(info.baseOffset): \(problem)")
                }
                i += 1
            }
        }
        state.removeBefore(logStartOffset: startOffset)
        return state
    }

    /// Writes a snapshot (fsynced; the directory too unless the caller syncs it later).
    func writeSnapshot(_ bytes: [UInt8], offset: Int64, durable: FileSystem.Durability = .full) throws {
        try FileSystem.writeAtomically(bytes, to: Segment.path(directory, offset, SegmentSuffix.snapshot),
                                       directory: directory, durable: durable)
    }

    /// Keeps the two newest snapshots (the older one is a fallback if the newest is damaged)
    /// and drops any others. Call with `sealLock` held.
    func pruneSnapshots() {
        let offsets = Self.snapshotOffsets(directory: directory)
        guard offsets.count > 2 else { return }
        for offset in offsets.dropLast(2) {
            try? FileSystem.remove(Segment.path(directory, offset, SegmentSuffix.snapshot))
        }
    }
}
