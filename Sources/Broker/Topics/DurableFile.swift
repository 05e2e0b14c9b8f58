import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Small metadata files that must never be half-written: write a temp file, fsync it, rename
/// it over the old one, fsync the directory.
enum DurableFile {
    struct IOFailure: Error, CustomStringConvertible {
        let description: String
    }

    static func writeAtomically(_ data: Data, to url: URL) throws {
        let tmp = url.path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw IOFailure(description: "open \(tmp): \(String(cString: strerror(errno)))") }
        var ok = data.withUnsafeBytes { raw -> Bool in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; return false }
                off += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok else { throw IOFailure(description: "write \(tmp): \(String(cString: strerror(errno)))") }
        guard rename(tmp, url.path) == 0 else { throw IOFailure(description: "rename \(tmp): \(String(cString: strerror(errno)))") }
        let dfd = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }
}
