import Streams

/// Where an expression of a window's select reads each of its aggregate calls: its own slot
/// (local) and the accumulator's state (global; a call written in several places is one state).
struct AggregateReads: Sendable {
    var reads: [(local: Int, global: Int)] = []
}

extension Planner {
    mutating func planWindow(_ op: OperatorDefinition, _ input: PlannedStream, key: [ExpressionText], window: WindowDefinition,
                             lateness: Duration, select: [NamedExpression], having: ExpressionText?) -> PlannedStream? {
        let what = "operator '\(op.name)'"
        let schema = input.schema
        var derived: [Compiled] = []
        guard let (keySlots, keyTypes) = keySlots(key, schema, derived: &derived) else { return nil }
        let scope = ExpressionScope(schema, extras: JobValidator.windowColumns, allowsAggregates: true)
        var selects: [CompiledExpression] = []
        for s in select {
            guard let c = compile(s.expression, scope) else { return nil }
            selects.append(c)
        }
        var havingCode: CompiledExpression? = nil
        if let h = having {
            guard let c = compile(h, scope, expecting: .boolean) else { return nil }
            havingCode = c
        }

        // One state per distinct aggregate call.
        var specs: [AggregateSpec] = []
        var bySQL: [String: Int] = [:]
        var ok = true
        func reads(_ c: CompiledExpression, _ me: inout Planner) -> AggregateReads {
            var r = AggregateReads()
            for a in c.aggregates {
                if let g = bySQL[a.sql] { r.reads.append((a.slot, g)); continue }
                let kind: AggregateSpec.Kind
                switch a.function {
                case .count: kind = a.argument == nil ? .countStar : .count
                case .sum: kind = .sum
                case .avg: kind = .avg
                case .min: kind = .min
                case .max: kind = .max
                case .firstValue: kind = .first
                case .lastValue: kind = .last
                case .lag:
                    me.problems.report(a.location, "\(what): LAG reads the previous row of an OVER operator; a window has no row order to read it in",
                                       length: a.sql.count)
                    ok = false
                    continue
                }
                var slot = -1
                if let arg = a.argument {
                    var cols: [Int] = []
                    PlanSupport.columnsRead(arg.syntax, in: scope.inputs, into: &cols)
                    if cols.contains(where: { $0 < 0 || $0 >= schema.count }) {
                        me.problems.report(a.location, "\(what): \(a.sql) reads the window's bounds inside an aggregate; aggregate the input's columns",
                                           length: a.sql.count)
                        ok = false
                        continue
                    }
                    slot = Planner.slot(of: arg, schema, &derived)
                }
                let t = a.argument?.type
                specs.append(AggregateSpec(kind: kind, slot: slot, integer: t == .bigint, numeric: t == .bigint || t == .double,
                                           notNull: a.argument.map { !$0.nullable } ?? false))
                bySQL[a.sql] = specs.count - 1
                r.reads.append((a.slot, specs.count - 1))
            }
            return r
        }
        let selectReads = selects.map { reads($0, &self) }
        let havingReads = havingCode.map { reads($0, &self) }
        guard ok else { return nil }

        // The columns read outside aggregates (keys, by the validator's GROUP BY rule), kept
        // from each window's first row.
        var outside: [Int] = []
        for c in selects + (havingCode.map { [$0] } ?? []) { PlanSupport.columnsOutsideAggregates(c.syntax, in: scope.inputs, into: &outside) }
        var groupSlots: [Int] = []
        for s in outside where s >= 0 && s < schema.count && !groupSlots.contains(s) { groupSlots.append(s) }
        // A single BIGINT or STRING key column is the stream key itself: read back from it.
        var keySlot = -1
        if keySlots.count == 1, keyTypes[0] == .bigint || keyTypes[0] == .string, keySlots[0] < schema.count {
            keySlot = keySlots[0]
        }
        let stored = groupSlots.filter { $0 != keySlot }

        let source = derived.isEmpty ? input.stream : PlanSupport.derive(input.stream, derived, name: "\(op.name)/derive")
        // The accumulators' shape: a new select with other aggregate calls is other state.
        let stateSchema = "aggregates " + specs.map { "\($0.kind)(\($0.slot < 0 ? "*" : PlanSupport.describe($0.slot, schema, derived)))" }.joined(separator: ", ")
            + "; grouped " + stored.map { PlanSupport.describe($0, schema, derived) }.joined(separator: ", ")
        let accPlan = AccumulatorPlan.make(&specs, groupSlots: stored)
        let specList = specs
        let groups = stored
        let fromKey = keySlot
        let keyIsInt = keyTypes.first == .bigint
        let windowed = source.keyBy(PlanSupport.streamKey(keySlots, types: keyTypes))
            .window(window.spec, allowedLateness: lateness, name: op.name, stateSchema: stateSchema) { (acc: inout RowAccumulator, row: Row) in
                acc.add(row, accPlan)
            }

        let width = scope.firstAggregateSlot + max(0, (selects + (havingCode.map { [$0] } ?? [])).map(\.aggregates.count).max() ?? 0)
        let startSlot = schema.count, endSlot = schema.count + 1
        let codes = selects.map(\.code)
        let cond = havingCode?.condition
        let names = Set(select.map(\.name))
        let addStart = !names.contains("window_start"), addEnd = !names.contains("window_end")
        let out = windowed.tryCompactMap(name: "\(op.name)/select", perTask: {
            // One scratch row per task: the select's expressions read keys, bounds and
            // aggregate results from it.
            var scratch = Row(nulls: width)
            return { (r: WindowResult<RowAccumulator>) throws -> Row? in
                let acc = r.value
                for (j, s) in groups.enumerated() { scratch.values[s] = acc.group(j) }
                if fromKey >= 0 {
                    scratch.values[fromKey] = keyIsInt ? (r.key.string == nil ? .int(r.key.int) : .null) : (r.key.string.map(Value.string) ?? .null)
                }
                scratch.values[startSlot] = .timestamp(r.start, offsetMinutes: 0)
                scratch.values[endSlot] = .timestamp(r.end, offsetMinutes: 0)
                if let cond, let hr = havingReads {
                    for (l, g) in hr.reads { scratch.values[l] = acc.result(specList[g]) }
                    guard try cond(scratch) else { return nil }
                }
                var values: [Value] = []
                values.reserveCapacity(codes.count + 2)
                for i in 0..<codes.count {
                    for (l, g) in selectReads[i].reads { scratch.values[l] = acc.result(specList[g]) }
                    values.append(try codes[i].value(scratch))
                }
                if addStart { values.append(.timestamp(r.start, offsetMinutes: 0)) }
                if addEnd { values.append(.timestamp(r.end, offsetMinutes: 0)) }
                return Row(values)
            }
        })
        var fields = zip(select, selects).map { RowSchema.Field($0.name, $1.type, nullable: $1.nullable) }
        fields += JobValidator.windowColumns.filter { w in !names.contains(w.name) }
        // A result is emitted by the task that holds its key: a key column copied into the
        // result partitions it.
        let keyNames = Set(keySlots.filter { $0 < schema.count }.map { schema[$0].name.lowercased() })
        var aligned = Set<String>()
        for (s, c) in zip(select, selects) {
            if let slot = PlanSupport.plainColumn(c.syntax, in: schema), keyNames.contains(schema[slot].name.lowercased()) { aligned.insert(s.name.lowercased()) }
        }
        return PlannedStream(stream: out, schema: RowSchema(fields), aligned: aligned, reorderingUpstream: op.name)
    }
}
