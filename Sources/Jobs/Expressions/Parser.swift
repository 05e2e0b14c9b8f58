/// Recursive descent over Flink SQL's expression grammar, with Calcite's precedences, lowest
/// first:
///
///     OR
///     AND
///     NOT                                   (prefix)
///     IS [NOT] NULL | TRUE | FALSE | UNKNOWN | DISTINCT FROM    (postfix)
///     =  <>  !=  <  <=  >  >=               (left-associative)
///     [NOT] BETWEEN [SYMMETRIC] … AND … | [NOT] IN (…) | [NOT] LIKE … [ESCAPE …]
///     +  -
///     *  /  %  ||
///     -  +                                  (unary)
///     literals, names, calls, CASE, CAST, EXTRACT, (…)
///
/// Errors are reported and parsing goes on (a bad operand becomes an `.error` node; a stray
/// token is skipped), so one run reports every syntax error it can.
struct Parser {
    let source: ExpressionSource
    private var tokens: [Token]
    private var p = 0
    private(set) var problems: ProblemSink
    /// Recursion depth, and whether the tree got too tall or too nested (then parsing stops).
    private var depth = 0
    private var aborted = false
    /// Levels of the tree (a chain `a + b + …` adds one per operand).
    static let maxHeight = 256
    /// Levels of parentheses, calls, CASE and prefix operators (each costs ten parser frames).
    static let maxNesting = 100

    init(source: ExpressionSource) {
        self.source = source
        let (toks, lexProblems) = Lexer.tokenize(source.text)
        tokens = toks
        problems = lexProblems
    }

    // MARK: - Entry points

    /// The whole text as one expression; nil when it was too deeply nested to build.
    mutating func parseWhole() -> Expr? {
        let e = expression()
        while !aborted, !current.isEnd {
            let t = current
            if t.isSymbol(.rightParen) {
                report(t.range, "unbalanced `)`: no `(` is open here")
            } else {
                report(t.range, "unexpected \(t.shown) after a complete expression (a missing operator or comma?)")
            }
            advance()
            // Parse what follows too, to report the errors in it.
            if canStartExpression(current) { _ = expression() }
        }
        return aborted ? nil : e
    }

    /// A type name alone (`DECIMAL(10, 2)`); nil unless the whole text is one.
    mutating func parseStandaloneTypeName() -> SQLTypeName? {
        let t = typeName()
        guard current.isEnd, problems.isEmpty else { return nil }
        return t
    }

    // MARK: - Tokens

    private var current: Token { tokens[min(p, tokens.count - 1)] }

    private func peek(_ k: Int) -> Token { tokens[min(p + k, tokens.count - 1)] }

    @discardableResult
    private mutating func advance() -> Token {
        let t = current
        if p < tokens.count - 1 { p += 1 }
        return t
    }

    private func at(_ keyword: String) -> Bool { current.isKeyword(keyword) }

    private func at(_ s: Token.Symbol) -> Bool { current.isSymbol(s) }

    private mutating func report(_ r: SourceRange, _ message: String) {
        problems.report(r, message)
    }

    /// Consumes `s` or reports what was expected (without consuming, so callers resynchronise).
    @discardableResult
    private mutating func expect(_ s: Token.Symbol, _ context: String) -> Bool {
        if at(s) { advance(); return true }
        report(current.range, "expected `\(s.rawValue)` \(context), found \(current.shown)")
        return false
    }

    @discardableResult
    private mutating func expectKeyword(_ k: String, _ context: String) -> Bool {
        if at(k) { advance(); return true }
        report(current.range, "expected \(k) \(context), found \(current.shown)")
        return false
    }

    /// Words that end or join expressions and so never start one.
    private static let reserved: Set<String> = [
        "AND", "OR", "THEN", "ELSE", "END", "WHEN", "FROM", "AS", "IS", "IN", "BETWEEN", "LIKE",
        "ESCAPE", "FOR", "DISTINCT", "SYMMETRIC", "ASYMMETRIC", "SELECT", "WHERE",
    ]

    private func canStartExpression(_ t: Token) -> Bool {
        switch t.kind {
        case .word: return !Parser.reserved.contains(t.upper)
        case .quotedWord, .integer, .decimal, .float, .string: return true
        case .symbol(let s): return s == .leftParen || s == .minus || s == .plus
        case .end: return false
        }
    }

    /// Builds a node, stopping the parse when the tree gets taller than `maxHeight`.
    private mutating func node(_ kind: ExprKind, _ range: SourceRange) -> Expr {
        let e = Expr(kind, range)
        if e.height > Parser.maxHeight, !aborted {
            report(range, "expression is too long a chain (its tree is more than \(Parser.maxHeight) levels deep)")
            aborted = true
        }
        return e
    }

    private func errorNode(_ r: SourceRange) -> Expr { Expr(.error, r) }

    /// Guards recursion: a run of thousands of `(` or `-` must not exhaust the stack.
    private mutating func enter(_ r: SourceRange) -> Bool {
        if aborted { return false }
        if depth >= Parser.maxNesting {
            report(r, "expression is nested too deeply (more than \(Parser.maxNesting) levels of parentheses, calls, CASE or prefix operators)")
            aborted = true
            return false
        }
        depth += 1
        return true
    }

    private mutating func leave() { depth -= 1 }

    // MARK: - Operators

    /// Precedence levels of the grammar, lowest first.
    enum Level: Int, Comparable {
        case or = 1, and, not, isTest, comparison, predicate, additive, multiplicative, unary

        static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        var next: Level { Level(rawValue: rawValue + 1) ?? .unary }
    }

    mutating func expression() -> Expr {
        guard enter(current.range) else { return errorNode(current.range) }
        defer { leave() }
        return climb(.or)
    }

    /// The level of the binary or postfix operator at the current token, if any.
    private func operatorLevel() -> Level? {
        switch current.kind {
        case .word:
            switch current.upper {
            case "OR": return .or
            case "AND": return .and
            case "IS": return .isTest
            case "BETWEEN", "IN", "LIKE": return .predicate
            case "NOT": return ["BETWEEN", "IN", "LIKE"].contains(peek(1).upper) ? .predicate : nil
            default: return nil
            }
        case .symbol(let s):
            switch s {
            case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual: return .comparison
            case .plus, .minus: return .additive
            case .star, .slash, .percent, .concat: return .multiplicative
            default: return nil
            }
        default:
            return nil
        }
    }

    /// Precedence climbing: an operand, then every operator of at least `min`'s level, each
    /// right operand parsed one level up (so all binary operators associate to the left).
    /// One small recursive function rather than one per level keeps the stack shallow.
    private mutating func climb(_ min: Level) -> Expr {
        var l = prefix(min)
        while !aborted, let level = operatorLevel(), level >= min {
            switch level {
            case .isTest: l = isSuffix(l)
            case .predicate: l = predicateSuffix(l)
            default:
                let op = binaryOperator(advance())
                let r = climb(level.next)
                l = node(.binary(op, l, r), l.range.union(r.range))
            }
        }
        return l
    }

    private func binaryOperator(_ t: Token) -> BinaryOperator {
        switch t.kind {
        case .symbol(.equal): return .equal
        case .symbol(.notEqual): return .notEqual
        case .symbol(.less): return .less
        case .symbol(.lessEqual): return .lessEqual
        case .symbol(.greater): return .greater
        case .symbol(.greaterEqual): return .greaterEqual
        case .symbol(.plus): return .add
        case .symbol(.minus): return .subtract
        case .symbol(.star): return .multiply
        case .symbol(.slash): return .divide
        case .symbol(.percent): return .modulo
        case .symbol(.concat): return .concat
        default: return t.upper == "AND" ? .and : .or
        }
    }

    /// NOT (at its level: `NOT a = b` is NOT (a = b)), unary minus and plus, or a primary.
    private mutating func prefix(_ min: Level) -> Expr {
        let t = current
        if t.isKeyword("NOT"), min <= .not {
            advance()
            guard enter(t.range) else { return errorNode(t.range) }
            defer { leave() }
            let e = climb(.not)
            return node(.unary(.not, e), t.range.union(e.range))
        }
        guard at(.minus) || at(.plus) else { return primary() }
        advance()
        let minus = t.isSymbol(.minus)
        // -9223372036854775808 is only writable as a negated literal.
        if minus, case .integer(let m) = current.kind {
            let n = advance()
            return node(.integer(Int64(truncatingIfNeeded: 0 &- m)), t.range.union(n.range))
        }
        guard enter(t.range) else { return errorNode(t.range) }
        defer { leave() }
        let e = prefix(.unary)
        return node(.unary(minus ? .negate : .plus, e), t.range.union(e.range))
    }

    /// `IS [NOT] NULL | TRUE | FALSE | UNKNOWN | DISTINCT FROM x` after `e`.
    private mutating func isSuffix(_ e: Expr) -> Expr {
        let isTok = advance()
        let negated = at("NOT")
        if negated { advance() }
        let t = current
        let test: TruthTest?
        switch t.upper {
        case "NULL": test = .null
        case "TRUE": test = .true
        case "FALSE": test = .false
        case "UNKNOWN": test = .unknown
        default: test = nil
        }
        if case .word = t.kind, let test {
            advance()
            return node(.isTest(e, test, negated: negated), e.range.union(t.range))
        }
        if t.isKeyword("DISTINCT") {
            advance()
            expectKeyword("FROM", "after IS \(negated ? "NOT " : "")DISTINCT")
            let r = climb(.comparison)
            return node(.binary(negated ? .isNotDistinctFrom : .isDistinctFrom, e, r), e.range.union(r.range))
        }
        report(t.range, "expected NULL, TRUE, FALSE, UNKNOWN or DISTINCT FROM after IS\(negated ? " NOT" : ""), found \(t.shown)")
        return node(.error, e.range.union(isTok.range))
    }

    /// `[NOT] BETWEEN … AND …`, `[NOT] IN (…)`, `[NOT] LIKE … [ESCAPE …]` after `e`.
    private mutating func predicateSuffix(_ e: Expr) -> Expr {
        var negated = false
        if at("NOT") {
            advance()
            negated = true
        }
        if at("BETWEEN") {
            advance()
            var symmetric = false
            if at("SYMMETRIC") { advance(); symmetric = true } else if at("ASYMMETRIC") { advance() }
            let lo = climb(.additive)
            expectKeyword("AND", "between the bounds of BETWEEN")
            let hi = climb(.additive)
            return node(.between(e, low: lo, high: hi, negated: negated, symmetric: symmetric), e.range.union(hi.range))
        }
        if at("IN") {
            advance()
            let open = current
            var items: [Expr] = []
            var end = open.range
            if expect(.leftParen, "after IN (a list of values)") {
                if at(.rightParen) {
                    report(current.range, "IN needs at least one value")
                } else {
                    items.append(expression())
                    while at(.comma), !aborted {
                        advance()
                        items.append(expression())
                    }
                }
                end = current.range
                expect(.rightParen, "to close the IN list")
            }
            return node(.inList(e, items, negated: negated), e.range.union(items.last?.range ?? end).union(end))
        }
        // LIKE (operatorLevel only reports .predicate for these three).
        advance()
        let pattern = climb(.additive)
        var escape: Expr? = nil
        if at("ESCAPE") {
            advance()
            escape = climb(.additive)
        }
        return node(.like(e, pattern: pattern, escape: escape, negated: negated), e.range.union((escape ?? pattern).range))
    }

    /// Parsing of an operand above IN's level (POSITION's needle).
    private mutating func additive() -> Expr { climb(.additive) }

    // MARK: - Primaries

    private mutating func primary() -> Expr {
        let t = current
        switch t.kind {
        case .integer(let m):
            advance()
            if m > UInt64(Int64.max) {
                report(t.range, "integer literal `\(t.text)` is out of range for BIGINT")
                return errorNode(t.range)
            }
            return node(.integer(Int64(m)), t.range)
        case .decimal(let d):
            advance()
            return node(.decimal(d, text: t.text), t.range)
        case .float(let d):
            advance()
            return node(.double(d, text: t.text), t.range)
        case .string:
            advance()
            return node(.string(t.text), t.range)
        case .quotedWord:
            return identifier()
        case .symbol(.leftParen):
            return parenthesized()
        case .symbol(.star):
            advance()
            report(t.range, "`*` is only allowed in COUNT(*)")
            return errorNode(t.range)
        case .symbol, .end:
            report(t.range, "expected an expression, found \(t.shown)")
            // Leave closing and separating tokens for the enclosing rule.
            if case .symbol(let s) = t.kind, s != .rightParen, s != .comma { advance() }
            return errorNode(t.range)
        case .word:
            return word()
        }
    }

    private mutating func parenthesized() -> Expr {
        let open = advance()
        let e = expression()
        if !at(.rightParen) {
            report(current.range, "expected `)` to close the `(` at column \(source.location(of: open.range.start).column), found \(current.shown)")
            return node(e.kind, open.range.union(e.range))
        }
        let close = advance()
        return node(e.kind, open.range.union(close.range))
    }

    private mutating func word() -> Expr {
        let t = current
        let next = peek(1)
        switch t.upper {
        case "NULL":
            advance()
            return node(.null, t.range)
        case "TRUE", "FALSE":
            advance()
            return node(.bool(t.upper == "TRUE"), t.range)
        case "UNKNOWN":
            advance()
            return node(.null, t.range)
        case "CASE":
            return caseExpr()
        case "NOT":
            // NOT below a comparison (`a = NOT b`): accepted, the type checker judges it.
            advance()
            guard enter(t.range) else { return errorNode(t.range) }
            defer { leave() }
            let e = prefix(.unary)
            return node(.unary(.not, e), t.range.union(e.range))
        case "CAST" where next.isSymbol(.leftParen), "TRY_CAST" where next.isSymbol(.leftParen):
            return cast()
        case "INTERVAL" where next.kind == .string || (next.isSymbol(.minus) && peek(2).kind == .string):
            return intervalLiteral()
        case "TIMESTAMP" where next.kind == .string:
            advance()
            let s = advance()
            guard let ts = TimeText.parseTimestamp(s.text) else {
                report(s.range, "invalid TIMESTAMP literal \(s.shown): expected 'yyyy-MM-dd HH:mm:ss[.SSS]' with an optional offset such as +05:30")
                return errorNode(t.range.union(s.range))
            }
            return node(.timestamp(ts, text: "TIMESTAMP " + Expr.quote(s.text)), t.range.union(s.range))
        case "DATE" where next.kind == .string, "TIME" where next.kind == .string:
            advance()
            let s = advance()
            report(t.range.union(s.range), "\(t.upper) literals are not supported: use TIMESTAMP '…'")
            return errorNode(t.range.union(s.range))
        case "EXTRACT" where next.isSymbol(.leftParen):
            return extract()
        case "TRIM" where next.isSymbol(.leftParen):
            return trim()
        case "SUBSTRING" where next.isSymbol(.leftParen), "SUBSTR" where next.isSymbol(.leftParen):
            return substring()
        case "POSITION" where next.isSymbol(.leftParen):
            return position()
        default:
            if Parser.reserved.contains(t.upper) {
                report(t.range, "expected an expression, found \(t.upper)")
                // Keywords that close or continue an enclosing construct stay for it.
                if !["AND", "OR", "THEN", "ELSE", "END", "WHEN", "FROM", "AS", "FOR", "IS", "IN", "BETWEEN", "LIKE", "ESCAPE"].contains(t.upper) { advance() }
                return errorNode(t.range)
            }
            return identifier()
        }
    }

    /// A name (`amount`, `location.lat`, `` `timestamp` ``) or, followed by `(`, a call.
    private mutating func identifier() -> Expr {
        let first = advance()
        var parts = [Identifier.Part(name: first.text, quoted: first.kind == .quotedWord)]
        var range = first.range
        while at(.dot), !aborted {
            advance()
            let t = current
            switch t.kind {
            case .word, .quotedWord:
                advance()
                parts.append(Identifier.Part(name: t.text, quoted: t.kind == .quotedWord))
                range = range.union(t.range)
            default:
                report(t.range, "expected a field name after `.`, found \(t.shown)")
                return errorNode(range)
            }
        }
        if at(.leftParen), parts.count == 1, first.kind == .word {
            return call(first)
        }
        return node(.column(Identifier(parts: parts)), range)
    }

    private mutating func call(_ name: Token) -> Expr {
        advance() // (
        let upper = name.upper
        if at(.star) {
            let star = advance()
            let close = current
            expect(.rightParen, "after `*`")
            if upper != "COUNT" { report(star.range, "`*` is only allowed in COUNT(*)") }
            return node(upper == "COUNT" ? .countStar : .error, name.range.union(close.range))
        }
        var distinct = false
        if at("DISTINCT") { advance(); distinct = true } else if at("ALL") { advance() }
        var args: [Expr] = []
        let unitFirst = upper == "TIMESTAMPDIFF" || upper == "TIMESTAMPADD"
        if !at(.rightParen) {
            args.append(unitFirst ? timeUnitArgument() : expression())
            while at(.comma), !aborted {
                advance()
                args.append(expression())
            }
        }
        let close = current
        if !at(.rightParen) {
            report(close.range, "expected `,` or `)` in the arguments of \(upper), found \(close.shown)")
            return node(.call(name: upper, nameRange: name.range, args: args, distinct: distinct), name.range.union(args.last?.range ?? name.range))
        }
        advance()
        return node(.call(name: upper, nameRange: name.range, args: args, distinct: distinct), name.range.union(close.range))
    }

    private mutating func timeUnit(_ allowed: [TimeUnit], _ context: String) -> TimeUnit? {
        let t = current
        var name = t.upper
        if name.hasSuffix("S"), TimeUnit(rawValue: String(name.dropLast())) != nil { name.removeLast() }
        guard case .word = t.kind, let u = TimeUnit(rawValue: name), allowed.contains(u) else {
            report(t.range, "expected \(context) (\(allowed.map(\.rawValue).joined(separator: ", "))), found \(t.shown)")
            return nil
        }
        advance()
        return u
    }

    private mutating func timeUnitArgument() -> Expr {
        let t = current
        guard let u = timeUnit([.millisecond, .second, .minute, .hour, .day, .week, .month, .quarter, .year], "a time unit") else {
            if canStartExpression(t) { _ = expression() }
            return errorNode(t.range)
        }
        return node(.timeUnit(u), t.range)
    }

    private mutating func caseExpr() -> Expr {
        let caseTok = advance()
        var subject: Expr? = nil
        if !at("WHEN") { subject = expression() }
        var branches: [CaseBranch] = []
        while at("WHEN"), !aborted {
            advance()
            let w = expression()
            expectKeyword("THEN", "after the WHEN condition")
            let th = expression()
            branches.append(CaseBranch(when: w, then: th))
        }
        if branches.isEmpty { report(current.range, "expected WHEN in CASE, found \(current.shown)") }
        var otherwise: Expr? = nil
        if at("ELSE") {
            advance()
            otherwise = expression()
        }
        let endTok = current
        if at("END") {
            advance()
        } else {
            report(endTok.range, "expected END to close the CASE at column \(source.location(of: caseTok.range.start).column), found \(endTok.shown)")
        }
        return node(.caseWhen(subject: subject, branches: branches, otherwise: otherwise), caseTok.range.union(endTok.range))
    }

    private mutating func cast() -> Expr {
        let kw = advance()
        advance() // (
        let e = expression()
        var type: SQLTypeName? = nil
        if expectKeyword("AS", "in \(kw.upper)(value AS type)") {
            type = typeName()
        }
        let close = current
        expect(.rightParen, "to close \(kw.upper)")
        guard let type else { return errorNode(kw.range.union(close.range)) }
        return node(.cast(e, type, isTry: kw.upper == "TRY_CAST"), kw.range.union(close.range))
    }

    private mutating func extract() -> Expr {
        let kw = advance()
        advance() // (
        let unit = timeUnit(TimeUnit.allCases, "a field to extract")
        expectKeyword("FROM", "in EXTRACT(field FROM timestamp)")
        let e = expression()
        let close = current
        expect(.rightParen, "to close EXTRACT")
        guard let unit else { return errorNode(kw.range.union(close.range)) }
        return node(.extract(unit, e), kw.range.union(close.range))
    }

    /// TRIM(s), TRIM([BOTH|LEADING|TRAILING] [chars] FROM s).
    private mutating func trim() -> Expr {
        let kw = advance()
        advance() // (
        var mode = TrimMode.both
        var chars: Expr? = nil
        let value: Expr
        if let m = TrimMode(rawValue: current.upper), current.kind == .word {
            advance()
            mode = m
            if !at("FROM") { chars = expression() }
            expectKeyword("FROM", "in TRIM(\(m.rawValue) … FROM string)")
            value = expression()
        } else {
            let first = expression()
            if at("FROM") {
                advance()
                chars = first
                value = expression()
            } else {
                value = first
            }
        }
        let close = current
        expect(.rightParen, "to close TRIM")
        return node(.trim(mode, characters: chars, value), kw.range.union(close.range))
    }

    /// SUBSTRING(s FROM i [FOR n]) or SUBSTRING(s, i [, n]): both become a call.
    private mutating func substring() -> Expr {
        let kw = advance()
        advance() // (
        var args = [expression()]
        if at("FROM") {
            advance()
            args.append(expression())
            if at("FOR") {
                advance()
                args.append(expression())
            }
        } else {
            while at(.comma), !aborted {
                advance()
                args.append(expression())
            }
        }
        let close = current
        expect(.rightParen, "to close SUBSTRING")
        return node(.call(name: "SUBSTRING", nameRange: kw.range, args: args, distinct: false), kw.range.union(close.range))
    }

    /// POSITION(needle IN haystack): the needle is parsed above IN's level so IN is not a list.
    private mutating func position() -> Expr {
        let kw = advance()
        advance() // (
        var args = [additive()]
        if at("IN") {
            advance()
            args.append(expression())
        } else {
            while at(.comma), !aborted {
                advance()
                args.append(expression())
            }
        }
        let close = current
        expect(.rightParen, "to close POSITION")
        return node(.call(name: "POSITION", nameRange: kw.range, args: args, distinct: false), kw.range.union(close.range))
    }

    // MARK: - Literals with qualifiers

    /// INTERVAL '…' unit [TO unit], day-time units only.
    private mutating func intervalLiteral() -> Expr {
        let kw = advance()
        var negate = false
        if at(.minus) { advance(); negate = true }
        let s = current
        guard s.kind == .string else {
            report(s.range, "expected the interval's value in quotes ('10'), found \(s.shown)")
            return errorNode(kw.range)
        }
        advance()
        let units: [TimeUnit] = [.day, .hour, .minute, .second]
        let yearMonth = ["YEAR", "YEARS", "MONTH", "MONTHS"]
        if yearMonth.contains(current.upper) {
            let u = advance()
            report(u.range, "year-month intervals are not supported (months have no fixed length); use DAY, HOUR, MINUTE or SECOND")
            return errorNode(kw.range.union(u.range))
        }
        guard let from = timeUnit(units, "an interval unit") else { return errorNode(kw.range.union(s.range)) }
        skipPrecision()
        var to: TimeUnit? = nil
        var end = peek(-1).range
        if at("TO") {
            advance()
            to = timeUnit(units, "an interval end unit")
            skipPrecision()
            end = peek(-1).range
        }
        let range = kw.range.union(end)
        guard let ms = Parser.intervalMillis(s.text, from: from, to: to) else {
            let q = to.map { "\(from.rawValue) TO \($0.rawValue)" } ?? from.rawValue
            report(s.range, "invalid INTERVAL \(s.shown) for \(q): expected \(Parser.intervalShape(from, to))")
            return errorNode(range)
        }
        let written = "INTERVAL " + (negate ? "-" : "") + Expr.quote(s.text) + " " + from.rawValue + (to.map { " TO " + $0.rawValue } ?? "")
        return node(.interval(millis: negate ? 0 &- ms : ms, text: written), range)
    }

    /// `HOUR(3)`: a leading-field precision; accepted and ignored.
    private mutating func skipPrecision() {
        guard at(.leftParen), case .integer = peek(1).kind, peek(2).isSymbol(.rightParen) else { return }
        advance(); advance(); advance()
    }

    private static func intervalShape(_ from: TimeUnit, _ to: TimeUnit?) -> String {
        let fields = intervalFields(from, to)
        var s = "'"
        for (k, f) in fields.enumerated() {
            if k > 0 { s += f == .hour && fields[k - 1] == .day ? " " : ":" }
            s += f == .day ? "d" : f == .hour ? "hh" : f == .minute ? "mm" : "ss"
        }
        return s + "'"
    }

    private static func intervalFields(_ from: TimeUnit, _ to: TimeUnit?) -> [TimeUnit] {
        let all: [TimeUnit] = [.day, .hour, .minute, .second]
        guard let a = all.firstIndex(of: from) else { return [] }
        let b = to.flatMap { all.firstIndex(of: $0) } ?? a
        return b >= a ? Array(all[a...b]) : []
    }

    /// Milliseconds of an interval's text: '10' MINUTE, '1.5' SECOND, '1 02:00:00' DAY TO SECOND.
    static func intervalMillis(_ text: String, from: TimeUnit, to: TimeUnit?) -> Int64? {
        let fields = intervalFields(from, to)
        guard !fields.isEmpty else { return nil }
        var b = Array(NumberText.trimmed(text).utf8)
        var negative = false
        if let f = b.first, f == 0x2D || f == 0x2B {
            negative = f == 0x2D
            b.removeFirst()
        }
        var i = 0
        var total: Int64 = 0
        for (k, f) in fields.enumerated() {
            if k > 0 {
                let sep: UInt8 = (f == .hour && fields[k - 1] == .day) ? 0x20 : 0x3A
                guard i < b.count, b[i] == sep else { return nil }
                i += 1
            }
            var v: Int64 = 0
            var nd = 0
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39, nd < 12 {
                v = v * 10 + Int64(b[i] - 0x30)
                i += 1
                nd += 1
            }
            guard nd > 0 else { return nil }
            if k > 0 {
                let limit: Int64 = f == .hour ? 24 : 60
                guard v < limit else { return nil }
            }
            guard let unit = f.millis else { return nil }
            total += v * unit
            if f == .second, i < b.count, b[i] == 0x2E {
                i += 1
                var scale: Int64 = 100
                var any = false
                while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
                    total += Int64(b[i] - 0x30) * scale
                    scale /= 10
                    i += 1
                    any = true
                }
                guard any else { return nil }
            }
        }
        guard i == b.count else { return nil }
        return negative ? -total : total
    }

    // MARK: - Type names

    private static let typeList = "BOOLEAN, BIGINT, INT, DOUBLE, DECIMAL(p, s), STRING, VARCHAR(n), TIMESTAMP(3) or INTERVAL DAY TO SECOND"

    /// `( n [, m] )` after a type name.
    private mutating func typeArguments() -> [Int64] {
        guard at(.leftParen) else { return [] }
        advance()
        var out: [Int64] = []
        while true {
            guard case .integer(let v) = current.kind else {
                report(current.range, "expected a number in the type's parentheses, found \(current.shown)")
                while !at(.rightParen), !current.isEnd { advance() }
                if at(.rightParen) { advance() }
                return out
            }
            advance()
            out.append(Int64(truncatingIfNeeded: v))
            if at(.comma) { advance(); continue }
            break
        }
        expect(.rightParen, "after the type's arguments")
        return out
    }

    mutating func typeName() -> SQLTypeName? {
        let t = current
        guard case .word = t.kind else {
            report(t.range, "expected a type (\(Parser.typeList)), found \(t.shown)")
            return nil
        }
        advance()
        func argText(_ a: [Int64]) -> String { a.isEmpty ? "" : "(" + a.map(String.init).joined(separator: ", ") + ")" }
        switch t.upper {
        case "BOOLEAN":
            return SQLTypeName(.boolean, written: "BOOLEAN")
        case "BIGINT":
            return SQLTypeName(.bigint, written: "BIGINT")
        case "INT", "INTEGER":
            return SQLTypeName(.bigint, written: t.upper, integerWidth: .bits32)
        case "SMALLINT":
            return SQLTypeName(.bigint, written: "SMALLINT", integerWidth: .bits16)
        case "TINYINT":
            return SQLTypeName(.bigint, written: "TINYINT", integerWidth: .bits8)
        case "DOUBLE":
            if at("PRECISION") { advance() }
            return SQLTypeName(.double, written: "DOUBLE")
        case "FLOAT", "REAL":
            return SQLTypeName(.double, written: t.upper)
        case "DECIMAL", "DEC", "NUMERIC":
            let a = typeArguments()
            // Flink's DECIMAL defaults to DECIMAL(10, 0).
            let scale = a.count >= 2 ? a[1] : 0
            if a.count > 2 { report(t.range, "DECIMAL takes at most (precision, scale)") }
            if let p = a.first, p < 1 || p > 38 { report(t.range, "DECIMAL precision must be between 1 and 38") }
            if scale < 0 || scale > (a.first ?? 38) { report(t.range, "DECIMAL scale must be between 0 and the precision") }
            return SQLTypeName(.double, written: t.upper + argText(a), decimalScale: Int(max(0, min(scale, 38))))
        case "STRING":
            return SQLTypeName(.string, written: "STRING")
        case "VARCHAR", "CHAR", "CHARACTER":
            var name = t.upper
            if name == "CHARACTER", at("VARYING") { advance(); name = "VARCHAR" }
            let a = typeArguments()
            return SQLTypeName(.string, written: name + argText(a))
        case "TIMESTAMP", "TIMESTAMP_LTZ":
            let a = typeArguments()
            var written = t.upper + argText(a)
            if t.upper == "TIMESTAMP", at("WITH") || at("WITHOUT") {
                let w = advance().upper
                var local = false
                if at("LOCAL") { advance(); local = true }
                expectKeyword("TIME", "in TIMESTAMP \(w) \(local ? "LOCAL " : "")TIME ZONE")
                expectKeyword("ZONE", "in TIMESTAMP \(w) \(local ? "LOCAL " : "")TIME ZONE")
                written += " \(w) \(local ? "LOCAL " : "")TIME ZONE"
            }
            if let p = a.first, p < 0 || p > 9 { report(t.range, "TIMESTAMP precision must be between 0 and 9") }
            return SQLTypeName(.timestamp, written: written)
        case "INTERVAL":
            let units: [TimeUnit] = [.day, .hour, .minute, .second]
            if ["YEAR", "MONTH"].contains(current.upper) {
                report(current.range, "year-month intervals are not supported; use INTERVAL DAY TO SECOND")
                advance()
                return nil
            }
            guard let from = timeUnit(units, "an interval unit") else { return nil }
            skipPrecision()
            var written = "INTERVAL \(from.rawValue)"
            if at("TO") {
                advance()
                if let to = timeUnit(units, "an interval end unit") { written += " TO \(to.rawValue)" }
                skipPrecision()
            }
            return SQLTypeName(.interval, written: written)
        case "DATE", "TIME":
            report(t.range, "\(t.upper) is not supported: use TIMESTAMP")
            _ = typeArguments()
            return nil
        default:
            report(t.range, "unknown type `\(t.text)`; expected \(Parser.typeList)")
            _ = typeArguments()
            return nil
        }
    }
}

/// The parser's front door.
public enum ExpressionParser {
    /// Parses an expression, returning the tree (nil when it could not be built at all) and
    /// every syntax error found. A tree with errors holds `.error` nodes where they were.
    public static func parse(_ source: ExpressionSource) -> (expr: Expr?, diagnostics: [Diagnostic]) {
        var p = Parser(source: source)
        let e = p.parseWhole()
        return (e, p.problems.diagnostics(source))
    }
}
