/// A record type read from CSV lines (RFC 4180): it names the columns it wants and builds
/// itself from their values, by slot (the index of the name in `csvFields`).
///
/// ```swift
/// struct Tx: CSVRecord {
///     static let csvFields = ["tx_id", "amount", "ts"]
///     var id: Int64, amount: Double, ts: EventTime
///     init(csv f: CSVFields) throws(FormatError) {
///         id = try f.int64(0); amount = try f.double(1); ts = try f.timestamp(2)
///     }
/// }
/// ```
public protocol CSVRecord: Sendable {
    static var csvFields: [String] { get }
    init(csv: CSVFields) throws(FormatError)
}

/// The columns of a CSV topic, in order: from a header line (parsed with the decoder's
/// separator, so `"a;b"` works with `;`) or a list of names.
public struct CSVColumns: Sendable, Hashable {
    enum Source: Sendable, Hashable {
        case header(String)
        case names([String])
    }

    let source: Source

    public init(header: String) { source = .header(header) }
    public init(_ names: [String]) { source = .names(names) }

    /// The column names, parsing the header line with `separator` when built from one.
    public func names(separator: Character = ",") throws(FormatError) -> [String] {
        switch source {
        case .names(let n): return n
        case .header(let line):
            let sep = try CSVStorage.separatorByte(separator)
            let r = Array(line.utf8).withUnsafeBytes { raw in
                Result { () throws(FormatError) in try CSVStorage.splitHeader(raw, separator: sep) }
            }
            return try r.get()
        }
    }
}

/// Decodes one CSV line per value into `T`, reusing its span buffers (one decoder per task;
/// not shared). Fields are not copied: the record's initializer reads them from the value.
public struct CSVDecoding<T: CSVRecord> {
    var lines: CSVLineDecoding
    /// Largest value accepted; bigger ones go to the dead-letter topic.
    public var maxBytes: Int {
        get { lines.maxBytes }
        set { lines.maxBytes = newValue }
    }
    /// A line equal to the header (field by field) decodes to nil instead of failing: files
    /// loaded line by line carry their header.
    public var skipHeaderRows: Bool {
        get { lines.skipHeaderRows }
        set { lines.skipHeaderRows = newValue }
    }

    /// Fails when the separator is not one ASCII character other than `"`, CR or LF, when
    /// the header is malformed or names a column twice, or when `T` wants a column the
    /// schema does not have.
    public init(columns: CSVColumns, separator: Character = ",", skipHeaderRows: Bool = false,
                maxBytes: Int = 1 << 20) throws(FormatError) {
        lines = try CSVLineDecoding(columns: columns, wanted: T.csvFields, separator: separator, skipHeaderRows: skipHeaderRows,
                                    maxBytes: maxBytes)
    }

    public var columnCount: Int { lines.columnCount }

    /// The record in `bytes`, or nil when it is the header line and `skipHeaderRows` is set.
    public mutating func decode(_ bytes: UnsafeRawBufferPointer) throws(FormatError) -> T? {
        try lines.decode(bytes) { (f) throws(FormatError) -> T in try T(csv: f) }
    }
}

/// CSV lines whose wanted columns are known only at run time (job files): `decode` hands the
/// line's fields, slot i being `wanted[i]`, to a closure, valid only during the call.
public struct CSVLineDecoding {
    let storage: CSVStorage
    public var maxBytes: Int
    public var skipHeaderRows: Bool

    public init(columns: CSVColumns, wanted: [String], separator: Character = ",", skipHeaderRows: Bool = false,
                maxBytes: Int = 1 << 20) throws(FormatError) {
        let sep = try CSVStorage.separatorByte(separator)
        let names = try columns.names(separator: separator)
        storage = try CSVStorage(columns: names, wanted: wanted, separator: sep)
        self.skipHeaderRows = skipHeaderRows
        self.maxBytes = maxBytes
    }

    public var columnCount: Int { storage.columnCount }

    /// What `read` makes of the line in `bytes`, or nil when it is the header line and
    /// `skipHeaderRows` is set.
    public mutating func decode<R>(_ bytes: UnsafeRawBufferPointer, _ read: (CSVFields) throws(FormatError) -> R) throws(FormatError) -> R? {
        guard bytes.count <= maxBytes, bytes.count < Int(Int32.max) else {
            throw FormatError(offset: 0, "value of \(bytes.count) bytes exceeds the \(maxBytes)-byte limit")
        }
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? CSVStorage.emptyByte
        try storage.scan(base, bytes.count)
        if skipHeaderRows && storage.isHeader(base) { return nil }
        return try read(CSVFields(base: base, storage: storage))
    }
}
