import Synchronization

/// A value behind a mutex (small, rarely contended state shared between tasks).
final class Locked<T: Sendable>: Sendable {
    let m: Mutex<T>
    init(_ v: T) { m = Mutex(v) }
    func withLock<R>(_ body: (inout T) -> R) -> R { m.withLock { body(&$0) } }
}
