import Streams

/// One aggregate call of a window operator, as the planner resolved it: what it computes and
/// where its state lives in the accumulator.
struct AggregateSpec: Sendable, Hashable {
    enum Kind: UInt8, Sendable {
        case countStar, count, sum, avg, min, max, first, last
    }

    enum Storage: Sendable, Hashable {
        /// COUNT(*): the accumulator's row count.
        case rows
        /// COUNT(x), SUM, AVG, MIN, MAX of a number: the running statistics of x's slot.
        case numeric(Int)
        /// Anything else (MIN of a string, FIRST_VALUE …): a general state.
        case general(Int)
    }

    var kind: Kind
    /// The argument's slot (unused by COUNT(*)).
    var slot: Int
    /// A BIGINT argument: SUM stays an integer and AVG truncates, as in Flink.
    var integer: Bool
    /// The argument is BIGINT or DOUBLE, and never NULL.
    var numeric: Bool = false
    var notNull: Bool = false
    var storage: Storage = .rows

    var numericArgument: Bool { slot >= 0 && numeric }
}

/// Where an accumulator's states read their values: COUNT, SUM, AVG, MIN and MAX of one NOT
/// NULL number inline (the common window: statistics of an amount), the rest as general states.
struct AccumulatorPlan: Sendable {
    /// The slot of the inline statistics (-1: none).
    var numeric = -1
    /// Slots of the general states' arguments and their kinds (-1: none).
    var general: [(slot: Int, kind: AggregateSpec.Kind)] = []
    /// The columns the select reads outside aggregates, kept from a window's first row (those
    /// that are the stream key itself are read back from it instead).
    var groupSlots: [Int] = []

    /// Assigns each aggregate call its storage (calls over the same number share statistics).
    static func make(_ specs: inout [AggregateSpec], groupSlots: [Int]) -> AccumulatorPlan {
        var p = AccumulatorPlan()
        p.groupSlots = groupSlots
        for i in specs.indices {
            let s = specs[i]
            let statistic = [.count, .sum, .avg, .min, .max].contains(s.kind) && s.numericArgument && s.notNull
            if s.kind == .countStar {
                specs[i].storage = .rows
            } else if statistic && (p.numeric < 0 || p.numeric == s.slot) {
                p.numeric = s.slot
                specs[i].storage = .numeric(0)
            } else {
                p.general.append((s.slot, s.kind))
                specs[i].storage = .general(p.general.count - 1)
            }
        }
        return p
    }
}

/// The running state of a general aggregate call. NULL arguments are skipped (SQL): `count`
/// counts the values seen, so an aggregate over nothing but NULLs is NULL (COUNT is 0).
struct AggregateState: Sendable {
    var kind: AggregateSpec.Kind
    var count: Int64 = 0
    var sum: Double = 0
    var isum: Int64 = 0
    /// MIN, MAX, FIRST_VALUE and LAST_VALUE.
    var value: Value = .null

    init(kind: AggregateSpec.Kind) { self.kind = kind }

    mutating func add(_ v: Value) {
        switch kind {
        case .countStar: count += 1
        case .count: if !v.isNull { count += 1 }
        case .sum, .avg:
            switch v {
            case .int(let i): count += 1; isum &+= i; sum += Double(i)
            case .double(let d): count += 1; sum += d
            default: break
            }
        case .min:
            if v.isNull { return }
            if count == 0 || Value.orders(v, before: value) { value = v }
            count += 1
        case .max:
            if v.isNull { return }
            if count == 0 || Value.orders(value, before: v) { value = v }
            count += 1
        case .first:
            if v.isNull { return }
            if count == 0 { value = v }
            count += 1
        case .last:
            if v.isNull { return }
            value = v
            count += 1
        }
    }

    /// `o` holds later rows (sliding windows merge their slices in time order).
    mutating func merge(_ o: AggregateState) {
        guard o.count > 0 else { return }
        guard count > 0 else { self = o; return }
        switch kind {
        case .countStar, .count: break
        case .sum, .avg: sum += o.sum; isum &+= o.isum
        case .min: if Value.orders(o.value, before: value) { value = o.value }
        case .max: if Value.orders(value, before: o.value) { value = o.value }
        case .first: break
        case .last: value = o.value
        }
        count += o.count
    }

    func result(integer: Bool) -> Value {
        switch kind {
        case .countStar, .count: return .int(count)
        case .sum: return count == 0 ? .null : integer ? .int(isum) : .double(sum)
        case .avg: return count == 0 ? .null : integer ? .int(isum / count) : .double(sum / Double(count))
        case .min, .max, .first, .last: return count == 0 ? .null : value
        }
    }
}

/// A window's accumulator for a job file's select: the row count, the sum, min and max of one
/// NOT NULL number inline, general states for the other aggregate calls, and the values of the
/// grouped columns that are not the key. Kept small (56 bytes): one per key and window (or
/// slice) in the operators' hash maps, where a bigger value is more cache misses per row.
/// `init()` (the protocol's) needs no plan: states take their shape from the first row.
public struct RowAccumulator: WindowAccumulator {
    var rows: Int64 = 0
    /// Bit patterns of the Int64 or Double sum, min and max (`integer` says which).
    var sum: UInt64 = 0
    var min: UInt64 = 0
    var max: UInt64 = 0
    var integer = false
    var general: [AggregateState] = []
    var group: [Value] = []

    public init() {}

    @inline(__always) mutating func add(_ row: Row, _ plan: AccumulatorPlan) {
        if rows == 0 {
            if !plan.general.isEmpty { general = plan.general.map { AggregateState(kind: $0.kind) } }
            if !plan.groupSlots.isEmpty { group = plan.groupSlots.map { row.values[$0] } }
        }
        if plan.numeric >= 0 {
            switch row.values[plan.numeric] {
            case .double(let d):
                if rows == 0 {
                    sum = d.bitPattern; min = d.bitPattern; max = d.bitPattern
                } else {
                    sum = (Double(bitPattern: sum) + d).bitPattern
                    if d < Double(bitPattern: min) { min = d.bitPattern }
                    if d > Double(bitPattern: max) { max = d.bitPattern }
                }
            case .int(let i):
                integer = true
                if rows == 0 {
                    sum = UInt64(bitPattern: i); min = sum; max = sum
                } else {
                    sum = UInt64(bitPattern: Int64(bitPattern: sum) &+ i)
                    if i < Int64(bitPattern: min) { min = UInt64(bitPattern: i) }
                    if i > Int64(bitPattern: max) { max = UInt64(bitPattern: i) }
                }
            default: break  // NOT NULL: never
            }
        }
        rows += 1
        if !plan.general.isEmpty {
            for i in 0..<plan.general.count {
                let s = plan.general[i].slot
                general[i].add(s >= 0 ? row.values[s] : .null)
            }
        }
    }

    func group(_ j: Int) -> Value { j < group.count ? group[j] : .null }

    func result(_ spec: AggregateSpec) -> Value {
        switch spec.storage {
        case .rows: return .int(rows)
        case .numeric:
            if spec.kind == .count { return .int(rows) }
            guard rows > 0 else { return .null }
            switch spec.kind {
            case .sum: return integer ? .int(Int64(bitPattern: sum)) : .double(Double(bitPattern: sum))
            case .avg: return integer ? .int(Int64(bitPattern: sum) / rows) : .double(Double(bitPattern: sum) / Double(rows))
            case .min: return integer ? .int(Int64(bitPattern: min)) : .double(Double(bitPattern: min))
            case .max: return integer ? .int(Int64(bitPattern: max)) : .double(Double(bitPattern: max))
            default: return .int(rows)
            }
        case .general(let i): return i < general.count ? general[i].result(integer: spec.integer) : .null
        }
    }

    /// `other` holds later rows (sliding windows merge their slices in time order).
    public mutating func merge(_ other: RowAccumulator) {
        if other.rows == 0 { return }
        if rows == 0 { self = other; return }
        if integer {
            sum = UInt64(bitPattern: Int64(bitPattern: sum) &+ Int64(bitPattern: other.sum))
            if Int64(bitPattern: other.min) < Int64(bitPattern: min) { min = other.min }
            if Int64(bitPattern: other.max) > Int64(bitPattern: max) { max = other.max }
        } else {
            sum = (Double(bitPattern: sum) + Double(bitPattern: other.sum)).bitPattern
            if Double(bitPattern: other.min) < Double(bitPattern: min) { min = other.min }
            if Double(bitPattern: other.max) > Double(bitPattern: max) { max = other.max }
        }
        rows += other.rows
        for i in 0..<Swift.min(general.count, other.general.count) { general[i].merge(other.general[i]) }
    }

    public func write(to w: inout StateWriter) {
        w.int(rows); w.uint(sum); w.uint(min); w.uint(max); w.bool(integer)
        w.int(general.count)
        for s in general {
            w.byte(s.kind.rawValue)
            w.int(s.count); w.double(s.sum); w.int(s.isum)
            s.value.write(to: &w)
        }
        w.int(group.count)
        for v in group { v.write(to: &w) }
    }

    public init(from r: inout StateReader) throws(StateError) {
        rows = try r.int(); sum = try r.uint(); min = try r.uint(); max = try r.uint(); integer = try r.bool()
        let g = try r.count(max: 4096)
        for _ in 0..<g {
            let k = try r.byte()
            guard let kind = AggregateSpec.Kind(rawValue: k) else { throw StateError("bad aggregate kind \(k)") }
            var s = AggregateState(kind: kind)
            s.count = try r.int(); s.sum = try r.double(); s.isum = try r.int()
            s.value = try Value(from: &r)
            general.append(s)
        }
        let m = try r.count(max: 4096)
        for _ in 0..<m { group.append(try Value(from: &r)) }
    }
}

extension Value {
    /// SQL ordering of two non-null values of comparable types (numbers with numbers, text with
    /// text, times with times); false for anything else.
    static func orders(_ a: Value, before b: Value) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y
        case (.double(let x), .double(let y)): return x < y
        case (.int(let x), .double(let y)): return Double(x) < y
        case (.double(let x), .int(let y)): return x < Double(y)
        case (.string(let x), .string(let y)): return x < y
        case (.timestamp(let x, _), .timestamp(let y, _)): return x < y
        case (.interval(let x), .interval(let y)): return x < y
        case (.bool(let x), .bool(let y)): return !x && y
        default: return false
        }
    }

    /// As a number, for OVER's measures (nil when not a number).
    @inline(__always) var asDouble: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
}
