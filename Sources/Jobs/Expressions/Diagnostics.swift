/// Where a place in a job file is: 1-based line and column (columns count Unicode scalars,
/// as the YAML parser reports them).
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// A half-open range of UTF-8 offsets into an expression's text.
public struct SourceRange: Sendable, Hashable, CustomStringConvertible {
    public var start: Int
    public var end: Int

    public init(_ start: Int, _ end: Int) {
        self.start = start
        self.end = max(start, end)
    }

    public func union(_ o: SourceRange) -> SourceRange { SourceRange(min(start, o.start), max(end, o.end)) }

    public var description: String { "\(start)..<\(end)" }
}

/// An expression's text and where it sits in its file. Expressions are embedded in YAML:
/// the first line starts at `line`:`column`; later lines (a multi-line block scalar) start at
/// `continuationColumn`, the block's indentation plus one.
public struct ExpressionSource: Sendable, Hashable {
    public var text: String
    public var file: String
    public var line: Int
    public var column: Int
    public var continuationColumn: Int
    /// UTF-8 offsets where each line of the text starts.
    let lineStarts: [Int]

    public init(_ text: String, file: String = "<expression>", line: Int = 1, column: Int = 1, continuationColumn: Int = 1) {
        self.text = text
        self.file = file
        self.line = line
        self.column = column
        self.continuationColumn = continuationColumn
        var starts = [0]
        for (i, c) in text.utf8.enumerated() where c == 0x0A { starts.append(i + 1) }
        lineStarts = starts
    }

    /// Index of the line holding UTF-8 offset `offset` (0-based).
    func lineIndex(of offset: Int) -> Int {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// Unicode scalars between two UTF-8 offsets of the text (offsets inside a scalar round down).
    func scalarCount(from a: Int, to b: Int) -> Int {
        let u = text.utf8
        let n = u.count
        var count = 0
        var i = max(0, a)
        let e = min(b, n)
        var it = u.index(u.startIndex, offsetBy: i)
        while i < e {
            if u[it] & 0xC0 != 0x80 { count += 1 }
            it = u.index(after: it)
            i += 1
        }
        return count
    }

    public func location(of offset: Int) -> SourceLocation {
        let o = max(0, min(offset, text.utf8.count))
        let li = lineIndex(of: o)
        let col = scalarCount(from: lineStarts[li], to: o)
        return SourceLocation(file: file, line: line + li, column: (li == 0 ? column : continuationColumn) + col)
    }

    /// The text of line `li` (without its newline).
    func lineText(_ li: Int) -> String {
        let u = Array(text.utf8)
        let s = lineStarts[li]
        var e = li + 1 < lineStarts.count ? lineStarts[li + 1] - 1 : u.count
        if e > s, u[e - 1] == 0x0D { e -= 1 }
        return String(decoding: u[s..<max(s, e)], as: UTF8.self)
    }

    /// A diagnostic for a range of this text.
    func diagnostic(_ range: SourceRange, _ message: String) -> Diagnostic {
        let loc = location(of: range.start)
        let li = lineIndex(of: max(0, min(range.start, text.utf8.count)))
        let startCol = li == 0 ? column : continuationColumn
        // The line as it appears in the file: the expression's line shifted to its column.
        let shown = String(repeating: " ", count: max(0, startCol - 1)) + lineText(li)
        // The caret covers the range, cut at the end of the line for multi-line ranges.
        let lineEnd = li + 1 < lineStarts.count ? lineStarts[li + 1] - 1 : text.utf8.count
        let width = max(1, scalarCount(from: range.start, to: min(range.end, lineEnd)))
        return Diagnostic(location: loc, length: width, message: message, sourceLine: shown)
    }
}

/// One error in a job file, with what is needed to show it as compilers do:
///
///     fraud.yaml:12:9: error: unknown column `amout`; did you mean `amount`?
///       where: amout > 100
///              ^~~~~
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    /// Width of the caret, in columns (at least 1).
    public var length: Int
    public var message: String
    /// The source line the caret points into, as it appears in the file.
    public var sourceLine: String

    public init(location: SourceLocation, length: Int = 1, message: String, sourceLine: String = "") {
        self.location = location
        self.length = max(1, length)
        self.message = message
        self.sourceLine = sourceLine
    }

    /// `file:line:col: error: message`, the line, and `^~~~` under the range.
    public var rendered: String {
        var out = "\(location): error: \(message)"
        guard !sourceLine.isEmpty else { return out }
        out += "\n" + sourceLine + "\n"
        // Copy tabs from the shown line so the caret lines up in any tab width.
        var pad = ""
        for (i, ch) in sourceLine.unicodeScalars.enumerated() where i < location.column - 1 {
            pad.unicodeScalars.append(ch == "\t" ? "\t" : " ")
        }
        if pad.unicodeScalars.count < location.column - 1 {
            pad += String(repeating: " ", count: location.column - 1 - pad.unicodeScalars.count)
        }
        out += pad + "^" + String(repeating: "~", count: length - 1)
        return out
    }

    public var description: String { rendered }
}

/// All the errors found in an expression (parsing and type checking report every one they
/// can rather than stopping at the first).
public struct Diagnostics: Error, Sendable, Hashable, CustomStringConvertible {
    public var all: [Diagnostic]

    public init(_ all: [Diagnostic]) { self.all = all }

    public var isEmpty: Bool { all.isEmpty }
    public var count: Int { all.count }
    public var messages: [String] { all.map(\.message) }
    public var rendered: String { all.map(\.rendered).joined(separator: "\n") }
    public var description: String { rendered }
}

/// Collects problems as (range, message), deduplicating errors reported twice at one spot.
struct ProblemSink {
    private(set) var problems: [(range: SourceRange, message: String)] = []
    /// Past this many, more errors are noise (a pasted binary blob, say).
    static let limit = 50

    mutating func report(_ range: SourceRange, _ message: String) {
        guard problems.count < ProblemSink.limit else { return }
        if let last = problems.last, last.range.start == range.start, last.message == message { return }
        problems.append((range, message))
    }

    mutating func append(_ other: ProblemSink) {
        for p in other.problems { report(p.range, p.message) }
    }

    var isEmpty: Bool { problems.isEmpty }

    func diagnostics(_ source: ExpressionSource) -> [Diagnostic] {
        problems.map { source.diagnostic($0.range, $0.message) }
    }
}

/// Edit distance, for "did you mean" suggestions.
enum Suggest {
    /// Optimal-string-alignment distance (a swap of neighbours counts as one edit: amuont → amount),
    /// ignoring case.
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.lowercased().unicodeScalars), y = Array(b.lowercased().unicodeScalars)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var d = Array(repeating: Array(repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[x.count][y.count]
    }

    /// The candidate closest to `name`, if it is close enough to be a likely typo.
    static func nearest(_ name: String, among candidates: [String]) -> String? {
        var best: String? = nil
        var bestDistance = Int.max
        for c in candidates {
            let d = distance(name, c)
            if d < bestDistance { best = c; bestDistance = d }
        }
        let limit = max(1, min(3, (name.count + 2) / 3))
        return bestDistance <= limit ? best : nil
    }
}
