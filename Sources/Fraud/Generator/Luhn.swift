/// Card numbers: 16 digits whose last digit is the Luhn check digit, as real PANs have.
public enum Luhn {
    /// Whether the digit string passes the Luhn check.
    public static func isValid(_ number: String) -> Bool {
        var sum = 0
        var double = false
        var digits = 0
        for c in number.utf8.reversed() {
            guard c >= 0x30 && c <= 0x39 else { return false }
            var d = Int(c - 0x30)
            if double {
                d *= 2
                if d > 9 { d -= 9 }
            }
            sum += d
            double.toggle()
            digits += 1
        }
        return digits > 1 && sum % 10 == 0
    }

    /// The check digit that makes `body` (the first 15 digits, most significant first) valid.
    static func checkDigit(_ body: [UInt8]) -> UInt8 {
        var sum = 0
        // Counting from the right of the final number, the body's last digit is doubled.
        for (i, d) in body.reversed().enumerated() {
            var v = Int(d)
            if i % 2 == 0 {
                v *= 2
                if v > 9 { v -= 9 }
            }
            sum += v
        }
        return UInt8((10 - sum % 10) % 10)
    }

    /// A random 16-digit Visa (4…) or Mastercard (51–55…) number, packed into a UInt64.
    static func randomCard(_ rng: inout Xoshiro256) -> UInt64 {
        var body: [UInt8] = []
        body.reserveCapacity(15)
        if rng.chance(0.6) {
            body.append(4)
        } else {
            body.append(5)
            body.append(UInt8(rng.int(in: 1...5)))
        }
        while body.count < 15 { body.append(UInt8(rng.int(10))) }
        var n: UInt64 = 0
        for d in body { n = n * 10 + UInt64(d) }
        return n * 10 + UInt64(checkDigit(body))
    }
}

/// `c-000042`-style ids without Foundation's formatter (it is slow on the hot path).
@inline(__always) func paddedId(_ prefix: StaticString, _ n: Int, width: Int) -> String {
    var digits = String(n)
    if digits.utf8.count < width { digits = String(repeating: "0", count: width - digits.utf8.count) + digits }
    return prefix.description + digits
}
