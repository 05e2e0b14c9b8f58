import KafkaProtocol
import LogStore
import NIOCore

extension RequestDispatcher {
    func fetch(_ req: FetchRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<FetchResponse> {
        let deadline = NIODeadline.now() + .milliseconds(Int64(max(0, req.maxWaitMs)))
        // The common case (a consumer at the tail) is answered from the page cache right here.
        if let first = readFetch(req, version: version, nonBlocking: true) {
            if first.ready(minBytes: req.minBytes) || req.maxWaitMs <= 0 || isDraining {
                metrics.fetchedBytes.increment(by: first.bytes)
                return .now(first.response)
            }
            let promise = ctx.eventLoop.makePromise(of: ByteBuffer.self)
            park(req, version: version, ctx: ctx, snapshot: first, deadline: deadline, promise: promise)
            return .framedLater(promise.futureResult)
        }
        let promise = ctx.eventLoop.makePromise(of: ByteBuffer.self)
        readOffloaded(req, version: version, ctx: ctx, deadline: deadline).whenComplete { [self] result in
            switch result {
            case .success(.answered(let frame)): promise.succeed(frame)
            case .success(.wait(let outcome)): park(req, version: version, ctx: ctx, snapshot: outcome, deadline: deadline, promise: promise)
            case .failure(let error): promise.fail(error)
            }
        }
        return .framedLater(promise.futureResult)
    }

    /// A computed fetch answer plus what is needed to decide whether to wait.
    struct FetchOutcome: Sendable {
        var response: FetchResponse
        var bytes: Int
        var hasError: Bool
        /// Partitions read, with the log end offset seen, to detect appends that raced the park.
        var watched: [(PartitionState, Int64)]

        func ready(minBytes: Int32) -> Bool { hasError || bytes >= Int(max(1, minBytes)) }
    }

    /// What a read on an I/O thread led to: the framed answer, or an outcome to long-poll on.
    enum OffloadedRead: Sendable {
        case answered(ByteBuffer)
        case wait(FetchOutcome)
    }

    /// The fetch read where blocking on the disk is fine: one of the broker's I/O threads (a
    /// replay of cold history must not stall the producers that share this event loop), or
    /// in place when the broker runs without them. A ready answer is framed there too, so its
    /// copy into the response frame does not run on the event loop either. Completes on the
    /// request's event loop.
    func readOffloaded(_ req: FetchRequest, version: Int16, ctx: RequestContext, deadline: NIODeadline) -> EventLoopFuture<OffloadedRead> {
        metrics.offloadedFetches.increment()
        let correlationId = ctx.correlationId
        let work = { @Sendable [self] () throws -> OffloadedRead in
            let outcome = readFetch(req, version: version, nonBlocking: false)!
            guard outcome.ready(minBytes: req.minBytes) || req.maxWaitMs <= 0 || isDraining || NIODeadline.now() >= deadline else {
                return .wait(outcome)
            }
            metrics.fetchedBytes.increment(by: outcome.bytes)
            return .answered(try frame(FetchRequest.self, outcome.response, version: version, correlationId: correlationId))
        }
        guard let ioThreads else {
            return ctx.eventLoop.makeCompletedFuture(Result { try work() })
        }
        return ioThreads.runIfActive(eventLoop: ctx.eventLoop, work)
    }

    /// Long-poll: wait on every partition of the request until data arrives or the deadline.
    private func park(_ req: FetchRequest, version: Int16, ctx: RequestContext, snapshot: FetchOutcome, deadline: NIODeadline,
                      promise: EventLoopPromise<ByteBuffer>) {
        let loop = ctx.eventLoop
        let box = TimeoutBox()
        let waiter = FetchWaiter { [self] in
            loop.execute {
                box.task?.cancel()
                for (p, _) in snapshot.watched { p.removeWaiter(box.waiter!) }
                guard let again = self.readFetch(req, version: version, nonBlocking: true) else {
                    self.readOffloaded(req, version: version, ctx: ctx, deadline: deadline).whenComplete { result in
                        switch result {
                        case .success(.answered(let frame)): promise.succeed(frame)
                        case .success(.wait(let outcome)):
                            self.park(req, version: version, ctx: ctx, snapshot: outcome, deadline: deadline, promise: promise)
                        case .failure(let error): promise.fail(error)
                        }
                    }
                    return
                }
                // A draining broker answers parked fetches at once instead of at their max wait.
                if again.ready(minBytes: req.minBytes) || NIODeadline.now() >= deadline || self.isDraining {
                    self.metrics.fetchedBytes.increment(by: again.bytes)
                    promise.completeWith(Result { try self.frame(FetchRequest.self, again.response, version: version,
                                                                 correlationId: ctx.correlationId) })
                } else {
                    self.park(req, version: version, ctx: ctx, snapshot: again, deadline: deadline, promise: promise)
                }
            }
        }
        box.waiter = waiter
        for (p, _) in snapshot.watched { p.addWaiter(waiter) }
        box.task = loop.scheduleTask(deadline: deadline) { waiter.wake() }
        // Data that arrived between the read and the registration must not be slept through.
        if snapshot.watched.contains(where: { $0.0.logEndOffset != $0.1 }) || isDraining { waiter.wake() }
    }

    final class TimeoutBox: @unchecked Sendable {
        var task: Scheduled<Void>?
        var waiter: FetchWaiter?
    }

    /// Reads every partition of the request. `nonBlocking`: from the page cache only; nil as
    /// soon as some partition would have to wait for the disk (the caller then reads on an I/O
    /// thread; what was read here is simply read again).
    func readFetch(_ req: FetchRequest, version: Int16, nonBlocking: Bool) -> FetchOutcome? {
        var response = FetchResponse()
        var remaining = Int(req.maxBytes <= 0 ? Int32.max : req.maxBytes)
        var total = 0
        var hasError = false
        var watched: [(PartitionState, Int64)] = []
        var firstData = true
        let readCommitted = req.isolationLevel == 1
        for t in req.topics {
            var rt = FetchResponse.Topic()
            rt.topic = t.topic
            rt.topicId = t.topicId
            let topic = version >= 13 ? topics.topic(id: t.topicId) : topics.topic(named: t.topic)
            for p in t.partitions {
                var rp = FetchResponse.Partition()
                rp.partitionIndex = p.partition
                // Never null, even with an error: librdkafka rejects a null record set as a
                // protocol error and never sees the partition's error code.
                rp.records = ByteBuffer()
                guard let topic, let partition = topic.partition(p.partition) else {
                    rp.errorCode = (version >= 13 && topic == nil ? ErrorCode.unknownTopicId : .unknownTopicOrPartition).rawValue
                    hasError = true
                    rt.partitions.append(rp)
                    continue
                }
                let (start, leo, stable) = partition.log.offsets
                rp.highWatermark = leo
                rp.lastStableOffset = stable
                rp.logStartOffset = start
                rp.abortedTransactions = version >= 4 && readCommitted ? [] : nil
                // read_committed: nothing at or after the last stable offset (an open transaction).
                let readEnd = readCommitted ? stable : leo
                if p.fetchOffset == leo || (readCommitted && p.fetchOffset >= readEnd && p.fetchOffset <= leo) || remaining <= 0 && !firstData {
                    rp.records = ByteBuffer()
                    watched.append((partition, leo))
                } else {
                    // Kafka's rule: the first partition with data returns at least one whole batch,
                    // whatever the limits, so a consumer can always make progress.
                    let limit = firstData ? max(1, min(Int(p.partitionMaxBytes), remaining)) : min(Int(p.partitionMaxBytes), remaining)
                    do {
                        // pread straight into the response's buffer (no intermediate array).
                        var buf = allocator.buffer(capacity: 0)
                        let read = try partition.log.read(from: p.fetchOffset, maxBytes: limit, nonBlocking: nonBlocking,
                                                          readCommitted: readCommitted) { count, fill in
                            try buf.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { try fill($0) }
                        }
                        rp.highWatermark = read.highWatermark
                        rp.lastStableOffset = read.lastStableOffset
                        if readCommitted && version >= 4 {
                            rp.abortedTransactions = read.abortedTransactions.map { a in
                                var t = FetchResponse.AbortedTransaction()
                                t.producerId = a.producerId
                                t.firstOffset = a.firstOffset
                                return t
                            }
                        }
                        rp.logStartOffset = read.logStartOffset
                        rp.records = buf
                        total += buf.readableBytes
                        remaining -= buf.readableBytes
                        if buf.readableBytes > 0 { firstData = false }
                        watched.append((partition, read.highWatermark))
                    } catch LogError.wouldBlock {
                        return nil
                    } catch LogError.offsetOutOfRange {
                        rp.errorCode = ErrorCode.offsetOutOfRange.rawValue
                        hasError = true
                    } catch {
                        rp.errorCode = ErrorCode.kafkaStorageError.rawValue
                        hasError = true
                    }
                }
                rt.partitions.append(rp)
            }
            response.topics.append(rt)
        }
        return FetchOutcome(response: response, bytes: total, hasError: hasError, watched: watched)
    }
}
