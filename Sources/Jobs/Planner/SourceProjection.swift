/// Which source fields a job reads (projection pushdown, as Flink prunes unused columns):
/// fields that no expression names are not decoded, and not required to be present. A sink
/// that writes its input whole (no `fields`) reads everything.
enum SourceProjection {
    /// Lowercased column names that some expression of the job names; nil: all are read.
    static func used(by def: JobDefinition) -> Set<String>? {
        if def.sinks.contains(where: { $0.fields == nil }) { return nil }
        var names = Set<String>()
        func add(_ e: ExpressionText) {
            guard let expr = ExpressionParser.parse(e.source).expr else { return }
            collect(expr, into: &names)
        }
        for op in def.operators {
            switch op.kind {
            case .filter(let w): add(w)
            case .map(let select, _): select.forEach { add($0.expression) }
            case .window(let key, _, _, let select, let having):
                key.forEach(add)
                select.forEach { add($0.expression) }
                having.map(add)
            case .over(let key, let measures, _):
                key.forEach(add)
                measures.forEach { add($0.expression) }
            case .lookup(_, _, let key, _, _):
                add(key)
            }
        }
        for k in def.sinks {
            k.key.map(add)
            k.fields?.forEach { add($0.expression) }
            k.timestamp.map(add)
        }
        return names
    }

    static func collect(_ e: Expr, into names: inout Set<String>) {
        if case .column(let id) = e.kind { names.insert(id.name.lowercased()) }
        for c in e.children { collect(c, into: &names) }
    }
}
