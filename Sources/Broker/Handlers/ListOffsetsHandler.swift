import KafkaProtocol
import LogStore
import NIOCore

extension RequestDispatcher {
    func listOffsets(_ req: ListOffsetsRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<ListOffsetsResponse> {
        // Time lookups read (possibly cold) segments: off the event loop.
        let readsLog = req.topics.contains { $0.partitions.contains { $0.timestamp >= 0 || $0.timestamp == ListOffsetsRequest.maxTimestamp } }
        if readsLog, let ioThreads {
            return .later(ioThreads.runIfActive(eventLoop: ctx.eventLoop) { [self] in listOffsetsNow(req, ctx) })
        }
        return .now(listOffsetsNow(req, ctx))
    }

    func listOffsetsNow(_ req: ListOffsetsRequest, _ ctx: RequestContext) -> ListOffsetsResponse {
        var r = ListOffsetsResponse()
        for t in req.topics {
            var rt = ListOffsetsResponse.Topic()
            rt.name = t.name
            let topic = topics.topic(named: t.name)
            for p in t.partitions {
                var rp = ListOffsetsResponse.Partition()
                rp.partitionIndex = p.partitionIndex
                guard let partition = topic?.partition(p.partitionIndex) else {
                    rp.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                    rt.partitions.append(rp)
                    continue
                }
                rp.leaderEpoch = 0
                do {
                    switch p.timestamp {
                    case ListOffsetsRequest.latestTimestamp:
                        // read_committed consumers start at the end of what they may read.
                        rp.offset = req.isolationLevel == 1 ? partition.log.lastStableOffset : partition.logEndOffset
                    case ListOffsetsRequest.earliestTimestamp, -4 /* earliest-local (tiered storage) */:
                        rp.offset = partition.logStartOffset
                    case ListOffsetsRequest.maxTimestamp:
                        if let m = try maxTimestampRecord(in: partition) {
                            rp.offset = m.0
                            rp.timestamp = m.1
                        }
                    case let ts where ts >= 0:
                        if let (offset, stamp) = try offsetForTimestamp(ts, in: partition) {
                            rp.offset = offset
                            rp.timestamp = stamp
                        }
                    default:
                        rp.errorCode = ErrorCode.invalidRequest.rawValue
                    }
                } catch {
                    ctx.logger.warning("ListOffsets failed", metadata: ["error": "\(error)"])
                    rp.errorCode = ErrorCode.kafkaStorageError.rawValue
                }
                rt.partitions.append(rp)
            }
            r.topics.append(rt)
        }
        return r
    }

    /// Time travel: the first record whose timestamp is at least `ts`. The log's time index
    /// finds the first batch whose max timestamp reaches `ts`; its records are decoded
    /// (decompressed if needed) to find the exact record, as Kafka does.
    func offsetForTimestamp(_ ts: Int64, in partition: PartitionState) throws -> (Int64, Int64)? {
        guard let lookup = try partition.log.offsetForTimestamp(ts) else { return nil }
        let buf = ByteBuffer(bytes: lookup.batch)
        var found: (Int64, Int64)? = nil
        try RecordBatch.forEachBatch(in: buf) { header, batch in
            guard found == nil, !header.isControl else { return }
            if header.isLogAppendTime {
                if header.maxTimestamp >= ts { found = (header.baseOffset, header.maxTimestamp) }
                return
            }
            for rec in try RecordBatch.records(ofBatch: batch, header: header) where rec.timestamp >= ts {
                found = (rec.offset, rec.timestamp)
                return
            }
        }
        return found ?? (lookup.baseOffset, lookup.maxTimestamp)
    }

    /// KIP-734: the offset of the record carrying the largest timestamp (the log tracks it per
    /// batch; the batch is decoded to find the record).
    func maxTimestampRecord(in partition: PartitionState) throws -> (Int64, Int64)? {
        guard let m = partition.log.maxTimestampOffset() else { return nil }
        let read = try partition.log.read(from: m.offset, maxBytes: 1)
        var found: (Int64, Int64)? = nil
        try RecordBatch.forEachBatch(in: ByteBuffer(bytes: read.records)) { header, batch in
            guard found == nil, header.baseOffset <= m.offset, m.offset <= header.lastOffset else { return }
            if header.isLogAppendTime {
                found = (header.baseOffset, header.maxTimestamp)
                return
            }
            found = try RecordBatch.records(ofBatch: batch, header: header).first { $0.timestamp == header.maxTimestamp }.map { ($0.offset, $0.timestamp) }
        }
        return found ?? (m.offset, m.timestamp)
    }
}
