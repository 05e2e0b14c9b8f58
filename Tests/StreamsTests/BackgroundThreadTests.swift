import Foundation
@testable import Streams
import Testing

/// The checkpoint writer's thread: work in submission order, results and errors returned, and
/// it really runs at nice 10 (what keeps a checkpoint off the processors' cores).
@Suite struct BackgroundThreadTests {
    struct Boom: Error {}

    @Test func workRunsInOrderAtALowerPriorityAndReturnsWhatItMade() async throws {
        let t = BackgroundThread(name: "rb-test-bg")
        let order = Locked<[Int]>([])
        // Submitted from many tasks at once: each gets its own result back.
        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { g in
            for i in 0..<50 { g.addTask { (i, try await t.run { order.withLock { $0.append(i) }; return i * 2 }) } }
            return try await g.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(results == Dictionary(uniqueKeysWithValues: (0..<50).map { ($0, $0 * 2) }))
        #expect(Set(order.withLock { $0 }) == Set(0..<50) && order.withLock { $0.count } == 50)
        // In submission order: one after the other from one task.
        order.withLock { $0 = [] }
        for i in 0..<20 { _ = try await t.run { order.withLock { $0.append(i) } } }
        #expect(order.withLock { $0 } == Array(0..<20))
        await #expect(throws: Boom.self) { try await t.run { () throws -> Int in throw Boom() } }
        #if os(Linux)
        let stat = try await t.run { try String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8) }
        // Fields after the command name (in parentheses): state is 3rd, nice the 19th.
        let fields = stat[stat.range(of: ")", options: .backwards)!.upperBound...].split(separator: " ")
        #expect(fields[16] == "10", "\(stat)")
        let comm = try await t.run { try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8) }
        #expect(comm.trimmingCharacters(in: .whitespacesAndNewlines) == "rb-test-bg")
        #endif
    }
}
