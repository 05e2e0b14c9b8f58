import Foundation
import KafkaProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The broker's hold on its data directory: an exclusive lock (two brokers on one directory
/// would corrupt it) and the cluster id stored there.
struct DataDirectory {
    let url: URL
    private let lockFD: Int32

    struct InUse: Error, CustomStringConvertible {
        let description: String
    }

    /// Creates the directory if needed and takes the lock.
    init(path: String) throws {
        url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
        try FileManager.default.createDirectory(at: url.appendingPathComponent("__cluster"), withIntermediateDirectories: true)
        let lockPath = url.appendingPathComponent("__cluster/.lock").path
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw InUse(description: "cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw InUse(description: "data directory \(url.path) is in use by another broker")
        }
        lockFD = fd
    }

    func unlock() {
        close(lockFD)
    }

    /// The id written at first start; `configured` (or a random one) if there is none yet.
    func clusterId(configured: String?) throws -> String {
        let file = url.appendingPathComponent("__cluster/cluster.id")
        if let existing = try? String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !existing.isEmpty {
            return existing
        }
        let id = configured ?? KafkaUUID.random().description
        try DurableFile.writeAtomically(Data("\(id)\n".utf8), to: file)
        return id
    }
}
