import Foundation
import Streams
import Yams

/// Reads a job file (YAML) into a `JobDefinition`, or every problem found with its place.
///
/// ```yaml
/// name: big-spenders            # the job's stable name: checkpoints and state belong to it
/// version: 3
/// sources:
///   tx:
///     topic: transactions
///     format: json              # json (default), csv, avro
///     schema:                   # field (dotted path) → SQL type; NOT NULL to require it
///       customer_id: BIGINT NOT NULL
///       amount: DOUBLE
///       ts_ms: BIGINT
///       src_offset: BIGINT METADATA FROM 'offset'   # topic, partition, offset, timestamp of the record
///     event-time: ts_ms         # a field (epoch ms or TIMESTAMP), or omit: the record timestamp
///     out-of-orderness: 5s
///     idle-timeout: 30s
///     partitioned-by: customer_id   # the field producers key the records by (else operators
///                                   # keyed by it are repartitioned like any other key)
/// operators:
///   - name: history
///     over: tx                  # the kind of operator names its input
///     key: customer_id
///     measures:
///       prev_avg: { expr: AVG(amount), frame: unbounded, exclude-current: true }
///     order: event-time         # or arrival: each row at once, without waiting for the watermark
///   - name: big
///     filter: history
///     where: prev_avg IS NOT NULL AND amount > 3 * prev_avg
/// sinks:
///   - name: alerts
///     from: big
///     topic: big-spends
///     key: customer_id
/// parallelism: 2
/// checkpoint-interval: 1s
/// delivery: exactly-once        # or at-least-once (default)
/// ```
public enum JobFileParser {
    /// Largest job file read (a definition, not data).
    public static let maxBytes = 1 << 20

    static let topKeys = ["name", "version", "description", "sources", "tables", "operators", "sinks", "parallelism",
                          "checkpoint-interval", "delivery", "dead-letter-topic", "late-topic"]
    static let sourceKeys = ["topic", "format", "schema", "event-time", "out-of-orderness", "idle-timeout", "separator", "skip-header", "avro-schema", "wire",
                             "partitioned-by"]
    static let tableKeys = ["topic", "format", "schema", "versioned-by", "history"]
    static let operatorKinds = ["filter", "map", "window", "over", "lookup"]
    static let sinkKeys = ["name", "from", "topic", "format", "key", "fields", "timestamp", "separator"]

    public static func parse(_ text: String, file: String) -> (JobDefinition?, Diagnostics) {
        var r = YAMLReader(file: file, text: text)
        guard text.utf8.count <= maxBytes else {
            r.error(SourceLocation(file: file, line: 1, column: 1), "job file of \(text.utf8.count) bytes exceeds the \(maxBytes)-byte limit")
            return (nil, Diagnostics(r.diagnostics))
        }
        let root: Node
        do {
            guard let n = try Yams.compose(yaml: text) else {
                r.error(SourceLocation(file: file, line: 1, column: 1), "empty job file")
                return (nil, Diagnostics(r.diagnostics))
            }
            root = n
        } catch let e as YamlError {
            r.error(yamlErrorLocation(e, file: file), "not valid YAML: \(yamlErrorMessage(e))")
            return (nil, Diagnostics(r.diagnostics))
        } catch {
            r.error(SourceLocation(file: file, line: 1, column: 1), "not valid YAML: \(error)")
            return (nil, Diagnostics(r.diagnostics))
        }
        guard let top = r.mapping(root, "the job file") else { return (nil, Diagnostics(r.diagnostics)) }
        r.checkKeys(top, known: topKeys, in: "job")
        let name = r.require(top, "name", in: "job", at: root).flatMap { r.string($0, "name") } ?? ""
        if let n = r.value(top, "name"), !name.isEmpty, !isTopicSafe(name) {
            r.error(n, "name '\(name)' may hold only letters, digits, '.', '_' and '-' (it names the job's topics)")
        }
        let version = r.value(top, "version").flatMap { r.string($0, "version") } ?? "1"
        let description = r.value(top, "description").flatMap { r.string($0, "description") }
        let parallelism = r.value(top, "parallelism").flatMap { r.int($0, "parallelism", range: 1...1024) } ?? 1
        let checkpoint = r.value(top, "checkpoint-interval").flatMap { r.duration($0, "checkpoint-interval", allowZero: false) }
        var delivery = StreamJobConfig.Delivery.atLeastOnce
        if let d = r.value(top, "delivery"), let text = r.string(d, "delivery") {
            if let v = StreamJobConfig.Delivery(rawValue: text.lowercased()) {
                delivery = v
                if v == .exactlyOnce && checkpoint == nil {
                    r.error(d, "delivery: exactly-once commits the output with each checkpoint: give the job a checkpoint-interval")
                }
            } else {
                let all = StreamJobConfig.Delivery.allCases.map(\.rawValue)
                let hint = Suggest.nearest(text, among: all).map { " (did you mean '\($0)'?)" } ?? ""
                r.error(d, "delivery '\(text)' is not one of \(all.joined(separator: ", "))\(hint)")
            }
        }

        var sources: [SourceDefinition] = []
        if let s = r.require(top, "sources", in: "job", at: root), let pairs = r.mapping(s, "sources") {
            if pairs.isEmpty { r.error(s, "sources: at least one source is needed") }
            for p in pairs { if let src = source(&r, p.key, p.keyNode, p.value) { sources.append(src) } }
        }
        var tables: [TableDefinition] = []
        if let t = r.value(top, "tables"), let pairs = r.mapping(t, "tables") {
            for p in pairs { if let tab = table(&r, p.key, p.keyNode, p.value) { tables.append(tab) } }
        }
        var operators: [OperatorDefinition] = []
        if let o = r.value(top, "operators") {
            if let seq = o.sequence {
                for n in seq { if let op = op(&r, n) { operators.append(op) } }
            } else {
                r.error(o, "operators must be a list (lines starting with '- ')")
            }
        }
        var sinks: [SinkDefinition] = []
        if let s = r.require(top, "sinks", in: "job", at: root) {
            if let seq = s.sequence {
                if seq.isEmpty { r.error(s, "sinks: at least one sink is needed") }
                for n in seq { if let k = sink(&r, n) { sinks.append(k) } }
            } else {
                r.error(s, "sinks must be a list (lines starting with '- ')")
            }
        }
        let dlq = r.value(top, "dead-letter-topic").flatMap { r.string($0, "dead-letter-topic") }
        let late = r.value(top, "late-topic").flatMap { r.string($0, "late-topic") }
        guard r.diagnostics.isEmpty else { return (nil, Diagnostics(r.diagnostics)) }
        return (JobDefinition(file: file, name: name, version: version, description: description, sources: sources,
                              operators: operators, sinks: sinks, parallelism: parallelism, checkpointInterval: checkpoint,
                              delivery: delivery, deadLetterTopic: dlq, lateTopic: late, tables: tables), Diagnostics([]))
    }

    static func isTopicSafe(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 200 && s.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSetLite.isAlnum($0) || "._-".unicodeScalars.contains($0)) }
    }

    static func source(_ r: inout YAMLReader, _ name: String, _ keyNode: Node, _ node: Node) -> SourceDefinition? {
        let what = "source '\(name)'"
        guard let pairs = r.mapping(node, what) else { return nil }
        r.checkKeys(pairs, known: sourceKeys, in: what)
        let topic = r.require(pairs, "topic", in: what, at: keyNode).flatMap { r.string($0, "\(what): topic") }
        var format = SourceFormat.json
        if let f = r.value(pairs, "format"), let s = r.string(f, "\(what): format") {
            if let v = SourceFormat(rawValue: s.lowercased()) { format = v } else {
                r.error(f, "\(what): format '\(s)' is not one of \(SourceFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        let fields = schema(&r, pairs, what, keyNode)
        var eventTime: String? = nil
        var eventTimeLocation = r.location(keyNode)
        if let e = r.value(pairs, "event-time"), let s = r.string(e, "\(what): event-time") {
            eventTime = s
            eventTimeLocation = r.location(e)
        }
        let ooo = r.value(pairs, "out-of-orderness").flatMap { r.duration($0, "\(what): out-of-orderness") } ?? .zero
        let idle = r.value(pairs, "idle-timeout").flatMap { r.duration($0, "\(what): idle-timeout", allowZero: false) }
        var csv = CSVOptions()
        csv.separator = separator(&r, pairs, what, format: format)
        if let h = r.value(pairs, "skip-header") {
            if format != .csv { r.error(h, "\(what): skip-header is for format csv") }
            csv.skipHeader = r.bool(h, "\(what): skip-header") ?? false
        }
        var avro: AvroOptions? = nil
        if let a = r.value(pairs, "avro-schema"), let path = r.string(a, "\(what): avro-schema") {
            if format != .avro { r.error(a, "\(what): avro-schema is for format avro") }
            avro = AvroOptions(schemaFile: path, location: r.location(a))
        } else if format == .avro {
            r.error(keyNode, "\(what): format avro needs avro-schema: the writer's schema file (.avsc)")
        }
        if let w = r.value(pairs, "wire"), let text = r.string(w, "\(what): wire") {
            if format != .avro { r.error(w, "\(what): wire is for format avro") }
            switch text.lowercased() {
            case "raw": avro?.confluent = false
            case "confluent": avro?.confluent = true
            default: r.error(w, "\(what): wire is raw (the Avro binary alone) or confluent (magic byte and schema id first), not '\(text)'")
            }
        }
        var partitionedBy: String? = nil
        var partitionedByLocation = r.location(keyNode)
        if let k = r.value(pairs, "partitioned-by"), let f = r.string(k, "\(what): partitioned-by") {
            partitionedBy = f
            partitionedByLocation = r.location(k)
        }
        guard let topic else { return nil }
        var def = SourceDefinition(name: name, location: r.location(keyNode), topic: topic, format: format, fields: fields,
                                   eventTime: eventTime, eventTimeLocation: eventTimeLocation, outOfOrderness: ooo, idleTimeout: idle)
        def.csv = csv
        def.avro = avro
        def.partitionedBy = partitionedBy
        def.partitionedByLocation = partitionedByLocation
        return def
    }

    /// A `schema:` mapping of field → SQL type (with `NOT NULL`, `METADATA FROM '…'`).
    static func schema(_ r: inout YAMLReader, _ pairs: [(key: String, keyNode: Node, value: Node)], _ what: String, _ keyNode: Node) -> [FieldDefinition] {
        var fields: [FieldDefinition] = []
        if let s = r.require(pairs, "schema", in: what, at: keyNode), let fs = r.mapping(s, "\(what): schema") {
            if fs.isEmpty { r.error(s, "\(what): the schema names no field") }
            for f in fs {
                guard let t = r.string(f.value, "\(what): type of '\(f.key)'") else { continue }
                var typeText = t.trimmingCharacters(in: .whitespaces)
                var metadata: SourceMetadata? = nil
                // `BIGINT METADATA FROM 'offset'`, or `… METADATA` when the name is the key.
                if let m = typeText.range(of: #"\s+METADATA(\s+FROM\s+'([A-Za-z]+)')?(\s+VIRTUAL)?$"#, options: [.regularExpression, .caseInsensitive]) {
                    let tail = typeText[m]
                    let keyText = tail.range(of: #"'[A-Za-z]+'"#, options: .regularExpression).map { String(tail[$0].dropFirst().dropLast()) } ?? f.key
                    typeText = String(typeText[..<m.lowerBound])
                    guard let md = SourceMetadata(rawValue: keyText.lowercased()) else {
                        r.error(f.value, "\(what): '\(keyText)' is not record metadata (\(SourceMetadata.allCases.map(\.rawValue).joined(separator: ", ")))")
                        continue
                    }
                    metadata = md
                }
                var nullable = true
                if typeText.uppercased().hasSuffix(" NOT NULL") {
                    nullable = false
                    typeText = String(typeText.dropLast(9)).trimmingCharacters(in: .whitespaces)
                }
                guard let type = SQLType(parsing: typeText) else {
                    r.error(f.value, "\(what): '\(t)' is not a type (BOOLEAN, BIGINT, INT, DOUBLE, DECIMAL(p,s), STRING, VARCHAR(n), TIMESTAMP)")
                    continue
                }
                if let md = metadata {
                    guard md.types.contains(type) else {
                        r.error(f.value, "\(what): metadata '\(md.rawValue)' is \(md.types.map(\.description).joined(separator: " or ")), not \(type)")
                        continue
                    }
                    nullable = false
                }
                fields.append(FieldDefinition(name: f.key, type: type, nullable: nullable, location: r.location(f.keyNode), metadata: metadata))
            }
        }
        return fields
    }

    static func table(_ r: inout YAMLReader, _ name: String, _ keyNode: Node, _ node: Node) -> TableDefinition? {
        let what = "table '\(name)'"
        guard let pairs = r.mapping(node, what) else { return nil }
        r.checkKeys(pairs, known: tableKeys, in: what)
        let topic = r.require(pairs, "topic", in: what, at: keyNode).flatMap { r.string($0, "\(what): topic") }
        if let f = r.value(pairs, "format"), let s = r.string(f, "\(what): format"), s.lowercased() != "json" {
            r.error(f, "\(what): format '\(s)' is not read by tables yet (json is)")
        }
        let fields = schema(&r, pairs, what, keyNode)
        for f in fields where f.metadata != nil {
            r.error(f.location, "\(what): '\(f.name)' is record metadata; a table keeps the latest value of each key, without it")
        }
        guard let topic else { return nil }
        var def = TableDefinition(name: name, location: r.location(keyNode), topic: topic, fields: fields)
        if let v = r.value(pairs, "versioned-by"), let f = r.string(v, "\(what): versioned-by") {
            def.versionedBy = f
            def.versionedByLocation = r.location(v)
        }
        if let h = r.value(pairs, "history") {
            if def.versionedBy == nil { r.error(h, "\(what): history is for a versioned table (versioned-by)") }
            if let d = r.duration(h, "\(what): history") { def.history = d }
        }
        return def
    }

    static func op(_ r: inout YAMLReader, _ node: Node) -> OperatorDefinition? {
        guard let pairs = r.mapping(node, "an operator") else { return nil }
        guard let nameNode = r.require(pairs, "name", in: "an operator", at: node), let name = r.string(nameNode, "operator name") else { return nil }
        let what = "operator '\(name)'"
        let kinds = pairs.filter { operatorKinds.contains($0.key) }
        guard kinds.count == 1, let kindPair = kinds.first else {
            r.error(nameNode, "\(what): give exactly one of \(operatorKinds.joined(separator: ", ")) with its input (e.g. 'filter: tx')")
            return nil
        }
        let known: [String]
        switch kindPair.key {
        case "filter": known = ["name", "filter", "where"]
        case "map": known = ["name", "map", "select", "keep-input"]
        case "window": known = ["name", "window", "key", "tumbling", "hopping", "cumulate", "session", "allowed-lateness", "select", "having"]
        case "lookup": known = ["name", "lookup", "table", "key", "as", "join"]
        default: known = ["name", "over", "key", "measures", "order"]
        }
        r.checkKeys(pairs, known: known, in: what)
        guard let input = r.string(kindPair.value, "\(what): input") else { return nil }
        let kind: OperatorDefinition.Kind
        switch kindPair.key {
        case "filter":
            guard let w = r.require(pairs, "where", in: what, at: nameNode), let e = r.expression(w, "\(what): where") else { return nil }
            kind = .filter(where: e)
        case "map":
            guard let s = r.require(pairs, "select", in: what, at: nameNode) else { return nil }
            let keep = r.value(pairs, "keep-input").flatMap { r.bool($0, "\(what): keep-input") } ?? false
            kind = .map(select: named(&r, s, "\(what): select"), keep: keep)
        case "lookup":
            guard let t = r.require(pairs, "table", in: what, at: nameNode), let table = r.string(t, "\(what): table"),
                  let k = r.require(pairs, "key", in: what, at: nameNode), let key = r.expression(k, "\(what): key") else { return nil }
            let alias = r.value(pairs, "as").flatMap { r.string($0, "\(what): as") } ?? table
            var inner = false
            if let j = r.value(pairs, "join"), let text = r.string(j, "\(what): join") {
                switch text.lowercased() {
                case "left": inner = false
                case "inner": inner = true
                default: r.error(j, "\(what): join is left (rows without an entry get NULLs) or inner (they are dropped), not '\(text)'")
                }
            }
            kind = .lookup(table: table, tableLocation: r.location(t), key: key, alias: alias, inner: inner)
        case "window":
            guard let window = windowSpec(&r, pairs, what, nameNode) else { return nil }
            let lateness = r.value(pairs, "allowed-lateness").flatMap { r.duration($0, "\(what): allowed-lateness") } ?? .zero
            guard let s = r.require(pairs, "select", in: what, at: nameNode) else { return nil }
            let having = r.value(pairs, "having").flatMap { r.expression($0, "\(what): having") }
            kind = .window(key: keys(&r, pairs, what, nameNode), window: window, allowedLateness: lateness,
                           select: named(&r, s, "\(what): select"), having: having)
        default:
            guard let m = r.require(pairs, "measures", in: what, at: nameNode), let ms = r.mapping(m, "\(what): measures") else { return nil }
            var measures: [MeasureDefinition] = []
            for p in ms {
                let mwhat = "\(what): measure '\(p.key)'"
                if p.value.scalar != nil {
                    if let e = r.expression(p.value, mwhat) {
                        measures.append(MeasureDefinition(name: p.key, expression: e, frame: .unbounded, excludeCurrent: false))
                    }
                    continue
                }
                guard let mp = r.mapping(p.value, mwhat) else { continue }
                r.checkKeys(mp, known: ["expr", "frame", "exclude-current"], in: mwhat)
                guard let en = r.require(mp, "expr", in: mwhat, at: p.keyNode), let e = r.expression(en, "\(mwhat): expr") else { continue }
                let frame = r.value(mp, "frame").flatMap { frameSpec(&r, $0, mwhat) } ?? .unbounded
                let exclude = r.value(mp, "exclude-current").flatMap { r.bool($0, "\(mwhat): exclude-current") } ?? false
                measures.append(MeasureDefinition(name: p.key, expression: e, frame: frame, excludeCurrent: exclude))
            }
            // Measures over the same value and frame share running statistics; the planner
            // checks what they need against the operator's capacity.
            if measures.isEmpty || measures.count > 64 {
                r.error(m, "\(what): an OVER operator takes 1 to 64 measures, not \(measures.count)")
            }
            var order = OverOrder.eventTime
            if let o = r.value(pairs, "order"), let text = r.string(o, "\(what): order") {
                if let v = OverOrder(rawValue: text.lowercased()) { order = v } else {
                    r.error(o, "\(what): order is event-time or arrival, not '\(text)'")
                }
            }
            kind = .over(key: keys(&r, pairs, what, nameNode), measures: measures, order: order)
        }
        return OperatorDefinition(name: name, location: r.location(nameNode), input: input, inputLocation: r.location(kindPair.value), kind: kind)
    }

    static func keys(_ r: inout YAMLReader, _ pairs: [(key: String, keyNode: Node, value: Node)], _ what: String, _ at: Node) -> [ExpressionText] {
        guard let k = r.require(pairs, "key", in: what, at: at) else { return [] }
        if let seq = k.sequence { return seq.compactMap { r.expression($0, "\(what): key") } }
        return r.expression(k, "\(what): key").map { [$0] } ?? []
    }

    static func named(_ r: inout YAMLReader, _ node: Node, _ what: String) -> [NamedExpression] {
        guard let pairs = r.mapping(node, what) else { return [] }
        if pairs.isEmpty { r.error(node, "\(what): no column") }
        return pairs.compactMap { p in r.expression(p.value, "\(what): '\(p.key)'").map { NamedExpression(name: p.key, expression: $0) } }
    }

    static func windowSpec(_ r: inout YAMLReader, _ pairs: [(key: String, keyNode: Node, value: Node)], _ what: String, _ at: Node) -> WindowDefinition? {
        let given = pairs.filter { ["tumbling", "hopping", "cumulate", "session"].contains($0.key) }
        guard given.count == 1, let g = given.first else {
            r.error(at, "\(what): give exactly one of tumbling: SIZE, hopping: {size, slide}, cumulate: {step, max-size}, session: GAP")
            return nil
        }
        switch g.key {
        case "tumbling":
            return r.duration(g.value, "\(what): tumbling", allowZero: false).map { .tumbling(size: $0) }
        case "session":
            return r.duration(g.value, "\(what): session", allowZero: false).map { .session(gap: $0) }
        case "hopping":
            guard let p = r.mapping(g.value, "\(what): hopping") else { return nil }
            r.checkKeys(p, known: ["size", "slide"], in: "\(what): hopping")
            guard let size = r.require(p, "size", in: "\(what): hopping", at: g.keyNode).flatMap({ r.duration($0, "\(what): size", allowZero: false) }),
                  let slide = r.require(p, "slide", in: "\(what): hopping", at: g.keyNode).flatMap({ r.duration($0, "\(what): slide", allowZero: false) })
            else { return nil }
            if slide > size { r.error(g.keyNode, "\(what): the slide (\(DurationText.format(slide))) is longer than the size (\(DurationText.format(size))): records would be skipped") }
            return .hopping(size: size, slide: slide)
        default:
            guard let p = r.mapping(g.value, "\(what): cumulate") else { return nil }
            r.checkKeys(p, known: ["step", "max-size"], in: "\(what): cumulate")
            guard let step = r.require(p, "step", in: "\(what): cumulate", at: g.keyNode).flatMap({ r.duration($0, "\(what): step", allowZero: false) }),
                  let max = r.require(p, "max-size", in: "\(what): cumulate", at: g.keyNode).flatMap({ r.duration($0, "\(what): max-size", allowZero: false) })
            else { return nil }
            if max.millis % step.millis != 0 { r.error(g.keyNode, "\(what): max-size must be a multiple of step") }
            return .cumulate(step: step, maxSize: max)
        }
    }

    /// `unbounded`, `rows N` (N preceding rows) or `range DURATION`.
    static func frameSpec(_ r: inout YAMLReader, _ node: Node, _ what: String) -> FrameDefinition? {
        guard let s = r.string(node, "\(what): frame") else { return nil }
        let parts = s.split(separator: " ", omittingEmptySubsequences: true)
        switch (parts.first?.lowercased(), parts.count) {
        case ("unbounded", 1): return .unbounded
        case ("rows", 2):
            if let n = Int(parts[1]), n >= 0, n <= 1_000_000 { return .rows(n) }
        case ("range", 2):
            if let d = DurationText.parse(String(parts[1])), d > .zero { return .range(d) }
        default: break
        }
        r.error(node, "\(what): frame '\(s)' is not 'unbounded', 'rows N' or 'range DURATION' (e.g. range 1h)")
        return nil
    }

    static func sink(_ r: inout YAMLReader, _ node: Node) -> SinkDefinition? {
        guard let pairs = r.mapping(node, "a sink") else { return nil }
        guard let nameNode = r.require(pairs, "name", in: "a sink", at: node), let name = r.string(nameNode, "sink name") else { return nil }
        let what = "sink '\(name)'"
        r.checkKeys(pairs, known: sinkKeys, in: what)
        guard let fromNode = r.require(pairs, "from", in: what, at: nameNode), let from = r.string(fromNode, "\(what): from"),
              let topic = r.require(pairs, "topic", in: what, at: nameNode).flatMap({ r.string($0, "\(what): topic") }) else { return nil }
        if !isTopicSafe(topic) { r.error(r.value(pairs, "topic")!, "\(what): '\(topic)' is not a valid topic name") }
        var format = SourceFormat.json
        if let f = r.value(pairs, "format"), let s = r.string(f, "\(what): format") {
            if let v = SourceFormat(rawValue: s.lowercased()), v != .avro { format = v } else {
                r.error(f, "\(what): format '\(s)' is not one of json, csv")
            }
        }
        let key = r.value(pairs, "key").flatMap { r.expression($0, "\(what): key") }
        let fields = r.value(pairs, "fields").map { named(&r, $0, "\(what): fields") }
        let timestamp = r.value(pairs, "timestamp").flatMap { r.expression($0, "\(what): timestamp") }
        var def = SinkDefinition(name: name, location: r.location(nameNode), input: from, inputLocation: r.location(fromNode), topic: topic,
                                 format: format, key: key, fields: fields, timestamp: timestamp)
        def.csv.separator = separator(&r, pairs, what, format: format)
        return def
    }

    /// A CSV `separator:` (one ASCII character other than a quote, CR or LF; default ',').
    static func separator(_ r: inout YAMLReader, _ pairs: [(key: String, keyNode: Node, value: Node)], _ what: String,
                          format: SourceFormat) -> Character {
        guard let n = r.value(pairs, "separator") else { return "," }
        if format != .csv { r.error(n, "\(what): separator is for format csv") }
        guard let text = r.string(n, "\(what): separator") else { return "," }
        let c: Character? = text == "\\t" ? "\t" : (text.count == 1 ? text.first : nil)
        guard let c, c.isASCII, c != "\"", c != "\r", c != "\n" else {
            r.error(n, "\(what): separator '\(text)' must be one ASCII character other than a quote, CR or LF (\\t for a tab)")
            return ","
        }
        return c
    }

    static func yamlErrorLocation(_ e: YamlError, file: String) -> SourceLocation {
        switch e {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return SourceLocation(file: file, line: mark.line, column: mark.column)
        default:
            return SourceLocation(file: file, line: 1, column: 1)
        }
    }

    static func yamlErrorMessage(_ e: YamlError) -> String {
        switch e {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _):
            return problem
        default:
            return "\(e)"
        }
    }
}

enum CharacterSetLite {
    static func isAlnum(_ u: Unicode.Scalar) -> Bool {
        (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || (u >= "0" && u <= "9")
    }
}
