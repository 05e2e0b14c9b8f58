import Foundation
import NIOCore

/// Standard output written by a thread of its own: blocking `write(2)` calls (a slow pipe, a
/// terminal) never occupy one of Swift concurrency's few threads, which the client's tasks need.
/// Output is buffered; what is pending is written within 50 ms, or at once when 64 KiB are ready.
/// When the reader falls more than 8 MiB behind, `append` waits (back-pressure).
final class StdoutWriter: @unchecked Sendable {
    private let cond = NSCondition()
    private var current: ByteBuffer
    private var queue: [ByteBuffer] = []
    private var queuedBytes = 0
    private var writing = false
    private var closed = false
    private let fd: Int32
    private static let chunk = 64 << 10
    private static let maxQueued = 8 << 20

    init(fd: Int32 = 1) {
        self.fd = fd
        current = Self.newChunk()
        let t = Thread { [self] in run() }
        t.name = "stdout-writer"
        t.start()
    }

    /// Appends output produced by `body` (called with the lock held: keep it short).
    func append(_ body: (inout ByteBuffer) -> Void) {
        cond.lock()
        let wasEmpty = current.readableBytes == 0
        body(&current)
        if wasEmpty && current.readableBytes > 0 && current.readableBytes < Self.chunk {
            cond.broadcast()  // the writer starts its 50 ms clock for these bytes
        }
        if current.readableBytes >= Self.chunk {
            queueCurrent()
            cond.broadcast()
            while queuedBytes > Self.maxQueued && !closed { cond.wait() }
        }
        cond.unlock()
    }

    /// Writes everything appended so far, and returns when it is written.
    func flush() {
        cond.lock()
        if current.readableBytes > 0 { queueCurrent() }
        cond.broadcast()
        while !queue.isEmpty || writing { cond.wait() }
        cond.unlock()
    }

    private static func newChunk() -> ByteBuffer { ByteBufferAllocator().buffer(capacity: chunk + 4096) }

    /// Hands the pending bytes to the writer thread (lock held).
    private func queueCurrent() {
        queuedBytes += current.readableBytes
        queue.append(current)
        current = Self.newChunk()
    }

    private func run() {
        cond.lock()
        while true {
            if queue.isEmpty {
                if current.readableBytes > 0 {
                    // Something small is pending: give it 50 ms to grow, then write it anyway.
                    if !cond.wait(until: Date(timeIntervalSinceNow: 0.05)), queue.isEmpty, current.readableBytes > 0 {
                        queueCurrent()
                    }
                } else {
                    cond.wait()
                }
                continue
            }
            let chunks = queue
            queue = []
            writing = true
            cond.unlock()
            var ok = true
            for c in chunks where ok {
                ok = c.withUnsafeReadableBytes { p in
                    var off = 0
                    while off < p.count {
                        let n = Foundation.write(fd, p.baseAddress! + off, p.count - off)
                        if n < 0 && errno == EINTR { continue }
                        if n <= 0 { return false }
                        off += n
                    }
                    return true
                }
            }
            cond.lock()
            writing = false
            queuedBytes = 0
            if !ok { closed = true }  // EPIPE and the like: nobody reads any more; drop output
            cond.broadcast()
        }
    }
}

/// Standard input split into lines by a thread of its own (blocking reads stay off Swift
/// concurrency's threads). Lines arrive in batches, as slices of 256 KiB read buffers (no copy
/// per line); a trailing "\r" is removed; a last line without a newline still counts. At most
/// a few batches are read ahead (back-pressure).
final class StdinLines: @unchecked Sendable {
    private let cond = NSCondition()
    private var batches: [[ByteBuffer]] = []
    private var finished = false
    private var error: Int32 = 0
    private var waiter: CheckedContinuation<[ByteBuffer]?, any Error>?
    private static let readSize = 256 << 10
    private static let maxBatches = 4

    struct ReadError: Error, CustomStringConvertible {
        var code: Int32
        var description: String { "reading standard input: \(String(cString: strerror(code)))" }
    }

    init(fd: Int32 = 0) {
        let t = Thread { [self] in run(fd: fd) }
        t.name = "stdin-reader"
        t.start()
    }

    /// The next batch of lines; nil at the end of input.
    func next() async throws -> [ByteBuffer]? {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<[ByteBuffer]?, any Error>) in
            cond.lock()
            if !batches.isEmpty {
                let b = batches.removeFirst()
                cond.broadcast()
                cond.unlock()
                c.resume(returning: b)
            } else if finished {
                let e = error
                cond.unlock()
                if e != 0 { c.resume(throwing: ReadError(code: e)) } else { c.resume(returning: nil) }
            } else {
                waiter = c
                cond.unlock()
            }
        }
    }

    private func deliver(_ lines: [ByteBuffer]?, error e: Int32 = 0) {
        cond.lock()
        if let lines {
            while batches.count >= Self.maxBatches { cond.wait() }
            if let w = waiter {
                waiter = nil
                cond.unlock()
                w.resume(returning: lines)
                return
            }
            batches.append(lines)
        } else {
            finished = true
            error = e
            if let w = waiter {
                waiter = nil
                cond.unlock()
                if e != 0 { w.resume(throwing: ReadError(code: e)) } else { w.resume(returning: nil) }
                return
            }
        }
        cond.unlock()
    }

    private func run(fd: Int32) {
        var carry = ByteBuffer()  // a line started in the previous read
        while true {
            var buf = ByteBufferAllocator().buffer(capacity: Self.readSize + carry.readableBytes)
            buf.writeBuffer(&carry)
            var got = 0
            repeat {
                _ = buf.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.readSize) { p in
                    got = Foundation.read(fd, p.baseAddress!, Self.readSize)
                    return max(0, got)
                }
            } while got < 0 && errno == EINTR
            if got <= 0 {
                // End of input (or an error): what is left is the last line.
                let e = got < 0 ? errno : 0
                if buf.readableBytes > 0 { deliver([Self.trimCR(buf)]) }
                deliver(nil, error: e)
                return
            }
            var lines = [ByteBuffer]()
            buf.withUnsafeReadableBytes { p in
                var lineStart = 0
                while lineStart < p.count, let nl = memchr(p.baseAddress! + lineStart, 0x0A, p.count - lineStart) {
                    let end = p.baseAddress!.distance(to: UnsafeRawPointer(nl))
                    lines.append(Self.trimCR(buf.getSlice(at: buf.readerIndex + lineStart, length: end - lineStart)!))
                    lineStart = end + 1
                }
                carry = buf.getSlice(at: buf.readerIndex + lineStart, length: p.count - lineStart)!
            }
            if !lines.isEmpty { deliver(lines) }
        }
    }

    private static func trimCR(_ line: ByteBuffer) -> ByteBuffer {
        if line.readableBytes > 0, line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == 0x0D {
            return line.getSlice(at: line.readerIndex, length: line.readableBytes - 1)!
        }
        return line
    }
}
