import HeapModule
import Foundation

/// What changes about a customer as the simulation runs (the profile itself is fixed).
struct CustomerState {
    /// Last transaction of any kind (Int64.min: none yet) and the city it happened in.
    var lastMillis: Int64 = .min
    /// A legitimate trip: `currentCity` holds the destination until then.
    var travelUntil: Int64 = 0
    /// A fraud episode involves the customer until then: no second episode, no trip starts
    /// (so one pattern's signature is not blurred by another's).
    var busyUntil: Int64 = 0
    /// Account takeover: the customer's own transactions are suppressed until then.
    var takenOverUntil: Int64 = 0
    var currentCity: UInt8
    var lastCity: UInt8
}

/// Labelled card transactions: genuine customers going about their day, with fraud patterns
/// injected at a configured ratio. A value type: copying it forks the simulation, and the
/// same config yields the same sequence, byte for byte.
public struct TransactionGenerator: Sendable {
    public let config: GeneratorConfig
    public let world: World
    var state: [CustomerState]
    var rng: Xoshiro256
    /// Bounded by the episodes in flight, not by how long the generator runs.
    var pending = Heap<PendingTransaction>()
    var pendingSeq: UInt64 = 0
    /// Fraud reports not yet due (only with `config.reports`), and their own random stream.
    var reports = Heap<PendingReport>()
    var reportSeq: UInt64 = 0
    var reportRng: Xoshiro256
    /// Event time of the next arrival of the global Poisson process.
    var nextArrival: Double
    /// The arrival process's rate per millisecond (below the configured rate, since each fraud
    /// trigger brings a whole episode of transactions with it).
    let arrivalRatePerMs: Double
    /// Chance that an arrival starts a fraud episode instead of a genuine purchase.
    let triggerProbability: Double
    let patternCumulative: [Double]
    /// How many fraud transactions behind (or ahead of) the ratio double the trigger chance
    /// (or cut it to nothing).
    let controlGain: Double
    var sequence = 0
    public private(set) var stats = GeneratorStats()
    /// Event time of the last transaction returned.
    public private(set) var clockMillis: Int64

    public init(config: GeneratorConfig) {
        self.config = config
        world = World(customers: config.customers, seed: config.seed)
        state = world.customers.map { CustomerState(currentCity: $0.homeCity, lastCity: $0.homeCity) }
        rng = Xoshiro256(seed: config.seed)
        reportRng = Xoshiro256(seed: config.seed ^ 0x7265_706f_7274_7321)
        clockMillis = config.startMillis

        let patterns = FraudPattern.allCases
        let weights = patterns.map { max(0, config.mix[$0] ?? 0) }
        let total = weights.reduce(0, +)
        // The mix weighs fraud transactions; an episode of pattern p brings size(p) of them,
        // so episodes are started in proportion to weight / size.
        let episodeWeights = zip(patterns, weights).map { total > 0 ? $1 / Self.expectedEpisodeSize($0) : 0 }
        var acc = 0.0
        patternCumulative = episodeWeights.map { acc += $0; return acc }
        let episodeTotal = episodeWeights.reduce(0, +)
        let meanSize = episodeTotal > 0 ? total / episodeTotal : 1
        let r = min(max(config.fraudRatio, 0), 1)
        // Per arrival: 1 − p genuine, p × meanSize fraud; fraud / all = r gives p.
        let p = (total > 0 && r > 0) ? r / (meanSize * (1 - r) + r) : 0
        triggerProbability = p
        controlGain = max(10, 2 * meanSize)
        arrivalRatePerMs = max(config.ratePerSecond, 1e-9) / 1000 / ((1 - p) + p * meanSize)
        nextArrival = Double(config.startMillis)
        nextArrival += rng.exponential(rate: arrivalRatePerMs)
    }

    /// The trigger chance, corrected by how far the emitted fraud lags the ratio: episodes
    /// spread over hours (a breached merchant, a takeover) would otherwise leave a short run
    /// short of fraud. The correction vanishes once the episodes in flight reach steady state.
    var currentTriggerProbability: Double {
        let deficit = config.fraudRatio * Double(stats.transactions) - Double(stats.fraud)
        return min(triggerProbability * 4, max(0, triggerProbability * (1 + deficit / controlGain)))
    }

    static func expectedEpisodeSize(_ p: FraudPattern) -> Double {
        switch p {
        case .velocityAttack: 9          // 6–12
        case .compromisedMerchant: 40    // 20–60 customers
        case .accountTakeover: 5.5       // 3–8
        case .impossibleTravel, .amountSpike, .unusualHours, .categoryDeviation: 1
        }
    }

    /// The next transaction in event-time order, with its label when it is fraudulent.
    public mutating func next() -> (Transaction, FraudLabel?) {
        while true {
            if let top = pending.min, Double(top.time) <= nextArrival {
                _ = pending.popMin()
                return emit(top)
            }
            let t = Int64(nextArrival)
            nextArrival += max(rng.exponential(rate: arrivalRatePerMs), 0)
            if triggerProbability > 0 && rng.chance(currentTriggerProbability) {
                let pattern = FraudPattern.allCases[rng.weighted(cumulative: patternCumulative)]
                // An episode that finds no victim becomes an ordinary purchase.
                if startEpisode(pattern, at: t) { continue }
            }
            return emit(genuine(at: t))
        }
    }

    // MARK: Genuine spending

    /// Relative activity by local hour: a morning rise, lunch and early-evening peaks.
    static let hourWeights: [Double] = [0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.3, 0.6, 0.8, 0.7, 0.7, 0.9,
                                        1.0, 1.0, 0.75, 0.65, 0.7, 0.9, 1.0, 0.9, 0.75, 0.55, 0.3, 0.08]

    @inline(__always) func localMinuteOfDay(_ t: Int64, city: Int) -> Int {
        let local = t / 60_000 + Int64(world.cities[city].utcOffsetMinutes)
        return Int(((local % 1440) + 1440) % 1440)
    }

    /// Where the customer is at `t` (a finished trip brings them home).
    @inline(__always) mutating func currentCity(_ c: Int, at t: Int64) -> Int {
        if state[c].travelUntil != 0 && t >= state[c].travelUntil {
            state[c].travelUntil = 0
            state[c].currentCity = world.customers[c].homeCity
        }
        return Int(state[c].currentCity)
    }

    /// Picks who buys at `t`: customers weighted by activity, rejected outside their active
    /// hours (and by the hour's rhythm), so the daily rhythm shows in the stream.
    mutating func pickActiveCustomer(at t: Int64) -> Int {
        let n = world.customers.count
        var candidate = 0
        for _ in 0..<256 {
            candidate = rng.int(n)
            let p = world.customers[candidate]
            guard rng.int(8) < Int(p.txPerDay) else { continue }
            guard state[candidate].takenOverUntil <= t else { continue }
            let city = currentCity(candidate, at: t)
            let minute = localMinuteOfDay(t, city: city)
            let inWindow = minute >= Int(p.activeFrom) && minute < Int(p.activeUntil)
            let w = inWindow ? Self.hourWeights[minute / 60] : 0.01
            if rng.chance(w) { return candidate }
        }
        return candidate
    }

    mutating func genuine(at t: Int64) -> PendingTransaction {
        let c = pickActiveCustomer(at: t)
        let profile = world.customers[c]
        maybeStartTrip(c, at: t)
        let city = currentCity(c, at: t)
        let travelling = city != Int(profile.homeCity)

        let category: MerchantCategory
        if travelling && rng.chance(0.3) {
            category = MerchantCategory.travelling[rng.int(MerchantCategory.travelling.count)]
        } else if rng.chance(0.04) {
            category = MerchantCategory.everyday[rng.int(MerchantCategory.everyday.count)]
        } else {
            category = profile.preferredCategory(pickPreference(count: Int(profile.preferredCount)))
        }
        let (mu, sigma) = profile.amountParameters(category)
        var amount = rng.lognormal(mu: mu, sigma: sigma)
        if category == .atm { amount = max(20, (amount / 20).rounded() * 20) }
        return PendingTransaction(time: t, seq: 0, customer: Int32(c), merchant: Int32(world.merchants.pick(city: city, category: category, &rng)),
                                  amountUSD: amount, channel: genuineChannel(category), pattern: nil)
    }

    /// Which of `count` preferred categories (weighted, first most), without allocating.
    @inline(__always) mutating func pickPreference(count: Int) -> Int {
        let w = CustomerProfile.preferenceWeights
        var total = 0.0
        for i in 0..<count { total += w[i] }
        var x = rng.uniform() * total
        for i in 0..<count {
            x -= w[i]
            if x < 0 { return i }
        }
        return count - 1
    }

    /// Occasionally a customer goes away for a few days — only when a flight could have taken
    /// them there since their last purchase, so genuine travel is never impossible travel.
    mutating func maybeStartTrip(_ c: Int, at t: Int64) {
        guard rng.chance(0.002) else { return }
        let s = state[c]
        guard s.travelUntil == 0, s.busyUntil <= t else { return }
        let home = Int(world.customers[c].homeCity)
        let dest = rng.weighted(cumulative: world.cityCumulative)
        guard dest != home else { return }
        let hours = world.distanceKm(city: Int(s.lastCity), city: dest) / 800 + 1.5
        guard s.lastMillis == .min || Double(t - s.lastMillis) >= hours * 3_600_000 else { return }
        state[c].travelUntil = t + Int64(rng.uniform(2, 7) * 86_400_000)
        state[c].currentCity = UInt8(dest)
    }

    mutating func genuineChannel(_ c: MerchantCategory) -> Channel {
        let u = rng.uniform()
        switch c {
        case .atm: return .atm
        case .online: return u < 0.75 ? .ecommerce : .mobile
        case .airline, .travel, .hotel: return u < 0.5 ? .ecommerce : (u < 0.8 ? .pos : .mobile)
        case .utilities: return u < 0.6 ? .ecommerce : .mobile
        default: return u < 0.85 ? .pos : (u < 0.95 ? .mobile : .ecommerce)
        }
    }

    // MARK: Output

    mutating func schedule(_ p: PendingTransaction) {
        var p = p
        pendingSeq &+= 1
        p.seq = pendingSeq
        pending.insert(p)
    }

    /// Number of fraud transactions scheduled but not yet returned (bounded by the episodes in flight).
    public var pendingCount: Int { pending.count }

    mutating func emit(_ p: PendingTransaction) -> (Transaction, FraudLabel?) {
        let c = Int(p.customer), m = Int(p.merchant)
        let profile = world.customers[c]
        let cityIndex = Int(world.merchants.city[m])
        let city = world.cities[cityIndex]
        let currency = world.cityCurrency[Int(profile.homeCity)]
        let scale = currency.decimals == 0 ? 1.0 : 100.0
        let amount = max(1 / scale, (p.amountUSD * currency.unitsPerUSD * scale).rounded() / scale)
        sequence += 1
        let customerId = World.customerId(c)
        let tx = Transaction(
            transactionId: paddedId("t-", sequence, width: 12), customerId: customerId, amount: amount,
            currency: currency.code, merchantId: Merchants.id(m),
            merchantCategory: MerchantCategory(rawValue: Int(world.merchants.category[m]))!.name,
            channel: p.channel.name, cardNumber: profile.cardNumber, timeMillis: p.time,
            utcOffsetMinutes: city.utcOffsetMinutes,
            location: .init(lat: Self.round4(world.merchants.lat[m]), lon: Self.round4(world.merchants.lon[m]),
                            city: city.name, country: city.country))
        state[c].lastMillis = p.time
        state[c].lastCity = UInt8(cityIndex)
        clockMillis = p.time
        stats.transactions += 1
        guard let pattern = p.pattern else { return (tx, nil) }
        stats.fraud += 1
        stats.perPattern[FraudPattern.allCases.firstIndex(of: pattern)!] += 1
        scheduleReport(tx)
        return (tx, FraudLabel(transactionId: tx.transactionId, customerId: customerId, pattern: pattern,
                               amount: amount, timeMillis: p.time))
    }

    @inline(__always) static func round4(_ f: Float) -> Double { (Double(f) * 10_000).rounded() / 10_000 }
}
