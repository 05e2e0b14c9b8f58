/// Which columns of each operator's output some later operator or sink still names (Flink's
/// projection pushdown through the plan, not only at the source): an operator that passes its
/// input's columns on — a map with keep-input, a lookup, an OVER — keeps only those. Every
/// such operator copies the row it passes on, so a column nobody reads costs a copy per
/// operator per event (and state, where rows are buffered).
struct ColumnLiveness {
    /// Stream name → lowercased column names read downstream; absent: the stream feeds a sink
    /// that writes its input whole, so every column is live.
    private var live: [String: Set<String>] = [:]
    private var all: Set<String> = []

    init(_ def: JobDefinition) {
        var memo: [String: Set<String>?] = [:]
        var consumers: [String: [Consumer]] = [:]
        for op in def.operators { consumers[op.input, default: []].append(.op(op)) }
        for k in def.sinks { consumers[k.input, default: []].append(.sink(k)) }

        func needed(_ stream: String, depth: Int) -> Set<String>? {
            if let m = memo[stream] { return m }
            // The validator refuses cycles; the bound keeps a bad file from recursing forever.
            guard depth < 10_000 else { return nil }
            var names = Set<String>()
            for c in consumers[stream] ?? [] {
                switch c {
                case .sink(let k):
                    guard k.fields != nil else { memo[stream] = .some(nil); return nil }
                    k.key.map { Self.add($0, &names) }
                    k.fields?.forEach { Self.add($0.expression, &names) }
                    k.timestamp.map { Self.add($0, &names) }
                case .op(let op):
                    Self.addReferences(of: op, &names)
                    if Self.passesInputOn(op) {
                        guard let downstream = needed(op.name, depth: depth + 1) else { memo[stream] = .some(nil); return nil }
                        names.formUnion(downstream)
                    }
                }
            }
            memo[stream] = .some(names)
            return names
        }
        for s in def.sources { _ = needed(s.name, depth: 0) }
        for op in def.operators { _ = needed(op.name, depth: 0) }
        for (k, v) in memo { if let v { live[k] = v } else { all.insert(k) } }
    }

    /// Whether `column` of `stream`'s output is read by anything after it.
    func isLive(_ column: String, in stream: String) -> Bool {
        if all.contains(stream) { return true }
        return live[stream]?.contains(column.lowercased()) ?? true
    }

    private enum Consumer {
        case op(OperatorDefinition)
        case sink(SinkDefinition)
    }

    static func passesInputOn(_ op: OperatorDefinition) -> Bool {
        switch op.kind {
        case .filter, .over, .lookup: true
        case .map(_, let keep): keep
        case .window: false
        }
    }

    static func addReferences(of op: OperatorDefinition, _ names: inout Set<String>) {
        switch op.kind {
        case .filter(let w): add(w, &names)
        case .map(let select, _): select.forEach { add($0.expression, &names) }
        case .window(let key, _, _, let select, let having):
            key.forEach { add($0, &names) }
            select.forEach { add($0.expression, &names) }
            having.map { add($0, &names) }
        case .over(let key, let measures, _):
            key.forEach { add($0, &names) }
            measures.forEach { add($0.expression, &names) }
        case .lookup(_, _, let key, _, _):
            add(key, &names)
        }
    }

    static func add(_ e: ExpressionText, _ names: inout Set<String>) {
        guard let expr = ExpressionParser.parse(e.source).expr else { return }
        SourceProjection.collect(expr, into: &names)
    }
}
