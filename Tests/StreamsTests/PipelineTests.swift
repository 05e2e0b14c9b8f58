import Foundation
import KafkaClient
@testable import Streams
import Testing

@Suite struct PipelineTests {
    func hourly(_ job: StreamJob, topic: String = "in", idle: Duration? = nil) -> DataStream<WindowResult<Stats>> {
        job.source(topic: topic, as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .seconds(1), idleTimeout: idle)
            .keyBy { StreamKey($0.key) }
            .window(.tumbling(size: 10_000)) { (a: inout Stats, e: Ev) in a.add(e.v) }
    }

    @Test func badRecordsGoToTheDeadLetterTopicAndTheJobGoesOn() throws {
        let job = StreamJob(name: "j", version: "7")
        hourly(job).sink(topic: "out", key: { $0.key.bytes }) { r, w in w.field("cnt", r.value.count) }
        let p = try LocalPipeline(job: job)
        p.push(topic: "in", json: Ev(id: 0, key: 1, ts: 1000, v: 1).json)
        p.push(topic: "in", json: #"{"id":1,"key":1,"ts":"soon","v":1}"#)
        p.push(topic: "in", value: nil)
        p.push(topic: "in", json: #"{"id":2,"key":1,"ts":2000,"v":1"#)
        p.push(topic: "in", json: #"{"id":3,"key":1,"ts":99999999999999999,"v":1}"#)
        p.push(topic: "in", json: Ev(id: 4, key: 1, ts: 3000, v: 1).json)
        p.finish()
        let out = p.drain()
        let dead = out.filter { $0.topic == "j.dead-letter" }
        #expect(dead.count == 4)
        #expect(header(dead[0], "riverbank.dead-letter.reason") == "byte 22: field ts: expected an integer, found string")
        #expect(header(dead[1], "riverbank.dead-letter.reason")?.contains("no value") == true)
        #expect(header(dead[2], "riverbank.dead-letter.reason")?.contains("end of input") == true)
        #expect(header(dead[3], "riverbank.dead-letter.reason")?.contains("out of range") == true)
        #expect(header(dead[0], "riverbank.source") == "in/0/1")
        #expect(header(dead[0], "riverbank.job") == "j@7")
        #expect(dead[0].value.map { String(buffer: $0) } == #"{"id":1,"key":1,"ts":"soon","v":1}"#)  // the raw bytes
        let results = out.filter { $0.topic == "out" }.map { decodeJSON($0)["cnt"] as! NSNumber }
        #expect(results == [2])
    }

    @Test func anIdleSourceStopsHoldingTheWatermarkBack() throws {
        // Two co-partitioned sources in one task: windows close only when both have passed,
        // unless the quiet one is idle.
        let job = StreamJob(name: "j")
        let a = job.source(topic: "a", as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .seconds(1))
        let b = job.source(topic: "b", as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .seconds(1))
        a.union(b).keyBy { StreamKey($0.key) }
            .window(.tumbling(size: 10_000)) { (acc: inout Stats, e: Ev) in acc.add(e.v) }
            .sink(topic: "out", key: { _ in nil }) { r, w in w.field("start", r.start); w.field("cnt", r.value.count) }
        let p = try LocalPipeline(job: job)
        p.push(topic: "b", json: Ev(id: 100, key: 1, ts: 500, v: 1).json)
        for i in 0..<30 { p.push(topic: "a", json: Ev(id: Int64(i), key: 1, ts: Int64(i) * 1000, v: 1).json) }
        #expect(p.drain().isEmpty, "b holds time at 500 ms: nothing may fire")
        p.setIdle("b")
        p.advanceWatermark()
        let fired = p.drain().map { (decodeJSON($0)["start"] as! NSNumber).int64Value }
        #expect(fired == [0, 10_000], "a's watermark (27999) alone closes the first two windows")
        // b comes back: it counts again, and time does not go backwards.
        p.push(topic: "b", json: Ev(id: 101, key: 1, ts: 25_000, v: 1).json)
        #expect(p.combinedWatermark == 23_999)
        #expect(p.ctx.watermark == 27_999)
    }

    @Test func watermarkBoardIgnoresIdlePartitionsAndCompletesWhenAllAreIdle() {
        let board = WatermarkBoard(partitions: 3)
        board.publish(0, watermark: 100)
        board.publish(1, watermark: 50)
        #expect(board.combined() == .min, "partition 2 has seen nothing")
        board.setIdle(2, true)
        #expect(board.combined() == 50)
        board.publish(1, watermark: 40)
        #expect(board.watermark(1) == 50, "per-partition watermarks never go back")
        board.setIdle(0, true); board.setIdle(1, true)
        #expect(board.combined() == 100, "all idle: the maximum over all (what was seen completes)")
        board.setIdle(1, false)
        #expect(board.combined() == 50)
    }

    @Test func duplicateOperatorNamesAreRefused() {
        let job = StreamJob(name: "j")
        let s = job.source(topic: "in", as: Ev.self, eventTime: { $0.ts })
        s.map(name: "m") { $0 }.map(name: "m") { $0 }.sink(topic: "out", key: { _ in nil }) { _, _ in }
        #expect(throws: StreamsError.invalidJob("operator name 'm' is used twice")) { try job.validate() }
        let cyc = StreamJob(name: "k")
        cyc.source(topic: "x", as: Ev.self, eventTime: { $0.ts }).sink(topic: "x", key: { _ in nil }) { _, _ in }
        #expect(throws: StreamsError.self) { try cyc.validate() }
    }
}

/// Checkpoints: a task snapshotted at a random point and restored into a fresh task gives the
/// same results as the uninterrupted run (nothing lost, nothing counted twice).
@Suite struct CheckpointTests {
    func job() -> StreamJob {
        let job = StreamJob(name: "ck")
        let s = job.source(topic: "in", as: Ev.self, eventTime: { $0.ts }, outOfOrderness: .seconds(2))
        s.keyBy { StreamKey($0.key) }
            .window(.tumbling(size: 20_000), allowedLateness: .seconds(5), name: "tumble") { (a: inout Stats, e: Ev) in a.add(e.v) }
            .sink(topic: "t", key: { _ in nil }) { r, w in w.field("k", r.key.int); w.field("s", r.start); w.field("c", r.value.count); w.field("sum", r.value.sum); w.field("u", r.isUpdate) }
        s.keyBy { StreamKey($0.key) }
            .window(.hopping(size: 30_000, slide: 10_000), name: "hop") { (a: inout Stats, e: Ev) in a.add(e.v) }
            .sink(topic: "h", key: { _ in nil }) { r, w in w.field("k", r.key.int); w.field("s", r.start); w.field("c", r.value.count) }
        s.keyBy { StreamKey($0.key) }
            .window(.session(gap: 4_000), allowedLateness: .seconds(3), name: "session") { (a: inout Stats, e: Ev) in a.add(e.v) }
            .sink(topic: "s", key: { _ in nil }) { r, w in w.field("k", r.key.int); w.field("s", r.start); w.field("e", r.end); w.field("c", r.value.count); w.field("u", r.isUpdate) }
        s.keyBy { StreamKey($0.key) }
            .over([OverMeasure(.unbounded, excludeCurrent: true) { $0.v }, OverMeasure(.range(15_000)) { $0.v }], name: "over")
            .sink(topic: "o", key: { _ in nil }) { r, w in
                w.field("id", r.value.id); w.field("c0", r.measures[0].count); w.field("s0", r.measures[0].sum)
                w.field("c1", r.measures[1].count); w.field("p", r.previous?.id ?? -1)
            }
        return job
    }

    func values(_ rs: [ProducerRecord]) -> [String] { rs.map { "\($0.topic) \(String(buffer: $0.value!))" } }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func restoreAtARandomPointGivesTheUninterruptedResults(seed: UInt64) throws {
        let evs = makeEvents(seed: seed, count: 2500, keys: 30, step: 300, jitter: 2500, lateShare: 0.02, lateBy: 20_000)
        let whole = try LocalPipeline(job: job())
        for e in evs { whole.push(topic: "in", json: e.json) }
        whole.finish()
        let expected = values(whole.drain())

        var rng = SplitMix(seed: seed * 77)
        let cut = Int.random(in: 1..<evs.count, using: &rng)
        let first = try LocalPipeline(job: job())
        for e in evs[..<cut] { first.push(topic: "in", json: e.json) }
        let before = values(first.drain())
        // Through the byte format, as a restart reads it.
        let snap = try TaskSnapshot(decoding: first.snapshot().encode())
        let second = try LocalPipeline(job: job(), restoring: snap)
        #expect(second.offsets["in"] == Int64(cut))
        for e in evs[cut...] { second.push(topic: "in", json: e.json) }
        second.finish()
        let after = values(second.drain())
        // The same records (their order within one watermark step is not a promise).
        let got = (before + after).sorted(), want = expected.sorted()
        let missing = Set(want).subtracting(got), extra = Set(got).subtracting(want)
        #expect(got == want, "seed \(seed), cut at \(cut): \(got.count) vs \(want.count) records; missing \(missing.sorted().prefix(3)), extra \(extra.sorted().prefix(3))")
    }

    /// A checkpoint freezes state between batches and writes it later, while processing goes
    /// on: what it writes is the state when frozen, whatever the records after it changed
    /// (windows fired and dropped, OVER frames slid, sessions merged).
    @Test(arguments: [1, 2, 3] as [UInt64])
    func frozenStateIsTheStateWhenFrozenWhateverComesAfter(seed: UInt64) throws {
        let evs = makeEvents(seed: seed, count: 2500, keys: 30, step: 300, jitter: 2500, lateShare: 0.02, lateBy: 20_000)
        var rng = SplitMix(seed: seed * 31)
        let cut = Int.random(in: 100..<evs.count - 100, using: &rng)
        let p = try LocalPipeline(job: job())
        for e in evs[..<cut] { p.push(topic: "in", json: e.json) }
        _ = p.drain()
        let then = p.snapshot().operators.map { Array($0.state) }
        let frozen = p.builder.stateful.map { $0.freeze() }
        for e in evs[cut...] { p.push(topic: "in", json: e.json) }
        p.finish()
        _ = p.drain()
        let written = frozen.map { f in
            var w = StateWriter()
            f(&w)
            return w.bytes
        }
        #expect(written == then, "seed \(seed), frozen after \(cut) records")
        #expect(p.snapshot().operators.map { Array($0.state) } != then, "the live state did move on")
    }

    @Test func corruptStateIsRefusedWithAReason() throws {
        let p = try LocalPipeline(job: job())
        for e in makeEvents(seed: 9, count: 200, keys: 5, step: 300, jitter: 1000) { p.push(topic: "in", json: e.json) }
        var bytes = p.snapshot().encode()
        #expect(throws: StateError.self) { try TaskSnapshot(decoding: Array(bytes.prefix(bytes.count / 2))) }
        bytes[0] ^= 0xFF
        #expect(throws: StateError("not a Riverbank task checkpoint (bad magic)")) { try TaskSnapshot(decoding: bytes) }
        var snap = p.snapshot()
        snap.operators[2].state = snap.operators[2].state.prefix(10)
        #expect(throws: StateError.self) { try LocalPipeline(job: job(), restoring: snap) }
    }

    @Test func manifestsCarryTheirChecksumKindAndOlderOnesStillRead() throws {
        let body = Array("some checkpoint body".utf8)
        let m = CheckpointManifest(checkpointID: 7, chunks: 1, length: body.count, body: body)
        #expect(m.checksumKind == .crc32c)
        // The CRC-32C check value of the standard test input.
        #expect(ChecksumKind.crc32c.of(Array("123456789".utf8)) == 0xE306_9283)
        let back = try CheckpointManifest(m.encode())
        #expect(back == m && back.matches(body) && !back.matches(body + [0]))
        #expect(back.chunkPartition == 1)
        let located = CheckpointManifest(checkpointID: 8, chunks: 2, length: body.count, body: body, chunkOffsets: [40, 41])
        #expect(try CheckpointManifest(located.encode()) == located)
        #expect(throws: StateError.self) { try CheckpointManifest(Array(located.encode().dropLast(8))) }
        // A manifest from before checksum kinds: four fields, FNV-1a.
        var w = StateWriter()
        w.int(7); w.int(1); w.int(body.count); w.uint(fnv1a(body))
        let old = try CheckpointManifest(w.bytes)
        #expect(old.checksumKind == .fnv1a && old.matches(body) && old.chunkPartition == 0)
        var bad = StateWriter()
        bad.int(7); bad.int(1); bad.int(body.count); bad.uint(1); bad.int(99)
        #expect(throws: StateError.self) { try CheckpointManifest(bad.bytes) }
    }

    @Test(arguments: [0, 1, 100, 4096, 10_000] as [Int])
    func snapshotPartsAndChunksAreTheEncoding(stateSize: Int) throws {
        var rng = SplitMix(seed: UInt64(stateSize))
        let states = (0..<3).map { i in (0..<(stateSize + i * 7)).map { _ in UInt8.random(in: 0...255, using: &rng) }[...] }
        let snap = TaskSnapshot(job: "j", version: "2", checkpointID: 5, partition: 1, watermark: 77, inputs: [],
                                operators: states.enumerated().map { (name: "op\($0.offset)", kind: "k", state: $0.element) })
        let parts = snap.encodeParts()
        let whole = snap.encode()
        #expect(Array(parts.joined()) == whole)
        #expect(try TaskSnapshot(decoding: whole) == snap)
        #expect(ChecksumKind.crc32c.of(parts) == ChecksumKind.crc32c.of(whole))
        #expect(ChecksumKind.fnv1a.of(parts) == fnv1a(whole))
        for size in [1, 7, 512, 100_000] {
            let chunks = Array(CheckpointStore.chunked(parts, size: size))
            #expect(chunks.dropLast().allSatisfy { $0.readableBytes == size })
            #expect(chunks.flatMap { Array($0.readableBytesView) } == whole)
        }
    }

    @Test func stateBytesRoundTripAndTruncationIsRefused() throws {
        var w = StateWriter()
        w.int(Int64.min); w.int(-1); w.uint(UInt64.max); w.double(-0.5); w.bool(true); w.string("héllo"); w.key(StreamKey("k")); w.key(StreamKey(42))
        // Little-endian on the wire, whatever the host.
        #expect(Array(w.bytes.prefix(8)) == [0, 0, 0, 0, 0, 0, 0, 0x80])
        var r = StateReader(w.bytes)
        #expect(try r.int() == Int64.min && r.int() == -1 && r.uint() == UInt64.max && r.double() == -0.5 && r.bool())
        #expect(try r.string() == "héllo" && r.key() == StreamKey("k") && r.key() == StreamKey(42) && r.atEnd)
        for n in 0..<w.bytes.count {
            var t = StateReader(Array(w.bytes.prefix(n)))
            #expect(throws: StateError.self) {
                _ = try t.int(); _ = try t.int(); _ = try t.uint(); _ = try t.double(); _ = try t.bool()
                _ = try t.string(); _ = try t.key(); _ = try t.key()
            }
        }
    }
}

@Suite struct EntryHeapTests {
    /// Interleaved inserts and pops against a sorted array: every pop is the smallest entry.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func popsInOrder(seed: UInt64) {
        var rng = SplitMix(seed: seed)
        var heap = EntryHeap()
        var model: [PendingEntry] = []
        var seq: UInt64 = 0
        for _ in 0..<20_000 {
            if Int.random(in: 0..<3, using: &rng) < 2 || model.isEmpty {
                seq += 1
                let e = PendingEntry(ts: Int64.random(in: 0..<500, using: &rng), seq: seq, slot: Int32(seq % 1000))
                heap.insert(e)
                model.append(e)
            } else {
                model.sort()
                #expect(heap.min == model.first)
                let got = heap.removeMin()
                #expect(got == model.removeFirst() && got.slot == Int32(got.seq % 1000))
            }
            #expect(heap.count == model.count)
        }
        model.sort()
        while !heap.isEmpty { #expect(heap.removeMin() == model.removeFirst()) }
        #expect(model.isEmpty)
    }
}
