/// The simulated world: cities, merchants and customers, all derived from one seed.
public struct World: Sendable {
    public let cities: [City]
    public let merchants: Merchants
    public private(set) var customers: [CustomerProfile]
    /// Per city, its country's currency (looked up once, not per transaction).
    let cityCurrency: [Currencies.Info]
    let cityCumulative: [Double]

    public init(customers count: Int, seed: UInt64) {
        precondition(count > 0, "a world needs customers")
        // Its own stream, so the world is the same whatever the generator later draws.
        var rng = Xoshiro256(seed: seed ^ 0x5EED_0F_5EED_0F)
        cities = Cities.all
        var acc = 0.0
        cityCumulative = cities.map { acc += $0.weight; return acc }
        cityCurrency = cities.map { Currencies.of(country: $0.country) }
        merchants = Merchants(target: min(200_000, max(3_000, count / 10)), rng: &rng)
        var list: [CustomerProfile] = []
        list.reserveCapacity(count)
        for _ in 0..<count {
            let home = rng.weighted(cumulative: cityCumulative)
            list.append(CustomerProfile.make(&rng, homeCity: home))
        }
        customers = list
    }

    public static func customerId(_ c: Int) -> String { paddedId("c-", c, width: 6) }

    /// The customer's typical genuine amount in the currency of their card.
    public func typicalAmount(customer c: Int) -> Double {
        let p = customers[c]
        return Double(p.typicalUSD) * cityCurrency[Int(p.homeCity)].unitsPerUSD
    }

    /// Index of a city by name (tests and tools).
    public func cityIndex(named name: String) -> Int? { cities.firstIndex { $0.name == name } }

    public func distanceKm(city a: Int, city b: Int) -> Double {
        greatCircleKm(lat1: cities[a].lat, lon1: cities[a].lon, lat2: cities[b].lat, lon2: cities[b].lon)
    }
}
