import NIOConcurrencyHelpers

/// A result set once and awaited by any number of tasks: the broker's "listening", "stop
/// requested", "stopped" and "connections drained" moments. Waiting is cancellable, so a
/// waiter racing a timeout in a task group never holds the group open.
final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var result: Result<Value, any Error>?
        var waiters: [UInt64: CheckedContinuation<Value, any Error>] = [:]
        var nextWaiter: UInt64 = 0
    }
    private let state = NIOLockedValueBox(State())

    /// The first result wins; later ones are ignored.
    func fulfill(_ result: Result<Value, any Error>) {
        let waiters: [CheckedContinuation<Value, any Error>] = state.withLockedValue { s in
            guard s.result == nil else { return [] }
            s.result = result
            defer { s.waiters.removeAll() }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume(with: result) }
    }

    func succeed(_ value: Value) { fulfill(.success(value)) }

    var isFulfilled: Bool { state.withLockedValue { $0.result != nil } }

    /// The result, once there is one; throws `CancellationError` if the waiting task is cancelled first.
    func value() async throws -> Value {
        let id = state.withLockedValue { s in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Value, any Error>) in
                let now: Result<Value, any Error>? = state.withLockedValue { s in
                    if let r = s.result { return r }
                    // Cancelled before we registered: the cancellation handler found nothing to resume.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    s.waiters[id] = cont
                    return nil
                }
                if let now { cont.resume(with: now) }
            }
        } onCancel: {
            state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }
}
