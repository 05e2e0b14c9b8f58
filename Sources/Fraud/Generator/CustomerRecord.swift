import Streams

extension World {
    /// The bank's record of a customer, as a core-banking system would publish it to the
    /// compacted `customers` topic (keyed by customer_id): where they live and what they
    /// usually spend. The fraud job reads it as a table.
    public func customerRecordJSON(_ c: Int) -> [UInt8] {
        let p = customers[c]
        let home = cities[Int(p.homeCity)]
        var w = JSONWriter(capacity: 200)
        w.begin()
        w.field("customer_id", World.customerId(c))
        w.field("home_city", home.name)
        w.field("home_country", home.country)
        w.field("home_lat", home.lat)
        w.field("home_lon", home.lon)
        w.field("typical_amount", (typicalAmount(customer: c) * 100).rounded() / 100)
        w.field("currency", cityCurrency[Int(p.homeCity)].code)
        w.field("card_last4", String(p.cardNumber.suffix(4)))
        w.end()
        return w.bytes
    }
}
