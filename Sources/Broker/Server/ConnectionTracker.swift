import NIOConcurrencyHelpers
import NIOCore

/// The broker's open client connections, so that a graceful shutdown can ask each one to
/// answer what it has read and close, wait for that, and close whatever is left when time is up.
final class ConnectionTracker: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var draining = false
    }
    private let state = NIOLockedValueBox(State())
    private let emptied = OneShot<Void>()

    var count: Int { state.withLockedValue { $0.channels.count } }

    /// Called from the child channel initializer, before the connection reads anything.
    func add(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        let draining = state.withLockedValue { s in
            s.channels[id] = channel
            return s.draining
        }
        channel.closeFuture.whenComplete { _ in self.remove(id) }
        // Accepted while the listener was closing: it gets the same treatment as the others.
        if draining { Self.quiesce(channel) }
    }

    private func remove(_ id: ObjectIdentifier) {
        let nowEmpty = state.withLockedValue { s in
            s.channels[id] = nil
            return s.draining && s.channels.isEmpty
        }
        if nowEmpty { emptied.succeed(()) }
    }

    /// Asks every connection to stop reading, finish its in-flight requests and close.
    func drain() {
        let (channels, empty) = state.withLockedValue { s in
            s.draining = true
            return (Array(s.channels.values), s.channels.isEmpty)
        }
        if empty { emptied.succeed(()) }
        for c in channels { Self.quiesce(c) }
    }

    /// True once every connection has closed, false if `timeout` passed first (or the task was cancelled).
    func closed(within timeout: Duration) async -> Bool {
        if emptied.isFulfilled { return true }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await self.emptied.value()) != nil }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Closes every connection now, in-flight requests or not.
    func closeAll() {
        for c in state.withLockedValue({ Array($0.channels.values) }) { c.close(promise: nil) }
    }

    private static func quiesce(_ channel: any Channel) {
        channel.eventLoop.execute { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
    }
}
