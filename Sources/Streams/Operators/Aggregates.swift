/// Running count / sum / min / max of a numeric column: the accumulator of the built-in window
/// aggregates (COUNT, SUM, AVG, MIN, MAX). Mergeable, so sliding windows combine slices.
public struct Stats: Sendable, Equatable {
    public var count: Int64 = 0
    public var sum: Double = 0
    public var min: Double = .infinity
    public var max: Double = -.infinity

    public init() {}

    @inline(__always) public mutating func add(_ v: Double) {
        count += 1
        sum += v
        if v < min { min = v }
        if v > max { max = v }
    }

    @inline(__always) public mutating func merge(_ o: Stats) {
        count += o.count
        sum += o.sum
        if o.min < min { min = o.min }
        if o.max > max { max = o.max }
    }

    public var avg: Double? { count == 0 ? nil : sum / Double(count) }
}
