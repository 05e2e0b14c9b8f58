import Foundation
import Streams

/// Writes a job file as Flink SQL — CREATE TABLE with a WATERMARK for each source, a view per
/// operator (window table-valued functions, OVER aggregations), an INSERT per sink — for teams
/// that move a job to a Flink cluster. What Flink SQL cannot say is an error at its place in
/// the file; where Flink's result can differ (late rows dropped rather than routed, a
/// session time zone instead of each event's offset) the script says so in a comment.
public enum FlinkSQLExport {
    public struct Options: Sendable {
        public var bootstrap = "127.0.0.1:9092"
        /// Source name → directory of JSON files (filesystem connector instead of Kafka).
        public var sourcePaths: [String: String] = [:]
        /// Sink name → directory the filesystem connector writes JSON files to.
        public var sinkPaths: [String: String] = [:]
        public init() {}
    }

    public struct Script: Sendable {
        public var sql: String
        /// Where Flink's results can differ from Riverbank's (also in the script, as comments).
        public var notes: [String]
    }

    public static func export(_ file: JobFile, options: Options = Options()) throws(Diagnostics) -> Script {
        var e = Exporter(file: file, options: options,
                         problems: PlanProblems(lines: file.text.split(separator: "\n", omittingEmptySubsequences: false)))
        let sql = e.run()
        guard e.problems.all.isEmpty else { throw Diagnostics(e.problems.all) }
        return Script(sql: sql, notes: e.notes)
    }
}

struct Exporter {
    let file: JobFile
    let options: FlinkSQLExport.Options
    var problems: PlanProblems
    var notes: [String] = []
    /// The column holding each relation's event time (a time attribute in Flink).
    var rowtime: [String: String] = [:]
    var schemas: [String: RowSchema] { file.schemas }
    var def: JobDefinition { file.definition }

    static let rt = "`rowtime`"

    mutating func note(_ s: String) { if !notes.contains(s) { notes.append(s) } }

    mutating func run() -> String {
        var out: [String] = ["-- \(def.name) v\(def.version), exported from \(def.file) by riverbank job export --flink-sql",
                             "SET 'table.local-time-zone' = 'UTC';"]
        if let idle = def.sources.compactMap(\.idleTimeout).max() {
            out.append("SET 'table.exec.source.idle-timeout' = '\(idle.millis) ms';")
        }
        out.append("")
        for s in def.sources { out.append(source(s)) }
        for op in def.operators { if let v = view(op) { out.append(v) } }
        var inserts: [String] = []
        for k in def.sinks {
            let (table, insert) = sink(k)
            out.append(contentsOf: table)
            inserts += insert
        }
        // Several sinks: one job writing all of them, as Riverbank runs them.
        out.append(inserts.count > 1 ? "EXECUTE STATEMENT SET BEGIN\n" + inserts.joined(separator: "\n") + "END;\n" : inserts.joined(separator: "\n"))
        if !notes.isEmpty { out.insert(contentsOf: notes.map { "-- note: \($0)" } + [""], at: 2) }
        return out.joined(separator: "\n") + "\n"
    }

    // MARK: types, names, literals

    mutating func type(_ f: RowSchema.Field, at: SourceLocation) -> String {
        let t: String
        switch f.type {
        case .boolean: t = "BOOLEAN"
        case .bigint: t = "BIGINT"
        case .double: t = "DOUBLE"
        case .string: t = "STRING"
        case .timestamp:
            t = "TIMESTAMP_LTZ(3)"
            note("TIMESTAMP columns become TIMESTAMP_LTZ(3): Flink keeps the instant, not the UTC offset it was written with, so HOUR(), DATE_FORMAT() and friends use the session time zone (UTC here) instead of each event's own offset")
        case .interval:
            problems.report(at, "field \(f.name): Flink tables have no INTERVAL columns; export cannot write this job")
            t = "BIGINT"
        }
        return t + (f.nullable ? "" : " NOT NULL")
    }

    static func name(_ s: String) -> String { "`" + s.replacingOccurrences(of: "`", with: "``") + "`" }

    static func interval(_ d: Duration) -> String {
        let ms = d.millis
        for (unit, size) in [("DAY", Int64(86_400_000)), ("HOUR", 3_600_000), ("MINUTE", 60_000), ("SECOND", 1000)] where ms % size == 0 && ms != 0 {
            let n = ms / size
            let digits = String(n).count
            return "INTERVAL '\(n)' \(unit)\(digits > 2 ? "(\(digits))" : "")"
        }
        let secs = Double(ms) / 1000
        return "INTERVAL '\(secs)' SECOND\(String(Int(secs)).count > 2 ? "(\(String(Int(secs)).count), 3)" : "")"
    }

    static func string(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }

    /// An expression in Flink's spelling; calls Flink has no equivalent of are problems.
    mutating func expr(_ e: ExpressionText, _ what: String) -> String {
        guard let parsed = ExpressionParser.parse(e.source).expr else { return e.text }
        var unsupported: [String] = []
        let text = parsed.render { node in
            // Column names always backquoted: `timestamp`, `value`, `count` are reserved in Flink.
            if case .column(let id) = node.kind { return id.parts.map { Self.name($0.name) }.joined(separator: ".") }
            guard case .call(let name, _, let args, _) = node.kind else { return nil }
            switch name.uppercased() {
            case "TO_MILLIS":
                // Flink has no millisecond epoch conversion: whole seconds, exact for window bounds.
                let arg = args[0].render { n in
                    if case .column(let id) = n.kind { return id.parts.map { Self.name($0.name) }.joined(separator: ".") }
                    return nil
                }
                return "(CAST(TIMESTAMPDIFF(SECOND, TIMESTAMP '1970-01-01 00:00:00', CAST(\(arg) AS TIMESTAMP(3))) AS BIGINT) * 1000)"
            case "GEO_DISTANCE_KM", "GEO_DISTANCE_MILES", "MODEL_SCORE", "MODEL_VERSION":
                unsupported.append(name.uppercased())
                return nil
            default:
                return nil
            }
        }
        if text.contains("TO_MILLIS") || parsed.sql.uppercased().contains("TO_MILLIS(") {
            note("TO_MILLIS(ts) is exported as whole seconds × 1000 (Flink has no millisecond epoch conversion); window bounds are exact")
        }
        for u in unsupported {
            problems.report(e.source.location(of: 0), "\(what): \(u) has no Flink SQL equivalent (a user-defined function would be needed); export cannot write this job",
                            length: e.text.count)
        }
        return text
    }

    // MARK: sources

    mutating func source(_ s: SourceDefinition) -> String {
        var cols: [String] = []
        for f in s.fields {
            if f.name.contains(".") {
                problems.report(f.location, "field \(f.name): nested fields are not exported yet (Flink reads them as ROW columns)")
            }
            if let md = f.metadata {
                if options.sourcePaths[s.name] != nil {
                    problems.report(f.location, "field \(f.name): record metadata needs the Kafka connector (files have none)")
                }
                let t = md == .timestamp && f.type == .timestamp ? "TIMESTAMP_LTZ(3)" : (md == .partition ? "INT" : type(RowSchema.Field(f.name, f.type, nullable: true), at: f.location))
                cols.append("  \(Self.name(f.name)) \(t) METADATA FROM '\(md.rawValue)' VIRTUAL")
                continue
            }
            cols.append("  \(Self.name(f.name)) \(type(RowSchema.Field(f.name, f.type, nullable: f.nullable), at: f.location))")
        }
        let et: String
        if let e = s.eventTime, let i = s.schema.index(of: e) {
            let f = s.schema[i]
            if f.type == .bigint {
                cols.append("  \(Self.rt) AS TO_TIMESTAMP_LTZ(\(Self.name(f.name)), 3)")
                et = Self.rt
            } else {
                et = Self.name(f.name)
            }
        } else {
            if options.sourcePaths[s.name] != nil {
                problems.report(s.location, "source '\(s.name)': event time from the record timestamp needs the Kafka connector (files have none)")
            }
            cols.append("  \(Self.rt) TIMESTAMP_LTZ(3) METADATA FROM 'timestamp'")
            et = Self.rt
        }
        // Riverbank's bounded out-of-orderness is Flink's: max event time − delay − 1 ms.
        cols.append("  WATERMARK FOR \(et) AS \(et) - \(Self.interval(s.outOfOrderness == .zero ? .milliseconds(1) : s.outOfOrderness))")
        rowtime[s.name] = et
        if s.outOfOrderness == .zero { note("a zero out-of-orderness is written as 1 ms (a Flink interval cannot be zero)") }
        let with: String
        // Flink's csv format maps columns by position to the schema, as Riverbank's does.
        let format = s.format == .csv
            ? "'format' = 'csv', 'csv.field-delimiter' = \(Self.string(String(s.csv.separator)))"
            : "'format' = 'json', 'json.timestamp-format.standard' = 'ISO-8601'"
        let ignore = s.format == .csv ? "'csv.ignore-parse-errors' = 'true'" : "'json.ignore-parse-errors' = 'true'"
        if s.format == .csv && s.csv.skipHeader { note("source '\(s.name)': header lines are skipped by Riverbank; Flink reads them as bad rows (ignored)") }
        if let path = options.sourcePaths[s.name] {
            with = "'connector' = 'filesystem', 'path' = \(Self.string(path)), \(format)"
        } else {
            with = "'connector' = 'kafka', 'topic' = \(Self.string(s.topic)), 'properties.bootstrap.servers' = \(Self.string(options.bootstrap)), "
                + "'properties.group.id' = \(Self.string("\(def.name)-flink")), 'scan.startup.mode' = 'earliest-offset', \(format), \(ignore)"
            note("records that do not fit the schema are skipped (\(ignore)); Riverbank sends them to its dead-letter topic")
        }
        return "CREATE TABLE \(Self.name(s.name)) (\n\(cols.joined(separator: ",\n"))\n) WITH (\(with));\n"
    }

    // MARK: operators

    /// Columns of a relation, for a SELECT list.
    func columns(_ rel: String) -> [String] { (schemas[rel]?.fields ?? []).map { Self.name($0.name) } }

    mutating func view(_ op: OperatorDefinition) -> String? {
        let input = op.input
        let inRT = rowtime[input] ?? Self.rt
        let what = "operator '\(op.name)'"
        var body: String
        switch op.kind {
        case .filter(let w):
            body = "SELECT * FROM \(Self.name(input)) WHERE \(expr(w, what))"
            rowtime[op.name] = inRT
        case .map(let select, let keep):
            let replaced = Set(select.map { $0.name.lowercased() })
            var items = keep ? (schemas[input]?.fields ?? []).filter { !replaced.contains($0.name.lowercased()) }.map { Self.name($0.name) } : []
            items += select.map { "\(expr($0.expression, what)) AS \(Self.name($0.name))" }
            if !items.contains(inRT) { items.append(inRT) }
            body = "SELECT \(items.joined(separator: ", ")) FROM \(Self.name(input))"
            rowtime[op.name] = inRT
        case .window(let key, let window, let lateness, let select, let having):
            if lateness > .zero {
                note("\(what): allowed-lateness has no Flink SQL equivalent for window TVFs; Flink drops rows behind the watermark, Riverbank re-fires the window with an update")
            }
            let tvf: String
            switch window {
            case .tumbling(let size): tvf = "TUMBLE(TABLE \(Self.name(input)), DESCRIPTOR(\(inRT)), \(Self.interval(size)))"
            case .hopping(let size, let slide): tvf = "HOP(TABLE \(Self.name(input)), DESCRIPTOR(\(inRT)), \(Self.interval(slide)), \(Self.interval(size)))"
            case .cumulate(let step, let max): tvf = "CUMULATE(TABLE \(Self.name(input)), DESCRIPTOR(\(inRT)), \(Self.interval(step)), \(Self.interval(max)))"
            case .session(let gap):
                tvf = "SESSION(TABLE \(Self.name(input)) PARTITION BY \(key.map { expr($0, what) }.joined(separator: ", ")), DESCRIPTOR(\(inRT)), \(Self.interval(gap)))"
            }
            var items = select.map { "\(expr($0.expression, what)) AS \(Self.name($0.name))" }
            let names = Set(select.map(\.name))
            if !names.contains("window_start") { items.append("window_start") }
            if !names.contains("window_end") { items.append("window_end") }
            items.append("window_time AS \(Self.rt)")
            let groups = ["window_start", "window_end", "window_time"] + key.map { expr($0, what) }
            body = "SELECT \(items.joined(separator: ", "))\n  FROM TABLE(\(tvf))\n  GROUP BY \(groups.joined(separator: ", "))"
            if let h = having { body += "\n  HAVING \(expr(h, what))" }
            rowtime[op.name] = Self.rt
            note("late rows (behind the watermark) are dropped by Flink; Riverbank writes them to the late topic with the reason")
        case .over(let key, let measures, let order):
            guard let b = overBody(op, input, inRT, key, measures) else { return nil }
            if order == .arrival {
                note("operator '\(op.name)' runs in arrival order in Riverbank; Flink's OVER orders by the rowtime and waits for the watermark (the same results while each key's events arrive in time order)")
            }
            body = b
            rowtime[op.name] = inRT
        case .lookup(let table, let at, _, _, _):
            // Flink's nearest is a temporal join with an upsert-kafka table, which waits for the
            // watermark and meets versions by event time: a versioned table's semantics, but
            // emitted only once the watermark passes (ours at once), so not written out yet.
            let versioned = def.tables.first { $0.name == table }?.versionedBy != nil
            problems.report(at, versioned
                ? "\(what): a lookup into versioned table '\(table)' is not exported yet (Flink's temporal join, FOR SYSTEM_TIME AS OF, meets the same versions but waits for the watermark)"
                : "\(what): a lookup into table '\(table)' is not exported yet (Flink's temporal join meets versions by event time; this one meets the latest)",
                            length: table.count)
            return nil
        }
        return "CREATE TEMPORARY VIEW \(Self.name(op.name)) AS\n  \(body);\n"
    }

    /// OVER measures: Flink computes one window specification per SELECT and only up to the
    /// current row, so each frame gets its own level, and "excluding the current row" is the
    /// frame's aggregate with the row taken out again (COUNT − 1, SUM − x).
    mutating func overBody(_ op: OperatorDefinition, _ input: String, _ rt: String, _ key: [ExpressionText],
                           _ measures: [MeasureDefinition]) -> String? {
        let what = "operator '\(op.name)'"
        let partition = key.map { expr($0, what) }.joined(separator: ", ")
        var byFrame: [(frame: FrameDefinition, items: [String])] = []
        guard let inSchema = schemas[input] else { return nil }
        for m in measures {
            guard let parsed = ExpressionParser.parse(m.expression.source).expr else { continue }
            let fname: String, args: [Expr]
            switch parsed.kind {
            case .countStar:
                add(&byFrame, m.frame, m.excludeCurrent ? "COUNT(*) OVER w - 1" : "COUNT(*) OVER w", m.name)
                continue
            case .call(let n, _, let a, _) where !a.isEmpty:
                fname = n
                args = a
            default:
                problems.report(m.expression.source.location(of: 0), "\(what): measure '\(m.name)' is not exported", length: m.expression.text.count)
                continue
            }
            let arg = args[0]
            let x = arg.sql
            let nullable = inSchema.fields.first { $0.name.lowercased() == x.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "`")) }?.nullable ?? true
            let f = fname.uppercased()
            if f == "LAG" {
                let offset = args.count > 1 ? ", \(args[1].sql)" : ""
                add(&byFrame, .unbounded, "LAG(\(x)\(offset)) OVER w", m.name, lag: true)
                continue
            }
            guard m.excludeCurrent else {
                add(&byFrame, m.frame, "\(f)(\(x)) OVER w", m.name)
                continue
            }
            if nullable && f != "COUNT" {
                problems.report(m.expression.source.location(of: 0), "\(what): measure '\(m.name)' excludes the current row of a nullable value; Flink's OVER ends at the current row, and taking a NULL out again is not exportable",
                                length: m.expression.text.count)
                continue
            }
            switch f {
            case "COUNT": add(&byFrame, m.frame, nullable ? "COUNT(\(x)) OVER w - CASE WHEN \(x) IS NULL THEN 0 ELSE 1 END" : "COUNT(\(x)) OVER w - 1", m.name)
            case "SUM": add(&byFrame, m.frame, "CASE WHEN COUNT(\(x)) OVER w = 1 THEN NULL ELSE SUM(\(x)) OVER w - \(x) END", m.name)
            case "AVG": add(&byFrame, m.frame, "(SUM(\(x)) OVER w - \(x)) / NULLIF(COUNT(\(x)) OVER w - 1, 0)", m.name)
            default:
                problems.report(m.expression.source.location(of: 0), "\(what): \(f) excluding the current row has no Flink SQL equivalent (Flink's OVER frames end at the current row)",
                                length: m.expression.text.count)
            }
        }
        // Innermost level first; each level keeps every column, the time attribute with them.
        let replaced = Set(measures.map { $0.name.lowercased() })
        var from = Self.name(input)
        var carried = inSchema.fields.filter { !replaced.contains($0.name.lowercased()) }.map { Self.name($0.name) }
        if !carried.contains(rt) { carried.append(rt) }
        var sql = ""
        for (i, level) in byFrame.enumerated() {
            let frame: String
            switch level.frame {
            case .unbounded: frame = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
            case .rows(let n): frame = "ROWS BETWEEN \(n) PRECEDING AND CURRENT ROW"
            case .range(let d): frame = "RANGE BETWEEN \(Self.interval(d)) PRECEDING AND CURRENT ROW"
            }
            let inner = "SELECT \((carried + level.items).joined(separator: ", ")) FROM \(from)\n    WINDOW w AS (PARTITION BY \(partition) ORDER BY \(rt) \(frame))"
            carried += level.items.map { item in String(item[item.range(of: " AS ", options: .backwards)!.upperBound...]) }
            if i == byFrame.count - 1 { sql = inner } else { from = "(\(inner))" }
        }
        note("\(what): rows with the same event time and key are ordered by Flink as it receives them per partition; Riverbank orders them by arrival too")
        return sql
    }

    func add(_ levels: inout [(frame: FrameDefinition, items: [String])], _ frame: FrameDefinition, _ e: String, _ name: String, lag: Bool = false) {
        let item = "\(e) AS \(Self.name(name))"
        // LAG reads the previous row whatever the frame: it joins any level.
        if lag, !levels.isEmpty { levels[0].items.append(item); return }
        if let i = levels.firstIndex(where: { $0.frame == frame }) { levels[i].items.append(item) } else { levels.append((frame, [item])) }
    }

    // MARK: sinks

    mutating func sink(_ k: SinkDefinition) -> (table: [String], insert: [String]) {
        if k.timestamp != nil {
            note("sink '\(k.name)': its record timestamp expression is not exported (Flink's Kafka sink writes the rowtime)")
        }
        let what = "sink '\(k.name)'"
        guard let input = schemas[k.input] else { return ([], []) }
        var items: [(name: String, sql: String, type: String)] = []
        let scope = ExpressionScope(input)
        if let fields = k.fields {
            for f in fields {
                let t = (try? CompiledExpression(f.expression.source, scope: scope)).map { c in
                    type(RowSchema.Field(f.name, c.type, nullable: c.nullable), at: f.expression.source.location(of: 0))
                } ?? "STRING"
                items.append((f.name, expr(f.expression, what), t))
            }
        } else {
            for f in input.fields {
                let t = f.name == "window_start" || f.name == "window_end" ? "TIMESTAMP(3)" : type(f, at: k.location)
                items.append((f.name, Self.name(f.name), t))
            }
        }
        // Window bounds are TIMESTAMP(3) in Flink (wall time in the session zone).
        items = items.map { i in (i.name, i.sql, i.sql == "window_start" || i.sql == "`window_start`" || i.sql == "window_end" || i.sql == "`window_end`" ? "TIMESTAMP(3)" : i.type) }
        let table = "sink_\(k.name)"
        var cols = items.map { "  \(Self.name($0.name)) \($0.type.replacingOccurrences(of: " NOT NULL", with: ""))" }
        var select = items.map { "\($0.sql) AS \(Self.name($0.name))" }
        var with: String
        let format = k.format == .csv
            ? "'format' = 'csv', 'csv.field-delimiter' = \(Self.string(String(k.csv.separator)))"
            : "'format' = 'json', 'json.timestamp-format.standard' = 'ISO-8601'"
        if let path = options.sinkPaths[k.name] {
            with = "'connector' = 'filesystem', 'path' = \(Self.string(path)), \(format)"
        } else {
            with = "'connector' = 'kafka', 'topic' = \(Self.string(k.topic)), 'properties.bootstrap.servers' = \(Self.string(options.bootstrap)), "
                + format
            if let key = k.key {
                cols.append("  `record_key` STRING")
                select.append("CAST(\(expr(key, what)) AS STRING) AS `record_key`")
                with += ", 'key.format' = 'raw', 'key.fields' = 'record_key', 'value.fields-include' = 'EXCEPT_KEY'"
            }
        }
        return (["CREATE TABLE \(Self.name(table)) (\n\(cols.joined(separator: ",\n"))\n) WITH (\(with));\n"],
                ["INSERT INTO \(Self.name(table))\nSELECT \(select.joined(separator: ", ")) FROM \(Self.name(k.input));\n"])
    }
}
