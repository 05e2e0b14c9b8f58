/// An Avro schema (parsed from its JSON text), compiled into flat, pointer-addressed nodes so
/// decoding and writing walk it without allocating or reference counting. Immutable; shared
/// by every decoder and writer of a job.
///
/// Supported: null, boolean, int, long, float, double, bytes, string, record (nested, named,
/// recursive through unions, arrays or maps), enum, array, map, fixed, union, and the logical
/// types date, timestamp-millis/-micros/-nanos, local-timestamp-* and decimal. Unknown or
/// invalid logical types are ignored, as the specification says.
public final class AvroSchema: @unchecked Sendable, CustomStringConvertible {
    /// The schema's JSON text, as given.
    public let json: String
    let nodes: UnsafeMutablePointer<AvroNode>
    let nodeCount: Int
    /// Record fields' and union branches' node indexes (a node's `first ..< first + count`).
    let children: UnsafeMutablePointer<Int32>
    /// Per `children` entry: the record field's name ("" for a union branch).
    let childNames: [String]
    /// Enum symbols (an enum node's `first ..< first + count`).
    let symbols: [String]
    /// Full names of named types, by node.
    let typeNames: [Int32: String]
    let root: Int32

    /// Parses and validates a schema; errors give the byte offset in `json` and what is wrong.
    public init(json: String) throws(FormatError) {
        self.json = json
        var b = AvroSchemaBuilder()
        root = try b.build(json)
        nodeCount = b.nodes.count
        nodes = .allocate(capacity: max(1, b.nodes.count))
        nodes.initialize(from: b.nodes, count: b.nodes.count)
        children = .allocate(capacity: max(1, b.children.count))
        children.initialize(from: b.children, count: b.children.count)
        childNames = b.childNames
        symbols = b.symbols
        typeNames = b.typeNames
    }

    deinit {
        nodes.deinitialize(count: nodeCount)
        nodes.deallocate()
        children.deallocate()
    }

    public var description: String { json }

    /// The root record's field names, in order (empty when the root is not a record).
    public var fieldNames: [String] {
        let r = nodes[Int(root)]
        guard r.kind == .record else { return [] }
        return (0..<Int(r.count)).map { childNames[Int(r.first) + $0] }
    }

    @inline(__always) func node(_ i: Int32) -> AvroNode { nodes[Int(i)] }
    @inline(__always) func child(_ n: AvroNode, _ i: Int32) -> Int32 { children[Int(n.first + i)] }

    /// How a node's type is written in messages: `long`, `record Tx`, `union [null, long]`.
    func typeName(_ i: Int32) -> String {
        let n = node(i)
        switch n.kind {
        case .record, .enumeration, .fixed: return "\(n.kind.name) \(typeNames[i] ?? "?")"
        case .array: return "array<\(typeName(n.first))>"
        case .map: return "map<\(typeName(n.first))>"
        case .union: return "union [" + (0..<n.count).map { typeName(child(n, $0)) }.joined(separator: ", ") + "]"
        default: return n.logical == .none ? n.kind.name : n.logical.name
        }
    }
}

enum AvroKind: UInt8, Sendable {
    case null, boolean, int, long, float, double, bytes, string, record, enumeration, array, map, fixed, union

    var name: String {
        switch self {
        case .null: return "null"
        case .boolean: return "boolean"
        case .int: return "int"
        case .long: return "long"
        case .float: return "float"
        case .double: return "double"
        case .bytes: return "bytes"
        case .string: return "string"
        case .record: return "record"
        case .enumeration: return "enum"
        case .array: return "array"
        case .map: return "map"
        case .fixed: return "fixed"
        case .union: return "union"
        }
    }

    /// A single value a record type can read.
    var isScalar: Bool { self != .record && self != .array && self != .map && self != .union }
}

enum AvroLogical: UInt8, Sendable {
    case none, date, timestampMillis, timestampMicros, timestampNanos, localTimestamp, decimal

    var name: String {
        switch self {
        case .none: return ""
        case .date: return "date"
        case .timestampMillis: return "timestamp-millis"
        case .timestampMicros: return "timestamp-micros"
        case .timestampNanos: return "timestamp-nanos"
        case .localTimestamp: return "local-timestamp"
        case .decimal: return "decimal"
        }
    }
}

/// One type of the schema. Named types referenced twice are one node (recursion is a cycle).
struct AvroNode: Sendable {
    var kind: AvroKind
    var logical: AvroLogical = .none
    /// Decimal: digits after the point.
    var scale: Int32 = 0
    /// Record/union: the first child in `children`; array/map: the item node; enum: the first
    /// symbol.
    var first: Int32 = 0
    /// Record fields, union branches, enum symbols, fixed size.
    var count: Int32 = 0
    /// The fewest bytes a value takes (a lower bound): refuses array counts the data cannot hold.
    var minSize: Int32 = 0
}

/// How Avro values are framed in Kafka: bare binary, or Confluent's wire format (magic byte 0,
/// the 4-byte big-endian schema registry id, then the binary). `schemaIDs` are the ids
/// accepted when reading (nil: any); a writer writes the single id given.
public enum AvroWire: Sendable, Hashable {
    case raw
    case confluent(schemaIDs: Set<Int32>?)

    /// The Confluent format with one schema id (what a writer needs).
    public static func confluent(schemaID: Int32) -> AvroWire { .confluent(schemaIDs: [schemaID]) }
}
