import Definitions
import KafkaProtocol

extension RequestDispatcher {
    func metadata(_ req: MetadataRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<MetadataResponse> {
        var r = MetadataResponse()
        let adv = config.advertised
        r.brokers = [MetadataResponse.Broker(nodeId: config.nodeId, host: adv.host, port: Int32(adv.port))]
        r.clusterId = clusterId
        r.controllerId = config.nodeId

        // v0 sends an empty list for "all topics"; v1+ sends null.
        let wanted: [MetadataRequest.Topic]? = (version == 0 && req.topics?.isEmpty == true) ? nil : req.topics
        guard let wanted else {
            r.topics = topics.allTopics.map { describe($0) }
            return .now(r)
        }
        for t in wanted {
            if let name = t.name {
                if let topic = topics.topic(named: name) {
                    r.topics.append(describe(topic))
                    continue
                }
                // Auto-creation, as Kafka does when a client asks for a topic that is not there.
                let allowed = (version < 4 || req.allowAutoTopicCreation) && config.autoCreateTopics
                if allowed, TopicName.validationError(name) == nil,
                   let created = try? topics.create(name: name, partitions: config.defaultPartitions, configs: [:]) {
                    // Our partitions are usable at once, so no LEADER_NOT_AVAILABLE round trip.
                    r.topics.append(describe(created))
                    continue
                }
                var missing = MetadataResponse.Topic()
                missing.name = name
                missing.errorCode = (TopicName.validationError(name) == nil ? ErrorCode.unknownTopicOrPartition : .invalidTopicException).rawValue
                r.topics.append(missing)
            } else if let topic = topics.topic(id: t.topicId) {
                r.topics.append(describe(topic))
            } else {
                var missing = MetadataResponse.Topic()
                missing.name = nil
                missing.topicId = t.topicId
                missing.errorCode = ErrorCode.unknownTopicId.rawValue
                r.topics.append(missing)
            }
        }
        return .now(r)
    }

    func describe(_ topic: Topic) -> MetadataResponse.Topic {
        var t = MetadataResponse.Topic()
        t.name = topic.name
        t.topicId = topic.id
        t.isInternal = topic.isInternal
        t.partitions = topic.partitions.map { p in
            var mp = MetadataResponse.Partition()
            mp.partitionIndex = p.index
            mp.leaderId = config.nodeId
            mp.leaderEpoch = 0
            mp.replicaNodes = [config.nodeId]
            mp.isrNodes = [config.nodeId]
            return mp
        }
        return t
    }
}
