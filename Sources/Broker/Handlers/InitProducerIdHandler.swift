import KafkaProtocol

extension RequestDispatcher {
    /// Idempotent producers (the Java client's default) get a fresh id, or — KIP-360, v3+ —
    /// the same id with a bumped epoch when they present their current one. Transactional
    /// producers get theirs from the transaction coordinator, which fences the id's previous
    /// producer (and aborts what it left open).
    func initProducerId(_ req: InitProducerIdRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<InitProducerIdResponse> {
        var r = InitProducerIdResponse()
        if let tid = req.transactionalId, !tid.isEmpty {
            guard let transactions else {
                r.errorCode = ErrorCode.transactionalIdAuthorizationFailed.rawValue
                ctx.logger.info("transactional producer refused: transactions are not enabled", metadata: ["transactional.id": "\(tid)"])
                return .now(r)
            }
            return later(ctx) { done in
                transactions.initProducerId(tid, timeoutMs: req.transactionTimeoutMs, producerId: req.producerId,
                                            epoch: req.producerEpoch) { e, pid, epoch in
                    done(InitProducerIdResponse(errorCode: Self.fenced(e, version: version, since: 4), producerId: pid, producerEpoch: epoch))
                }
            }
        }
        if req.producerId >= 0 && req.producerEpoch >= 0 && req.producerEpoch < Int16.max - 1 {
            r.producerId = req.producerId
            r.producerEpoch = req.producerEpoch + 1
            return .now(r)
        }
        do {
            r.producerId = try producerIds.nextProducerId()
            r.producerEpoch = 0
        } catch {
            ctx.logger.error("could not allocate a producer id", metadata: ["error": "\(error)"])
            r.errorCode = ErrorCode.kafkaStorageError.rawValue
        }
        return .now(r)
    }
}
