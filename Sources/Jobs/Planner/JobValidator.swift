import Streams

/// Checks a parsed job against itself before anything runs: names unique, every input defined
/// before it is used, every expression typed against the rows it reads (the source's schema,
/// then each operator's output), the event-time field a time. Reports every problem at once,
/// each with its file, line and column. The output schema of every source and operator is
/// what the planner builds the pipeline from.
public struct JobValidator {
    public private(set) var schemas: [String: RowSchema] = [:]
    public private(set) var diagnostics: [Diagnostic] = []
    let lines: [Substring]
    /// The job's tables by name, for `lookup` operators.
    var tables: [String: TableDefinition] = [:]

    /// The columns a window adds beside its select list.
    public static let windowColumns = [RowSchema.Field("window_start", .timestamp, nullable: false),
                                       RowSchema.Field("window_end", .timestamp, nullable: false)]

    public static func validate(_ def: JobDefinition, text: String) -> (schemas: [String: RowSchema], diagnostics: Diagnostics) {
        var v = JobValidator(lines: text.split(separator: "\n", omittingEmptySubsequences: false))
        v.check(def)
        return (v.schemas, Diagnostics(v.diagnostics))
    }

    mutating func error(_ at: SourceLocation, _ message: String, length: Int = 1) {
        let line = at.line >= 1 && at.line <= lines.count ? String(lines[at.line - 1]) : ""
        diagnostics.append(Diagnostic(location: at, length: length, message: message, sourceLine: line))
    }

    /// Compiles an expression, keeping its diagnostics; nil when it has errors.
    mutating func compile(_ e: ExpressionText, _ scope: ExpressionScope, expecting: SQLType? = nil) -> CompiledExpression? {
        do throws(Diagnostics) {
            return try CompiledExpression(e.source, scope: scope, expecting: expecting)
        } catch {
            diagnostics += error.all
            return nil
        }
    }

    mutating func check(_ def: JobDefinition) {
        var defined = Set<String>()
        func declare(_ name: String, _ at: SourceLocation, _ me: inout JobValidator) {
            if !defined.insert(name).inserted { me.error(at, "'\(name)' names two sources or operators", length: name.count) }
        }
        for s in def.sources {
            declare(s.name, s.location, &self)
            var seen = Set<String>()
            for f in s.fields where !seen.insert(f.name.lowercased()).inserted {
                error(f.location, "source '\(s.name)': field '\(f.name)' is declared twice", length: f.name.count)
            }
            let schema = s.schema
            if let et = s.eventTime {
                if let i = schema.index(of: et) {
                    let t = schema[i].type
                    if t != .bigint && t != .timestamp {
                        error(s.eventTimeLocation, "source '\(s.name)': event-time field '\(et)' is \(t), not a TIMESTAMP or BIGINT (epoch milliseconds)", length: et.count)
                    }
                } else {
                    let hint = Suggest.nearest(et, among: schema.fields.map(\.name)).map { " (did you mean '\($0)'?)" } ?? ""
                    error(s.eventTimeLocation, "source '\(s.name)': event-time field '\(et)' is not in its schema\(hint)", length: et.count)
                }
            }
            if let k = s.partitionedBy, schema.index(of: k) == nil {
                let hint = Suggest.nearest(k, among: schema.fields.map(\.name)).map { " (did you mean '\($0)'?)" } ?? ""
                error(s.partitionedByLocation ?? s.location, "source '\(s.name)': partitioned-by field '\(k)' is not in its schema\(hint)", length: k.count)
            }
            schemas[s.name] = schema
        }
        let sourceTopics = Set(def.sources.map(\.topic))
        for t in def.tables {
            declare(t.name, t.location, &self)
            var seen = Set<String>()
            for f in t.fields where !seen.insert(f.name.lowercased()).inserted {
                error(f.location, "table '\(t.name)': field '\(f.name)' is declared twice", length: f.name.count)
            }
            if sourceTopics.contains(t.topic) {
                error(t.location, "table '\(t.name)': topic '\(t.topic)' is also a source (a table is read whole by every task; a source is split among them)", length: t.name.count)
            }
            if let v = t.versionedBy {
                let at = t.versionedByLocation ?? t.location
                if let f = t.fields.first(where: { $0.name.lowercased() == v.lowercased() }) {
                    if f.type != .timestamp && f.type != .bigint {
                        error(at, "table '\(t.name)': versioned-by field '\(v)' is \(f.type); a version starts at a TIMESTAMP or BIGINT (epoch millis)", length: v.count)
                    }
                } else {
                    let hint = Suggest.nearest(v, among: t.fields.map(\.name)).map { " (did you mean '\($0)'?)" } ?? ""
                    error(at, "table '\(t.name)': versioned-by field '\(v)' is not in its schema\(hint)", length: v.count)
                }
            }
            tables[t.name] = t
        }
        // Operators whose output is unknown (their definition has errors): what reads them is
        // not checked, rather than reported as reading nothing.
        var broken = Set<String>()
        for op in def.operators {
            declare(op.name, op.location, &self)
            if broken.contains(op.input) {
                broken.insert(op.name)
                continue
            }
            guard let input = schemas[op.input] else {
                let later = def.operators.contains { $0.name == op.input }
                let hint = later ? " (it is defined later: an operator reads what is defined before it)"
                    : Suggest.nearest(op.input, among: Array(schemas.keys)).map { " (did you mean '\($0)'?)" } ?? ""
                error(op.inputLocation, "operator '\(op.name)': input '\(op.input)' is not a source or an operator\(hint)", length: op.input.count)
                continue
            }
            if let out = output(of: op, input) {
                schemas[op.name] = out
            } else if case .filter = op.kind {
                schemas[op.name] = input  // a filter's rows are its input's, whatever its condition
            } else {
                broken.insert(op.name)
            }
        }
        var sinkNames = Set<String>()
        let tableTopics = Set(def.tables.map(\.topic))
        for k in def.sinks {
            if !sinkNames.insert(k.name).inserted { error(k.location, "sink '\(k.name)' is defined twice", length: k.name.count) }
            if sourceTopics.contains(k.topic) { error(k.location, "sink '\(k.name)': topic '\(k.topic)' is also a source of the job") }
            if tableTopics.contains(k.topic) { error(k.location, "sink '\(k.name)': topic '\(k.topic)' is also a table of the job") }
            if broken.contains(k.input) { continue }
            guard let input = schemas[k.input] else {
                let hint = Suggest.nearest(k.input, among: Array(schemas.keys)).map { " (did you mean '\($0)'?)" } ?? ""
                error(k.inputLocation, "sink '\(k.name)': input '\(k.input)' is not a source or an operator\(hint)", length: k.input.count)
                continue
            }
            let scope = ExpressionScope(input)
            if let key = k.key { _ = compile(key, scope) }
            for f in k.fields ?? [] { _ = compile(f.expression, scope) }
            if let t = k.timestamp { _ = compile(t, scope, expecting: .timestamp) }
        }
    }

    /// The rows an operator produces (nil when its definition has errors).
    mutating func output(of op: OperatorDefinition, _ input: RowSchema) -> RowSchema? {
        let what = "operator '\(op.name)'"
        switch op.kind {
        case .filter(let w):
            return compile(w, ExpressionScope(input), expecting: .boolean) == nil ? nil : input
        case .map(let select, let keep):
            var fields = keep ? input.fields : []
            var ok = true
            for s in select {
                guard let c = compile(s.expression, ExpressionScope(input)) else { ok = false; continue }
                fields.removeAll { $0.name.lowercased() == s.name.lowercased() }
                fields.append(RowSchema.Field(s.name, c.type, nullable: c.nullable))
            }
            return ok ? RowSchema(fields) : nil
        case .window(let key, _, _, let select, let having):
            let keys = key.compactMap { compile($0, ExpressionScope(input)) }
            var ok = keys.count == key.count
            let scope = ExpressionScope(input, extras: Self.windowColumns, allowsAggregates: true)
            // A window's result is one row per key and window: outside aggregate calls, only
            // the keys and the window's bounds can be read (SQL's GROUP BY rule).
            var grouped = Set(Self.windowColumns.map { $0.name.lowercased() })
            for k in keys { if case .column(let id) = k.syntax.kind { grouped.insert(id.name.lowercased()) } }
            let keyTexts = Set(keys.map(\.syntax.sql))
            var fields: [RowSchema.Field] = []
            for s in select {
                guard let c = compile(s.expression, scope) else { ok = false; continue }
                if !checkGrouped(c, grouped, keyTexts, what) { ok = false }
                fields.append(RowSchema.Field(s.name, c.type, nullable: c.nullable))
            }
            if let h = having {
                if let c = compile(h, scope, expecting: .boolean) {
                    if !checkGrouped(c, grouped, keyTexts, what) { ok = false }
                } else {
                    ok = false
                }
            }
            return ok ? RowSchema(fields + Self.windowColumns.filter { w in !fields.contains { $0.name == w.name } }) : nil
        case .over(let key, let measures, _):
            var ok = key.allSatisfy { compile($0, ExpressionScope(input)) != nil }
            var fields = input.fields
            for m in measures {
                guard let c = compile(m.expression, ExpressionScope(input, allowsAggregates: true)) else { ok = false; continue }
                // One aggregate call per measure: the operator computes it over the frame.
                let whole = m.expression.text.trimmingSpaces
                guard c.aggregates.count == 1, let a = c.aggregates.first, a.sql.count > 0,
                      a.range.end - a.range.start >= whole.utf8.count else {
                    error(m.expression.source.location(of: 0), "\(what): measure '\(m.name)' must be one aggregate call (COUNT, SUM, AVG, MIN, MAX or LAG), e.g. AVG(amount)",
                          length: m.expression.text.count)
                    ok = false
                    continue
                }
                if a.function == .firstValue || a.function == .lastValue {
                    error(a.location, "\(what): \(a.function.rawValue) is not an OVER measure yet (COUNT, SUM, AVG, MIN, MAX, LAG)")
                    ok = false
                }
                fields.removeAll { $0.name.lowercased() == m.name.lowercased() }
                fields.append(RowSchema.Field(m.name, a.type, nullable: true))
            }
            return ok ? RowSchema(fields) : nil
        case .lookup(let name, let at, let key, let alias, let inner):
            guard let table = tables[name] else {
                let hint = Suggest.nearest(name, among: Array(tables.keys)).map { " (did you mean '\($0)'?)" } ?? ""
                error(at, "\(what): table '\(name)' is not defined under tables:\(hint)", length: name.count)
                return nil
            }
            guard let k = compile(key, ExpressionScope(input)) else { return nil }
            guard k.type == .string || k.type == .bigint else {
                error(key.source.location(of: 0), "\(what): the key is \(k.type); a table is keyed by its record keys' text: give a STRING or BIGINT (CAST it)",
                      length: key.text.count)
                return nil
            }
            var fields = input.fields
            var ok = true
            for f in table.fields {
                let column = "\(alias).\(f.name)"
                if input.index(of: column) != nil {
                    error(at, "\(what): its column '\(column)' is already one of the input's: name the table's columns apart with `as:`", length: name.count)
                    ok = false
                }
                // A left join gives NULLs where the table has no entry.
                fields.append(RowSchema.Field(column, f.type, nullable: inner ? f.nullable : true))
            }
            return ok ? RowSchema(fields) : nil
        }
    }
}

extension JobValidator {
    /// Reports the columns read outside aggregate calls that are not keys; false if any.
    mutating func checkGrouped(_ c: CompiledExpression, _ grouped: Set<String>, _ keyTexts: Set<String>, _ what: String) -> Bool {
        var bare: [(Identifier, SourceRange)] = []
        Self.bareColumns(c.syntax, keyTexts, into: &bare)
        for (id, range) in bare where !grouped.contains(id.name.lowercased()) {
            error(c.source.location(of: range.start),
                  "\(what): `\(id.name)` is neither a key nor inside an aggregate (a window gives one row per key and window): aggregate it (e.g. MAX(\(id.name))) or add it to the key",
                  length: max(1, range.end - range.start))
        }
        return bare.allSatisfy { grouped.contains($0.0.name.lowercased()) }
    }

    /// Columns an expression reads outside aggregate calls (and outside sub-expressions that
    /// are a key written the same way).
    static func bareColumns(_ e: Expr, _ keyTexts: Set<String>, into out: inout [(Identifier, SourceRange)]) {
        if keyTexts.contains(e.sql) { return }
        switch e.kind {
        case .column(let id): out.append((id, e.range))
        case .countStar: return
        case .call(let name, _, _, _) where AggregateCall.Function(rawValue: name.uppercased()) != nil: return
        default: for child in e.children { bareColumns(child, keyTexts, into: &out) }
        }
    }
}

extension String {
    var trimmingSpaces: Substring {
        var s = self[...]
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}
