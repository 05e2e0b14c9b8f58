#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// A value guarded by a mutex. Used for the producer's hot path (appending records) where an
/// actor hop per record would cost more than the critical section itself.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init(_ value: Value) {
        self.value = value
        mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always)
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

/// A one-slot wake-up signal for a single background loop: `signal()` wakes the waiter (or
/// makes the next `wait` return at once); `wait(until:)` also returns at the deadline.
final class Wakeup: Sendable {
    private struct State {
        var signaled = false
        var waiter: CheckedContinuation<Void, Never>? = nil
        var generation: UInt64 = 0
    }
    private let state = Locked(State())
    private let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func signal() {
        let w: CheckedContinuation<Void, Never>? = state.withLock { s in
            if let w = s.waiter {
                s.waiter = nil
                s.generation &+= 1
                return w
            }
            s.signaled = true
            return nil
        }
        w?.resume()
    }

    func wait(until deadline: NIODeadline?) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let gen: UInt64? = state.withLock { s in
                if s.signaled {
                    s.signaled = false
                    return nil
                }
                s.waiter = c
                return s.generation
            }
            guard let gen else { c.resume(); return }
            if let deadline {
                eventLoop.scheduleTask(deadline: deadline) { [self] in
                    let w: CheckedContinuation<Void, Never>? = state.withLock { s in
                        guard s.generation == gen, let w = s.waiter else { return nil }
                        s.waiter = nil
                        s.generation &+= 1
                        return w
                    }
                    w?.resume()
                }
            }
        }
    }
}

/// A topic name and partition index.
public struct TopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
    public static func < (a: TopicPartition, b: TopicPartition) -> Bool {
        a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition
    }
    public var description: String { "\(topic)-\(partition)" }
}

/// A host and port ("host:port").
public struct BrokerAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
    /// Parses "host:port" (IPv6 in brackets: "[::1]:9092"); the port defaults to 9092.
    public init(parsing s: String) throws {
        let t = s.trimmingCharacters(in: " \t")
        guard !t.isEmpty else { throw KafkaError.invalidConfiguration("empty broker address") }
        if t.hasPrefix("["), let close = t.firstIndex(of: "]") {
            host = String(t[t.index(after: t.startIndex)..<close])
            let rest = t[t.index(after: close)...]
            if rest.hasPrefix(":") {
                guard let p = Int(rest.dropFirst()), (1...65535).contains(p) else { throw KafkaError.invalidConfiguration("bad port in \(s)") }
                port = p
            } else { port = 9092 }
            return
        }
        if let colon = t.lastIndex(of: ":") {
            host = String(t[..<colon])
            guard let p = Int(t[t.index(after: colon)...]), (1...65535).contains(p) else { throw KafkaError.invalidConfiguration("bad port in \(s)") }
            port = p
        } else {
            host = t
            port = 9092
        }
    }
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses a comma-separated bootstrap list.
    public static func parseList(_ s: String) throws -> [BrokerAddress] {
        let parts = s.split(separator: ",").map(String.init).filter { !$0.trimmingCharacters(in: " ").isEmpty }
        guard !parts.isEmpty else { throw KafkaError.invalidConfiguration("no bootstrap servers given") }
        return try parts.map { try BrokerAddress(parsing: $0) }
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

/// Milliseconds since the Unix epoch (record timestamps).
@inline(__always)
public func currentTimeMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
