import Jobs

/// Named columns of training rows: numbers (NaN = missing) or categories (nil = missing), in
/// the order a model's inputs will take them.
public struct TrainingTable: Sendable {
    public enum Column: Sendable, Equatable {
        case numeric([Double])
        case categorical([String?])

        var count: Int {
            switch self {
            case .numeric(let v): v.count
            case .categorical(let v): v.count
            }
        }

        func slice(_ r: Range<Int>) -> Column {
            switch self {
            case .numeric(let v): .numeric(Array(v[r]))
            case .categorical(let v): .categorical(Array(v[r]))
            }
        }
    }

    public var names: [String]
    public var columns: [Column]
    public var rowCount: Int { columns.first?.count ?? 0 }

    public init(names: [String], columns: [Column]) {
        precondition(names.count == columns.count, "one name per column")
        precondition(Set(columns.map(\.count)).count <= 1, "columns of different lengths")
        self.names = names
        self.columns = columns
    }

    public func rows(_ r: Range<Int>) -> TrainingTable {
        TrainingTable(names: names, columns: columns.map { $0.slice(r) })
    }

    /// The model inputs this table's columns make: a categorical one keeps the (at most
    /// `maxCategories`) most frequent values seen, sorted; rarer ones expand like unknown ones.
    public func inputs(maxCategories: Int = 64) -> [TreeModel.Input] {
        zip(names, columns).map { name, column in
            guard case .categorical(let values) = column else { return TreeModel.Input(name: name) }
            var counts: [String: Int] = [:]
            for case let v? in values { counts[v, default: 0] += 1 }
            // Ties broken by the value, so the choice does not depend on hashing.
            let kept = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .prefix(maxCategories).map(\.key).sorted()
            // A column with no value at all still needs one (all-zero) feature to be a valid input.
            return TreeModel.Input(name: name, categories: kept.isEmpty ? [""] : kept)
        }
    }

    /// The expanded features, column-major (`[feature][row]`), as `TreeModel.expand` makes them.
    public func features(for inputs: [TreeModel.Input]) -> [[Double]] {
        precondition(inputs.count == columns.count, "one input per column")
        var out: [[Double]] = []
        for (input, column) in zip(inputs, columns) {
            switch column {
            case .numeric(let v):
                precondition(input.categories == nil, "input \(input.name) is categorical, its column numeric")
                out.append(v)
            case .categorical(let v):
                guard let cats = input.categories else {
                    // A numeric input fed text: missing, as the evaluator treats it.
                    out.append([Double](repeating: .nan, count: v.count))
                    continue
                }
                let index = Dictionary(uniqueKeysWithValues: cats.enumerated().map { ($1, $0) })
                var block = [[Double]](repeating: [Double](repeating: 0, count: v.count), count: cats.count)
                for (r, s) in v.enumerated() {
                    if let s, let c = index[s] { block[c][r] = 1 }
                }
                out += block
            }
        }
        return out
    }
}
