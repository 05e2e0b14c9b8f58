/// The seven fraud patterns: each trigger schedules an episode of labelled transactions.
extension TransactionGenerator {
    static let minute: Int64 = 60_000
    static let hour: Int64 = 3_600_000

    /// Schedules one episode of `pattern` starting at `t`; false when no victim was free.
    mutating func startEpisode(_ pattern: FraudPattern, at t: Int64) -> Bool {
        switch pattern {
        case .velocityAttack: return velocityAttack(at: t)
        case .impossibleTravel: return impossibleTravel(at: t)
        case .amountSpike: return amountSpike(at: t)
        case .unusualHours: return unusualHours(at: t)
        case .categoryDeviation: return categoryDeviation(at: t)
        case .compromisedMerchant: return compromisedMerchant(at: t)
        case .accountTakeover: return accountTakeover(at: t)
        }
    }

    /// A customer no episode involves at `t` (victims of two overlapping episodes would mix
    /// two signatures).
    mutating func freeCustomer(at t: Int64, where accept: (Int) -> Bool = { _ in true }) -> Int? {
        for _ in 0..<64 {
            let c = rng.int(world.customers.count)
            if state[c].busyUntil <= t && state[c].takenOverUntil <= t && accept(c) { return c }
        }
        return nil
    }

    @inline(__always) func typicalUSD(_ c: Int) -> Double { Double(world.customers[c].typicalUSD) }

    mutating func fraud(_ c: Int, _ time: Int64, city: Int, category: MerchantCategory, amountUSD: Double,
                        channel: Channel, _ pattern: FraudPattern?) {
        let m = world.merchants.pick(city: city, category: category, &rng)
        schedule(PendingTransaction(time: time, seq: 0, customer: Int32(c), merchant: Int32(m),
                                    amountUSD: (amountUSD * 100).rounded() / 100, channel: channel, pattern: pattern))
    }

    /// Card testing then cash-out: 6–12 transactions within 2–20 minutes, tiny amounts first.
    mutating func velocityAttack(at t: Int64) -> Bool {
        guard let c = freeCustomer(at: t) else { return false }
        let n = rng.int(in: 6...12)
        let span = Int64(rng.uniform(2, 20) * Double(Self.minute))
        var offsets = (1..<n).map { _ in Int64(rng.uniform() * Double(span)) }
        offsets.append(0)
        offsets.sort()
        let city = currentCity(c, at: t)
        let testing = max(3, n / 2)
        let scale = Foundation.exp(Double(world.customers[c].logScale))
        for (i, dt) in offsets.enumerated() {
            if i < testing {
                fraud(c, t + dt, city: city, category: rng.chance(0.5) ? .online : .giftCards,
                      amountUSD: rng.uniform(0.5, 5), channel: .ecommerce, .velocityAttack)
            } else {
                let cat: MerchantCategory = [.electronics, .giftCards, .online, .jewellery][rng.int(4)]
                fraud(c, t + dt, city: city, category: cat, amountUSD: rng.uniform(80, 600) * scale,
                      channel: rng.chance(0.8) ? .ecommerce : .mobile, .velocityAttack)
            }
        }
        state[c].busyUntil = t + span
        return true
    }

    /// The card used in person more than 2,500 km from the customer's last purchase, less than
    /// two hours after it: faster than any airliner.
    mutating func impossibleTravel(at t: Int64) -> Bool {
        // Prefer someone who bought something in the last 90 minutes; else give a victim a
        // genuine purchase now, as the anchor the fraud is measured from.
        var victim = freeCustomer(at: t) { [state] c in
            let last = state[c].lastMillis
            return last != .min && t - last < 90 * Self.minute
        }
        var base: Int64
        if let v = victim {
            base = state[v].lastMillis
        } else {
            guard let v = freeCustomer(at: t) else { return false }
            victim = v
            var anchor = genuineFor(v, at: t)
            anchor.pattern = nil
            schedule(anchor)
            base = t
        }
        let c = victim!
        let from = currentCity(c, at: t)
        var far = -1
        for _ in 0..<64 {
            let k = rng.weighted(cumulative: world.cityCumulative)
            if world.distanceKm(city: from, city: k) > 2_500 { far = k; break }
        }
        guard far >= 0 else { return false }
        // Within 45 minutes of now and under two hours after the last purchase: soon after, as
        // a cloned card is used while the real one is still at home.
        let window = min(45 * Self.minute, max(Self.minute, 110 * Self.minute - (t - base)))
        let time = t + Self.minute + Int64(rng.uniform() * Double(window - Self.minute))
        let cat: MerchantCategory = [.retail, .electronics, .atm, .restaurant, .jewellery][rng.int(5)]
        fraud(c, time, city: far, category: cat, amountUSD: typicalUSD(c) * rng.uniform(1, 4),
              channel: cat == .atm ? .atm : .pos, .impossibleTravel)
        state[c].busyUntil = time
        return true
    }

    /// A genuine-looking purchase by a given customer (the anchor of impossible travel).
    mutating func genuineFor(_ c: Int, at t: Int64) -> PendingTransaction {
        let profile = world.customers[c]
        let city = currentCity(c, at: t)
        let category = profile.preferredCategory(pickPreference(count: Int(profile.preferredCount)))
        let (mu, sigma) = profile.amountParameters(category)
        return PendingTransaction(time: t, seq: 0, customer: Int32(c), merchant: Int32(world.merchants.pick(city: city, category: category, &rng)),
                                  amountUSD: rng.lognormal(mu: mu, sigma: sigma), channel: genuineChannel(category), pattern: nil)
    }

    /// One purchase 5–20× the customer's typical amount, mostly resellable goods.
    mutating func amountSpike(at t: Int64) -> Bool {
        guard let c = freeCustomer(at: t) else { return false }
        let profile = world.customers[c]
        let cat: MerchantCategory = rng.chance(0.6) ? [.electronics, .jewellery, .online][rng.int(3)]
            : profile.preferredCategory(pickPreference(count: Int(profile.preferredCount)))
        let channel: Channel = cat == .online || rng.chance(0.4) ? .ecommerce : (cat == .atm ? .atm : .pos)
        fraud(c, t, city: currentCity(c, at: t), category: cat, amountUSD: typicalUSD(c) * rng.uniform(5, 20),
              channel: channel, .amountSpike)
        state[c].busyUntil = t
        return true
    }

    /// A moderately large purchase between 00:00 and 05:00 in the customer's own time zone:
    /// a customer for whom it is night now, else the next such night of someone.
    mutating func unusualHours(at t: Int64) -> Bool {
        var victim = freeCustomer(at: t) { [state, world] c in
            Self.localMinute(t, world.cities[Int(state[c].currentCity)].utcOffsetMinutes) < 5 * 60
        }
        var time = t
        if victim == nil {
            guard let c = freeCustomer(at: t) else { return false }
            victim = c
            let offset = Int64(world.cities[currentCity(c, at: t)].utcOffsetMinutes) * Self.minute
            let day = 24 * Self.hour
            let local = t + offset
            let midnight = local - ((local % day) + day) % day
            time = midnight + Int64(rng.uniform() * Double(5 * Self.hour)) - offset
            if time < t { time += day }
        }
        let c = victim!
        let city = currentCity(c, at: t)
        let profile = world.customers[c]
        let cat: MerchantCategory = rng.chance(0.5) ? [.online, .atm, .electronics][rng.int(3)]
            : profile.preferredCategory(pickPreference(count: Int(profile.preferredCount)))
        let channel: Channel = cat == .atm ? .atm : (cat == .online || rng.chance(0.5) ? .ecommerce : .pos)
        fraud(c, time, city: city, category: cat, amountUSD: typicalUSD(c) * rng.uniform(1.5, 4), channel: channel,
              .unusualHours)
        state[c].busyUntil = time
        return true
    }

    static func localMinute(_ t: Int64, _ offsetMinutes: Int) -> Int {
        let local = t / 60_000 + Int64(offsetMinutes)
        return Int(((local % 1440) + 1440) % 1440)
    }

    /// Spend in a cash-out category the customer never uses, above their typical amount.
    mutating func categoryDeviation(at t: Int64) -> Bool {
        guard let c = freeCustomer(at: t) else { return false }
        let profile = world.customers[c]
        let unused = MerchantCategory.cashOut.filter { !profile.prefers($0) }
        let cat = unused[rng.int(unused.count)]
        let amount = max(typicalUSD(c) * rng.uniform(1.5, 4), cat.medianUSD * rng.uniform(0.8, 1.8))
        fraud(c, t, city: currentCity(c, at: t), category: cat, amountUSD: amount,
              channel: rng.chance(0.5) ? .ecommerce : .pos, .categoryDeviation)
        state[c].busyUntil = t
        return true
    }

    /// A compromised terminal: for 1–4 days, stolen cards of 20–60 of the merchant's local
    /// customers are run through one grocery, fuel, restaurant or retail merchant (a skimmer's
    /// gang cashing out, or a colluding shop) at a few times the usual amount. Days long, so the
    /// first victims' reports can warn of the later ones.
    mutating func compromisedMerchant(at t: Int64) -> Bool {
        let city = rng.weighted(cumulative: world.cityCumulative)
        let cat: MerchantCategory = [.grocery, .fuel, .restaurant, .retail][rng.int(4)]
        let m = world.merchants.pick(city: city, category: cat, &rng)
        let n = rng.int(in: 20...60)
        let period = rng.uniform(1, 4) * Double(Self.day)
        var victims: [Int] = []
        // Locals first (the breach skims the cards of people who shop there).
        for _ in 0..<(n * 120) where victims.count < n {
            let c = rng.int(world.customers.count)
            if Int(state[c].currentCity) == city, state[c].busyUntil <= t, state[c].takenOverUntil <= t,
               !victims.contains(c) { victims.append(c) }
        }
        while victims.count < n, let c = freeCustomer(at: t, where: { !victims.contains($0) }) { victims.append(c) }
        guard victims.count >= 3 else { return false }
        // The first stolen card is used at once: the breach is under way from `t`.
        var times = victims.indices.map { $0 == 0 ? t : t + Int64(rng.uniform() * period) }
        times.sort()
        for (c, time) in zip(victims, times) {
            let amount = cat.medianUSD * Foundation.exp(Double(world.customers[c].logScale)) * rng.uniform(1.5, 5)
            schedule(PendingTransaction(time: time, seq: 0, customer: Int32(c), merchant: Int32(m),
                                        amountUSD: (amount * 100).rounded() / 100, channel: .pos, pattern: .compromisedMerchant))
            state[c].busyUntil = time
        }
        return true
    }

    /// From `t` on, the account is the fraudster's: 3–8 online purchases from another country,
    /// in new categories, at high amounts; the customer's own activity stops meanwhile.
    mutating func accountTakeover(at t: Int64) -> Bool {
        guard let c = freeCustomer(at: t) else { return false }
        let profile = world.customers[c]
        let homeCountry = world.cities[Int(profile.homeCity)].country
        var city = -1
        for _ in 0..<64 {
            let k = rng.weighted(cumulative: world.cityCumulative)
            if world.cities[k].country != homeCountry { city = k; break }
        }
        guard city >= 0 else { return false }
        let fresh = ([.electronics, .jewellery, .giftCards, .online, .airline, .travel] as [MerchantCategory]).filter { !profile.prefers($0) }
        let n = rng.int(in: 3...8)
        let span = rng.uniform(0.5, 3) * Double(Self.hour)
        var times = (1..<n).map { _ in t + Int64(rng.uniform() * span) }
        times.append(t)
        times.sort()
        for time in times {
            let cat = fresh[rng.int(fresh.count)]
            fraud(c, time, city: city, category: cat, amountUSD: typicalUSD(c) * rng.uniform(3, 10),
                  channel: rng.chance(0.8) ? .ecommerce : .mobile, .accountTakeover)
        }
        state[c].busyUntil = times.last!
        state[c].takenOverUntil = times.last! + 1
        return true
    }
}

import Foundation
