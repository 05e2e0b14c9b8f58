/// Durability: group-committed flushes through the shared `LogFlusher`.
extension PartitionLog {
    /// Calls `completion` once every offset up to and including `offset` is fdatasync'ed
    /// (an offset at or past the log end means "everything appended so far"). Runs
    /// `completion` at once on the caller's thread if that is already true, otherwise on
    /// the flusher thread (or on the caller's, without a flusher).
    public func flush(upTo offset: Int64, completion: @escaping @Sendable (Error?) -> Void) {
        enum Decision { case done, fail(LogError), sync }
        let decision = state.withLock { st -> Decision in
            if let failure = st.failure { return .fail(.failed(failure)) }
            if offset < st.flushedOffset { return .done }
            if st.isClosed { return .fail(.closed) }
            return .sync
        }
        switch decision {
        case .done:
            completion(nil)
        case .fail(let error):
            completion(error)
        case .sync:
            if let flusher {
                flusher.submitFlush(self, completion: completion)
            } else {
                do {
                    try syncAppended()
                    completion(nil)
                } catch {
                    completion(error)
                }
            }
        }
    }

    /// Async form of `flush(upTo:completion:)`.
    public func flush(upTo offset: Int64) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            flush(upTo: offset) { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            }
        }
    }

    /// Fsyncs everything appended so far, on the caller's thread.
    public func flushNow() throws {
        try syncAppended()
    }

    /// fdatasyncs every segment holding offsets at or past the flushed mark (normally just
    /// the active one) and the directory if a segment was created; returns the offset
    /// below which everything is now durable. Concurrent calls are safe: each covers the
    /// log end as of its start.
    @discardableResult
    func syncAppended() throws -> Int64 {
        let plan = try state.withLock { (st: inout State) throws -> (target: Int64, files: [SegmentFile], directory: Bool) in
            if let failure = st.failure { throw LogError.failed(failure) }
            if st.isClosed { return (st.flushedOffset, [], false) }
            let target = st.endOffset
            if target <= st.flushedOffset { return (st.flushedOffset, [], false) }
            let files = st.segments.filter { $0.nextOffset > st.flushedOffset && $0.size > 0 }.map(\.segment.log)
            let directory = st.directoryDirty
            st.directoryDirty = false
            return (target, files, directory)
        }
        do {
            for file in plan.files { try file.sync() }
            if plan.directory { try FileSystem.syncDirectory(directory) }
        } catch {
            // After a failed fsync the kernel may have dropped the dirty pages: what is on
            // disk is unknown, so the log stops taking writes (as Kafka takes the log dir
            // offline).
            logger.error("fsync failed", metadata: ["error": "\(error)"])
            state.withLock { st in
                if st.failure == nil { st.failure = "fsync failed: \(error)" }
            }
            throw error
        }
        state.withLock { st in
            st.fsyncCount += plan.files.count
            st.flushedOffset = max(st.flushedOffset, plan.target)
        }
        return plan.target
    }
}
