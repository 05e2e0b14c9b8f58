import Foundation
import KafkaClient
import Streams

/// A job file turned into a Streams job over rows, with how the file asks it to run.
public struct PlannedJob: Sendable {
    public let job: StreamJob
    public let definition: JobDefinition
    public var parallelism: Int { definition.parallelism }
    public var checkpointInterval: Duration? { definition.checkpointInterval }
    public var delivery: StreamJobConfig.Delivery { definition.delivery }
}

/// Turns a checked job file into a `StreamJob` whose elements are `Row`s: sources decode
/// records into rows of their schema, filters and projections run the compiled expressions,
/// windows and OVER operators compute the aggregate calls, sinks write JSON. What the runner
/// cannot do yet is reported like any other error, with its place in the file.
public enum JobPlanner {
    /// What a run changes in a definition: the job's name (its state and checkpoints are bound
    /// to it) and topics (a replay into a comparison topic, a benchmark's input).
    public struct Overrides: Sendable {
        public var name: String?
        /// Source name → topic.
        public var sourceTopics: [String: String] = [:]
        /// Sink name → topic.
        public var sinkTopics: [String: String] = [:]
        /// Table name → topic.
        public var tableTopics: [String: String] = [:]
        public var lateTopic: String?
        public var deadLetterTopic: String?
        public init() {}
    }

    /// `fieldCheck`: how fields the job reads but its events lack are reported (FieldPresence).
    public static func plan(_ file: JobFile, overrides: Overrides = Overrides(), fieldCheck: FieldCheck = FieldCheck()) throws(Diagnostics) -> PlannedJob {
        var planner = Planner(file: file, problems: PlanProblems(lines: file.text.split(separator: "\n", omittingEmptySubsequences: false)),
                              fieldCheck: fieldCheck)
        let job = ModelFunction.$roots.withValue(ModelFunction.roots(forJobFile: file.definition.file)) { planner.plan(overrides) }
        guard planner.problems.all.isEmpty else { throw Diagnostics(planner.problems.all) }
        return PlannedJob(job: job, definition: file.definition)
    }
}

struct Planner {
    let file: JobFile
    var problems: PlanProblems
    var streams: [String: PlannedStream] = [:]
    /// Per job stage (a repartition starts one) and table name: each stage reads its own copy.
    var tables: [ObjectIdentifier: [String: GlobalTable<Row>]] = [:]
    var tableTopics: [String: String] = [:]
    let liveness: ColumnLiveness
    let fieldCheck: FieldCheck

    init(file: JobFile, problems: PlanProblems, fieldCheck: FieldCheck = FieldCheck()) {
        self.file = file
        self.problems = problems
        self.fieldCheck = fieldCheck
        liveness = ColumnLiveness(file.definition)
    }

    var def: JobDefinition { file.definition }

    mutating func compile(_ e: ExpressionText, _ scope: ExpressionScope, expecting: SQLType? = nil) -> CompiledExpression? {
        do {
            return try CompiledExpression(e.source, scope: scope, expecting: expecting)
        } catch {
            problems.all += error.all
            return nil
        }
    }

    mutating func plan(_ overrides: JobPlanner.Overrides) -> StreamJob {
        let job = StreamJob(name: overrides.name ?? def.name, version: def.version)
        if let d = overrides.deadLetterTopic ?? def.deadLetterTopic { job.deadLetterTopic = d }
        if let l = overrides.lateTopic ?? def.lateTopic { job.lateTopic = l }
        let used = SourceProjection.used(by: def)
        let dependents = FieldPresence.dependents(def)
        let check = fieldCheck
        for s in def.sources {
            let presence = FieldPresence(job: overrides.name ?? def.name, source: s, used: used, dependents: dependents, check: check)
            let topic = overrides.sourceTopics[s.name] ?? s.topic
            let stream: DataStream<Row>
            switch s.format {
            case .csv:
                do throws(FormatError) {
                    _ = try CSVRowDecoder(s, used: used)
                } catch {
                    problems.report(s.location, "source '\(s.name)': \(error.reason)")
                }
                stream = job.sourceSkipping(topic: topic, name: s.name, outOfOrderness: s.outOfOrderness, idleTimeout: s.idleTimeout) {
                    // Checked above: a failure here was reported and the job is not run.
                    guard var decoder = try? CSVRowDecoder(s, used: used) else {
                        return { (_: ConsumerRecord) throws(FormatError) -> (Row, Millis)? in throw FormatError(offset: 0, "no CSV decoder") }
                    }
                    var seen = presence
                    return { (r: ConsumerRecord) throws(FormatError) -> (Row, Millis)? in
                        guard let out = try decoder.decode(r) else { return nil }
                        seen.observe(out.0, partition: r.partition)
                        return out
                    }
                }
            case .avro:
                let schema: AvroSchema
                do {
                    schema = try Self.avroSchema(s, jobFile: def.file)
                    _ = try AvroRowDecoder(s, schema: schema, used: used)
                } catch {
                    problems.report(s.avro?.location ?? s.location, "source '\(s.name)': \(error)")
                    continue
                }
                stream = job.source(topic: topic, name: s.name, outOfOrderness: s.outOfOrderness, idleTimeout: s.idleTimeout) {
                    // Checked above: a failure here was reported and the job is not run.
                    guard var decoder = try? AvroRowDecoder(s, schema: schema, used: used) else {
                        return { (_: ConsumerRecord) throws(FormatError) -> (Row, Millis) in throw FormatError(offset: 0, "no Avro decoder") }
                    }
                    var seen = presence
                    return { (r: ConsumerRecord) throws(FormatError) -> (Row, Millis) in
                        let out = try decoder.decode(r)
                        seen.observe(out.0, partition: r.partition)
                        return out
                    }
                }
            case .json:
                stream = job.source(topic: topic, name: s.name, outOfOrderness: s.outOfOrderness, idleTimeout: s.idleTimeout) {
                    var decoder = JSONRowDecoder(s, used: used)
                    var seen = presence
                    return { (r: ConsumerRecord) throws(FormatError) -> (Row, Millis) in
                        let out = try decoder.decode(r)
                        seen.observe(out.0, partition: r.partition)
                        return out
                    }
                }
            }
            // Rows of one partition key, and of one source partition, are in one task.
            var aligned = Set(s.fields.filter { $0.metadata == .partition }.map { $0.name.lowercased() })
            if let k = s.partitionedBy { aligned.insert(k.lowercased()) }
            streams[s.name] = PlannedStream(stream: stream, schema: s.schema, aligned: aligned)
        }
        // Registered with the stage that looks them up (`table(_:in:)`): a stage reads only its own.
        for t in def.tables { tableTopics[t.name] = overrides.tableTopics[t.name] ?? t.topic }
        for op in def.operators {
            // The validator has checked every reference; a missing input is a source not planned.
            guard let input = streams[op.input] else { continue }
            if let out = plan(op, input) { streams[op.name] = out }
        }
        for k in def.sinks {
            guard let input = streams[k.input] else { continue }
            plan(k, input, topic: overrides.sinkTopics[k.name] ?? k.topic)
        }
        return job
    }

    /// The table `name` as the stage of `job` reads it (registered there on first use).
    mutating func table(_ name: String, in job: StreamJob) -> GlobalTable<Row>? {
        if let t = tables[ObjectIdentifier(job)]?[name] { return t }
        guard let t = def.tables.first(where: { $0.name == name }), let topic = tableTopics[name] else { return nil }
        let src = t.asSource
        var versioning: TableVersioning<Row>? = nil
        if let v = t.versionedBy, let slot = t.schema.index(of: v) {
            versioning = TableVersioning(history: t.history.millis) { row in
                switch row.values[slot] {
                case .int(let ms), .timestamp(let ms, _): ms
                default: nil
                }
            }
        }
        let g = job.globalTable(topic: topic, name: t.name, versioning: versioning) {
            var decoder = JSONRowDecoder(src)
            return { (r: ConsumerRecord) throws(FormatError) -> Row in try decoder.decode(r).0 }
        }
        tables[ObjectIdentifier(job), default: [:]][name] = g
        return g
    }

    mutating func plan(_ op: OperatorDefinition, _ input: PlannedStream) -> PlannedStream? {
        switch op.kind {
        case .filter(let w):
            guard let c = compile(w, ExpressionScope(input.schema), expecting: .boolean) else { return nil }
            let cond = c.condition
            let s = input.stream.tryCompactMap(name: op.name) { row in try cond(row) ? row : nil }
            return PlannedStream(stream: s, schema: input.schema, aligned: input.aligned, reorderingUpstream: input.reorderingUpstream)
        case .map(let select, let keep):
            return planMap(op, input, select, keep)
        case .window(let key, let window, let lateness, let select, let having):
            guard let keyed = keyed(op, input, key) else { return nil }
            return planWindow(op, keyed, key: key, window: window, lateness: lateness, select: select, having: having)
        case .over(let key, let measures, let order):
            guard let keyed = keyed(op, input, key) else { return nil }
            return planOver(op, keyed, key: key, measures: measures, order: order)
        case .lookup(let name, _, let key, let alias, let inner):
            return planLookup(op, input, table: name, key: key, alias: alias, inner: inner)
        }
    }

    /// The writer's schema of an Avro source, read from its file.
    static func avroSchema(_ s: SourceDefinition, jobFile: String) throws -> AvroSchema {
        guard let a = s.avro else { throw FormatError(offset: 0, "format avro needs avro-schema") }
        let path = ModelFunction.$roots.withValue(ModelFunction.roots(forJobFile: jobFile)) { ModelFunction.resolve(a.schemaFile) }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw FormatError(offset: 0, "avro-schema \(a.schemaFile): cannot be read (\(error.localizedDescription))")
        }
        guard text.utf8.count <= 1 << 20 else { throw FormatError(offset: 0, "avro-schema \(a.schemaFile): larger than 1 MiB") }
        do { return try AvroSchema(json: text) } catch {
            throw FormatError(offset: 0, "avro-schema \(a.schemaFile): \(error.reason)")
        }
    }

    /// A lookup: the key's text names the table's entry (the record key it was written with);
    /// the entry's columns follow the input's, NULL where there is none (left) or the row
    /// dropped (inner). A key that fails to evaluate sends the row to the dead-letter topic.
    mutating func planLookup(_ op: OperatorDefinition, _ input: PlannedStream, table name: String, key: ExpressionText,
                             alias: String, inner: Bool) -> PlannedStream? {
        guard let table = table(name, in: input.stream.owner), let t = def.tables.first(where: { $0.name == name }),
              let k = compile(key, ExpressionScope(input.schema)) else { return nil }
        let code = k.code
        // Only the columns read after the lookup travel on (ColumnLiveness).
        let kept = input.schema.fields.indices.filter { liveness.isLive(input.schema[$0].name, in: op.name) }
        let columns = t.fields.indices.filter { liveness.isLive("\(alias).\(t.fields[$0].name)", in: op.name) }
        // A versioned table answers as of the row's event time.
        let s = input.stream.tryCompactMap(name: op.name, timed: { row, ts -> Row? in
            let kv = try code.value(row)
            let entry = kv.isNull ? nil : table.get(StreamKey(kv.description), asOf: ts)
            if entry == nil && inner { return nil }
            var v: [Value] = []
            v.reserveCapacity(kept.count + columns.count)
            for i in kept { v.append(row.values[i]) }
            if let e = entry {
                for c in columns { v.append(e.values[c]) }
            } else {
                for _ in columns { v.append(.null) }
            }
            return Row(v)
        })
        let fields = columns.map { c in
            RowSchema.Field("\(alias).\(t.fields[c].name)", t.fields[c].type, nullable: inner ? t.fields[c].nullable : true)
        }
        return PlannedStream(stream: s, schema: RowSchema(kept.map { input.schema[$0] } + fields),
                             aligned: input.aligned.intersection(kept.map { input.schema[$0].name.lowercased() }),
                             reorderingUpstream: input.reorderingUpstream)
    }

    mutating func planMap(_ op: OperatorDefinition, _ input: PlannedStream, _ select: [NamedExpression], _ keep: Bool) -> PlannedStream? {
        let scope = ExpressionScope(input.schema)
        var codes: [Compiled] = []
        var fields: [RowSchema.Field] = []
        var aligned = Set<String>()
        for s in select {
            guard let c = compile(s.expression, scope) else { return nil }
            codes.append(c.code)
            fields.append(RowSchema.Field(s.name, c.type, nullable: c.nullable))
            // A copy of a partitioning column partitions as well.
            if let slot = PlanSupport.plainColumn(c.syntax, in: input.schema), input.aligned.contains(input.schema[slot].name.lowercased()) {
                aligned.insert(s.name.lowercased())
            }
        }
        let replaced = Set(select.map { $0.name.lowercased() })
        let kept = keep ? input.schema.fields.indices.filter {
            !replaced.contains(input.schema[$0].name.lowercased()) && liveness.isLive(input.schema[$0].name, in: op.name)
        } : []
        let compiled = codes
        let s = input.stream.tryCompactMap(name: op.name) { row -> Row? in
            var v: [Value] = []
            v.reserveCapacity(kept.count + compiled.count)
            for k in kept { v.append(row.values[k]) }
            for c in compiled { v.append(try c.value(row)) }
            return Row(v)
        }
        for k in kept where input.aligned.contains(input.schema[k].name.lowercased()) { aligned.insert(input.schema[k].name.lowercased()) }
        return PlannedStream(stream: s, schema: RowSchema(kept.map { input.schema[$0] } + fields), aligned: aligned,
                             reorderingUpstream: input.reorderingUpstream)
    }

    /// Keys as slots of the input, computing those that are not plain columns.
    mutating func keySlots(_ key: [ExpressionText], _ schema: RowSchema, derived: inout [Compiled]) -> (slots: [Int], types: [SQLType])? {
        var slots: [Int] = []
        var types: [SQLType] = []
        for k in key {
            guard let c = compile(k, ExpressionScope(schema)) else { return nil }
            slots.append(Self.slot(of: c, schema, &derived))
            types.append(c.type)
        }
        return (slots, types)
    }

    static func slot(of c: CompiledExpression, _ schema: RowSchema, _ derived: inout [Compiled]) -> Int {
        if let s = PlanSupport.plainColumn(c.syntax, in: schema) { return s }
        derived.append(c.code)
        return schema.count + derived.count - 1
    }

    mutating func plan(_ k: SinkDefinition, _ input: PlannedStream, topic: String) {
        guard k.format != .avro else {
            problems.report(k.location, "sink '\(k.name)': format avro is not written by job files yet (json and csv are); the Swift API writes it")
            return
        }
        let scope = ExpressionScope(input.schema)
        func source(_ c: CompiledExpression) -> RowJSONEncoder.Source {
            PlanSupport.plainColumn(c.syntax, in: input.schema).map { .slot($0) } ?? .code(c.code)
        }
        var key: RowJSONEncoder.Source? = nil
        if let k = k.key {
            guard let c = compile(k, scope) else { return }
            key = source(c)
        }
        var names: [String] = []
        var sources: [RowJSONEncoder.Source] = []
        if let fields = k.fields {
            for f in fields {
                guard let c = compile(f.expression, scope) else { return }
                names.append(f.name)
                sources.append(source(c))
            }
        } else {
            names = input.schema.fields.map(\.name)
            sources = input.schema.fields.indices.map { .slot($0) }
        }
        var stamp: (@Sendable (Row) throws -> Millis?)? = nil
        if let t = k.timestamp {
            guard let c = compile(t, scope, expecting: .timestamp) else { return }
            guard case .timestamp(let f) = c.code else { return }
            stamp = { row in try f(row)?.millis }
        }
        if k.format == .csv {
            let encoder = RowCSVEncoder(sources: sources, key: key)
            let separator = k.csv.separator
            input.stream.trySinkRecords(topic: topic, name: "sink:\(k.name)", timestamp: stamp, perTask: {
                var w = CSVWriter(separator: separator)
                return { (row: Row) throws -> (key: [UInt8]?, value: [UInt8]) in
                    w.begin()
                    let key = try encoder.encode(row, into: &w)
                    w.end()
                    return (key, w.bytes)
                }
            })
            return
        }
        let encoder = RowJSONEncoder(names: names, sources: sources, key: key)
        input.stream.trySink(topic: topic, name: "sink:\(k.name)", timestamp: stamp, perTask: {
            { (row: Row, w: inout JSONWriter) throws -> [UInt8]? in try encoder.encode(row, into: &w) }
        })
    }
}
