/// Compiles a schema's JSON tree into `AvroNode`s, validating it as the Avro specification
/// says: names and namespaces, types defined before use (a record's own name is usable in its
/// fields), no duplicate names, union rules, logical types on the right base types.
struct AvroSchemaBuilder {
    var nodes: [AvroNode] = []
    var children: [Int32] = []
    var childNames: [String] = []
    var symbols: [String] = []
    var typeNames: [Int32: String] = [:]
    var named: [String: Int32] = [:]

    static let primitives: [String: AvroKind] = [
        "null": .null, "boolean": .boolean, "int": .int, "long": .long,
        "float": .float, "double": .double, "bytes": .bytes, "string": .string,
    ]

    mutating func build(_ text: String) throws(FormatError) -> Int32 {
        let root = try type(try SchemaJSON.parse(text), namespace: "")
        try checkFinite()
        var done = [Bool](repeating: false, count: nodes.count)
        for i in nodes.indices { _ = minSize(Int32(i), &done) }
        return root
    }

    mutating func add(_ n: AvroNode) -> Int32 {
        nodes.append(n)
        return Int32(nodes.count - 1)
    }

    mutating func type(_ j: SchemaJSON, namespace ns: String) throws(FormatError) -> Int32 {
        switch j.value {
        case .string(let name): return try reference(name, at: j.at, namespace: ns)
        case .array(let branches): return try union(branches, at: j.at, namespace: ns)
        case .object: return try object(j, namespace: ns)
        default: throw FormatError(offset: j.at, "expected a type (a name, an object or a union array), found \(j.kindName)")
        }
    }

    /// A primitive type's name, or a named type defined earlier.
    mutating func reference(_ name: String, at: Int, namespace ns: String) throws(FormatError) -> Int32 {
        if let k = AvroSchemaBuilder.primitives[name] { return add(AvroNode(kind: k)) }
        if !name.contains("."), !ns.isEmpty, let i = named["\(ns).\(name)"] { return i }
        if let i = named[name] { return i }
        let known = named.keys.sorted()
        throw FormatError(offset: at, "unknown type '\(name)'" + (known.isEmpty ? "" : " (defined so far: \(known.joined(separator: ", ")))"))
    }

    mutating func union(_ branches: [SchemaJSON], at: Int, namespace ns: String) throws(FormatError) -> Int32 {
        guard !branches.isEmpty else { throw FormatError(offset: at, "a union needs at least one branch") }
        var seen: [String] = []
        var ids: [Int32] = []
        for b in branches {
            let i = try type(b, namespace: ns)
            let n = nodes[Int(i)]
            guard n.kind != .union else { throw FormatError(offset: b.at, "a union may not contain a union directly") }
            let key = typeNames[i] ?? n.kind.name
            guard !seen.contains(key) else { throw FormatError(offset: b.at, "union has two branches of type \(key)") }
            seen.append(key)
            ids.append(i)
        }
        let u = add(AvroNode(kind: .union, first: Int32(children.count), count: Int32(ids.count)))
        children += ids
        childNames += Array(repeating: "", count: ids.count)
        return u
    }

    mutating func object(_ j: SchemaJSON, namespace ns: String) throws(FormatError) -> Int32 {
        guard let t = j["type"] else { throw FormatError(offset: j.at, "type object has no \"type\"") }
        guard let tn = t.string else { throw FormatError(offset: t.at, "\"type\" of a type object must be a string, found \(t.kindName)") }
        if let k = AvroSchemaBuilder.primitives[tn] {
            var n = AvroNode(kind: k)
            logical(j, &n)
            return add(n)
        }
        switch tn {
        case "record", "error":
            let (idx, full, inner) = try define(j, kind: .record, namespace: ns)
            guard let fs = j["fields"] else { throw FormatError(offset: j.at, "record \(full) has no \"fields\"") }
            guard case .array(let fields) = fs.value else { throw FormatError(offset: fs.at, "\"fields\" of record \(full) must be an array") }
            var ids: [Int32] = []
            var names: [String] = []
            for f in fields {
                guard case .object = f.value else { throw FormatError(offset: f.at, "a field of record \(full) must be an object") }
                guard let nj = f["name"], let name = nj.string else { throw FormatError(offset: f.at, "a field of record \(full) has no \"name\"") }
                guard AvroSchemaBuilder.validName(name) else { throw FormatError(offset: nj.at, "invalid field name '\(name)' in record \(full)") }
                guard !names.contains(name) else { throw FormatError(offset: nj.at, "field \(name) appears twice in record \(full)") }
                guard let ft = f["type"] else { throw FormatError(offset: f.at, "field \(name) of record \(full) has no \"type\"") }
                do {
                    ids.append(try type(ft, namespace: inner))
                } catch {
                    throw FormatError(offset: error.offset, "field \(full).\(name): \(error.reason)")
                }
                names.append(name)
            }
            nodes[Int(idx)].first = Int32(children.count)
            nodes[Int(idx)].count = Int32(ids.count)
            children += ids
            childNames += names
            return idx
        case "enum":
            let (idx, full, _) = try define(j, kind: .enumeration, namespace: ns)
            guard let sj = j["symbols"], case .array(let list) = sj.value else {
                throw FormatError(offset: j.at, "enum \(full) needs \"symbols\", an array of names")
            }
            var syms: [String] = []
            for s in list {
                guard let name = s.string, AvroSchemaBuilder.validName(name) else {
                    throw FormatError(offset: s.at, "enum \(full): symbols must be names ([A-Za-z_][A-Za-z0-9_]*)")
                }
                guard !syms.contains(name) else { throw FormatError(offset: s.at, "enum \(full): symbol \(name) appears twice") }
                syms.append(name)
            }
            nodes[Int(idx)].first = Int32(symbols.count)
            nodes[Int(idx)].count = Int32(syms.count)
            symbols += syms
            return idx
        case "fixed":
            let (idx, full, _) = try define(j, kind: .fixed, namespace: ns)
            guard let sj = j["size"], case .number(let text) = sj.value, let size = Int64(text), size >= 0, size <= Int64(Int32.max) else {
                throw FormatError(offset: j.at, "fixed \(full) needs \"size\", a non-negative integer")
            }
            nodes[Int(idx)].count = Int32(size)
            logical(j, &nodes[Int(idx)])
            return idx
        case "array", "map":
            let key = tn == "array" ? "items" : "values"
            guard let it = j[key] else { throw FormatError(offset: j.at, "\(tn) has no \"\(key)\"") }
            let item = try type(it, namespace: ns)
            return add(AvroNode(kind: tn == "array" ? .array : .map, first: item))
        default:
            return try reference(tn, at: t.at, namespace: ns)  // {"type": "com.acme.Money"}
        }
    }

    /// Registers a named type (before its body: records may refer to themselves). Returns its
    /// node, full name, and the namespace its members' names resolve in.
    mutating func define(_ j: SchemaJSON, kind: AvroKind, namespace ns: String) throws(FormatError) -> (Int32, String, String) {
        guard let nj = j["name"], let name = nj.string else { throw FormatError(offset: j.at, "\(kind.name) has no \"name\"") }
        var space = ns
        if let sj = j["namespace"] {
            guard let s = sj.string else { throw FormatError(offset: sj.at, "\"namespace\" must be a string") }
            space = s
        }
        let full: String
        if let dot = name.lastIndex(of: ".") {
            full = name
            space = String(name[..<dot])
        } else {
            full = space.isEmpty ? name : "\(space).\(name)"
        }
        guard AvroSchemaBuilder.validFullName(full), space.isEmpty || AvroSchemaBuilder.validFullName(space) else {
            throw FormatError(offset: nj.at, "invalid name '\(full)' (each part: [A-Za-z_][A-Za-z0-9_]*)")
        }
        let short = full.split(separator: ".").last.map(String.init) ?? full
        guard AvroSchemaBuilder.primitives[short] == nil else { throw FormatError(offset: nj.at, "\(kind.name) may not be named \(short), a primitive type") }
        guard named[full] == nil else { throw FormatError(offset: nj.at, "type \(full) is defined twice") }
        let idx = add(AvroNode(kind: kind))
        named[full] = idx
        typeNames[idx] = full
        return (idx, full, space)
    }

    /// Applies a known, valid logical type; others are ignored (the specification's rule).
    func logical(_ j: SchemaJSON, _ n: inout AvroNode) {
        guard let lt = j["logicalType"]?.string else { return }
        switch (lt, n.kind) {
        case ("date", .int): n.logical = .date
        case ("timestamp-millis", .long): n.logical = .timestampMillis
        case ("timestamp-micros", .long): n.logical = .timestampMicros
        case ("timestamp-nanos", .long): n.logical = .timestampNanos
        case ("local-timestamp-millis", .long), ("local-timestamp-micros", .long), ("local-timestamp-nanos", .long):
            n.logical = .localTimestamp
        case ("decimal", .bytes), ("decimal", .fixed):
            guard case .number(let pt)? = j["precision"]?.value, let precision = Int(pt), precision > 0 else { return }
            var scale = 0
            if let sj = j["scale"] {
                guard case .number(let st) = sj.value, let s = Int(st) else { return }
                scale = s
            }
            guard scale >= 0, scale <= precision, precision <= 1000 else { return }
            n.logical = .decimal
            n.scale = Int32(scale)
        default: return
        }
    }

    static func validName(_ s: String) -> Bool {
        guard let f = s.utf8.first, f == 0x5F || (f | 0x20 >= 0x61 && f | 0x20 <= 0x7A) else { return false }
        return s.utf8.allSatisfy { $0 == 0x5F || ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) }
    }

    static func validFullName(_ s: String) -> Bool {
        s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { validName(String($0)) }
    }

    /// A record that holds itself through record fields only has no finite value.
    func checkFinite() throws(FormatError) {
        var state = [UInt8](repeating: 0, count: nodes.count)  // 0 new, 1 on the path, 2 done
        func visit(_ i: Int32) throws(FormatError) {
            guard nodes[Int(i)].kind == .record else { return }
            if state[Int(i)] == 2 { return }
            if state[Int(i)] == 1 {
                throw FormatError(offset: 0, "record \(typeNames[i] ?? "?") contains itself through record fields only: no value of it is finite (use a union with null, an array or a map)")
            }
            state[Int(i)] = 1
            let n = nodes[Int(i)]
            for k in 0..<Int(n.count) { try visit(children[Int(n.first) + k]) }
            state[Int(i)] = 2
        }
        for i in nodes.indices { try visit(Int32(i)) }
    }

    mutating func minSize(_ i: Int32, _ done: inout [Bool]) -> Int32 {
        if done[Int(i)] { return nodes[Int(i)].minSize }
        let n = nodes[Int(i)]
        var s: Int32
        switch n.kind {
        case .null: s = 0
        case .float: s = 4
        case .double: s = 8
        case .fixed: s = n.count
        case .record:
            s = 0
            for k in 0..<Int(n.count) { s = min(s &+ minSize(children[Int(n.first) + k], &done), 1 << 24) }
        default: s = 1
        }
        nodes[Int(i)].minSize = s
        done[Int(i)] = true
        return s
    }
}
