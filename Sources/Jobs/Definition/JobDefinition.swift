import Streams

/// A job file, as written: what `JobFileParser` reads from YAML and `JobValidator` checks. Every
/// part keeps where it was written, so any error points at its line and column.
public struct JobDefinition: Sendable {
    public var file: String
    public var name: String
    public var version: String
    public var description: String?
    public var sources: [SourceDefinition]
    public var operators: [OperatorDefinition]
    public var sinks: [SinkDefinition]
    public var parallelism: Int
    /// nil: no checkpoints.
    public var checkpointInterval: Duration?
    /// `delivery:`; exactly-once commits the output with each checkpoint.
    public var delivery: StreamJobConfig.Delivery = .atLeastOnce
    public var deadLetterTopic: String?
    public var lateTopic: String?
    /// Global tables that `lookup` operators read.
    public var tables: [TableDefinition] = []
}

/// A field of a source's schema: a dotted path into the record and its SQL type.
public struct FieldDefinition: Sendable {
    public var name: String
    public var type: SQLType
    public var nullable: Bool
    public var location: SourceLocation
    /// A column from the record rather than its value (Flink's `METADATA FROM 'offset'`).
    public var metadata: SourceMetadata? = nil
}

/// What a metadata column reads of the Kafka record (the names of Flink's Kafka connector).
public enum SourceMetadata: String, Sendable, CaseIterable {
    case topic, partition, offset, timestamp

    /// The column types each may have.
    var types: [SQLType] {
        switch self {
        case .topic: return [.string]
        case .partition, .offset: return [.bigint]
        case .timestamp: return [.timestamp, .bigint]
        }
    }
}

/// A CSV source's or sink's line format: the schema's (or the sink's) fields are its columns,
/// in order, as Flink's `csv` format maps them.
public struct CSVOptions: Sendable {
    public var separator: Character = ","
    /// Lines equal to the header (the column names) are skipped, not dead-lettered.
    public var skipHeader = false
    public init() {}
}

/// An Avro source: the writer's schema (a `.avsc` file, found like model files: from the
/// working directory, then the job file's folder and its parent) and the framing.
public struct AvroOptions: Sendable {
    public var schemaFile: String
    public var location: SourceLocation
    /// Confluent's wire format (magic byte and schema id before each value), any id.
    public var confluent = false
}

public enum SourceFormat: String, Sendable, CaseIterable {
    case json, csv, avro
}

public struct SourceDefinition: Sendable {
    public var name: String
    public var location: SourceLocation
    public var topic: String
    public var format: SourceFormat
    public var fields: [FieldDefinition]
    /// The field holding the event time; nil: the record's timestamp.
    public var eventTime: String?
    public var eventTimeLocation: SourceLocation
    public var outOfOrderness: Duration
    public var idleTimeout: Duration?
    /// How CSV values are split (format csv).
    public var csv = CSVOptions()
    /// The writer's schema of an Avro source (format avro).
    public var avro: AvroOptions? = nil
    /// The field the topic's records are keyed by, so partitioned by (`partitioned-by`): an
    /// operator keyed by it needs no repartition. nil: nothing is assumed.
    public var partitionedBy: String? = nil
    public var partitionedByLocation: SourceLocation? = nil

    /// The rows this source produces.
    public var schema: RowSchema { RowSchema(fields.map { RowSchema.Field($0.name, $0.type, nullable: $0.nullable) }) }
}

/// A compacted topic kept whole in memory as the latest row of each record key (Kafka
/// Streams' GlobalKTable), for `lookup` operators.
public struct TableDefinition: Sendable {
    public var name: String
    public var location: SourceLocation
    public var topic: String
    public var fields: [FieldDefinition]
    /// A versioned table: the field (TIMESTAMP or BIGINT epoch millis) from which each record
    /// is valid; a lookup then sees the version valid at the looking row's event time.
    public var versionedBy: String? = nil
    public var versionedByLocation: SourceLocation? = nil
    /// How far behind a key's newest version its history is kept (versioned tables).
    public var history: Duration = .seconds(30 * 86_400)

    public var schema: RowSchema { RowSchema(fields.map { RowSchema.Field($0.name, $0.type, nullable: $0.nullable) }) }

    /// Read like a source whose rows have no event time of their own.
    var asSource: SourceDefinition {
        SourceDefinition(name: name, location: location, topic: topic, format: .json, fields: fields, eventTime: nil,
                         eventTimeLocation: location, outOfOrderness: .zero, idleTimeout: nil)
    }
}

/// An expression as written in the file, with where it starts.
public struct ExpressionText: Sendable {
    public var source: ExpressionSource
    public var text: String { source.text }
}

/// One output column: its name and the expression computing it.
public struct NamedExpression: Sendable {
    public var name: String
    public var expression: ExpressionText
}

public enum WindowDefinition: Sendable {
    case tumbling(size: Duration)
    case hopping(size: Duration, slide: Duration)
    case cumulate(step: Duration, maxSize: Duration)
    case session(gap: Duration)

    var spec: WindowSpec {
        switch self {
        case .tumbling(let s): return .tumbling(s)
        case .hopping(let size, let slide): return .hopping(size: size, slide: slide)
        case .cumulate(let step, let max): return .cumulate(step: step, maxSize: max)
        case .session(let gap): return .session(gap: gap)
        }
    }
}

/// The frame of an OVER measure, as Flink's `ROWS n PRECEDING`, `RANGE interval PRECEDING`
/// or `UNBOUNDED PRECEDING`.
public enum FrameDefinition: Sendable, Equatable {
    case unbounded
    case rows(Int)
    case range(Duration)
}

public struct MeasureDefinition: Sendable {
    public var name: String
    public var expression: ExpressionText
    public var frame: FrameDefinition
    public var excludeCurrent: Bool
}

public struct OperatorDefinition: Sendable {
    public enum Kind: Sendable {
        /// Keeps the rows for which `where` is true (NULL counts as false).
        case filter(where: ExpressionText)
        /// Computes new columns; `keep` also keeps the input's.
        case map(select: [NamedExpression], keep: Bool)
        /// Keyed event-time windows: group by `key`, aggregate in `select`, optionally filter
        /// the results with `having`.
        case window(key: [ExpressionText], window: WindowDefinition, allowedLateness: Duration, select: [NamedExpression],
                    having: ExpressionText?)
        /// Per-row aggregates over the key's history (Flink's OVER), in event-time order or, for
        /// scoring without waiting for the watermark, in arrival order.
        case over(key: [ExpressionText], measures: [MeasureDefinition], order: OverOrder)
        /// Each row with the table's row for `key` (the record key as text), its columns named
        /// `alias.column`; without one, NULLs (left) or no row (inner).
        case lookup(table: String, tableLocation: SourceLocation, key: ExpressionText, alias: String, inner: Bool)
    }

    public var name: String
    public var location: SourceLocation
    public var input: String
    public var inputLocation: SourceLocation
    public var kind: Kind
}

public struct SinkDefinition: Sendable {
    public var name: String
    public var location: SourceLocation
    public var input: String
    public var inputLocation: SourceLocation
    public var topic: String
    public var format: SourceFormat
    public var key: ExpressionText?
    /// The record's fields; nil: every column of the input.
    public var fields: [NamedExpression]?
    /// A TIMESTAMP expression for the record's timestamp; nil: the row's event time.
    public var timestamp: ExpressionText? = nil
    public var csv = CSVOptions()
}
