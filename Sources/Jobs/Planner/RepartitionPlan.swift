import Streams

/// Keyed operators (windows, OVER) see every row of a key in one task only when the input is
/// partitioned by that key. When the key holds none of the columns the input is partitioned
/// by (the source's `partitioned-by` field, a copy of it, a `METADATA FROM 'partition'`
/// column, or the key of the window before), the rows are repartitioned through an internal
/// topic, as Kafka Streams does for `groupBy`: `<job>.<operator>.repartition`, read by the
/// next stage of the job.
extension Planner {
    mutating func keyed(_ op: OperatorDefinition, _ input: PlannedStream, _ key: [ExpressionText]) -> PlannedStream? {
        var codes: [Compiled] = []
        var names = Set<String>()
        for k in key {
            guard let c = compile(k, ExpressionScope(input.schema)) else { return nil }
            if let slot = PlanSupport.plainColumn(c.syntax, in: input.schema) {
                let name = input.schema[slot].name.lowercased()
                if input.aligned.contains(name) { return input }
                names.insert(name)
            }
            codes.append(c.code)
        }
        if let barrier = input.reorderingUpstream {
            let keyText = key.map(\.text).joined(separator: ", ")
            let by = input.aligned.isEmpty ? "nothing the planner can tell" : input.aligned.sorted().joined(separator: ", ")
            problems.report(op.location, "operator '\(op.name)': its key (\(keyText)) is not how its input is partitioned (\(by)), so its rows must be repartitioned, and a repartition after '\(barrier)' (a window or an event-time OVER, whose results can come in another order after a restart) is not supported yet: key it by one of those columns, move it before '\(barrier)', or give that OVER order: arrival")
            return nil
        }
        let keyCodes = codes
        let stream = input.stream.repartition(name: op.name) { row in
            // Equal keys, equal bytes: each value's text, a unit separator after each.
            var bytes: [UInt8] = []
            for c in keyCodes {
                bytes.append(contentsOf: try c.value(row).description.utf8)
                bytes.append(0x1F)
            }
            return bytes
        }
        return PlannedStream(stream: stream, schema: input.schema, aligned: names, reorderingUpstream: nil)
    }
}
