/// Writes one CSV line into a reusable byte array (sinks encode results with it). Fields are
/// quoted only when they must be (separator, quote, CR or LF inside); nil is an empty field and
/// the empty string `""`, so `CSVDecoding` reads both back as they were written.
public struct CSVWriter {
    public private(set) var bytes: [UInt8] = []
    let separator: UInt8
    let lineEnd: Bool
    var first = true

    /// `lineEnd`: end each line with LF (for files; Kafka values need none).
    public init(separator: Character = ",", lineEnd: Bool = false, capacity: Int = 256) {
        // An invalid separator falls back to ','; `CSVDecoding` would refuse it the same way.
        self.separator = (try? CSVStorage.separatorByte(separator)) ?? 0x2C
        self.lineEnd = lineEnd
        bytes.reserveCapacity(capacity)
    }

    public mutating func begin() {
        bytes.removeAll(keepingCapacity: true)
        first = true
    }

    public mutating func end() {
        if lineEnd { bytes.append(CSVStorage.lf) }
    }

    @inline(__always) mutating func next() {
        if !first { bytes.append(separator) }
        first = false
    }

    public mutating func field(_ v: Int64) {
        next()
        appendInt(v)
    }

    public mutating func field(_ v: Int) { field(Int64(v)) }

    /// NaN and infinities have no CSV form: written as an empty field (null).
    public mutating func field(_ v: Double) {
        next()
        appendDouble(v)
    }

    public mutating func field(_ v: Bool) {
        next()
        bytes.append(contentsOf: v ? [0x74, 0x72, 0x75, 0x65] : [0x66, 0x61, 0x6C, 0x73, 0x65])
    }

    /// A string (nil: an empty field, which reads back as null).
    public mutating func field(_ v: String?) {
        next()
        guard let v else { return }
        appendString(v)
    }

    /// An optional number or boolean: nil is an empty field.
    public mutating func field<V: CSVWritable>(_ v: V?) {
        guard let v else { next(); return }
        v.write(to: &self)
    }

    /// An empty field (null).
    public mutating func null() { next() }

    /// A timestamp as ISO-8601 with its offset (`CSVFields.timestamp` reads it back).
    public mutating func field(_ t: EventTime) {
        next()
        bytes.append(contentsOf: ISO8601.format(t.millis, utcOffsetSeconds: t.utcOffsetSeconds).utf8)
    }

    /// A header line of the given names.
    public mutating func header(_ names: [String]) {
        begin()
        for n in names { field(n) }
        end()
    }

    @inline(__always) mutating func appendInt(_ v: Int64) { NumberDigits.appendInt(v, to: &bytes) }

    @inline(__always) mutating func appendDouble(_ v: Double) {
        guard v.isFinite else { return }  // an empty field: CSV has no NaN or infinity
        NumberDigits.appendFinite(v, to: &bytes)
    }

    mutating func appendString(_ s: String) {
        var s = s
        s.withUTF8 { u in
            var needs = u.isEmpty  // "" marks the empty string, distinct from null
            for c in u where c == separator || c == CSVStorage.quote || c == CSVStorage.cr || c == CSVStorage.lf {
                needs = true
                break
            }
            guard needs else { bytes.append(contentsOf: u); return }
            bytes.append(CSVStorage.quote)
            for c in u {
                if c == CSVStorage.quote { bytes.append(CSVStorage.quote) }
                bytes.append(c)
            }
            bytes.append(CSVStorage.quote)
        }
    }
}

/// Optional values `CSVWriter.field` takes (nil: an empty field).
public protocol CSVWritable {
    func write(to w: inout CSVWriter)
}

extension Int64: CSVWritable { public func write(to w: inout CSVWriter) { w.field(self) } }
extension Int: CSVWritable { public func write(to w: inout CSVWriter) { w.field(self) } }
extension Double: CSVWritable { public func write(to w: inout CSVWriter) { w.field(self) } }
extension Bool: CSVWritable { public func write(to w: inout CSVWriter) { w.field(self) } }
extension EventTime: CSVWritable { public func write(to w: inout CSVWriter) { w.field(self) } }
