/// The fields of a row, in order. Names may be dotted paths (`location.lat`) for nested
/// source fields. Unquoted identifiers match case-insensitively, as Flink resolves them;
/// backquoted ones match exactly.
public struct RowSchema: Sendable, Hashable {
    public struct Field: Sendable, Hashable {
        public var name: String
        public var type: SQLType
        public var nullable: Bool

        public init(_ name: String, _ type: SQLType, nullable: Bool = true) {
            self.name = name
            self.type = type
            self.nullable = nullable
        }
    }

    public private(set) var fields: [Field]
    /// Lowercased name → slots (several when names differ only in case).
    private var folded: [String: [Int]]

    public init(_ fields: [Field]) {
        self.fields = fields
        var folded: [String: [Int]] = [:]
        for (i, f) in fields.enumerated() { folded[f.name.lowercased(), default: []].append(i) }
        self.folded = folded
    }

    public var count: Int { fields.count }

    public subscript(_ i: Int) -> Field { fields[i] }

    /// The slot of an unquoted name (case-insensitive); nil when absent or ambiguous.
    public func index(of name: String) -> Int? {
        if case .found(let i) = resolve(name, exact: false) { return i }
        return nil
    }

    /// The slot of a field named exactly `name`.
    public func index(exactly name: String) -> Int? {
        fields.firstIndex { $0.name == name }
    }

    public func appending(_ more: [Field]) -> RowSchema {
        RowSchema(fields + more)
    }

    enum Resolution: Equatable {
        case found(Int)
        case notFound
        case ambiguous([Int])
    }

    /// Resolves an identifier written as parts (`location.lat`, `` `location`.`lat` ``): unquoted
    /// parts match case-insensitively, quoted ones exactly; one quoted part may hold the dots.
    func resolve(parts: [(name: String, quoted: Bool)]) -> Resolution {
        if parts.allSatisfy({ !$0.quoted }) { return resolve(parts.map(\.name).joined(separator: "."), exact: false) }
        if parts.count == 1 { return resolve(parts[0].name, exact: true) }
        var hits: [Int] = []
        for (i, f) in fields.enumerated() {
            let segments = f.name.split(separator: ".", omittingEmptySubsequences: false)
            guard segments.count == parts.count else { continue }
            let match = zip(segments, parts).allSatisfy { seg, part in
                part.quoted ? seg == part.name : seg.lowercased() == part.name.lowercased()
            }
            if match { hits.append(i) }
        }
        switch hits.count {
        case 0: return .notFound
        case 1: return .found(hits[0])
        default: return .ambiguous(hits)
        }
    }

    /// Resolves one name, case-insensitively unless `exact`.
    func resolve(_ name: String, exact: Bool) -> Resolution {
        if exact { return index(exactly: name).map { .found($0) } ?? .notFound }
        guard let slots = folded[name.lowercased()] else { return .notFound }
        if slots.count == 1 { return .found(slots[0]) }
        return .ambiguous(slots)
    }
}
