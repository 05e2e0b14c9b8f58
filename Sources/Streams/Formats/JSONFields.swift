#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The fields a record type reads from a JSON object, as dotted paths (`location.lat` reads a
/// member of a nested object). Built once per type into flat, pointer-addressed tables, so
/// decoding looks keys up without allocating or reference counting.
public final class JSONFieldTable: @unchecked Sendable {
    /// A node of the field tree; siblings are contiguous, children start at `childStart`.
    struct FlatNode {
        var nameOffset: Int32
        var nameLength: Int32
        /// The slot a leaf's value span is stored in; -1 for an inner node.
        var slot: Int32
        var childStart: Int32
        var childCount: Int32
    }

    private struct TreeNode {
        var name: [UInt8]
        var slot: Int
        var children: [TreeNode]
    }

    let nodes: UnsafeMutableBufferPointer<FlatNode>
    let names: UnsafeMutableBufferPointer<UInt8>
    let rootCount: Int32
    public let paths: [String]

    public init(_ paths: [String]) {
        self.paths = paths
        var root: [TreeNode] = []
        for (slot, path) in paths.enumerated() {
            JSONFieldTable.insert(path.split(separator: ".").map { Array($0.utf8) }, slot: slot, into: &root)
        }
        // Breadth-first: each node's children are contiguous.
        var flat: [FlatNode] = []
        var blob: [UInt8] = []
        var queue: [(TreeNode, Int)] = []  // node, index of its flat entry
        for n in root {
            flat.append(FlatNode(nameOffset: Int32(blob.count), nameLength: Int32(n.name.count), slot: Int32(n.slot), childStart: 0, childCount: 0))
            blob += n.name
            queue.append((n, flat.count - 1))
        }
        var qi = 0
        while qi < queue.count {
            let (n, at) = queue[qi]
            qi += 1
            flat[at].childStart = Int32(flat.count)
            flat[at].childCount = Int32(n.children.count)
            for c in n.children {
                flat.append(FlatNode(nameOffset: Int32(blob.count), nameLength: Int32(c.name.count), slot: Int32(c.slot), childStart: 0, childCount: 0))
                blob += c.name
                queue.append((c, flat.count - 1))
            }
        }
        nodes = .allocate(capacity: max(1, flat.count))
        _ = nodes.initialize(from: flat)
        names = .allocate(capacity: max(1, blob.count))
        _ = names.initialize(from: blob)
        rootCount = Int32(root.count)
    }

    deinit {
        nodes.deallocate()
        names.deallocate()
    }

    private static func insert(_ parts: [[UInt8]], slot: Int, into nodes: inout [TreeNode]) {
        guard let first = parts.first else { return }
        let rest = Array(parts.dropFirst())
        if let i = nodes.firstIndex(where: { $0.name == first }) {
            if rest.isEmpty { nodes[i].slot = slot } else { insert(rest, slot: slot, into: &nodes[i].children) }
        } else {
            var n = TreeNode(name: first, slot: rest.isEmpty ? slot : -1, children: [])
            if !rest.isEmpty { insert(rest, slot: slot, into: &n.children) }
            nodes.append(n)
        }
    }

    public var count: Int { paths.count }
}

/// Where each wanted field's value lies in the bytes being decoded. Reused across records (one
/// per decoder), so decoding allocates nothing.
final class JSONSpans {
    let count: Int
    let start: UnsafeMutablePointer<Int32>
    let end: UnsafeMutablePointer<Int32>
    let kind: UnsafeMutablePointer<JSONKind>
    /// Numbers, as scanned: decimal digits as an integer, digits after the point (-1: not
    /// usable, re-parse from the text), sign.
    let mantissa: UnsafeMutablePointer<UInt64>
    let scale: UnsafeMutablePointer<Int32>
    let negative: UnsafeMutablePointer<Bool>

    init(count: Int) {
        self.count = count
        start = .allocate(capacity: max(1, count))
        start.initialize(repeating: 0, count: max(1, count))
        end = .allocate(capacity: max(1, count))
        end.initialize(repeating: 0, count: max(1, count))
        kind = .allocate(capacity: max(1, count))
        kind.initialize(repeating: .missing, count: max(1, count))
        mantissa = .allocate(capacity: max(1, count))
        mantissa.initialize(repeating: 0, count: max(1, count))
        scale = .allocate(capacity: max(1, count))
        scale.initialize(repeating: -1, count: max(1, count))
        negative = .allocate(capacity: max(1, count))
        negative.initialize(repeating: false, count: max(1, count))
    }

    deinit {
        start.deallocate()
        end.deallocate()
        kind.deallocate()
        mantissa.deallocate()
        scale.deallocate()
        negative.deallocate()
    }

    @inline(__always) func reset() {
        for i in 0..<count { kind[i] = .missing }
    }
}

/// A decoded JSON object as seen by a record type's initializer: typed accessors by slot (the
/// index of the path in the type's `JSONFieldTable`). Valid only inside that call.
public struct JSONFields {
    let base: UnsafePointer<UInt8>
    let start: UnsafeMutablePointer<Int32>
    let end: UnsafeMutablePointer<Int32>
    let kinds: UnsafeMutablePointer<JSONKind>
    let mantissa: UnsafeMutablePointer<UInt64>
    let scale: UnsafeMutablePointer<Int32>
    let negative: UnsafeMutablePointer<Bool>
    let table: JSONFieldTable

    init(base: UnsafePointer<UInt8>, spans: JSONSpans, table: JSONFieldTable) {
        self.base = base
        self.start = spans.start
        self.end = spans.end
        self.kinds = spans.kind
        self.mantissa = spans.mantissa
        self.scale = spans.scale
        self.negative = spans.negative
        self.table = table
    }

    @inline(__always) func kind(_ slot: Int) -> JSONKind { kinds[slot] }
    func name(_ slot: Int) -> String { table.paths[slot] }

    func typeError(_ slot: Int, _ want: String) -> FormatError {
        FormatError(offset: Int(start[slot]),
                    "field \(name(slot)): expected \(want), found \(kind(slot).name)")
    }

    /// Whether the field is there and not null.
    public func has(_ slot: Int) -> Bool {
        let k = kind(slot)
        return k != .missing && k != .null
    }

    public func int64(_ slot: Int) throws(FormatError) -> Int64 {
        guard let v = try int64OrNil(slot) else { throw typeError(slot, "an integer") }
        return v
    }

    public func int64OrNil(_ slot: Int) throws(FormatError) -> Int64? {
        let k = kind(slot)
        if k == .missing || k == .null { return nil }
        if k == .number && scale[slot] == 0 && mantissa[slot] <= UInt64(Int64.max) {
            return negative[slot] ? -Int64(mantissa[slot]) : Int64(mantissa[slot])
        }
        let s = Int(start[slot]), e = Int(end[slot])
        guard k == .number || k == .string else { throw typeError(slot, "an integer") }
        guard let v = JSONNumbers.parseInt64(base + s, e - s) else {
            if k == .string { throw typeError(slot, "an integer") }
            // Integers written as 12.0 or 1.2e3 are accepted when exact.
            if k == .number, let d = JSONNumbers.parseDouble(base + s, e - s), d == d.rounded(),
               abs(d) < 9.2e18 { return Int64(d) }
            throw FormatError(offset: s, "field \(name(slot)): not an integer in range")
        }
        return v
    }

    public func double(_ slot: Int) throws(FormatError) -> Double {
        guard let v = try doubleOrNil(slot) else { throw typeError(slot, "a number") }
        return v
    }

    public func doubleOrNil(_ slot: Int) throws(FormatError) -> Double? {
        let k = kind(slot)
        if k == .missing || k == .null { return nil }
        // Clinger's fast path on the scanned digits: exact for at most 15 digits and 10^22.
        if k == .number, scale[slot] >= 0, scale[slot] <= 22, mantissa[slot] < (1 << 53) {
            let v = Double(mantissa[slot]) / JSONNumbers.pow10(Int(scale[slot]))
            return negative[slot] ? -v : v
        }
        let s = Int(start[slot]), e = Int(end[slot])
        // Decimal amounts are sometimes sent as strings ("12.50"): accepted.
        guard k == .number || k == .string, let v = JSONNumbers.parseDouble(base + s, e - s), v.isFinite else {
            throw typeError(slot, "a number")
        }
        return v
    }

    public func string(_ slot: Int) throws(FormatError) -> String {
        guard let v = try stringOrNil(slot) else { throw typeError(slot, "a string") }
        return v
    }

    public func stringOrNil(_ slot: Int) throws(FormatError) -> String? {
        let k = kind(slot)
        let s = Int(start[slot]), e = Int(end[slot])
        switch k {
        case .missing, .null: return nil
        case .string: return String(decoding: UnsafeBufferPointer(start: base + s, count: e - s), as: UTF8.self)
        case .escapedString: return try JSONNumbers.unescape(base, s, e)
        case .number, .bool:
            // A number where a string is expected (ids often are): its text.
            return String(decoding: UnsafeBufferPointer(start: base + s, count: e - s), as: UTF8.self)
        default: throw typeError(slot, "a string")
        }
    }

    public func bool(_ slot: Int) throws(FormatError) -> Bool {
        guard kind(slot) == .bool else { throw typeError(slot, "a boolean") }
        return base[Int(start[slot])] == 0x74
    }

    /// An event time: epoch milliseconds as a number, or an ISO-8601 string with a UTC offset
    /// (`2026-03-01T23:15:00+01:00`, `…Z`, fractional seconds allowed).
    public func timestamp(_ slot: Int) throws(FormatError) -> EventTime {
        let k = kind(slot)
        let s = Int(start[slot]), e = Int(end[slot])
        switch k {
        case .number:
            guard let v = JSONNumbers.parseInt64(base + s, e - s) else {
                throw FormatError(offset: s, "field \(name(slot)): epoch milliseconds must be an integer")
            }
            return EventTime(millis: v, utcOffsetSeconds: 0)
        case .string:
            do {
                return try ISO8601.parse(UnsafeBufferPointer(start: base + s, count: e - s))
            } catch {
                throw FormatError(offset: s + error.offset, "field \(name(slot)): \(error.reason)")
            }
        default: throw typeError(slot, "a timestamp (epoch millis or ISO-8601)")
        }
    }
}

/// An event's time: epoch milliseconds and the UTC offset it was written with (the customer's
/// local hour comes from it).
public struct EventTime: Sendable, Hashable {
    public var millis: Int64
    public var utcOffsetSeconds: Int32

    public init(millis: Int64, utcOffsetSeconds: Int32 = 0) {
        self.millis = millis
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    /// The hour of the day (0–23) in the event's own offset.
    public var localHour: Int {
        let local = millis + Int64(utcOffsetSeconds) * 1000
        let msInDay = ((local % 86_400_000) + 86_400_000) % 86_400_000
        return Int(msInDay / 3_600_000)
    }
}

enum JSONNumbers {
    static func parseInt64(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
        guard n > 0 else { return nil }
        var i = 0
        var neg = false
        if p[0] == 0x2D { neg = true; i = 1 }
        guard i < n else { return nil }
        var v: Int64 = 0
        while i < n {
            let d = Int64(p[i]) - 0x30
            guard d >= 0 && d <= 9 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = neg ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        return v
    }

    /// Exact powers of ten up to 1e22 (a switch: no global-initialisation check per call).
    @inline(__always) static func pow10(_ e: Int) -> Double {
        switch e {
        case 0: return 1
        case 1: return 1e1
        case 2: return 1e2
        case 3: return 1e3
        case 4: return 1e4
        case 5: return 1e5
        case 6: return 1e6
        case 7: return 1e7
        case 8: return 1e8
        case 9: return 1e9
        case 10: return 1e10
        case 11: return 1e11
        case 12: return 1e12
        case 13: return 1e13
        case 14: return 1e14
        case 15: return 1e15
        case 16: return 1e16
        case 17: return 1e17
        case 18: return 1e18
        case 19: return 1e19
        case 20: return 1e20
        case 21: return 1e21
        default: return 1e22
        }
    }

    /// Clinger's fast path (exact when the digits fit in 2^53 and the power of ten is ≤ 22),
    /// strtod otherwise.
    static func parseDouble(_ p: UnsafePointer<UInt8>, _ n: Int) -> Double? {
        guard n > 0 && n < 400 else { return nil }
        var i = 0
        var neg = false
        if p[0] == 0x2D { neg = true; i = 1 }
        var mant: UInt64 = 0
        var digits = 0
        var scale = 0
        var sawDigit = false
        while i < n, p[i] >= 0x30 && p[i] <= 0x39 {
            mant = mant &* 10 &+ UInt64(p[i] - 0x30); digits += 1; i += 1; sawDigit = true
        }
        if i < n && p[i] == 0x2E {
            i += 1
            while i < n, p[i] >= 0x30 && p[i] <= 0x39 {
                mant = mant &* 10 &+ UInt64(p[i] - 0x30); digits += 1; scale += 1; i += 1; sawDigit = true
            }
        }
        guard sawDigit else { return nil }
        if i == n && digits <= 15 && scale <= 22 {
            let v = Double(mant) / pow10(scale)
            return neg ? -v : v
        }
        return slowDouble(p, n)
    }

    static func slowDouble(_ p: UnsafePointer<UInt8>, _ n: Int) -> Double? {
        var buf = [CChar](repeating: 0, count: n + 1)
        for k in 0..<n {
            let c = p[k]
            // strtod accepts more than JSON (hex, inf, nan): allow only JSON's characters.
            guard (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2B || c == 0x2E || c == 0x65 || c == 0x45 else { return nil }
            buf[k] = CChar(bitPattern: c)
        }
        return buf.withUnsafeMutableBufferPointer { b -> Double? in
            var endp: UnsafeMutablePointer<CChar>? = nil
            let v = strtod(b.baseAddress!, &endp)
            guard let endp, endp - b.baseAddress! == n else { return nil }
            return v
        }
    }

    static func unescape(_ base: UnsafePointer<UInt8>, _ s: Int, _ e: Int) throws(FormatError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(e - s)
        var i = s
        while i < e {
            let c = base[i]
            guard c == 0x5C else { out.append(c); i += 1; continue }
            let n = base[i + 1]
            switch n {
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var cp = hex4(base + i + 2)
                i += 6
                if cp >= 0xD800 && cp < 0xDC00 {
                    // A surrogate pair: the low half must follow.
                    guard i + 6 <= e, base[i] == 0x5C, base[i + 1] == 0x75 else {
                        throw FormatError(offset: i, "unpaired surrogate in \\u escape")
                    }
                    let lo = hex4(base + i + 2)
                    guard lo >= 0xDC00 && lo < 0xE000 else { throw FormatError(offset: i, "invalid low surrogate") }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                    i += 6
                } else if cp >= 0xDC00 && cp < 0xE000 {
                    throw FormatError(offset: i - 6, "unpaired surrogate in \\u escape")
                }
                let scalar = Unicode.Scalar(cp)!
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
                continue
            default: out.append(n)  // \" \\ \/
            }
            i += 2
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hex4(_ p: UnsafePointer<UInt8>) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 { v = v << 4 | (JSONScanner.hexValue(p[k]) ?? 0) }
        return v
    }
}
