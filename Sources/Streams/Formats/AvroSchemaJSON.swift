/// A JSON value as a tree, for reading Avro schemas (once per job, not per record: a tree is
/// simpler than spans here). Built on the module's validating `JSONScanner`; every value
/// keeps its byte offset so schema errors can say where.
struct SchemaJSON {
    indirect enum Value {
        case null
        case bool(Bool)
        case number(String)
        case string(String)
        case array([SchemaJSON])
        case object([(key: String, value: SchemaJSON)])
    }

    var at: Int
    var value: Value

    static let maxDepth = 256

    var kindName: String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    subscript(key: String) -> SchemaJSON? {
        guard case .object(let members) = value else { return nil }
        return members.first { $0.key == key }?.value
    }

    var string: String? {
        if case .string(let s) = value { return s }
        return nil
    }

    static func parse(_ text: String) throws(FormatError) -> SchemaJSON {
        let r = Array(text.utf8).withUnsafeBytes { raw in
            Result { () throws(FormatError) -> SchemaJSON in
                var sc = JSONScanner(raw)
                let v = try parseValue(&sc, depth: 0)
                sc.skipSpace()
                guard sc.pos == sc.end else { throw sc.fail("unexpected data after the schema") }
                return v
            }
        }
        return try r.get()
    }

    static func parseValue(_ sc: inout JSONScanner, depth: Int) throws(FormatError) -> SchemaJSON {
        sc.skipSpace()
        guard sc.pos < sc.end else { throw sc.fail("unexpected end of the schema, expected a value") }
        let at = sc.pos
        switch sc.byte(at) {
        case 0x22:
            return SchemaJSON(at: at, value: .string(try scanText(&sc)))
        case 0x7B:
            guard depth < maxDepth else { throw sc.fail("schema nested deeper than \(maxDepth)") }
            sc.pos += 1
            sc.skipSpace()
            var members: [(key: String, value: SchemaJSON)] = []
            if sc.pos < sc.end && sc.byte(sc.pos) == 0x7D { sc.pos += 1; return SchemaJSON(at: at, value: .object(members)) }
            while true {
                sc.skipSpace()
                guard sc.pos < sc.end, sc.byte(sc.pos) == 0x22 else { throw sc.fail("expected a member name") }
                let keyAt = sc.pos
                let key = try scanText(&sc)
                guard !members.contains(where: { $0.key == key }) else { throw FormatError(offset: keyAt, "member \"\(key)\" appears twice") }
                try sc.expect(0x3A, "':' after the member name")
                members.append((key, try parseValue(&sc, depth: depth + 1)))
                sc.skipSpace()
                guard sc.pos < sc.end else { throw sc.fail("unexpected end of the schema in an object") }
                let c = sc.byte(sc.pos)
                sc.pos += 1
                if c == 0x2C { continue }
                if c == 0x7D { return SchemaJSON(at: at, value: .object(members)) }
                sc.pos -= 1
                throw sc.fail("expected ',' or '}', found \(sc.describe(c))")
            }
        case 0x5B:
            guard depth < maxDepth else { throw sc.fail("schema nested deeper than \(maxDepth)") }
            sc.pos += 1
            sc.skipSpace()
            var items: [SchemaJSON] = []
            if sc.pos < sc.end && sc.byte(sc.pos) == 0x5D { sc.pos += 1; return SchemaJSON(at: at, value: .array(items)) }
            while true {
                items.append(try parseValue(&sc, depth: depth + 1))
                sc.skipSpace()
                guard sc.pos < sc.end else { throw sc.fail("unexpected end of the schema in an array") }
                let c = sc.byte(sc.pos)
                sc.pos += 1
                if c == 0x2C { continue }
                if c == 0x5D { return SchemaJSON(at: at, value: .array(items)) }
                sc.pos -= 1
                throw sc.fail("expected ',' or ']', found \(sc.describe(c))")
            }
        case 0x74:
            try sc.scanLiteral("true")
            return SchemaJSON(at: at, value: .bool(true))
        case 0x66:
            try sc.scanLiteral("false")
            return SchemaJSON(at: at, value: .bool(false))
        case 0x6E:
            try sc.scanLiteral("null")
            return SchemaJSON(at: at, value: .null)
        case 0x2D, 0x30...0x39:
            try sc.scanNumber()
            let text = String(decoding: UnsafeBufferPointer(start: sc.base + at, count: sc.pos - at), as: UTF8.self)
            return SchemaJSON(at: at, value: .number(text))
        default:
            throw sc.fail("unexpected \(sc.describe(sc.byte(at))) in the schema")
        }
    }

    static func scanText(_ sc: inout JSONScanner) throws(FormatError) -> String {
        let s = try sc.scanString()
        if s.escaped { return try JSONNumbers.unescape(sc.base, s.start, s.end) }
        guard let v = FormatText.string(sc.base + s.start, s.end - s.start) else {
            throw FormatError(offset: s.start, "invalid UTF-8 in a string")
        }
        return v
    }
}
