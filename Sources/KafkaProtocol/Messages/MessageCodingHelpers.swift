import NIOCore

// Small coding helpers shared by the message definitions in this folder: fields whose
// nullability depends on the version, nullable int32 arrays, and nullable nested structures.
extension KafkaCoder {
    /// A string that is nullable only from `version` on. Earlier versions code it as a plain
    /// string: nil is written as "" and a decoded value is never nil.
    @inlinable
    public mutating func string(_ v: inout String?, nullableFrom version: Int16) throws {
        if self.version >= version {
            try nullableString(&v)
        } else {
            var s = v ?? ""
            try string(&s)
            v = s
        }
    }

    /// An array of structures that is nullable only from `version` on (nil is written as an
    /// empty array before that).
    @inlinable
    public mutating func array<T: KafkaStruct>(_ v: inout [T]?, nullableFrom version: Int16) throws {
        if self.version >= version {
            try nullableArray(&v)
        } else {
            var a = v ?? []
            try array(&a)
            v = a
        }
    }

    @inlinable
    public mutating func nullableInt32Array(_ v: inout [Int32]?) throws {
        let n = try arrayCount(v?.count)
        guard let n else { v = nil; return }
        if isDecoding {
            var out = [Int32]()
            out.reserveCapacity(n)
            for _ in 0..<n { var x: Int32 = 0; try int32(&x); out.append(x) }
            v = out
        } else if let arr = v {
            for var x in arr { try int32(&x) }
        }
    }

    /// A nullable structure field (not an array element, not tagged): Kafka writes an int8
    /// marker first, -1 for null and 1 for present; any negative marker reads as null.
    @inlinable
    public mutating func nullableStruct<T: KafkaStruct>(_ v: inout T?) throws {
        var marker: Int8 = v == nil ? -1 : 1
        try int8(&marker)
        if isDecoding {
            if marker < 0 {
                v = nil
            } else {
                var s = T()
                try s.code(&self)
                v = s
            }
        } else if var s = v {
            try s.code(&self)
        }
    }
}
