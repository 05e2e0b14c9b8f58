import KafkaProtocol
import NIOCore

extension RequestDispatcher {
    /// Routes the consumer-group APIs to the group coordinator.
    func serveGroups(_ key: ApiKey, _ header: RequestHeader, _ body: ByteBuffer, _ ctx: RequestContext) -> DispatchResult? {
        nil
    }
}
