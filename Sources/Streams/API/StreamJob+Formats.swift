import KafkaClient

/// CSV and Avro sources, built on the generic `source(topic:name:outOfOrderness:idleTimeout:decode:)`.
/// A schema that cannot serve the record type (a wanted column or field it lacks) is a job
/// definition problem: `StreamJobRunner` refuses the job with the reason.
extension StreamJob {
    /// Reads a topic of CSV lines (one per value) as `T`. With `skipHeaderRows`, lines equal to
    /// the header are skipped (not dead-lettered).
    @discardableResult
    public func source<T: CSVRecord>(topic: String, as type: T.Type, columns: CSVColumns, separator: Character = ",",
                                     skipHeaderRows: Bool = false, name: String? = nil,
                                     eventTime: @escaping @Sendable (T) -> Millis,
                                     outOfOrderness: Duration = .seconds(0), idleTimeout: Duration? = nil,
                                     maxValueBytes: Int = 1 << 20) -> DataStream<T> {
        let make: @Sendable () throws(FormatError) -> CSVDecoding<T> = {
            try CSVDecoding<T>(columns: columns, separator: separator, skipHeaderRows: skipHeaderRows, maxBytes: maxValueBytes)
        }
        let sourceName = name ?? "source-\(topic)"
        if case .failure(let e) = Result(catching: make) { problems.append("source \(sourceName): \(e.reason)") }
        return sourceSkipping(topic: topic, name: sourceName, outOfOrderness: outOfOrderness, idleTimeout: idleTimeout) {
            StreamJob.decoder(make) { (d: inout CSVDecoding<T>, raw) throws(FormatError) -> (T, Millis)? in
                // nil only for a header line, with skipHeaderRows.
                guard let v = try d.decode(raw) else { return nil }
                return (v, eventTime(v))
            }
        }
    }

    /// Reads a topic of Avro records (raw binary or Confluent's wire format) as `T`.
    @discardableResult
    public func source<T: AvroRecord>(topic: String, as type: T.Type, schema: AvroSchema, wire: AvroWire = .raw,
                                      name: String? = nil, eventTime: @escaping @Sendable (T) -> Millis,
                                      outOfOrderness: Duration = .seconds(0), idleTimeout: Duration? = nil,
                                      maxValueBytes: Int = 1 << 20) -> DataStream<T> {
        let make: @Sendable () throws(FormatError) -> AvroDecoding<T> = {
            try AvroDecoding<T>(schema: schema, wire: wire, maxBytes: maxValueBytes)
        }
        let sourceName = name ?? "source-\(topic)"
        if case .failure(let e) = Result(catching: make) { problems.append("source \(sourceName): \(e.reason)") }
        return source(topic: topic, name: sourceName, outOfOrderness: outOfOrderness, idleTimeout: idleTimeout) {
            StreamJob.decoder(make) { (d: inout AvroDecoding<T>, raw) throws(FormatError) -> (T, Millis) in
                let v = try d.decode(raw)
                return (v, eventTime(v))
            }
        }
    }

    /// A per-reader decode function: makes the reader's own decoder (it keeps buffers), or, if
    /// the definition was refused, one that fails every record (the job does not start then).
    static func decoder<D, R>(_ make: () throws(FormatError) -> D,
                              _ decode: @escaping (inout D, UnsafeRawBufferPointer) throws(FormatError) -> R)
        -> (ConsumerRecord) throws(FormatError) -> R {
        let made = Result(catching: make)
        guard case .success(var d) = made else {
            let e: FormatError
            if case .failure(let f) = made { e = f } else { e = FormatError(offset: 0, "no decoder") }
            return { (_: ConsumerRecord) throws(FormatError) -> R in throw e }
        }
        return { (r: ConsumerRecord) throws(FormatError) -> R in
            guard let value = r.value else { throw FormatError(offset: 0, "record has no value (tombstone)") }
            return try value.withUnsafeReadableBytes { (raw) throws(FormatError) -> R in try decode(&d, raw) }
        }
    }
}

extension DataStream {
    /// Writes each element to a topic as one CSV line: `key` gives the Kafka key (nil: none),
    /// `encode` the fields in column order.
    public func sinkCSV(topic: String, name: String? = nil, separator: Character = ",",
                        key: @escaping @Sendable (T) -> [UInt8]?,
                        encode: @escaping @Sendable (T, inout CSVWriter) -> Void) {
        job.sinkTopics.insert(topic)
        let opName = job.register(name ?? "sink-\(topic)")
        if case .failure(let e) = Result(catching: { () throws(FormatError) in try CSVStorage.separatorByte(separator) }) {
            job.problems.append("sink \(opName): \(e.reason)")
        }
        node.outputs.append { b in
            let ctx = b.ctx
            var w = CSVWriter(separator: separator)
            return { v, ts in
                w.begin()
                encode(v, &w)
                w.end()
                ctx.emitRecord(topic: topic, key: key(v), value: w.bytes, timestamp: ts)
            }
        }
    }

    /// Writes each element to a topic as an Avro record of `schema` (raw, or behind the
    /// Confluent header with `.confluent(schemaID:)`). A value the schema cannot hold (see
    /// `AvroWriter`) sends the source record to the dead-letter topic with the reason.
    public func sinkAvro(topic: String, name: String? = nil, schema: AvroSchema, wire: AvroWire = .raw,
                         key: @escaping @Sendable (T) -> [UInt8]?,
                         encode: @escaping @Sendable (T, inout AvroWriter) -> Void) {
        job.sinkTopics.insert(topic)
        let opName = job.register(name ?? "sink-\(topic)")
        let make: @Sendable () throws(FormatError) -> AvroWriter = { try AvroWriter(schema: schema, wire: wire) }
        if case .failure(let e) = Result(catching: make) { job.problems.append("sink \(opName): \(e.reason)") }
        node.outputs.append { b in
            let ctx = b.ctx
            guard case .success(var w) = Result(catching: make) else { return { _, _ in } }  // refused at definition
            return { v, ts in
                w.begin()
                encode(v, &w)
                w.end()
                if let reason = w.failure {
                    ctx.deadLetter(operator: opName, reason: "Avro sink \(topic): \(reason)")
                } else {
                    ctx.emitRecord(topic: topic, key: key(v), value: w.bytes, timestamp: ts)
                }
            }
        }
    }
}
