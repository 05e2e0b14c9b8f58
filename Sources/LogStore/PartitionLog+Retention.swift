/// Retention: deleting whole closed segments from the front of the log.
extension PartitionLog {
    /// Deletes the oldest closed segments that are older than `retentionMs` (by their
    /// largest timestamp, as Kafka; file mtime if they carry no timestamps) or that keep the
    /// log above `retentionBytes`, moving the log start to the first remaining segment.
    /// The active segment is never deleted. Also forgets producers idle longer than
    /// `producerIdExpirationMs`. Returns the base offsets of the deleted segments.
    ///
    /// Safe with concurrent reads: a reader holding a deleted segment keeps reading it
    /// through its open descriptor.
    @discardableResult
    public func enforceRetention(now: Int64) -> [Int64] {
        maintenanceLock.withLock { _ in enforceRetentionLocked(now: now) }
    }

    private func enforceRetentionLocked(now: Int64) -> [Int64] {
        let removed = state.withLock { st -> [Segment] in
            if st.isClosed { return [] }
            let config = st.config
            let closedCount = st.segments.count - 1
            var count = 0
            if config.effectiveRetentionMs >= 0 {
                while count < closedCount {
                    let info = st.segments[count]
                    let newest = info.maxTimestamp >= 0
                        ? info.maxTimestamp
                        : (FileSystem.modificationTimeMs(info.segment.log.path) ?? now)
                    guard now - newest > config.effectiveRetentionMs else { break }
                    count += 1
                }
            }
            if config.effectiveRetentionBytes >= 0 {
                var total = st.segments[count...].reduce(Int64(0)) { $0 + $1.size }
                while count < closedCount, total - st.segments[count].size >= config.effectiveRetentionBytes {
                    total -= st.segments[count].size
                    count += 1
                }
            }
            let expired = st.producers.removeExpired(now: now, expirationMs: config.producerIdExpirationMs)
            if expired > 0 { logger.debug("expired idle producers", metadata: ["count": "\(expired)"]) }
            guard count > 0 else { return [] }
            let removed = st.segments[0..<count].map(\.segment)
            st.segments.removeFirst(count)
            st.startOffset = st.segments[0].baseOffset
            st.producers.removeAborted(before: st.startOffset)
            return removed
        }
        guard !removed.isEmpty else { return [] }
        for segment in removed {
            do {
                try segment.deleteFiles()
            } catch {
                logger.warning("could not delete segment files", metadata: ["segment": "\(segment.baseOffset)", "error": "\(error)"])
            }
        }
        try? FileSystem.syncDirectory(directory)
        logger.info("retention deleted segments", metadata: [
            "count": "\(removed.count)", "logStartOffset": "\(logStartOffset)",
        ])
        return removed.map(\.baseOffset)
    }
}
