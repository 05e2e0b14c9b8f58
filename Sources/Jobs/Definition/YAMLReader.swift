import Foundation
import Streams
import Yams

/// Reads YAML nodes into definitions, collecting every problem with its place rather than
/// stopping at the first: wrong kinds of node, missing and unknown keys (with the nearest
/// known one), bad durations and numbers.
struct YAMLReader {
    let file: String
    let lines: [Substring]
    var diagnostics: [Diagnostic] = []

    init(file: String, text: String) {
        self.file = file
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    func location(_ node: Node) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    func sourceLine(_ line: Int) -> String {
        line >= 1 && line <= lines.count ? String(lines[line - 1]) : ""
    }

    mutating func error(_ at: SourceLocation, _ message: String, length: Int = 1) {
        diagnostics.append(Diagnostic(location: at, length: max(1, length), message: message, sourceLine: sourceLine(at.line)))
    }

    mutating func error(_ node: Node, _ message: String) {
        error(location(node), message, length: node.scalar?.string.count ?? 1)
    }

    /// The pairs of a mapping in file order, or nil (and an error) for another node.
    mutating func mapping(_ node: Node, _ what: String) -> [(key: String, keyNode: Node, value: Node)]? {
        guard let m = node.mapping else {
            error(node, "\(what) must be a mapping (key: value lines)")
            return nil
        }
        var out: [(key: String, keyNode: Node, value: Node)] = []
        var seen = Set<String>()
        for (k, v) in m {
            guard let key = k.scalar?.string else {
                error(k, "\(what): keys must be plain names")
                continue
            }
            if !seen.insert(key).inserted { error(k, "\(what): '\(key)' is given twice") }
            out.append((key, k, v))
        }
        return out
    }

    /// Reports keys outside `known` (suggesting the nearest).
    mutating func checkKeys(_ pairs: [(key: String, keyNode: Node, value: Node)], known: [String], in what: String) {
        for p in pairs where !known.contains(p.key) {
            var hint = Suggest.nearest(p.key, among: known).map { " (did you mean '\($0)'?)" } ?? ""
            if p.key.contains(")") || p.key.contains("(") {
                // `{ expr: LAG(b, 3) }`: YAML split the expression at its comma.
                hint = " (an expression with a comma inside { … } must be quoted, e.g. expr: \"LAG(amount, 2)\")"
            }
            error(p.keyNode, "\(what): unknown key '\(p.key)'\(hint); known keys: \(known.joined(separator: ", "))")
        }
    }

    func value(_ pairs: [(key: String, keyNode: Node, value: Node)], _ key: String) -> Node? {
        pairs.first { $0.key == key }?.value
    }

    mutating func string(_ node: Node, _ what: String) -> String? {
        guard let s = node.scalar?.string, node.mapping == nil, node.sequence == nil else {
            error(node, "\(what) must be a single value")
            return nil
        }
        return s
    }

    mutating func require(_ pairs: [(key: String, keyNode: Node, value: Node)], _ key: String, in what: String, at: Node) -> Node? {
        if let v = value(pairs, key) { return v }
        error(at, "\(what): '\(key)' is required")
        return nil
    }

    mutating func int(_ node: Node, _ what: String, range: ClosedRange<Int>) -> Int? {
        guard let s = string(node, what) else { return nil }
        guard let n = Int(s), range.contains(n) else {
            error(node, "\(what) must be a whole number in \(range.lowerBound)...\(range.upperBound), not '\(s)'")
            return nil
        }
        return n
    }

    mutating func bool(_ node: Node, _ what: String) -> Bool? {
        guard let s = string(node, what) else { return nil }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            error(node, "\(what) must be true or false, not '\(s)'")
            return nil
        }
    }

    mutating func duration(_ node: Node, _ what: String, allowZero: Bool = true) -> Duration? {
        guard let s = string(node, what) else { return nil }
        guard let d = DurationText.parse(s), allowZero || d > .zero else {
            error(node, "\(what): '\(s)' is not a duration\(allowZero ? "" : " above zero") (e.g. 500ms, 5s, 10m, 1h, 1d)")
            return nil
        }
        return d
    }

    /// The expression in a scalar node, placed where its text starts in the file.
    mutating func expression(_ node: Node, _ what: String) -> ExpressionText? {
        guard let scalar = node.scalar, node.mapping == nil else {
            error(node, "\(what) must be an expression (a single value)")
            return nil
        }
        var line = node.mark?.line ?? 1, column = node.mark?.column ?? 1
        var continuation = column
        switch scalar.style {
        case .singleQuoted, .doubleQuoted:
            column += 1
            continuation = column
        case .literal, .folded:
            // The text starts on the next line, at the block's indentation.
            line += 1
            let first = sourceLine(line)
            let indent = first.prefix { $0 == " " }.count
            column = indent + 1
            continuation = column
        default:
            break
        }
        var text = scalar.string
        while text.hasSuffix("\n") { text.removeLast() }
        return ExpressionText(source: ExpressionSource(text, file: file, line: line, column: column, continuationColumn: continuation))
    }
}

/// Durations as job files write them: a number and a unit (ms, s, m, h, d), several allowed
/// (`1h30m`); a bare 0 is zero.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let s = text.trimmingCharacters(in: .whitespaces)
        if s == "0" { return .zero }
        var total: Int64 = 0
        var i = s.startIndex
        var any = false
        while i < s.endIndex {
            var j = i
            while j < s.endIndex, s[j].isASCII, s[j].isNumber { j = s.index(after: j) }
            guard j > i, let n = Int64(s[i..<j]) else { return nil }
            var k = j
            while k < s.endIndex, s[k].isLetter { k = s.index(after: k) }
            let unit: Int64
            switch s[j..<k] {
            case "ms": unit = 1
            case "s": unit = 1000
            case "m", "min": unit = 60_000
            case "h": unit = 3_600_000
            case "d": unit = 86_400_000
            default: return nil
            }
            let (v, o1) = n.multipliedReportingOverflow(by: unit)
            let (t, o2) = total.addingReportingOverflow(v)
            guard !o1, !o2 else { return nil }
            total = t
            any = true
            i = k
        }
        return any ? .milliseconds(total) : nil
    }

    static func format(_ d: Duration) -> String {
        let ms = d.millis
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] where ms % size == 0 && ms != 0 {
            return "\(ms / size)\(unit)"
        }
        return "\(ms)ms"
    }
}
