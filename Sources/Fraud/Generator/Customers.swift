/// The fixed profile of one customer: 48 bytes, so a million customers take ~48 MB.
public struct CustomerProfile: Sendable {
    /// The 16-digit card number as an integer (it always has 16 digits: the first is 4 or 5).
    public var card: UInt64
    /// The customer's usual spend level: a log-scale multiplier on every category's median.
    public var logScale: Float
    /// The mean genuine amount in USD over the preferred categories (what "typical" means).
    public var typicalUSD: Float
    /// Per preferred category, a personal shift of the lognormal mean (one shops cheap groceries,
    /// another dear ones).
    public var muOffsets: (Float, Float, Float, Float)
    public var homeCity: UInt8
    /// Relative activity, transactions per day (1–8).
    public var txPerDay: UInt8
    public var preferredCount: UInt8
    /// Preferred categories (`MerchantCategory` raw values), most used first.
    public var preferred: (UInt8, UInt8, UInt8, UInt8)
    /// Local minutes of the day when the customer's active window opens and closes.
    public var activeFrom: UInt16
    public var activeUntil: UInt16

    public var cardNumber: String { String(card) }

    public var preferredCategories: [MerchantCategory] {
        let all = [preferred.0, preferred.1, preferred.2, preferred.3]
        return all.prefix(Int(preferredCount)).map { MerchantCategory(rawValue: Int($0))! }
    }

    @inline(__always) func preferredCategory(_ i: Int) -> MerchantCategory {
        let raw: UInt8 = switch i { case 0: preferred.0; case 1: preferred.1; case 2: preferred.2; default: preferred.3 }
        return MerchantCategory(rawValue: Int(raw))!
    }

    @inline(__always) func muOffset(_ i: Int) -> Double {
        let v: Float = switch i { case 0: muOffsets.0; case 1: muOffsets.1; case 2: muOffsets.2; default: muOffsets.3 }
        return Double(v)
    }

    public func prefers(_ c: MerchantCategory) -> Bool {
        for i in 0..<Int(preferredCount) where preferredCategory(i) == c { return true }
        return false
    }

    /// How often the i-th preferred category is used: the first one most.
    static let preferenceWeights: [Double] = [0.45, 0.28, 0.17, 0.10]

    /// The lognormal parameters (USD) of this customer's spend in a category.
    func amountParameters(_ c: MerchantCategory) -> (mu: Double, sigma: Double) {
        var mu = Foundation.log(c.medianUSD) + Double(logScale)
        for i in 0..<Int(preferredCount) where preferredCategory(i) == c { mu += muOffset(i) }
        return (mu, c.sigma)
    }

    static func make(_ rng: inout Xoshiro256, homeCity: Int) -> CustomerProfile {
        let count = rng.int(in: 2...4)
        var cats: [UInt8] = []
        // Most people shop for groceries; the rest of the preferences are spread out.
        if rng.chance(0.7) { cats.append(UInt8(MerchantCategory.grocery.rawValue)) }
        while cats.count < count {
            let c = UInt8(MerchantCategory.everyday[rng.int(MerchantCategory.everyday.count)].rawValue)
            if !cats.contains(c) { cats.append(c) }
        }
        while cats.count < 4 { cats.append(cats[0]) }
        let offsets = (Float(rng.normal(sd: 0.2)), Float(rng.normal(sd: 0.2)), Float(rng.normal(sd: 0.2)), Float(rng.normal(sd: 0.2)))
        // Active window: mostly 07:00–21:30 local, shifted a little per person.
        let from = UInt16(max(6 * 60, min(9 * 60, Int(rng.normal(mean: 7 * 60, sd: 35)))))
        let until = UInt16(max(19 * 60, min(22 * 60, Int(rng.normal(mean: 21 * 60 + 30, sd: 35)))))
        var p = CustomerProfile(card: Luhn.randomCard(&rng), logScale: Float(rng.normal(sd: 0.35)), typicalUSD: 0,
                                muOffsets: offsets, homeCity: UInt8(homeCity), txPerDay: UInt8(rng.int(in: 1...8)),
                                preferredCount: UInt8(count), preferred: (cats[0], cats[1], cats[2], cats[3]),
                                activeFrom: from, activeUntil: until)
        var typical = 0.0, wsum = 0.0
        for i in 0..<count {
            let c = p.preferredCategory(i)
            let (mu, sigma) = p.amountParameters(c)
            let w = preferenceWeights[i]
            typical += w * Foundation.exp(mu + sigma * sigma / 2)
            wsum += w
        }
        p.typicalUSD = Float(typical / wsum)
        return p
    }
}

import Foundation
