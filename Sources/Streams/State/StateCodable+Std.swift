/// State codings for the standard types, so a process operator's per-key state can be a struct
/// of values, lists (arrays) and maps (dictionaries) of them.
extension Int64: StateCodable {
    public func write(to w: inout StateWriter) { w.int(self) }
    public init(from r: inout StateReader) throws(StateError) { self = try r.int() }
}

extension Int: StateCodable {
    public func write(to w: inout StateWriter) { w.int(Int64(self)) }
    public init(from r: inout StateReader) throws(StateError) { self = Int(try r.int()) }
}

extension Double: StateCodable {
    public func write(to w: inout StateWriter) { w.double(self) }
    public init(from r: inout StateReader) throws(StateError) { self = try r.double() }
}

extension Bool: StateCodable {
    public func write(to w: inout StateWriter) { w.bool(self) }
    public init(from r: inout StateReader) throws(StateError) { self = try r.bool() }
}

extension String: StateCodable {
    public func write(to w: inout StateWriter) { w.string(self) }
    public init(from r: inout StateReader) throws(StateError) { self = try r.string() }
}

extension StreamKey: StateCodable {
    public func write(to w: inout StateWriter) { w.key(self) }
    public init(from r: inout StateReader) throws(StateError) { self = try r.key() }
}

extension Optional: StateCodable where Wrapped: StateCodable {
    public func write(to w: inout StateWriter) {
        w.bool(self != nil)
        if let v = self { v.write(to: &w) }
    }
    public init(from r: inout StateReader) throws(StateError) {
        self = try r.bool() ? try Wrapped(from: &r) : nil
    }
}

extension Array: StateCodable where Element: StateCodable {
    public func write(to w: inout StateWriter) {
        w.int(count)
        for e in self { e.write(to: &w) }
    }
    public init(from r: inout StateReader) throws(StateError) {
        let n = try r.count()
        self = []
        reserveCapacity(n)
        for _ in 0..<n { append(try Element(from: &r)) }
    }
}

extension Dictionary: StateCodable where Key: StateCodable, Value: StateCodable {
    public func write(to w: inout StateWriter) {
        w.int(count)
        for (k, v) in self { k.write(to: &w); v.write(to: &w) }
    }
    public init(from r: inout StateReader) throws(StateError) {
        let n = try r.count()
        self = [:]
        reserveCapacity(n)
        for _ in 0..<n {
            let k = try Key(from: &r)
            self[k] = try Value(from: &r)
        }
    }
}
