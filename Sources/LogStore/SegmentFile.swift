#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSysShims

/// A file descriptor opened on first use and closed when the last reference goes away.
///
/// Why reference-counted rather than explicitly closed: a reader takes a reference to a
/// segment under the log lock and then reads outside it; if retention deletes the segment
/// meanwhile, the unlinked file stays readable through this descriptor until the reader
/// drops its reference. All I/O goes through methods on `self`, so the object (and the fd)
/// is alive for the whole system call.
final class SegmentFile: @unchecked Sendable {
    let path: String
    private let create: Bool
    private let lock = Locked<Int32>(-1)

    /// `create`: make the file if missing (index files); logs must already exist.
    init(path: String, create: Bool = false) {
        self.path = path
        self.create = create
    }

    /// Wraps an already open descriptor, which this object then owns.
    init(path: String, descriptor: Int32) {
        self.path = path
        self.create = false
        lock.withLock { $0 = descriptor }
    }

    deinit {
        lock.withLock { fd in
            if fd >= 0 { _ = Glibc.close(fd) }
            fd = -1
        }
    }

    /// The descriptor, opening the file if needed.
    func descriptor() throws -> Int32 {
        try lock.withLock { (fd: inout Int32) throws -> Int32 in
            if fd >= 0 { return fd }
            var flags = O_RDWR | O_CLOEXEC
            if create { flags |= O_CREAT }
            let opened = Glibc.open(path, flags, 0o644)
            if opened < 0 { throw LogError.io(operation: "open", path: path, errno: errno) }
            fd = opened
            return opened
        }
    }

    /// Opens the descriptor now (before the file is unlinked) so in-flight readers can
    /// still use it afterwards. Failure is ignored: the file is going away anyway.
    func pin() { _ = try? descriptor() }

    var isOpen: Bool { lock.withLock { $0 >= 0 } }

    /// The descriptor if the file is already open (opening may block on a cold inode).
    var openDescriptor: Int32? { lock.withLock { $0 >= 0 ? $0 : nil } }

    /// Reads up to `count` bytes at `offset`; fewer only at end of file.
    ///
    /// `nonBlocking`: only what the page cache already holds (`preadv2` with `RWF_NOWAIT`);
    /// throws `LogError.wouldBlock` as soon as a byte would have to come from the disk, so an
    /// event loop can hand the read to a thread instead of stalling every connection it serves.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, nonBlocking: Bool = false) throws -> Int {
        let fd: Int32
        if nonBlocking {
            guard let open = openDescriptor else { throw LogError.wouldBlock }
            fd = open
        } else {
            fd = try descriptor()
        }
        var done = 0
        while done < buffer.count {
            guard let base = buffer.baseAddress else { break }
            let n: Int
            if nonBlocking {
                n = rb_pread_nowait(fd, base + done, buffer.count - done, off_t(offset) + off_t(done))
                if n < 0 && (errno == EAGAIN || errno == EOPNOTSUPP) { throw LogError.wouldBlock }
            } else {
                n = pread(fd, base + done, buffer.count - done, off_t(offset) + off_t(done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw LogError.io(operation: "pread", path: path, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads `count` bytes at `offset` into a new array (shorter only at end of file).
    func read(at offset: Int64, count: Int, nonBlocking: Bool = false) throws -> [UInt8] {
        guard count > 0 else { return [] }
        // No zero fill: pread overwrites the bytes it reports, and only those are kept.
        return try [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
            initialized = 0
            initialized = try read(into: UnsafeMutableRawBufferPointer(buf), at: offset, nonBlocking: nonBlocking)
        }
    }

    /// Writes all of `buffer` at `offset`.
    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws {
        let fd = try descriptor()
        var done = 0
        while done < buffer.count {
            guard let base = buffer.baseAddress else { break }
            let n = pwrite(fd, base + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw LogError.io(operation: "pwrite", path: path, errno: errno)
            }
            done += n
        }
    }

    func write(_ bytes: [UInt8], at offset: Int64) throws {
        try bytes.withUnsafeBytes { (buf) throws in try write(buf, at: offset) }
    }

    /// Writes the iovecs contiguously at `offset` with one `pwritev` (more only after a
    /// short write). The memory they point to must stay valid for the call.
    func write(vectors: [iovec], at offset: Int64) throws {
        let fd = try descriptor()
        var iov = vectors
        var index = 0
        var position = off_t(offset)
        while index < iov.count {
            let n = iov.withUnsafeBufferPointer { p -> Int in
                guard let base = p.baseAddress else { return 0 }
                // 1024 = IOV_MAX on Linux.
                return pwritev(fd, base + index, Int32(min(iov.count - index, 1024)), position)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw LogError.io(operation: "pwritev", path: path, errno: errno)
            }
            if n == 0 { throw LogError.io(operation: "pwritev (no progress)", path: path, errno: EIO) }
            position += off_t(n)
            // Skip what was written: whole vectors, then part of the next one.
            var left = n
            while index < iov.count, left >= iov[index].iov_len {
                left -= iov[index].iov_len
                index += 1
            }
            if left > 0, index < iov.count, let base = iov[index].iov_base {
                iov[index].iov_base = base + left
                iov[index].iov_len -= left
            }
        }
    }

    /// fdatasync: file data (and the size) reach stable storage.
    func sync() throws {
        let fd = try descriptor()
        while fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw LogError.io(operation: "fdatasync", path: path, errno: errno)
        }
    }

    func truncate(to size: Int64) throws {
        let fd = try descriptor()
        while ftruncate(fd, off_t(size)) != 0 {
            if errno == EINTR { continue }
            throw LogError.io(operation: "ftruncate", path: path, errno: errno)
        }
    }

    func size() throws -> Int64 {
        let fd = try descriptor()
        var st = stat()
        if fstat(fd, &st) != 0 { throw LogError.io(operation: "fstat", path: path, errno: errno) }
        return Int64(st.st_size)
    }
}
