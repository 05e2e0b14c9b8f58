#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Small file-system helpers with the durability steps spelled out.
enum FileSystem {
    enum Durability { case none, fileOnly, full }

    static func fileSize(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int64(st.st_size)
    }

    static func modificationTimeMs(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int64(st.st_mtim.tv_sec) * 1000 + Int64(st.st_mtim.tv_nsec) / 1_000_000
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func createDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw LogError.io(operation: "mkdir", path: path, errno: EIO)
        }
    }

    static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw LogError.io(operation: "opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes a file; a missing file is not an error.
    static func remove(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT {
            throw LogError.io(operation: "unlink", path: path, errno: errno)
        }
    }

    /// fsync on the directory makes creations, renames and unlinks in it durable.
    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw LogError.io(operation: "open directory", path: path, errno: errno) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw LogError.io(operation: "fsync directory", path: path, errno: errno) }
    }

    /// Replaces `path` with `bytes` atomically: write a temp file, optionally fsync it,
    /// rename over the target, optionally fsync the directory. A crash leaves either the old
    /// or the new content (plus possibly a `.tmp` file that open() cleans up).
    /// `durable: .fileOnly` lets a caller writing several files fsync the directory once.
    static func writeAtomically(_ bytes: [UInt8], to path: String, directory: String, durable: Durability) throws {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw LogError.io(operation: "open", path: tmp, errno: errno) }
        let file = SegmentFile(path: tmp, descriptor: fd)
        try file.write(bytes, at: 0)
        if durable != .none { try file.sync() }
        if rename(tmp, path) != 0 { throw LogError.io(operation: "rename", path: tmp, errno: errno) }
        if durable == .full { try syncDirectory(directory) }
    }

    /// Reads a whole small file; nil if it does not exist.
    static func readSmallFile(_ path: String, limit: Int = 64 << 20) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw LogError.io(operation: "open", path: path, errno: errno)
        }
        let file = SegmentFile(path: path, descriptor: fd)
        let size = try file.size()
        return try file.read(at: 0, count: Int(min(size, Int64(limit))))
    }
}

extension FileSystem {
    /// The last `count` bytes of a file (all of it if shorter); nil if missing.
    static func readTail(_ path: String, count: Int) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw LogError.io(operation: "open", path: path, errno: errno)
        }
        let file = SegmentFile(path: path, descriptor: fd)
        let size = try file.size()
        let start = max(0, size - Int64(count))
        return try file.read(at: start, count: Int(size - start))
    }
}
