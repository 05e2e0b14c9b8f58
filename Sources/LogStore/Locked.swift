import Foundation

/// A value guarded by a lock.
///
/// Used instead of `Synchronization.Mutex` because Mutex needs macOS 15 while the package
/// still declares macOS 14; on Linux both are a futex-backed pthread mutex underneath.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
