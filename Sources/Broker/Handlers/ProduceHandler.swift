import KafkaProtocol
import LogStore
import NIOCore

extension RequestDispatcher {
    func produce(_ req: ProduceRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<ProduceResponse> {
        var response = ProduceResponse()
        // Partitions waiting for fsync (acks=all): (topic index, partition index, future of an error code).
        var pending: [(Int, Int, EventLoopFuture<ErrorCode>)] = []
        let acks = req.acks
        let now = Self.nowMs()
        if let tid = req.transactionalId, !tid.isEmpty {
            guard let transactions else {
                return .now(Self.failAll(req, .transactionalIdAuthorizationFailed, "transactions are not enabled"))
            }
            // The appends run while no transaction can end, so none lands after its marker.
            transactions.whileVerifying(tid) { verify in
                withoutActuallyEscaping(verify) { verify in
                    appendAll(req, version: version, now: now, ctx: ctx, verify: verify, into: &response, pending: &pending)
                }
            }
        } else {
            appendAll(req, version: version, now: now, ctx: ctx, verify: nil, into: &response, pending: &pending)
        }

        if acks == 0 { return .none }
        if pending.isEmpty { return .now(response) }
        let futures = pending.map { $0.2 }
        let (answer, waits) = (response, pending)
        return .later(EventLoopFuture.whenAllSucceed(futures, on: ctx.eventLoop).map { codes in
            var r = answer
            for (i, code) in codes.enumerated() where code != .none {
                let (t, p, _) = waits[i]
                r.topics[t].partitions[p].errorCode = code.rawValue
                r.topics[t].partitions[p].baseOffset = -1
            }
            return r
        })
    }

    static func failAll(_ req: ProduceRequest, _ code: ErrorCode, _ message: String) -> ProduceResponse {
        var r = ProduceResponse()
        r.topics = req.topics.map { t in
            ProduceResponse.Topic(name: t.name, partitions: t.partitions.map { .init(index: $0.index, errorCode: code, errorMessage: message) })
        }
        return r
    }

    /// A transactional batch's check against its transaction (nil: not a transactional produce).
    typealias TransactionCheck = (_ producerId: Int64, _ epoch: Int16, _ partition: TopicPartitionKey) -> ErrorCode?

    private func appendAll(_ req: ProduceRequest, version: Int16, now: Int64, ctx: RequestContext, verify: TransactionCheck?,
                           into response: inout ProduceResponse, pending: inout [(Int, Int, EventLoopFuture<ErrorCode>)]) {
        let acks = req.acks
        for topicReq in req.topics {
            var topicResp = ProduceResponse.Topic(name: topicReq.name, partitions: [])
            let topic = topics.topic(named: topicReq.name)
            for p in topicReq.partitions {
                let result: ProduceResponse.Partition
                if version < 3 {
                    result = .init(index: p.index, errorCode: .unsupportedVersion, errorMessage: "produce v\(version) (message format v0/v1) is not supported")
                } else if acks != 0 && acks != 1 && acks != -1 {
                    result = .init(index: p.index, errorCode: .invalidRequiredAcks)
                } else if let topic, let partition = topic.partition(p.index) {
                    let (r, lastOffset) = append(p.records, to: partition, topic: topic, now: now, ctx: ctx, verify: verify)
                    result = r
                    if acks == -1, r.errorCode == 0, let lastOffset {
                        let promise = ctx.eventLoop.makePromise(of: ErrorCode.self)
                        partition.log.flush(upTo: lastOffset) { error in
                            if let error {
                                ctx.logger.error("fsync failed", metadata: ["partition": "\(topic.name)-\(p.index)", "error": "\(error)"])
                                promise.succeed(.kafkaStorageError)
                            } else {
                                promise.succeed(.none)
                            }
                        }
                        pending.append((response.topics.count, topicResp.partitions.count, promise.futureResult))
                    }
                } else {
                    result = .init(index: p.index, errorCode: .unknownTopicOrPartition)
                }
                topicResp.partitions.append(result)
            }
            response.topics.append(topicResp)
        }
    }

    /// Validates and appends one partition's records; returns the answer and the last offset written.
    private func append(_ records: ByteBuffer?, to partition: PartitionState, topic: Topic, now: Int64,
                        ctx: RequestContext, verify: TransactionCheck?) -> (ProduceResponse.Partition, Int64?) {
        let index = partition.index
        guard var records, records.readableBytes > 0 else {
            return (.init(index: index, errorCode: .invalidRecord, errorMessage: "no records"), nil)
        }
        let config = topic.config
        var batches: [ValidatedBatch]
        do {
            batches = try BatchValidator.validate(records, maxBatchBytes: config.maxMessageBytes)
            if config.compact {
                // Kafka fails the whole batch and names each keyless record (ProduceResponse v8+).
                var missing: [ProduceResponse.RecordError] = []
                var offset: Int32 = 0
                for b in batches {
                    for i in try BatchValidator.recordsWithoutKey(records, b) {
                        missing.append(.init(batchIndex: offset + i, message: "record \(offset + i) has no key"))
                    }
                    offset += b.header.recordCount
                }
                if !missing.isEmpty {
                    metrics.rejectedBatches.increment()
                    var r = ProduceResponse.Partition(index: index, errorCode: .invalidRecord,
                                                      errorMessage: "Compacted topic cannot accept message without key in topic partition \(topic.name)-\(index).")
                    r.recordErrors = missing
                    return (r, nil)
                }
            }
            if let refusal = Self.transactionRefusal(batches, TopicPartitionKey(topic: topic.name, partition: index), verify) {
                metrics.rejectedBatches.increment()
                return (.init(index: index, errorCode: refusal.0, errorMessage: refusal.1), nil)
            }
            if let codec = config.storedCompression {
                (records, batches) = try BatchValidator.recompress(records, batches, to: codec, level: config.compressionLevel)
            }
        } catch {
            metrics.rejectedBatches.increment()
            ctx.logger.info("rejected produce", metadata: ["partition": "\(topic.name)-\(index)", "error": "\(error.message)"])
            return (.init(index: index, errorCode: error.code, errorMessage: error.message), nil)
        }
        var logAppendTime: Int64 = -1
        if config.logAppendTime {
            logAppendTime = now
            for b in batches { BatchValidator.stampLogAppendTime(&records, batchAt: b.position, now: now) }
        } else {
            for b in batches {
                let ts = b.header.maxTimestamp
                if ts >= 0 && (ts > now &+ config.timestampAfterMaxMs || (config.timestampBeforeMaxMs < now && ts < now - config.timestampBeforeMaxMs)) {
                    return (.init(index: index, errorCode: .invalidTimestamp,
                                  errorMessage: "timestamp \(ts) is outside the allowed range around \(now)"), nil)
                }
            }
        }
        do {
            let outcome = try records.withUnsafeReadableBytes { try partition.log.append(validated: batches, in: $0) }
            switch outcome {
            case .appended(let first, let last):
                partition.notifyAppended()
                metrics.producedRecords.increment(by: batches.reduce(0) { $0 + Int($1.header.recordCount) })
                metrics.producedBytes.increment(by: records.readableBytes)
                return (.init(index: index, errorCode: .none, baseOffset: first, logAppendTimeMs: logAppendTime,
                              logStartOffset: partition.logStartOffset), last)
            case .duplicate(let first, let last):
                // Kafka answers a retried batch with its original offsets and appends nothing.
                return (.init(index: index, errorCode: .none, baseOffset: first, logAppendTimeMs: logAppendTime,
                              logStartOffset: partition.logStartOffset), last)
            }
        } catch let e as LogError {
            let code: ErrorCode
            switch e {
            case .outOfOrderSequence: code = .outOfOrderSequenceNumber
            case .invalidProducerEpoch: code = .invalidProducerEpoch
            case .invalidTxnState: code = .invalidTxnState
            case .invalidBatch: code = .corruptMessage
            // Kafka's RecordBatchTooLargeException: not retriable (a retry is just as large).
            case .recordSetTooLarge: code = .recordListTooLarge
            default: code = .kafkaStorageError
            }
            if code == .kafkaStorageError {
                ctx.logger.error("append failed", metadata: ["partition": "\(topic.name)-\(index)", "error": "\(e)"])
            }
            return (.init(index: index, errorCode: code, errorMessage: "\(e)"), nil)
        } catch {
            ctx.logger.error("append failed", metadata: ["partition": "\(topic.name)-\(index)", "error": "\(error)"])
            return (.init(index: index, errorCode: .kafkaStorageError, errorMessage: "\(error)"), nil)
        }
    }

    /// Why the batches may not be written as this produce's transaction asks (nil: they may).
    /// A transactional produce carries only transactional batches, of the transaction's
    /// current producer, to partitions added to it; any other produce carries none.
    static func transactionRefusal(_ batches: [ValidatedBatch], _ tp: TopicPartitionKey, _ verify: TransactionCheck?) -> (ErrorCode, String)? {
        guard let verify else {
            if batches.contains(where: { $0.header.isTransactional }) {
                return (.invalidRecord, "transactional batches need a transactional id in the produce request")
            }
            return nil
        }
        for b in batches {
            guard b.header.isTransactional else {
                return (.invalidRecord, "a transactional produce may only carry transactional batches")
            }
            if let e = verify(b.header.producerId, b.header.producerEpoch, tp) {
                return (e, "producer \(b.header.producerId) epoch \(b.header.producerEpoch) may not write \(tp.topic)-\(tp.partition) now: \(e)")
            }
        }
        return nil
    }
}
