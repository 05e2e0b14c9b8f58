/// Every merchant of the world, struct-of-arrays so a large world stays a few flat buffers.
/// Merchants are laid out city by city, category by category, so the merchants of one city
/// and category are one contiguous index range.
public struct Merchants: Sendable {
    public private(set) var city: [UInt8] = []
    public private(set) var category: [UInt8] = []
    /// The shop's own coordinates (a little off the city centre).
    public private(set) var lat: [Float] = []
    public private(set) var lon: [Float] = []
    /// How many card terminals the merchant has (ids `m-000123-t2`).
    public private(set) var terminals: [UInt8] = []
    /// `rangeStart[city * categoryCount + category] ..< rangeStart[… + 1]`.
    var rangeStart: [Int32] = []

    public var count: Int { city.count }

    init(target: Int, rng: inout Xoshiro256) {
        let cities = Cities.all
        let cats = MerchantCategory.allCases
        let cityTotal = cities.reduce(0) { $0 + $1.weight }
        let catTotal = cats.reduce(0) { $0 + $1.merchantShare }
        rangeStart.reserveCapacity(cities.count * cats.count + 1)
        for (ci, c) in cities.enumerated() {
            for cat in cats {
                rangeStart.append(Int32(city.count))
                // At least two per city and category, so any purchase has somewhere to happen.
                let n = max(2, Int((Double(target) * c.weight / cityTotal * cat.merchantShare / catTotal).rounded()))
                for _ in 0..<n {
                    city.append(UInt8(ci))
                    category.append(UInt8(cat.rawValue))
                    lat.append(Float(c.lat + rng.normal(sd: 0.03)))
                    lon.append(Float(c.lon + rng.normal(sd: 0.03)))
                    terminals.append(UInt8(cat == .online ? 1 : rng.int(in: 1...6)))
                }
            }
        }
        rangeStart.append(Int32(city.count))
    }

    /// The merchants of one category in one city.
    @inline(__always) public func range(city c: Int, category cat: MerchantCategory) -> Range<Int> {
        let k = c * MerchantCategory.allCases.count + cat.rawValue
        return Int(rangeStart[k])..<Int(rangeStart[k + 1])
    }

    @inline(__always) func pick(city c: Int, category cat: MerchantCategory, _ rng: inout Xoshiro256) -> Int {
        let r = range(city: c, category: cat)
        return r.lowerBound + rng.int(r.count)
    }

    public static func id(_ m: Int) -> String { paddedId("m-", m, width: 6) }

    public static func terminalId(_ m: Int, terminal: Int) -> String { id(m) + "-t" + String(terminal) }
}
