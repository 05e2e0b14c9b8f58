#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import LogStore

/// Reads that must not wait for the disk: the broker tries them on its event loop and hands
/// the request to an I/O thread when they throw `wouldBlock`.
@Suite struct NonBlockingReadTests {
    /// Drops the file's pages from the page cache (it must be fsynced: only clean pages go).
    /// The kernel may keep pages despite the advice (another reader brought them back, memory
    /// is plentiful): asked again until `mincore` says none is resident. Returns whether it worked.
    @discardableResult
    func evict(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0 else { return false }
        let size = Int(st.st_size)
        for attempt in 0..<20 {
            _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
            guard let map = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else { return false }
            let pages = (size + Int(sysconf(Int32(_SC_PAGESIZE))) - 1) / Int(sysconf(Int32(_SC_PAGESIZE)))
            var vec = [UInt8](repeating: 0, count: pages)
            let ok = mincore(map, size, &vec) == 0
            munmap(map, size)
            if ok && vec.allSatisfy({ $0 & 1 == 0 }) { return true }
            if attempt > 0 { usleep(50_000) }
        }
        return false
    }

    @Test func coldPagesWouldBlockAndHotOnesDoNot() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, LogConfig(segmentBytes: 64 << 10))
        for i in 0..<400 { try log.append(batches: makeBatch(records: 1, payload: 900, seed: i)) }
        try log.flushNow()
        let segments = log.segmentBaseOffsets
        #expect(segments.count > 3)
        let active = segments.last!
        // The active segment's tail was just written: it is in the page cache.
        #expect(try log.read(from: active, maxBytes: 4096, nonBlocking: true).firstBatchOffset == active)

        // A closed segment whose pages were evicted would block; a normal read brings it back.
        let cold = segments[1]
        #expect(evict(logPath(dir.path, cold)), "the segment's pages could not be dropped from the page cache")
        // Known to vary with the kernel: on this CI's ext4 a RWF_NOWAIT read of pages that
        // mincore reports evicted sometimes returns them (seen 2 runs in 4, 2026-12-02). Then
        // the broker reads on its event loop once; nothing is wrong with the data.
        withKnownIssue("the kernel served a RWF_NOWAIT read of evicted pages", isIntermittent: true) {
            #expect(throws: LogError.wouldBlock) { try log.read(from: cold, maxBytes: 32 << 10, nonBlocking: true) }
        }
        let read = try log.read(from: cold, maxBytes: 32 << 10)
        #expect(read.firstBatchOffset == cold)
        let again = try log.read(from: cold, maxBytes: 32 << 10, nonBlocking: true)
        #expect(again.records == read.records)
    }

    @Test func largeReadsLeaveTheEventLoopEvenWhenCached() throws {
        let dir = TempDirectory()
        let log = try openLog(dir.path, LogConfig(segmentBytes: 8 << 20))
        for i in 0..<2000 { try log.append(batches: makeBatch(records: 1, payload: 1000, seed: i)) }
        #expect(try log.read(from: 0, maxBytes: 64 << 10, nonBlocking: true).firstBatchOffset == 0)
        #expect(throws: LogError.wouldBlock) { try log.read(from: 0, maxBytes: 2 << 20, nonBlocking: true) }
        #expect(try log.read(from: 0, maxBytes: 2 << 20).records.count > 1 << 20)
    }

    @Test func unopenedFilesAndUnloadedIndexesWouldBlock() throws {
        let dir = TempDirectory()
        do {
            let log = try openLog(dir.path, LogConfig(segmentBytes: 16 << 10))
            for i in 0..<100 { try log.append(batches: makeBatch(records: 1, payload: 900, seed: i)) }
            try log.close()
        }
        // After a reopen closed segments are opened, and their indexes loaded, on first use.
        let log = try openLog(dir.path, LogConfig(segmentBytes: 16 << 10))
        let closed = log.segmentBaseOffsets[1]
        #expect(throws: LogError.wouldBlock) { try log.read(from: closed + 1, maxBytes: 1024, nonBlocking: true) }
        _ = try log.read(from: closed + 1, maxBytes: 1024)
        #expect(try log.read(from: closed + 1, maxBytes: 1024, nonBlocking: true).firstBatchOffset != nil)
    }
}
