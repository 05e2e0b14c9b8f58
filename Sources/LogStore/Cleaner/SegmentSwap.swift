#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// Replacing a group of closed segments with the one the cleaner wrote, crash-safely.
///
/// Steps (each durable before the next):
/// 1. the cleaned segment is written as `<base>.log.cleaned` (+ `.index.cleaned`,
///    `.timeindex.cleaned`) and fsynced;
/// 2. the manifest `<base>.swap` names the new base and every segment it replaces — writing it
///    atomically is the commit point;
/// 3. the cleaned files are renamed over `<base>.*`, the other replaced segments unlinked, the
///    directory fsynced, the manifest removed.
///
/// A crash before 2 leaves the old segments untouched (`.cleaned` files are removed at open); a
/// crash after 2 is finished at open by `recover`, which repeats step 3 (every part of it is
/// idempotent). So the directory always holds either the old segments or the new one, never
/// both, never a mix.
struct SegmentSwap: Equatable {
    static let manifestSuffix = ".swap"
    static let cleanedSuffix = ".cleaned"
    static let suffixes = [SegmentSuffix.log, SegmentSuffix.index, SegmentSuffix.timeIndex]

    /// Base offset of the cleaned segment (= the first replaced segment's base).
    var newBase: Int64
    /// Base offsets of the segments it replaces, ascending (the first is `newBase`).
    var replaced: [Int64]

    static func cleanedPath(_ directory: String, _ base: Int64, _ suffix: String) -> String {
        Segment.path(directory, base, suffix) + cleanedSuffix
    }

    static func manifestPath(_ directory: String, _ base: Int64) -> String {
        Segment.path(directory, base, manifestSuffix)
    }

    func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 16 + 8 * replaced.count)
        w.int64(newBase)
        w.int32(Int32(replaced.count))
        for base in replaced { w.int64(base) }
        w.uint32(crc32c(w.bytes))
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) -> SegmentSwap? {
        guard bytes.count >= 16 else { return nil }
        var r = ByteReader(bytes)
        guard let newBase = r.int64(), let count = r.int32(), count > 0, bytes.count == 16 + 8 * Int(count) else { return nil }
        var replaced: [Int64] = []
        for _ in 0..<count {
            guard let b = r.int64() else { return nil }
            replaced.append(b)
        }
        guard let crc = r.uint32(), crc == crc32c(Array(bytes[0..<(bytes.count - 4)])) else { return nil }
        guard replaced.first == newBase, zip(replaced, replaced.dropFirst()).allSatisfy({ $0 < $1 }) else { return nil }
        return SegmentSwap(newBase: newBase, replaced: replaced)
    }

    /// Step 2: the commit point.
    func commit(directory: String) throws {
        FaultInjection.crashPoint("cleaner-before-commit")
        try FileSystem.writeAtomically(encode(), to: Self.manifestPath(directory, newBase), directory: directory, durable: .full)
    }

    /// Step 3 on disk. The caller has pinned the replaced segments' descriptors and loaded their
    /// indexes, so readers still holding them keep reading the old data.
    func complete(directory: String) throws {
        FaultInjection.crashPoint("cleaner-after-commit")
        for suffix in Self.suffixes {
            let cleaned = Self.cleanedPath(directory, newBase, suffix)
            if FileSystem.exists(cleaned) {
                let target = Segment.path(directory, newBase, suffix)
                if rename(cleaned, target) != 0 { throw LogError.io(operation: "rename", path: cleaned, errno: errno) }
                FaultInjection.crashPoint("cleaner-mid-rename")
            }
        }
        FaultInjection.crashPoint("cleaner-before-delete")
        for base in replaced where base != newBase {
            try LogRecovery.removeSegmentFiles(directory: directory, base: base)
        }
        try FileSystem.syncDirectory(directory)
        try FileSystem.remove(Self.manifestPath(directory, newBase))
        try FileSystem.syncDirectory(directory)
    }

    /// At open: finish every committed swap, then drop cleaned files no manifest vouches for.
    static func recover(directory: String, logger: Logger) throws {
        let names = try FileSystem.listDirectory(directory)
        for name in names.sorted() {
            guard let base = Segment.baseOffset(fromFileName: name, suffix: manifestSuffix) else { continue }
            let path = directory + "/" + name
            if let bytes = try FileSystem.readSmallFile(path, limit: 1 << 20), let swap = decode(bytes), swap.newBase == base {
                logger.warning("finishing an interrupted cleaner swap", metadata: [
                    "segment": "\(base)", "replaces": "\(swap.replaced.count) segments",
                ])
                try swap.complete(directory: directory)
            } else {
                // Written atomically, so a bad manifest was never committed: the old segments stand.
                logger.warning("ignoring damaged cleaner swap manifest \(name)")
                try FileSystem.remove(path)
            }
        }
        var removed = false
        for name in try FileSystem.listDirectory(directory) where name.hasSuffix(cleanedSuffix) {
            try FileSystem.remove(directory + "/" + name)
            removed = true
        }
        if removed { try FileSystem.syncDirectory(directory) }
    }
}
