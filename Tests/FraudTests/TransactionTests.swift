import Foundation
import Testing
@testable import Fraud

@Suite struct TransactionTests {
    @Test func jsonCarriesEveryFieldOfTheEvent() throws {
        let t = Transaction(transactionId: "t-1", customerId: "c-7", amount: 12.5, currency: "EUR", merchantId: "m-3",
                            merchantCategory: "grocery", channel: "pos", cardNumber: "4111111111111111",
                            timeMillis: 1_764_666_903_123, utcOffsetMinutes: 60,
                            location: .init(lat: 48.8566, lon: 2.3522, city: "Paris", country: "FR"))
        let o = try #require(JSONSerialization.jsonObject(with: Data(t.jsonBytes)) as? [String: Any])
        #expect(o["transaction_id"] as? String == "t-1")
        #expect(o["amount"] as? Double == 12.5)
        #expect(o["timestamp"] as? String == "2025-12-02T10:15:03.123+01:00")
        let loc = try #require(o["location"] as? [String: Any])
        #expect(loc["city"] as? String == "Paris")
        #expect(loc["lat"] as? Double == 48.8566)
    }
}
