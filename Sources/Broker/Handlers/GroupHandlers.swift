import KafkaProtocol
import NIOCore

/// Consumer-group APIs: FindCoordinator, the classic group protocol (JoinGroup, SyncGroup,
/// Heartbeat, LeaveGroup), offsets (OffsetCommit, OffsetFetch, OffsetDelete) and group
/// administration (ListGroups, DescribeGroups, DeleteGroups). The state lives in `GroupCoordinator`.
extension RequestDispatcher {
    /// Routes the consumer-group APIs to the group coordinator.
    func serveGroups(_ key: ApiKey, _ header: RequestHeader, _ body: ByteBuffer, _ ctx: RequestContext) -> DispatchResult? {
        guard let groups else { return nil }
        let clientId = header.clientId ?? ""
        switch key {
        case .findCoordinator: return serve(FindCoordinatorRequest.self, header, body, ctx, findCoordinator)
        case .joinGroup:
            return serve(JoinGroupRequest.self, header, body, ctx) { req, v, ctx in self.joinGroup(groups, req, v, ctx, clientId: clientId) }
        case .syncGroup: return serve(SyncGroupRequest.self, header, body, ctx) { req, v, ctx in self.syncGroup(groups, req, v, ctx) }
        case .heartbeat: return serve(HeartbeatRequest.self, header, body, ctx) { req, v, _ in self.heartbeat(groups, req, v) }
        case .leaveGroup: return serve(LeaveGroupRequest.self, header, body, ctx) { req, v, _ in self.leaveGroup(groups, req, v) }
        case .offsetCommit: return serve(OffsetCommitRequest.self, header, body, ctx) { req, v, ctx in self.offsetCommit(groups, req, v, ctx) }
        case .offsetFetch: return serve(OffsetFetchRequest.self, header, body, ctx) { req, v, _ in self.offsetFetch(groups, req, v) }
        case .offsetDelete: return serve(OffsetDeleteRequest.self, header, body, ctx) { req, v, ctx in self.offsetDelete(groups, req, v, ctx) }
        case .listGroups: return serve(ListGroupsRequest.self, header, body, ctx) { req, _, _ in self.listGroups(groups, req) }
        case .describeGroups: return serve(DescribeGroupsRequest.self, header, body, ctx) { req, _, _ in self.describeGroups(groups, req) }
        case .deleteGroups: return serve(DeleteGroupsRequest.self, header, body, ctx) { req, v, ctx in self.deleteGroups(groups, req, ctx) }
        case .consumerGroupHeartbeat:
            return serve(ConsumerGroupHeartbeatRequest.self, header, body, ctx) { req, _, ctx in
                .now(groups.consumerGroupHeartbeat(req, clientId: clientId, clientHost: Self.clientHost(ctx), topics: self.groupTopics()))
            }
        case .consumerGroupDescribe:
            return serve(ConsumerGroupDescribeRequest.self, header, body, ctx) { req, _, _ in
                var r = ConsumerGroupDescribeResponse()
                r.groups = groups.consumerGroupDescribe(req.groupIds, topics: self.groupTopics())
                return .now(r)
            }
        default: return nil
        }
    }

    func findCoordinator(_ req: FindCoordinatorRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<FindCoordinatorResponse> {
        let adv = config.advertised
        var r = FindCoordinatorResponse()
        let supported = req.keyType == FindCoordinatorRequest.KeyType.group.rawValue || req.keyType == FindCoordinatorRequest.KeyType.transaction.rawValue
        if version >= 4 {
            r.coordinators = req.coordinatorKeys.map { key in
                supported
                    ? .init(key: key, nodeId: config.nodeId, host: adv.host, port: Int32(adv.port))
                    : .init(key: key, nodeId: -1, host: "", port: -1, errorCode: .invalidRequest, errorMessage: "unsupported key type \(req.keyType)")
            }
        } else if supported {
            r.nodeId = config.nodeId
            r.host = adv.host
            r.port = Int32(adv.port)
        } else {
            r.errorCode = ErrorCode.invalidRequest.rawValue
            r.errorMessage = "unsupported key type \(req.keyType)"
            r.nodeId = -1
            r.port = -1
        }
        return .now(r)
    }

    /// The topic manager as the group coordinator sees it (for the consumer protocol).
    func groupTopics() -> GroupTopics {
        let topics = self.topics
        func info(_ t: Topic) -> GroupTopicInfo {
            GroupTopicInfo(name: t.name, id: t.id, partitions: Int32(t.partitions.count), isInternal: t.isInternal)
        }
        return GroupTopics(byName: { topics.topic(named: $0).map(info) }, byId: { topics.topic(id: $0).map(info) },
                           all: { topics.allTopics.map(info) })
    }

    static func clientHost(_ ctx: RequestContext) -> String {
        guard let a = ctx.clientAddress else { return "" }
        return "/" + (a.ipAddress ?? "\(a)")
    }

    func joinGroup(_ groups: GroupCoordinator, _ req: JoinGroupRequest, _ version: Int16, _ ctx: RequestContext, clientId: String) -> Reply<JoinGroupResponse> {
        let p = JoinParams(groupId: req.groupId, memberId: req.memberId, groupInstanceId: req.groupInstanceId, clientId: clientId,
                           clientHost: Self.clientHost(ctx), sessionTimeoutMs: req.sessionTimeoutMs,
                           rebalanceTimeoutMs: version >= 1 && req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
                           protocolType: req.protocolType, protocols: req.protocols.map { ($0.name, $0.metadata) },
                           requireKnownMemberId: version >= 4, supportsSkipAssignment: version >= 9)
        let promise = ctx.eventLoop.makePromise(of: JoinGroupResponse.self)
        groups.join(p) { r in
            var r = r
            if version < 7 && r.protocolName == nil { r.protocolName = "" }
            promise.succeed(r)
        }
        return .later(promise.futureResult)
    }

    func syncGroup(_ groups: GroupCoordinator, _ req: SyncGroupRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<SyncGroupResponse> {
        let p = SyncParams(groupId: req.groupId, memberId: req.memberId, groupInstanceId: req.groupInstanceId, generationId: req.generationId,
                           protocolType: req.protocolType, protocolName: req.protocolName,
                           assignments: req.assignments.map { ($0.memberId, $0.assignment) })
        let promise = ctx.eventLoop.makePromise(of: SyncGroupResponse.self)
        groups.sync(p) { promise.succeed($0) }
        return .later(promise.futureResult)
    }

    func heartbeat(_ groups: GroupCoordinator, _ req: HeartbeatRequest, _ version: Int16) -> Reply<HeartbeatResponse> {
        .now(HeartbeatResponse(errorCode: groups.heartbeat(groupId: req.groupId, memberId: req.memberId,
                                                           instanceId: req.groupInstanceId, generationId: req.generationId)))
    }

    func leaveGroup(_ groups: GroupCoordinator, _ req: LeaveGroupRequest, _ version: Int16) -> Reply<LeaveGroupResponse> {
        let leaving = req.leavingMembers(version: version)
        let (error, results) = groups.leave(groupId: req.groupId, members: leaving.map { ($0.memberId, $0.groupInstanceId) })
        var r = LeaveGroupResponse()
        if version >= 3 {
            r.errorCode = error.rawValue
            r.members = results
        } else {
            r.errorCode = error != .none ? error.rawValue : (results.first?.errorCode ?? 0)
        }
        return .now(r)
    }

    func offsetCommit(_ groups: GroupCoordinator, _ req: OffsetCommitRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<OffsetCommitResponse> {
        let topics = req.topics.map { t in
            (name: t.name, partitions: t.partitions.map {
                CommitPartition(partition: $0.partitionIndex, offset: $0.committedOffset, leaderEpoch: $0.committedLeaderEpoch, metadata: $0.committedMetadata)
            })
        }
        let promise = ctx.eventLoop.makePromise(of: OffsetCommitResponse.self)
        groups.commitOffsets(groupId: req.groupId, generationId: version >= 1 ? req.generationIdOrMemberEpoch : -1,
                             memberId: version >= 1 ? req.memberId : "", instanceId: req.groupInstanceId, version: version,
                             topics: topics) { promise.succeed(OffsetCommitResponse(topics: $0)) }
        return .later(promise.futureResult)
    }

    func offsetFetch(_ groups: GroupCoordinator, _ req: OffsetFetchRequest, _ version: Int16) -> Reply<OffsetFetchResponse> {
        var r = OffsetFetchResponse()
        for g in req.requestedGroups(version: version) {
            let topics = g.topics.map { ts in ts.map { (name: $0.name, partitions: $0.partitionIndexes) } }
            var (error, result) = groups.fetchOffsets(groupId: g.groupId, topics: version >= 2 ? topics : (topics ?? []),
                                                      memberId: version >= 9 ? g.memberId : nil, memberEpoch: version >= 9 ? g.memberEpoch : -1)
            if version >= 7, req.requireStable, let transactions {
                // KIP-447: an offset an open transaction is about to commit is not stable yet; the
                // consumer retries rather than start from the older one.
                let pending = transactions.pendingOffsetPartitions(groupId: g.groupId)
                if !pending.isEmpty {
                    for ti in result.indices {
                        for pi in result[ti].partitions.indices
                        where pending.contains(TopicPartitionKey(topic: result[ti].name, partition: result[ti].partitions[pi].partitionIndex)) {
                            result[ti].partitions[pi].errorCode = ErrorCode.unstableOffsetCommit.rawValue
                            result[ti].partitions[pi].committedOffset = -1
                        }
                    }
                }
            }
            if version >= 8 {
                r.groups.append(OffsetFetchResponse.Group(groupId: g.groupId, topics: result, errorCode: error))
            } else {
                r.errorCode = error.rawValue
                r.topics = result
                if version < 2 && error != .none {
                    // v0–1 carry the error in every partition.
                    r.topics = (topics ?? []).map { t in
                        OffsetFetchResponse.Topic(name: t.name, partitions: t.partitions.map {
                            OffsetFetchResponse.Partition(partitionIndex: $0, committedOffset: -1, metadata: "", errorCode: error)
                        })
                    }
                }
            }
        }
        return .now(r)
    }

    func offsetDelete(_ groups: GroupCoordinator, _ req: OffsetDeleteRequest, _ version: Int16, _ ctx: RequestContext) -> Reply<OffsetDeleteResponse> {
        let promise = ctx.eventLoop.makePromise(of: OffsetDeleteResponse.self)
        groups.deleteOffsets(groupId: req.groupId, topics: req.topics.map { t in (t.name, t.partitions.map(\.partitionIndex)) }) { error, topics in
            var r = OffsetDeleteResponse()
            r.errorCode = error.rawValue
            r.topics = topics
            promise.succeed(r)
        }
        return .later(promise.futureResult)
    }

    func listGroups(_ groups: GroupCoordinator, _ req: ListGroupsRequest) -> Reply<ListGroupsResponse> {
        var r = ListGroupsResponse()
        r.groups = groups.listGroups(states: req.statesFilter, types: req.typesFilter)
        return .now(r)
    }

    func describeGroups(_ groups: GroupCoordinator, _ req: DescribeGroupsRequest) -> Reply<DescribeGroupsResponse> {
        var r = DescribeGroupsResponse()
        r.groups = groups.describe(req.groups)
        return .now(r)
    }

    func deleteGroups(_ groups: GroupCoordinator, _ req: DeleteGroupsRequest, _ ctx: RequestContext) -> Reply<DeleteGroupsResponse> {
        let promise = ctx.eventLoop.makePromise(of: DeleteGroupsResponse.self)
        groups.deleteGroups(req.groupsNames) { promise.succeed(DeleteGroupsResponse(results: $0)) }
        return .later(promise.futureResult)
    }
}
