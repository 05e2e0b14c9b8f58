/// The schema walk of `AvroDecoding`: the raw pointers of the schema, the plan and the slots,
/// copied once (not generic: one copy of the code whatever the record type; no class loads
/// or reference counting per field). Valid while the decoder holds those objects.
struct AvroWalk {
    /// Records and arrays nested deeper than this are refused (hostile input cannot exhaust
    /// the stack through a recursive schema).
    static var maxDepth: Int { 64 }

    let nodes: UnsafeMutablePointer<AvroNode>
    let children: UnsafeMutablePointer<Int32>
    let actions: UnsafeMutablePointer<Int32>
    let planStart: UnsafeMutablePointer<Int32>
    let planRecord: UnsafeMutablePointer<Int32>
    let kind: UnsafeMutablePointer<AvroSlotKind>
    let bits: UnsafeMutablePointer<UInt64>
    let start: UnsafeMutablePointer<Int32>
    let end: UnsafeMutablePointer<Int32>
    let node: UnsafeMutablePointer<Int32>

    init(schema: AvroSchema, plan: AvroPlan, slots: AvroSlots) {
        nodes = schema.nodes
        children = schema.children
        actions = plan.actions
        planStart = plan.start
        planRecord = plan.record
        kind = slots.kind
        bits = slots.bits
        start = slots.start
        end = slots.end
        node = slots.node
    }

    /// A record with a plan: each field skipped, stored in a slot, or descended into.
    func readRecord(_ r: inout AvroReader, _ rec: Int32, plan p: Int32, depth: Int) throws(AvroFailure) {
        guard depth < AvroWalk.maxDepth else { throw AvroFailure.at(r.pos, .tooDeep("records")) }
        let n = nodes[Int(rec)]
        let fields = children + Int(n.first)
        let acts = actions + Int(planStart[Int(p)])
        var i = 0
        while i < Int(n.count) {
            let ft = fields[i]
            let a = acts[i]
            do {
                if a == AvroPlan.skip {
                    try skip(&r, ft, depth: depth &+ 1)
                } else if a >= 0 {
                    try store(&r, ft, slot: Int(a))
                } else {
                    try descend(&r, ft, plan: AvroPlan.child(a), depth: depth &+ 1)
                }
            } catch {
                var e = error
                e.path.append((rec, Int32(i)))
                throw e
            }
            i &+= 1
        }
    }

    /// A wanted nested record, possibly behind a union (a null branch leaves its fields missing).
    func descend(_ r: inout AvroReader, _ t: Int32, plan p: Int32, depth: Int) throws(AvroFailure) {
        var t = t
        let n = nodes[Int(t)]
        if n.kind == .union {
            t = children[Int(n.first) &+ Int(try r.readBranch(n.count))]
            guard t == planRecord[Int(p)] else { return try skip(&r, t, depth: depth) }
        }
        try readRecord(&r, t, plan: p, depth: depth)
    }

    /// Reads a scalar (or a union of scalars) into a slot.
    @inline(__always)
    func store(_ r: inout AvroReader, _ t: Int32, slot: Int) throws(AvroFailure) {
        var t = t
        var n = nodes[Int(t)]
        if n.kind == .union {
            t = children[Int(n.first) &+ Int(try r.readBranch(n.count))]
            n = nodes[Int(t)]
        }
        node[slot] = t
        start[slot] = Int32(truncatingIfNeeded: r.pos)
        switch n.kind {
        case .null:
            kind[slot] = .null
        case .boolean:
            bits[slot] = try r.readBool() ? 1 : 0
            kind[slot] = .bool
        case .int:
            bits[slot] = UInt64(bitPattern: Int64(try r.readInt()))
            kind[slot] = .integer
        case .long:
            bits[slot] = UInt64(bitPattern: try r.readLong())
            kind[slot] = .integer
        case .float:
            bits[slot] = Double(Float(bitPattern: try r.readFixed32())).bitPattern
            kind[slot] = .double
        case .double:
            bits[slot] = try r.readFixed64()
            kind[slot] = .double
        case .string, .bytes:
            let len = try r.readLength()
            start[slot] = Int32(truncatingIfNeeded: r.pos)  // the text, after its length
            r.pos &+= len
            end[slot] = Int32(truncatingIfNeeded: r.pos)
            kind[slot] = n.kind == .string ? .string : .bytes
        case .fixed:
            try r.skipBytes(Int(n.count))
            end[slot] = Int32(truncatingIfNeeded: r.pos)
            kind[slot] = .bytes
        case .enumeration:
            let at = r.pos
            let i = try r.readInt()
            guard i >= 0 && i < n.count else { throw AvroFailure.at(at, .enumIndex(i, n.count)) }
            bits[slot] = UInt64(i)
            kind[slot] = .symbol
        default:
            // Plans only store scalars; kept total for safety.
            try skipNested(&r, t, n, depth: 0)
            kind[slot] = .missing
        }
    }

    /// Skips a value of type `t`: scalars inline, the rest through `skipNested`.
    @inline(__always)
    func skip(_ r: inout AvroReader, _ t: Int32, depth: Int) throws(AvroFailure) {
        let n = nodes[Int(t)]
        switch n.kind {
        case .null: return
        case .string, .bytes: r.pos &+= try r.readLength()
        case .long: _ = try r.readLong()
        case .int: _ = try r.readInt()
        case .double: try r.skipBytes(8)
        case .float: try r.skipBytes(4)
        case .boolean: _ = try r.readBool()
        default: try skipNested(&r, t, n, depth: depth)
        }
    }

    /// Skips a record, union, array, map, enum or fixed, checking every length and count.
    func skipNested(_ r: inout AvroReader, _ t: Int32, _ n: AvroNode, depth: Int) throws(AvroFailure) {
        switch n.kind {
        case .enumeration:
            let at = r.pos
            let i = try r.readInt()
            guard i >= 0 && i < n.count else { throw AvroFailure.at(at, .enumIndex(i, n.count)) }
        case .fixed: try r.skipBytes(Int(n.count))
        case .union: try skip(&r, children[Int(n.first) &+ Int(try r.readBranch(n.count))], depth: depth)
        case .record:
            guard depth < AvroWalk.maxDepth else { throw AvroFailure.at(r.pos, .tooDeep("records")) }
            let fields = children + Int(n.first)
            var i = 0
            while i < Int(n.count) {
                do {
                    try skip(&r, fields[i], depth: depth &+ 1)
                } catch {
                    var e = error
                    e.path.append((t, Int32(i)))
                    throw e
                }
                i &+= 1
            }
        case .array, .map:
            guard depth < AvroWalk.maxDepth else { throw AvroFailure.at(r.pos, .tooDeep("arrays and maps")) }
            let item = n.first
            let isMap = n.kind == .map
            let itemMin = isMap ? 1 &+ nodes[Int(item)].minSize : nodes[Int(item)].minSize
            var index: Int32 = 0
            while true {
                let (count, size) = try r.readBlock(itemMinSize: itemMin)
                if count == 0 { return }
                if let size {
                    r.pos &+= size  // the block's byte size lets a reader jump it
                    index &+= Int32(truncatingIfNeeded: count)
                    continue
                }
                for _ in 0..<count {
                    do {
                        if isMap { r.pos &+= try r.readLength() }
                        try skip(&r, item, depth: depth &+ 1)
                    } catch {
                        var e = error
                        e.path.append((-1, index))
                        throw e
                    }
                    index &+= 1
                }
            }
        default:
            try skip(&r, t, depth: depth)  // scalars (not reached from `skip`)
        }
    }
}
