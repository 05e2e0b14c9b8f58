/// A dynamic row: values in schema order (plus, after them, whatever extra inputs and
/// aggregate results the planner appends; see `ExpressionScope`). A value type: copying a
/// row shares the storage until one copy is written.
public struct Row: Sendable, Hashable {
    public var values: [Value]

    public init(_ values: [Value]) {
        self.values = values
    }

    /// A row of `count` NULLs.
    public init(nulls count: Int) {
        self.values = Array(repeating: .null, count: count)
    }

    public var count: Int { values.count }

    /// The value at a slot; NULL past the end (a short row reads as NULLs, never traps).
    public subscript(_ i: Int) -> Value {
        get { i >= 0 && i < values.count ? values[i] : .null }
        set {
            guard i >= 0 else { return }
            if i >= values.count { values.append(contentsOf: repeatElement(.null, count: i - values.count + 1)) }
            values[i] = newValue
        }
    }

    /// This row with `more` appended (extra inputs, aggregate results).
    public func appending(_ more: [Value]) -> Row {
        Row(values + more)
    }
}
