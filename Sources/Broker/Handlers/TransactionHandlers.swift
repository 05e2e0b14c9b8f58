import KafkaProtocol
import LogStore
import NIOConcurrencyHelpers
import NIOCore

/// Transaction APIs: AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn,
/// DescribeTransactions, ListTransactions and DescribeProducers (InitProducerId, shared with
/// idempotent producers, is in its own file). The state lives in `TransactionCoordinator`.
extension RequestDispatcher {
    func serveTransactions(_ key: ApiKey, _ header: RequestHeader, _ body: ByteBuffer, _ ctx: RequestContext) -> DispatchResult? {
        switch key {
        case .describeProducers: return serve(DescribeProducersRequest.self, header, body, ctx) { req, _, _ in .now(self.describeProducers(req)) }
        default: break
        }
        guard let transactions else { return nil }
        switch key {
        case .addPartitionsToTxn:
            return serve(AddPartitionsToTxnRequest.self, header, body, ctx) { req, v, ctx in self.addPartitionsToTxn(transactions, req, v, ctx) }
        case .addOffsetsToTxn:
            return serve(AddOffsetsToTxnRequest.self, header, body, ctx) { req, v, ctx in self.addOffsetsToTxn(transactions, req, v, ctx) }
        case .txnOffsetCommit:
            return serve(TxnOffsetCommitRequest.self, header, body, ctx) { req, v, ctx in self.txnOffsetCommit(transactions, req, v, ctx) }
        case .endTxn:
            return serve(EndTxnRequest.self, header, body, ctx) { req, v, ctx in self.endTxn(transactions, req, v, ctx) }
        case .describeTransactions:
            return serve(DescribeTransactionsRequest.self, header, body, ctx) { req, _, _ in .now(self.describeTransactions(transactions, req)) }
        case .listTransactions:
            return serve(ListTransactionsRequest.self, header, body, ctx) { req, v, _ in .now(self.listTransactions(transactions, req, v)) }
        default: return nil
        }
    }

    /// KIP-588 added PRODUCER_FENCED; clients of older versions know it as INVALID_PRODUCER_EPOCH.
    static func fenced(_ e: ErrorCode, version: Int16, since: Int16) -> ErrorCode {
        e == .producerFenced && version < since ? .invalidProducerEpoch : e
    }

    /// A reply filled in later by a completion closure (which may run on any thread).
    func later<R: Sendable>(_ ctx: RequestContext, _ start: (@escaping @Sendable (R) -> Void) -> Void) -> Reply<R> {
        let promise = ctx.eventLoop.makePromise(of: R.self)
        start { promise.succeed($0) }
        return .later(promise.futureResult)
    }

    func addPartitionsToTxn(_ tc: TransactionCoordinator, _ req: AddPartitionsToTxnRequest, _ version: Int16,
                            _ ctx: RequestContext) -> Reply<AddPartitionsToTxnResponse> {
        let txns = req.requestedTransactions(version: version)
        if version < 4, txns.isEmpty { return .now(AddPartitionsToTxnResponse()) }
        let promise = ctx.eventLoop.makePromise(of: AddPartitionsToTxnResponse.self)
        let results = NIOLockedValueBox([AddPartitionsToTxnResponse.TransactionResult?](repeating: nil, count: txns.count))
        let left = NIOLockedValueBox(txns.count)
        @Sendable func finished() {
            let all = results.withLockedValue { $0.compactMap { $0 } }
            var r = AddPartitionsToTxnResponse()
            if version >= 4 { r.resultsByTransaction = all } else { r.resultsByTopic = all.first?.topicResults ?? [] }
            promise.succeed(r)
        }
        if txns.isEmpty { finished() }
        for (i, t) in txns.enumerated() {
            let tps = t.topics.flatMap { topic in topic.partitions.map { TopicPartitionKey(topic: topic.name, partition: $0) } }
            @Sendable func answer(_ codes: [TopicPartitionKey: ErrorCode]) {
                let topicResults = t.topics.map { topic in
                    AddPartitionsToTxnResponse.TopicResult(name: topic.name, resultsByPartition: topic.partitions.map { p in
                        let e = codes[TopicPartitionKey(topic: topic.name, partition: p)] ?? .none
                        return .init(partitionIndex: p, errorCode: Self.fenced(e, version: version, since: 2))
                    })
                }
                results.withLockedValue { $0[i] = .init(transactionalId: t.transactionalId, topicResults: topicResults) }
                if left.withLockedValue({ $0 -= 1; return $0 == 0 }) { finished() }
            }
            if t.verifyOnly {
                // Brokers' form (KIP-890): is each partition in the transaction?
                let codes = tc.whileVerifying(t.transactionalId) { verify in
                    Dictionary(tps.map { ($0, verify(t.producerId, t.producerEpoch, $0) ?? .none) }, uniquingKeysWith: { a, _ in a })
                }
                answer(codes)
            } else {
                tc.addPartitions(t.transactionalId, producerId: t.producerId, epoch: t.producerEpoch, partitions: tps, completion: answer)
            }
        }
        return .later(promise.futureResult)
    }

    func addOffsetsToTxn(_ tc: TransactionCoordinator, _ req: AddOffsetsToTxnRequest, _ version: Int16,
                         _ ctx: RequestContext) -> Reply<AddOffsetsToTxnResponse> {
        later(ctx) { done in
            tc.addOffsets(req.transactionalId, producerId: req.producerId, epoch: req.producerEpoch, groupId: req.groupId) { e in
                done(AddOffsetsToTxnResponse(errorCode: Self.fenced(e, version: version, since: 2)))
            }
        }
    }

    func txnOffsetCommit(_ tc: TransactionCoordinator, _ req: TxnOffsetCommitRequest, _ version: Int16,
                         _ ctx: RequestContext) -> Reply<TxnOffsetCommitResponse> {
        @Sendable func all(_ e: ErrorCode) -> TxnOffsetCommitResponse {
            var r = TxnOffsetCommitResponse()
            r.topics = req.topics.map { t in
                var rt = TxnOffsetCommitResponse.Topic()
                rt.name = t.name
                rt.partitions = t.partitions.map { p in
                    var rp = TxnOffsetCommitResponse.Partition()
                    rp.partitionIndex = p.partitionIndex
                    rp.errorCode = Self.fenced(e, version: version, since: 3).rawValue
                    return rp
                }
                return rt
            }
            return r
        }
        guard let groups else { return .now(all(.coordinatorNotAvailable)) }
        if let e = groups.validateTransactionalCommit(groupId: req.groupId, generationId: req.generationId, memberId: req.memberId,
                                                      instanceId: req.groupInstanceId) {
            return .now(all(e))
        }
        var offsets: [TopicPartitionKey: CommittedOffset] = [:]
        for t in req.topics {
            for p in t.partitions {
                if (p.committedMetadata?.utf8.count ?? 0) > groups.config.maxMetadataBytes { return .now(all(.offsetMetadataTooLarge)) }
                guard topics.topic(named: t.name)?.partition(p.partitionIndex) != nil else { return .now(all(.unknownTopicOrPartition)) }
                offsets[TopicPartitionKey(topic: t.name, partition: p.partitionIndex)] =
                    CommittedOffset(offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata ?? "")
            }
        }
        return later(ctx) { done in
            tc.commitOffsets(req.transactionalId, producerId: req.producerId, epoch: req.producerEpoch, groupId: req.groupId,
                             offsets: offsets) { e in done(all(e)) }
        }
    }

    func endTxn(_ tc: TransactionCoordinator, _ req: EndTxnRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<EndTxnResponse> {
        later(ctx) { done in
            tc.endTransaction(req.transactionalId, producerId: req.producerId, epoch: req.producerEpoch, commit: req.committed) { e in
                done(EndTxnResponse(errorCode: Self.fenced(e, version: version, since: 2)))
            }
        }
    }

    func describeTransactions(_ tc: TransactionCoordinator, _ req: DescribeTransactionsRequest) -> DescribeTransactionsResponse {
        var r = DescribeTransactionsResponse()
        r.transactionStates = req.transactionalIds.map { id in
            var s = DescribeTransactionsResponse.TransactionState()
            s.transactionalId = id
            if tc.isLoading {
                s.errorCode = ErrorCode.coordinatorLoadInProgress.rawValue
                return s
            }
            guard let m = tc.describe(id) else {
                s.errorCode = ErrorCode.transactionalIdNotFound.rawValue
                return s
            }
            s.transactionState = m.state.rawValue
            s.transactionTimeoutMs = m.timeoutMs
            s.transactionStartTimeMs = m.startTimestamp
            s.producerId = m.producerId
            s.producerEpoch = m.producerEpoch
            var byTopic: [String: [Int32]] = [:]
            for tp in m.partitions.sorted() { byTopic[tp.topic, default: []].append(tp.partition) }
            s.topics = byTopic.keys.sorted().map { name in
                var t = DescribeTransactionsResponse.Topic()
                t.topic = name
                t.partitions = byTopic[name]!
                return t
            }
            return s
        }
        return r
    }

    func listTransactions(_ tc: TransactionCoordinator, _ req: ListTransactionsRequest, _ version: Int16) -> ListTransactionsResponse {
        var r = ListTransactionsResponse()
        if tc.isLoading {
            r.errorCode = ErrorCode.coordinatorLoadInProgress.rawValue
            return r
        }
        let known = Set(TransactionState.allCases.map(\.rawValue))
        r.unknownStateFilters = req.stateFilters.filter { !known.contains($0) }
        let states = Set(req.stateFilters)
        let pids = Set(req.producerIdFilters)
        var pattern: Regex<AnyRegexOutput>?
        if version >= 2, let p = req.transactionalIdPattern, !p.isEmpty {
            guard let compiled = try? Regex(p) else {
                r.errorCode = ErrorCode.invalidRegularExpression.rawValue
                return r
            }
            pattern = compiled
        }
        let now = Self.nowMs()
        r.transactionStates = tc.all.filter { m in
            (states.isEmpty || states.contains(m.state.rawValue)) && (pids.isEmpty || pids.contains(m.producerId))
                && (version < 1 || req.durationFilter < 0 || (m.state == .ongoing && now - m.startTimestamp > req.durationFilter))
                && (pattern.map { (try? $0.wholeMatch(in: m.transactionalId)) != nil } ?? true)
        }.map { m in
            var s = ListTransactionsResponse.TransactionState()
            s.transactionalId = m.transactionalId
            s.producerId = m.producerId
            s.transactionState = m.state.rawValue
            return s
        }
        return r
    }

    /// DescribeProducers: each partition's active producers and the transaction each has open.
    func describeProducers(_ req: DescribeProducersRequest) -> DescribeProducersResponse {
        var r = DescribeProducersResponse()
        r.topics = req.topics.map { t in
            var rt = DescribeProducersResponse.Topic()
            rt.name = t.name
            rt.partitions = t.partitionIndexes.map { p in
                var rp = DescribeProducersResponse.Partition()
                rp.partitionIndex = p
                guard let partition = topics.topic(named: t.name)?.partition(p) else {
                    rp.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                    return rp
                }
                rp.activeProducers = partition.log.producerEntries.map { e in
                    var s = DescribeProducersResponse.ProducerState()
                    s.producerId = e.producerId
                    s.producerEpoch = Int32(e.producerEpoch)
                    s.lastSequence = e.lastSequence
                    s.lastTimestamp = e.lastTimestamp
                    s.currentTxnStartOffset = e.currentTxnFirstOffset ?? -1
                    return s
                }
                return rp
            }
            return rt
        }
        return r
    }
}
