import Streams

/// What one OVER measure writes into the row, from the operator's output.
enum OverOutput: Sendable {
    enum Statistic: Sendable { case count, sum, avg, min, max }
    /// From the measure's running statistics (`index` into `OverRow.measures`).
    case stats(index: Int, Statistic, integer: Bool)
    /// LAG(x): x of the key's previous row (NULL for its first).
    case previous(slot: Int)
    /// LAG(x, 0): x of this row.
    case current(slot: Int)

    func value(_ o: OverRow<Row>) -> Value {
        switch self {
        case .previous(let slot): return o.previous?.values[slot] ?? .null
        case .current(let slot): return o.value.values[slot]
        case .stats(let i, let stat, let integer):
            let s = o.measures[i]
            if stat == .count { return .int(s.count) }
            guard s.count > 0 else { return .null }
            switch stat {
            case .count: return .int(s.count)
            case .sum: return integer ? .int(Self.int(s.sum)) : .double(s.sum)
            case .avg: return integer ? .int(Self.int(s.sum) / s.count) : .double(s.sum / Double(s.count))
            case .min: return integer ? .int(Self.int(s.min)) : .double(s.min)
            case .max: return integer ? .int(Self.int(s.max)) : .double(s.max)
            }
        }
    }

    /// BIGINT statistics are kept as doubles by the operator: exact up to 2^53.
    static func int(_ d: Double) -> Int64 {
        if d >= 9.223372036854775807e18 { return .max }
        if d <= -9.223372036854775808e18 { return .min }
        return Int64(d)
    }
}

extension Planner {
    mutating func planOver(_ op: OperatorDefinition, _ input: PlannedStream, key: [ExpressionText], measures: [MeasureDefinition],
                          order: OverOrder = .eventTime) -> PlannedStream? {
        let what = "operator '\(op.name)'"
        let schema = input.schema
        var derived: [Compiled] = []
        guard let (keySlots, keyTypes) = keySlots(key, schema, derived: &derived) else { return nil }
        let scope = ExpressionScope(schema, allowsAggregates: true)

        struct StatsKey: Equatable { var frame: OverFrame; var exclude: Bool; var slot: Int }
        var statsMeasures: [(key: StatsKey, measure: OverMeasure<Row>)] = []
        var outputs: [OverOutput?] = Array(repeating: nil, count: measures.count)
        var fields: [RowSchema.Field] = []
        var counts: [(index: Int, frame: OverFrame, exclude: Bool)] = []
        var ok = true
        for (i, m) in measures.enumerated() {
            guard let c = compile(m.expression, scope), let a = c.aggregates.first else { return nil }
            fields.append(RowSchema.Field(m.name, a.type, nullable: true))
            let frame: OverFrame
            switch m.frame {
            case .unbounded: frame = .unbounded
            case .rows(let n): frame = .rows(n)
            case .range(let d): frame = .range(d)
            }
            if a.function == .lag {
                guard let arg = a.argument else { return nil }
                guard a.offset <= 1 else {
                    problems.report(a.location, "\(what): LAG with an offset above 1 is not run yet (the operator keeps the previous row only)", length: a.sql.count)
                    ok = false
                    continue
                }
                let slot = Self.slot(of: arg, schema, &derived)
                outputs[i] = a.offset == 0 ? .current(slot: slot) : .previous(slot: slot)
                continue
            }
            if let arg = a.argument, arg.nullable {
                problems.report(a.location, "\(what): \(a.sql) over a nullable value is not run yet (OVER statistics cannot skip NULLs): declare the field NOT NULL or wrap it in COALESCE",
                                length: a.sql.count)
                ok = false
                continue
            }
            if a.function == .count {
                // COUNT of a NOT NULL value counts rows: it shares any statistics of its frame.
                counts.append((i, frame, m.excludeCurrent))
                continue
            }
            guard let arg = a.argument else { return nil }
            let slot = Self.slot(of: arg, schema, &derived)
            let k = StatsKey(frame: frame, exclude: m.excludeCurrent, slot: slot)
            var index = statsMeasures.firstIndex { $0.key == k }
            if index == nil {
                statsMeasures.append((k, OverMeasure<Row>(frame, excludeCurrent: m.excludeCurrent) { row in row.values[slot].asDouble ?? 0 }))
                index = statsMeasures.count - 1
            }
            let stat: OverOutput.Statistic
            switch a.function {
            case .sum: stat = .sum
            case .avg: stat = .avg
            case .min: stat = .min
            default: stat = .max
            }
            outputs[i] = .stats(index: index!, stat, integer: arg.type == .bigint)
        }
        for c in counts {
            var index = statsMeasures.firstIndex { $0.key.frame == c.frame && $0.key.exclude == c.exclude }
            if index == nil {
                statsMeasures.append((StatsKey(frame: c.frame, exclude: c.exclude, slot: -1), OverMeasure<Row>.count(c.frame, excludeCurrent: c.exclude)))
                index = statsMeasures.count - 1
            }
            outputs[c.index] = .stats(index: index!, .count, integer: true)
        }
        if statsMeasures.count > OverValues.capacity {
            problems.report(op.location, "\(what): its measures need \(statsMeasures.count) running statistics (distinct value and frame pairs); an OVER operator computes up to \(OverValues.capacity)")
            ok = false
        }
        guard ok else { return nil }
        if statsMeasures.isEmpty {
            // LAG alone: a count keeps the operator's contract of at least one measure.
            statsMeasures.append((StatsKey(frame: .rows(0), exclude: false, slot: -1), OverMeasure<Row>.count(.rows(0))))
        }

        let source = derived.isEmpty ? input.stream : PlanSupport.derive(input.stream, derived, name: "\(op.name)/derive")
        // Buffered rows and each key's previous row are kept in the input's layout.
        let stateSchema = "rows " + (0..<(schema.count + derived.count)).map { PlanSupport.describe($0, schema, derived) }.joined(separator: ", ")
            + "; measures " + statsMeasures.map { "\($0.key.slot < 0 ? "*" : PlanSupport.describe($0.key.slot, schema, derived))" }.joined(separator: ", ")
        // The previous row is kept for LAG only, and only its LAG'd columns: every checkpoint
        // writes it for every key.
        let lagSlots = outputs.compactMap { o -> Int? in if case .previous(let s)? = o { return s } else { return nil } }
        let retain: @Sendable (Row) -> Row?
        if lagSlots.isEmpty {
            retain = { _ in nil }
        } else {
            retain = { (row: Row) -> Row? in
                var v = [Value](repeating: .null, count: row.values.count)
                for s in lagSlots { v[s] = row.values[s] }
                return Row(v)
            }
        }
        let over = source.keyBy(PlanSupport.streamKey(keySlots, types: keyTypes)).over(statsMeasures.map(\.measure), name: op.name,
                                                                                        order: order, stateSchema: stateSchema,
                                                                                        retainPrevious: retain)
        let replaced = Set(measures.map { $0.name.lowercased() })
        let kept = schema.fields.indices.filter { !replaced.contains(schema[$0].name.lowercased()) && liveness.isLive(schema[$0].name, in: op.name) }
        let outs = outputs.map { $0! }
        let rows = over.map(name: "\(op.name)/rows") { o -> Row in
            var v: [Value] = []
            v.reserveCapacity(kept.count + outs.count)
            for k in kept { v.append(o.value.values[k]) }
            for out in outs { v.append(out.value(o)) }
            return Row(v)
        }
        return PlannedStream(stream: rows, schema: RowSchema(kept.map { schema[$0] } + fields),
                             aligned: input.aligned.intersection(kept.map { schema[$0].name.lowercased() }),
                             // In arrival order each row's result comes at once and the same again
                             // after a restart: a repartition may follow it.
                             reorderingUpstream: order == .arrival ? input.reorderingUpstream : op.name)
    }
}
