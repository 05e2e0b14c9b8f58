/// The value types of job rows and expressions. Flink has more; these are the ones the jobs
/// need, and the aliases a Flink engineer writes map onto them (see `SQLTypeName`).
public enum SQLType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case boolean = "BOOLEAN"
    /// 64-bit integers. INT, INTEGER, SMALLINT and TINYINT are accepted as aliases.
    case bigint = "BIGINT"
    /// IEEE doubles. FLOAT, REAL and DECIMAL(p, s) are accepted and computed as DOUBLE:
    /// amounts are compared and averaged, never summed into ledgers, so binary floating point
    /// is good enough and much cheaper than decimals (a CAST to DECIMAL(p, s) rounds to s places).
    case double = "DOUBLE"
    /// Text. VARCHAR(n), CHAR(n) are accepted; the length is not enforced.
    case string = "STRING"
    /// An instant with the UTC offset it was written with: event times keep the customer's
    /// local offset because the fraud rules look at the local hour.
    case timestamp = "TIMESTAMP"
    /// A day-time interval in milliseconds (INTERVAL DAY TO SECOND).
    case interval = "INTERVAL"

    public var description: String {
        self == .interval ? "INTERVAL DAY TO SECOND" : rawValue
    }

    var isNumeric: Bool { self == .bigint || self == .double }

    /// Parses a type as a schema or a CAST writes it (`DECIMAL(10, 2)`, `varchar(20)`,
    /// `TIMESTAMP(3) WITH LOCAL TIME ZONE` …); nil when it is not a type this module knows.
    public init?(parsing text: String) {
        guard let name = SQLTypeName.parse(text) else { return nil }
        self = name.type
    }
}

/// A type as written, with what the alias implies beyond its `SQLType`: CAST(x AS INT) wraps
/// to 32 bits and CAST(x AS DECIMAL(10, 2)) rounds to 2 places, as in Flink.
public struct SQLTypeName: Sendable, Hashable, CustomStringConvertible {
    public enum IntegerWidth: Int, Sendable, Hashable { case bits8 = 8, bits16 = 16, bits32 = 32, bits64 = 64 }

    public var type: SQLType
    /// For BIGINT and its aliases: the width a CAST wraps to.
    public var integerWidth: IntegerWidth = .bits64
    /// For DECIMAL(p, s): the scale a CAST rounds to.
    public var decimalScale: Int? = nil
    /// The name as written, normalised (`DECIMAL(10, 2)`), for messages and export.
    public var written: String

    public init(_ type: SQLType, written: String? = nil, integerWidth: IntegerWidth = .bits64, decimalScale: Int? = nil) {
        self.type = type
        self.written = written ?? type.description
        self.integerWidth = integerWidth
        self.decimalScale = decimalScale
    }

    public var description: String { written }

    /// Parses a whole type name; nil on anything else.
    public static func parse(_ text: String) -> SQLTypeName? {
        let source = ExpressionSource(text)
        var parser = Parser(source: source)
        return parser.parseStandaloneTypeName()
    }
}
