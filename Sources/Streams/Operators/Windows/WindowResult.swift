/// One window's result for one key. `isUpdate` marks a re-fired window: a late record (within
/// the allowed lateness) changed a result that was already emitted; the new one replaces it.
public struct WindowResult<Acc: Sendable>: Sendable {
    public var key: StreamKey
    public var start: Millis
    public var end: Millis
    public var value: Acc
    public var isUpdate: Bool
}

/// What a window aggregates: an accumulator that starts empty and merges (slices of a sliding
/// window are merged into the window's result), and that checkpoints can write and read.
public protocol WindowAccumulator: Sendable, StateCodable {
    init()
    mutating func merge(_ other: Self)
}

extension Stats: WindowAccumulator {}
