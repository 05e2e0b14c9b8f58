/// What a decoder does with each field of the records it walks, from the paths its record
/// type wants: per planned record (the root, and each nested record a path goes through), one
/// action per field — skip, store into a slot, or descend into another planned record. Paths
/// are resolved once here; a named record used in two places gets a plan for each.
final class AvroPlan: @unchecked Sendable {
    static let skip: Int32 = -1
    /// Actions below -1 name a child plan: -2 is plan 0, -3 plan 1, …
    @inline(__always) static func child(_ a: Int32) -> Int32 { -a - 2 }

    let actions: UnsafeMutablePointer<Int32>
    /// Per plan: where its actions start, and its record node.
    let start: UnsafeMutablePointer<Int32>
    let record: UnsafeMutablePointer<Int32>
    let planCount: Int
    let paths: [String]

    init(schema: AvroSchema, paths: [String]) throws(FormatError) {
        self.paths = paths
        let root = schema.node(schema.root)
        guard root.kind == .record else {
            throw FormatError(offset: 0, "the schema's root must be a record, found \(schema.typeName(schema.root))")
        }
        var recs: [Int32] = [schema.root]
        var acts: [[Int32]] = [Array(repeating: AvroPlan.skip, count: Int(root.count))]
        for (slot, path) in paths.enumerated() {
            let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            var p = 0
            for (k, part) in parts.enumerated() {
                let prefix = parts[...k].joined(separator: ".")
                let rn = schema.node(recs[p])
                let names = (0..<Int(rn.count)).map { schema.childNames[Int(rn.first) + $0] }
                guard let fi = names.firstIndex(of: part) else {
                    throw FormatError(offset: 0, "field \(path): \(schema.typeName(recs[p])) has no field '\(part)' (fields: \(names.joined(separator: ", ")))")
                }
                let ft = schema.child(rn, Int32(fi))
                if k == parts.count - 1 {
                    guard AvroPlan.isScalar(schema, ft) else {
                        throw FormatError(offset: 0, "field \(path): \(schema.typeName(ft)) is not a scalar type")
                    }
                    guard acts[p][fi] == AvroPlan.skip else { throw FormatError(offset: 0, "field \(path) is wanted twice") }
                    acts[p][fi] = Int32(slot)
                } else {
                    let target = try AvroPlan.recordBehind(schema, ft, prefix: prefix, path: path)
                    let a = acts[p][fi]
                    if a == AvroPlan.skip {
                        recs.append(target)
                        acts.append(Array(repeating: AvroPlan.skip, count: Int(schema.node(target).count)))
                        acts[p][fi] = -Int32(recs.count - 1) - 2
                        p = recs.count - 1
                    } else {
                        p = Int(AvroPlan.child(a))  // a path already goes through this record
                    }
                }
            }
        }
        planCount = recs.count
        let total = acts.reduce(0) { $0 + $1.count }
        actions = .allocate(capacity: max(1, total))
        start = .allocate(capacity: planCount)
        record = .allocate(capacity: planCount)
        var at = 0
        for (i, a) in acts.enumerated() {
            start[i] = Int32(at)
            record[i] = recs[i]
            (actions + at).initialize(from: a, count: a.count)
            at += a.count
        }
        if total == 0 { actions.initialize(to: AvroPlan.skip) }
    }

    deinit {
        actions.deallocate()
        start.deallocate()
        record.deallocate()
    }

    /// A scalar, or a union whose branches all are.
    static func isScalar(_ schema: AvroSchema, _ t: Int32) -> Bool {
        let n = schema.node(t)
        if n.kind == .union { return (0..<n.count).allSatisfy { schema.node(schema.child(n, $0)).kind.isScalar } }
        return n.kind.isScalar
    }

    /// The record a path goes through: the field's type, or the one record branch of its union.
    static func recordBehind(_ schema: AvroSchema, _ t: Int32, prefix: String, path: String) throws(FormatError) -> Int32 {
        let n = schema.node(t)
        if n.kind == .record { return t }
        if n.kind == .union {
            let recs = (0..<n.count).map { schema.child(n, $0) }.filter { schema.node($0).kind == .record }
            if recs.count == 1 { return recs[0] }
            if recs.count > 1 {
                throw FormatError(offset: 0, "field \(path): \(prefix) is a union of several records; a path must lead to one")
            }
        }
        throw FormatError(offset: 0, "field \(path): \(prefix) is \(schema.typeName(t)), not a record")
    }
}
