/// A LIKE pattern, compiled once: `%` is any run of characters, `_` one character, and the
/// ESCAPE character makes the next one literal. Common shapes (`abc%`, `%abc`, `%abc%`, no
/// wildcard) become prefix/suffix/contains/equality tests; others run a backtracking
/// matcher over Unicode scalars that retries only from the last `%` (linear for most inputs).
struct LikePattern: Sendable {
    enum Piece: Sendable, Equatable {
        case literal(Unicode.Scalar)
        case one
        case any
    }

    enum Shape: Sendable {
        case exact(String)
        case prefix(String)
        case suffix(String)
        case contains(String)
        case all
        case general([Piece])
    }

    let shape: Shape

    /// nil when the escape character is followed by something other than `%`, `_` or itself
    /// (or ends the pattern), as Flink rejects it.
    init?(_ pattern: String, escape: Unicode.Scalar?) {
        var pieces: [Piece] = []
        var it = pattern.unicodeScalars.makeIterator()
        while let c = it.next() {
            if let e = escape, c == e {
                guard let n = it.next(), n == "%" || n == "_" || n == e else { return nil }
                pieces.append(.literal(n))
            } else if c == "%" {
                if pieces.last != .any { pieces.append(.any) }
            } else if c == "_" {
                pieces.append(.one)
            } else {
                pieces.append(.literal(c))
            }
        }
        func text(_ ps: ArraySlice<Piece>) -> String? {
            var s = String.UnicodeScalarView()
            for p in ps {
                guard case .literal(let c) = p else { return nil }
                s.append(c)
            }
            return String(s)
        }
        let inner = pieces.count >= 2 ? pieces[1..<(pieces.count - 1)] : []
        if let t = text(pieces[...]) {
            shape = .exact(t)
        } else if pieces == [.any] {
            shape = .all
        } else if pieces.last == .any, let t = text(pieces.dropLast()) {
            shape = .prefix(t)
        } else if pieces.first == .any, let t = text(pieces.dropFirst()) {
            shape = .suffix(t)
        } else if pieces.count >= 2, pieces.first == .any, pieces.last == .any, let t = text(inner) {
            shape = .contains(t)
        } else {
            shape = .general(pieces)
        }
    }

    func matches(_ s: String) -> Bool {
        switch shape {
        case .exact(let t): return s.unicodeScalars.elementsEqual(t.unicodeScalars)
        case .prefix(let t): return s.unicodeScalars.starts(with: t.unicodeScalars)
        case .suffix(let t): return s.unicodeScalars.reversed().starts(with: t.unicodeScalars.reversed())
        case .contains(let t): return t.isEmpty || Strings.position(t, s) > 0
        case .all: return true
        case .general(let ps): return LikePattern.match(ps, Array(s.unicodeScalars))
        }
    }

    /// Wildcard matching with one backtrack point: the most recent `%`.
    static func match(_ p: [Piece], _ s: [Unicode.Scalar]) -> Bool {
        var i = 0, j = 0
        var star = -1, mark = 0
        while i < s.count {
            if j < p.count {
                switch p[j] {
                case .one:
                    i += 1; j += 1; continue
                case .literal(let c) where c == s[i]:
                    i += 1; j += 1; continue
                case .any:
                    star = j; mark = i; j += 1; continue
                default:
                    break
                }
            }
            guard star >= 0 else { return false }
            j = star + 1
            mark += 1
            i = mark
        }
        while j < p.count, p[j] == .any { j += 1 }
        return j == p.count
    }
}
