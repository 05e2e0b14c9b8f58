import KafkaProtocol
import NIOCore

/// Topic administration: create/delete topics, add partitions, describe/alter configs,
/// describe the cluster and topic partitions.
extension RequestDispatcher {
    static let resourceTopic: Int8 = 2
    static let resourceBroker: Int8 = 4

    func serveAdmin(_ key: ApiKey, _ header: RequestHeader, _ body: ByteBuffer, _ ctx: RequestContext) -> DispatchResult? {
        switch key {
        case .createTopics: return serve(CreateTopicsRequest.self, header, body, ctx, createTopics)
        case .deleteTopics: return serve(DeleteTopicsRequest.self, header, body, ctx, deleteTopics)
        case .createPartitions: return serve(CreatePartitionsRequest.self, header, body, ctx, createPartitions)
        case .describeConfigs: return serve(DescribeConfigsRequest.self, header, body, ctx, describeConfigs)
        case .alterConfigs: return serve(AlterConfigsRequest.self, header, body, ctx, alterConfigs)
        case .incrementalAlterConfigs: return serve(IncrementalAlterConfigsRequest.self, header, body, ctx, incrementalAlterConfigs)
        case .describeCluster: return serve(DescribeClusterRequest.self, header, body, ctx, describeCluster)
        case .describeTopicPartitions: return serve(DescribeTopicPartitionsRequest.self, header, body, ctx, describeTopicPartitions)
        case .initProducerId: return serve(InitProducerIdRequest.self, header, body, ctx, initProducerId)
        default: return nil
        }
    }

    func createTopics(_ req: CreateTopicsRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<CreateTopicsResponse> {
        var r = CreateTopicsResponse()
        var seen = Set<String>()
        for t in req.topics {
            var rt = CreateTopicsResponse.Topic()
            rt.name = t.name
            defer { r.topics.append(rt) }
            if !seen.insert(t.name).inserted {
                rt.errorCode = ErrorCode.invalidRequest.rawValue
                rt.errorMessage = "topic '\(t.name)' appears more than once in the request"
                continue
            }
            if !t.assignments.isEmpty && t.numPartitions != -1 {
                rt.errorCode = ErrorCode.invalidRequest.rawValue
                rt.errorMessage = "give either numPartitions or replica assignments, not both"
                continue
            }
            if t.replicationFactor != -1 && t.replicationFactor != 1 {
                rt.errorCode = ErrorCode.invalidReplicationFactor.rawValue
                rt.errorMessage = "replication factor \(t.replicationFactor) is larger than the 1 broker available"
                continue
            }
            let partitions = !t.assignments.isEmpty ? Int32(t.assignments.count) : (t.numPartitions == -1 ? config.defaultPartitions : t.numPartitions)
            var configs: [String: String?] = [:]
            for c in t.configs { configs[c.name] = c.value }
            do {
                let created = try topics.create(name: t.name, partitions: partitions, configs: configs, validateOnly: req.validateOnly)
                rt.numPartitions = partitions
                rt.replicationFactor = 1
                if let created {
                    rt.topicId = created.id
                    rt.configs = describeTopicConfigs(created.config, keys: nil, synonyms: false, docs: false).map { c in
                        var cc = CreateTopicsResponse.Config()
                        cc.name = c.name
                        cc.value = c.value
                        cc.readOnly = c.readOnly
                        cc.configSource = c.configSource
                        cc.isSensitive = false
                        return cc
                    }
                }
            } catch {
                rt.errorCode = error.code.rawValue
                rt.errorMessage = error.message
            }
        }
        return .now(r)
    }

    func deleteTopics(_ req: DeleteTopicsRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<DeleteTopicsResponse> {
        var r = DeleteTopicsResponse()
        let targets: [(String?, KafkaUUID)] = version >= 6 ? req.topics.map { ($0.name, $0.topicId) } : req.topicNames.map { ($0, .zero) }
        for (name, id) in targets {
            var res = DeleteTopicsResponse.Result()
            res.name = name
            res.topicId = id
            let topic = name.flatMap { topics.topic(named: $0) } ?? (id != .zero ? topics.topic(id: id) : nil)
            if let topic {
                res.name = topic.name
                res.topicId = topic.id
                do { try topics.delete(name: topic.name) } catch {
                    res.errorCode = error.code.rawValue
                    res.errorMessage = error.message
                }
            } else {
                res.errorCode = (name == nil ? ErrorCode.unknownTopicId : .unknownTopicOrPartition).rawValue
                res.errorMessage = "topic does not exist"
            }
            r.responses.append(res)
        }
        return .now(r)
    }

    func createPartitions(_ req: CreatePartitionsRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<CreatePartitionsResponse> {
        var r = CreatePartitionsResponse()
        for t in req.topics {
            var res = CreatePartitionsResponse.Result()
            res.name = t.name
            do { try topics.addPartitions(name: t.name, totalCount: t.count, validateOnly: req.validateOnly) } catch {
                res.errorCode = error.code.rawValue
                res.errorMessage = error.message
            }
            r.results.append(res)
        }
        return .now(r)
    }

    func describeTopicConfigs(_ config: TopicConfig, keys: [String]?, synonyms: Bool, docs: Bool) -> [DescribeConfigsResponse.Config] {
        let names = keys ?? TopicConfig.keys.keys.sorted()
        return names.compactMap { name in
            guard let spec = TopicConfig.keys[name] else { return nil }
            var c = DescribeConfigsResponse.Config()
            c.name = name
            c.value = config.value(name)
            c.isDefault = config.isDefault(name)
            c.configSource = config.isDefault(name) ? 5 : 1  // DEFAULT_CONFIG or DYNAMIC_TOPIC_CONFIG
            c.configType = spec.type.rawValue
            if docs { c.documentation = spec.doc }
            if synonyms && !config.isDefault(name) {
                c.synonyms = [.init(name: name, value: config.value(name), source: 1)]
            }
            return c
        }
    }

    func brokerConfigs() -> [(String, String, Int8)] {
        let adv = config.advertised
        return [
            ("broker.id", "\(config.nodeId)", 3), ("node.id", "\(config.nodeId)", 3),
            ("log.dirs", config.dataDir, 7), ("num.partitions", "\(config.defaultPartitions)", 3),
            ("auto.create.topics.enable", "\(config.autoCreateTopics)", 1),
            ("socket.request.max.bytes", "\(config.maxRequestBytes)", 3),
            ("advertised.listeners", "PLAINTEXT://\(adv.host):\(adv.port)", 7),
            ("listeners", "PLAINTEXT://\(config.listenHost):\(config.listenPort)", 7),
            ("default.replication.factor", "1", 4), ("min.insync.replicas", "1", 3),
        ]
    }

    func describeConfigs(_ req: DescribeConfigsRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<DescribeConfigsResponse> {
        var r = DescribeConfigsResponse()
        for res in req.resources {
            var out = DescribeConfigsResponse.Result()
            out.resourceType = res.resourceType
            out.resourceName = res.resourceName
            switch res.resourceType {
            case Self.resourceTopic:
                if let t = topics.topic(named: res.resourceName) {
                    out.configs = describeTopicConfigs(t.config, keys: res.configurationKeys, synonyms: req.includeSynonyms, docs: req.includeDocumentation)
                } else {
                    out.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                    out.errorMessage = "topic '\(res.resourceName)' does not exist"
                }
            case Self.resourceBroker:
                if res.resourceName.isEmpty || res.resourceName == "\(config.nodeId)" {
                    out.configs = brokerConfigs().filter { res.configurationKeys?.contains($0.0) ?? true }.map { name, value, type in
                        var c = DescribeConfigsResponse.Config()
                        c.name = name
                        c.value = value
                        c.readOnly = true
                        c.configSource = 4  // STATIC_BROKER_CONFIG
                        c.configType = type
                        return c
                    }
                } else {
                    out.errorCode = ErrorCode.invalidRequest.rawValue
                    out.errorMessage = "unknown broker '\(res.resourceName)'"
                }
            default:
                out.errorCode = ErrorCode.invalidRequest.rawValue
                out.errorMessage = "unsupported resource type \(res.resourceType)"
            }
            r.results.append(out)
        }
        return .now(r)
    }

    func alterConfigs(_ req: AlterConfigsRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<AlterConfigsResponse> {
        var r = AlterConfigsResponse()
        r.responses = req.resources.map { res in
            // AlterConfigs replaces the whole set of overrides.
            alterTopicConfig(res.resourceType, res.resourceName, validateOnly: req.validateOnly) { c in
                c = TopicConfig()
                for kv in res.configs { if let p = c.set(kv.name, kv.value) { return p } }
                return nil
            }
        }
        return .now(r)
    }

    func incrementalAlterConfigs(_ req: IncrementalAlterConfigsRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<IncrementalAlterConfigsResponse> {
        var r = IncrementalAlterConfigsResponse()
        r.responses = req.resources.map { res in
            alterTopicConfig(res.resourceType, res.resourceName, validateOnly: req.validateOnly) { c in
                for op in res.configs {
                    if let problem = Self.apply(op, to: &c) { return problem }
                }
                return nil
            }
        }
        return .now(r)
    }

    /// One IncrementalAlterConfigs operation: SET, DELETE, or APPEND/SUBTRACT on list-typed keys.
    static func apply(_ op: IncrementalAlterConfigsRequest.Config, to c: inout TopicConfig) -> String? {
        switch op.configOperation {
        case 0: return c.set(op.name, op.value)
        case 1: return c.set(op.name, nil)
        case 2, 3:
            guard TopicConfig.keys[op.name]?.type == .list else { return "\(op.name) is not a list config" }
            var items = c.value(op.name).split(separator: ",").map(String.init)
            let given = (op.value ?? "").split(separator: ",").map(String.init)
            if op.configOperation == 2 { items += given.filter { !items.contains($0) } } else { items.removeAll { given.contains($0) } }
            return c.set(op.name, items.joined(separator: ","))
        default: return "unknown config operation \(op.configOperation)"
        }
    }

    /// Applies an edit to one topic's configs; broker resources are read-only.
    func alterTopicConfig(_ type: Int8, _ name: String, validateOnly: Bool, _ edit: (inout TopicConfig) -> String?) -> AlterConfigsResponse.Result {
        var out = AlterConfigsResponse.Result()
        out.resourceType = type
        out.resourceName = name
        guard type == Self.resourceTopic else {
            out.errorCode = ErrorCode.invalidRequest.rawValue
            out.errorMessage = "only topic configs can be altered; broker configs are static"
            return out
        }
        do {
            try topics.updateConfig(name: name, validateOnly: validateOnly, edit)
        } catch {
            out.errorCode = error.code.rawValue
            out.errorMessage = error.message
        }
        return out
    }

    func describeCluster(_ req: DescribeClusterRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<DescribeClusterResponse> {
        var r = DescribeClusterResponse()
        let adv = config.advertised
        r.clusterId = clusterId
        r.controllerId = config.nodeId
        r.endpointType = req.endpointType
        r.brokers = [DescribeClusterResponse.Broker(brokerId: config.nodeId, host: adv.host, port: Int32(adv.port), rack: nil)]
        return .now(r)
    }

    func describeTopicPartitions(_ req: DescribeTopicPartitionsRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<DescribeTopicPartitionsResponse> {
        var r = DescribeTopicPartitionsResponse()
        var names = req.topics.isEmpty ? topics.allTopics.map(\.name) : req.topics.map(\.name).sorted()
        if let cursor = req.cursor { names = names.filter { $0 >= cursor.topicName } }
        var budget = Int(max(1, req.responsePartitionLimit))
        for name in names {
            var out = DescribeTopicPartitionsResponse.Topic()
            out.name = name
            guard let t = topics.topic(named: name) else {
                out.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                r.topics.append(out)
                continue
            }
            out.topicId = t.id
            out.isInternal = t.isInternal
            let start = (req.cursor?.topicName == name) ? Int(req.cursor!.partitionIndex) : 0
            for p in t.partitions.dropFirst(start) {
                if budget == 0 {
                    r.nextCursor = .init(topicName: name, partitionIndex: p.index)
                    break
                }
                var dp = DescribeTopicPartitionsResponse.Partition()
                dp.partitionIndex = p.index
                dp.leaderId = config.nodeId
                dp.leaderEpoch = 0
                dp.replicaNodes = [config.nodeId]
                dp.isrNodes = [config.nodeId]
                dp.eligibleLeaderReplicas = []
                dp.lastKnownElr = []
                out.partitions.append(dp)
                budget -= 1
            }
            r.topics.append(out)
            if r.nextCursor != nil { break }
        }
        return .now(r)
    }
}
