import Logging

/// How a job notices that its events lack a field it reads: a bank whose transactions carry no
/// location gets NULLs there, and every rule on the location is off (its comparisons are NULL,
/// not true) rather than the job failing. That must not pass silently: after the first
/// `sample` records of a partition, each field the job reads that was absent or NULL in all of
/// them is reported once, with the columns computed from it.
public struct FieldCheck: Sendable {
    public var sample: Int
    public var warn: @Sendable (String) -> Void

    public init(sample: Int = 10_000, warn: (@Sendable (String) -> Void)? = nil) {
        self.sample = sample
        self.warn = warn ?? { message in Logger(label: "riverbank.jobs").warning("\(message)") }
    }
}

/// One task's count of the fields it has seen with a value (a closure's captured state).
struct FieldPresence {
    let job: String
    let source: String
    let check: FieldCheck
    /// Slot, name and what is computed from it, for the nullable fields the job reads.
    let watched: [(slot: Int, name: String, dependents: [String])]
    var unseen: [Int]
    var count = 0
    var done: Bool

    init(job: String, source: SourceDefinition, used: Set<String>?, dependents: [String: [String]], check: FieldCheck) {
        self.job = job
        self.source = source.name
        self.check = check
        watched = source.fields.indices.compactMap { i in
            let f = source.fields[i]
            let name = f.name.lowercased()
            guard f.metadata == nil, f.nullable, used?.contains(name) ?? true else { return nil }
            return (i, f.name, dependents[name] ?? [])
        }
        unseen = Array(watched.indices)
        done = watched.isEmpty || check.sample <= 0
    }

    @inline(__always)
    mutating func observe(_ row: Row, partition: Int32) {
        guard !done else { return }
        observeSlowly(row, partition: partition)
    }

    private mutating func observeSlowly(_ row: Row, partition: Int32) {
        unseen.removeAll { !row.values[watched[$0].slot].isNull }
        count += 1
        guard unseen.isEmpty || count >= check.sample else { return }
        done = true
        for w in unseen.map({ watched[$0] }) {
            let computed = w.dependents.isEmpty ? "" : "; computed from it, NULL or off: "
                + w.dependents.prefix(12).joined(separator: ", ") + (w.dependents.count > 12 ? ", …" : "")
            check.warn("job \(job), source \(source), partition \(partition): field \(w.name) was absent or NULL in each of the first \(count) records\(computed)")
        }
    }

    /// Source field (lowercased) → the operators' columns computed from it, directly or through
    /// other columns, in the file's order.
    static func dependents(_ def: JobDefinition) -> [String: [String]] {
        var deps: [String: Set<String>] = [:]
        for s in def.sources { for f in s.fields { deps[f.name.lowercased()] = [f.name.lowercased()] } }
        var order: [String] = []
        func define(_ name: String, _ exprs: [ExpressionText]) {
            var names = Set<String>()
            for e in exprs { ColumnLiveness.add(e, &names) }
            let from = names.reduce(into: Set<String>()) { $0.formUnion(deps[$1] ?? []) }
            let key = name.lowercased()
            if deps[key] == nil { order.append(name) }
            deps[key] = from
        }
        for op in def.operators {
            switch op.kind {
            case .filter: break
            case .map(let select, _): for s in select { define(s.name, [s.expression]) }
            case .window(let key, _, _, let select, _): for s in select { define(s.name, [s.expression] + key) }
            case .over(let key, let measures, _): for m in measures { define(m.name, [m.expression] + key) }
            case .lookup(let table, _, let key, let alias, _):
                for t in def.tables where t.name == table { for f in t.fields { define("\(alias).\(f.name)", [key]) } }
            }
        }
        var out: [String: [String]] = [:]
        for name in order {
            for field in deps[name.lowercased()] ?? [] { out[field, default: []].append(name) }
        }
        return out
    }
}
