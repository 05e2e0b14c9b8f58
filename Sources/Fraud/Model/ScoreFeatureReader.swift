import Streams

/// Builds a `TrainingTable` from `fraud-scores` records (JSON objects): numbers as they are,
/// booleans as 0/1, null or absent as missing, a column with strings as categorical.
public struct ScoreFeatureReader {
    /// The job's features (jobs/fraud-scoring.yaml, the `scores` sink) a model learns from.
    public static let defaultFeatures = [
        "tx_last_10m", "tx_last_hour", "tx_last_24h", "prev_count", "amount_ratio", "category_ratio", "max_ratio",
        "category_max_ratio", "category_seen", "country_seen", "distance_km", "km_from_home", "speed_kmh", "local_hour",
        "resellable", "remote", "amount", "merchant_category", "channel", "merchant_reports_24h", "merchant_reports_7d",
        "merchant_report_age_h",
    ]

    enum Kind { case unknown, number, bool, text }

    struct ColumnBuilder {
        var numbers: [Double] = []
        /// Set from the first string on (earlier rows: nil).
        var texts: [String?]? = nil
        var kind = Kind.unknown

        mutating func add(_ f: JSONFields, _ slot: Int) {
            guard f.has(slot) else { return missing() }
            // The kind seen last is tried first, so a throw (which formats a message) is rare.
            if kind != .unknown && tryAdd(f, slot, kind) { return }
            for k in [Kind.number, .bool, .text] where k != kind {
                if tryAdd(f, slot, k) { kind = k; return }
            }
            missing()
        }

        mutating func tryAdd(_ f: JSONFields, _ slot: Int, _ k: Kind) -> Bool {
            switch k {
            case .number:
                guard let v = try? f.doubleOrNil(slot) else { return false }
                append(v, nil)
            case .bool:
                guard let v = try? f.bool(slot) else { return false }
                append(v ? 1 : 0, nil)
            case .text:
                guard let v = try? f.stringOrNil(slot) else { return false }
                if texts == nil { texts = [String?](repeating: nil, count: numbers.count) }
                append(.nan, v)
            case .unknown: return false
            }
            return true
        }

        mutating func missing() { append(.nan, nil) }

        mutating func append(_ d: Double, _ s: String?) {
            numbers.append(d)
            texts?.append(s)
        }

        var column: TrainingTable.Column { texts.map { .categorical($0) } ?? .numeric(numbers) }
    }

    public let features: [String]
    var objects: JSONObjectDecoding
    var columns: [ColumnBuilder]
    public private(set) var transactionIds: [String] = []

    public init(features: [String] = ScoreFeatureReader.defaultFeatures) {
        self.features = features
        objects = JSONObjectDecoding(table: JSONFieldTable(["transaction_id"] + features))
        columns = features.map { _ in ColumnBuilder() }
    }

    public var rowCount: Int { transactionIds.count }

    /// Adds one record; a record without a transaction id (or not JSON) is an error and adds nothing.
    public mutating func add(_ bytes: UnsafeRawBufferPointer) throws {
        // Moved out while the decoder (another part of self) runs.
        var cols = columns
        columns = []
        defer { columns = cols }
        let id: String = try objects.decode(bytes) { (f) throws(FormatError) -> String in
            let id = try f.string(0)
            for i in cols.indices { cols[i].add(f, i + 1) }
            return id
        }
        transactionIds.append(id)
    }

    public var table: TrainingTable { TrainingTable(names: features, columns: columns.map(\.column)) }
}

/// Splits a buffer of JSON lines, skipping blank ones.
public enum JSONLines {
    public static func forEach(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard let base = bytes.baseAddress else { return }
        var start = 0
        let n = bytes.count
        while start < n {
            var end = start
            while end < n && bytes[end] != 0x0A { end += 1 }
            var e = end
            if e > start && bytes[e - 1] == 0x0D { e -= 1 }
            if e > start { try body(UnsafeRawBufferPointer(start: base + start, count: e - start)) }
            start = end + 1
        }
    }
}
