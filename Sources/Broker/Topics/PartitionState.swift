import Foundation
import KafkaProtocol
import Logging
import LogStore
import NIOConcurrencyHelpers
import NIOCore

/// One partition as the broker sees it: its log plus the fetches long-polling on it.
final class PartitionState: @unchecked Sendable {
    let topic: String
    let index: Int32
    let log: PartitionLog
    private let waitersLock = NIOLock()
    private var waiters: [ObjectIdentifier: FetchWaiter] = [:]

    init(topic: String, index: Int32, log: PartitionLog) {
        self.topic = topic
        self.index = index
        self.log = log
    }

    var logEndOffset: Int64 { log.logEndOffset }
    var logStartOffset: Int64 { log.logStartOffset }

    func addWaiter(_ w: FetchWaiter) {
        waitersLock.withLock { waiters[ObjectIdentifier(w)] = w }
    }

    func removeWaiter(_ w: FetchWaiter) {
        waitersLock.withLock { _ = waiters.removeValue(forKey: ObjectIdentifier(w)) }
    }

    /// New data arrived: wake every fetch waiting on this partition.
    func notifyAppended() {
        let woken: [FetchWaiter] = waitersLock.withLock {
            guard !waiters.isEmpty else { return [] }
            let w = Array(waiters.values)
            waiters.removeAll()
            return w
        }
        for w in woken { w.wake() }
    }
}

/// A fetch parked until data arrives or its max wait passes.
final class FetchWaiter: @unchecked Sendable {
    private let lock = NIOLock()
    private var woken = false
    private let onWake: @Sendable () -> Void

    init(onWake: @escaping @Sendable () -> Void) {
        self.onWake = onWake
    }

    /// Fires `onWake` at most once.
    func wake() {
        let first = lock.withLock { () -> Bool in
            if woken { return false }
            woken = true
            return true
        }
        if first { onWake() }
    }
}
