import DequeModule
import Synchronization

/// A bounded queue between two tasks of a worker (the source reader and the processor): the
/// sender waits while it is full — back-pressure from the operators to the consumer — and the
/// receiver can wait with a deadline (time must advance while no data comes).
final class BoundedChannel<Element: Sendable>: Sendable {
    struct State {
        var buffer = Deque<Element>()
        var receiver: CheckedContinuation<Element?, Never>? = nil
        var receiverID = 0
        var senders: [CheckedContinuation<Bool, Never>] = []
        var closed = false
    }

    enum SendStep { case done(Bool), wait }

    let capacity: Int
    let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    /// Queues an element, waiting while the channel is full. False when the channel is closed.
    func send(_ e: Element) async -> Bool {
        while true {
            let step: SendStep = state.withLock { s in
                if s.closed { return .done(false) }
                if let r = s.receiver {
                    s.receiver = nil
                    r.resume(returning: e)
                    return .done(true)
                }
                if s.buffer.count < capacity {
                    s.buffer.append(e)
                    return .done(true)
                }
                return .wait
            }
            switch step {
            case .done(let ok): return ok
            case .wait:
                let open = await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
                    let resumeNow: Bool? = state.withLock { s in
                        if s.closed { return false }
                        if s.buffer.count < capacity { return true }
                        s.senders.append(c)
                        return nil
                    }
                    if let r = resumeNow { c.resume(returning: r) }
                }
                if !open { return false }
            }
        }
    }

    /// The next element; nil at the deadline (or when closed and empty).
    func receive(until deadline: ContinuousClock.Instant) async -> Element? {
        if let e = tryReceive() { return e }
        let id: Int = state.withLock { s in s.receiverID += 1; return s.receiverID }
        return await withTaskGroup(of: Void.self) { group -> Element? in
            let result: Element? = await withCheckedContinuation { (c: CheckedContinuation<Element?, Never>) in
                let now: (Element?, Bool) = state.withLock { s in
                    if let e = s.buffer.popFirst() {
                        Self.wakeSender(&s)
                        return (e, true)
                    }
                    if s.closed { return (nil, true) }
                    s.receiver = c
                    return (nil, false)
                }
                if now.1 {
                    c.resume(returning: now.0)
                    return
                }
                group.addTask { [self] in
                    try? await Task.sleep(until: deadline)
                    let c: CheckedContinuation<Element?, Never>? = state.withLock { s in
                        guard s.receiverID == id, let c = s.receiver else { return nil }
                        s.receiver = nil
                        return c
                    }
                    c?.resume(returning: nil)
                }
            }
            group.cancelAll()
            return result
        }
    }

    func tryReceive() -> Element? {
        state.withLock { s in
            guard let e = s.buffer.popFirst() else { return nil }
            Self.wakeSender(&s)
            return e
        }
    }

    private static func wakeSender(_ s: inout State) {
        if !s.senders.isEmpty { s.senders.removeFirst().resume(returning: true) }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    func close() {
        let (r, ss): (CheckedContinuation<Element?, Never>?, [CheckedContinuation<Bool, Never>]) = state.withLock { s in
            s.closed = true
            let r = s.receiver
            s.receiver = nil
            let ss = s.senders
            s.senders = []
            return (r, ss)
        }
        r?.resume(returning: nil)
        for c in ss { c.resume(returning: false) }
    }
}
