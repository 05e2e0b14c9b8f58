import HeapModule
import Foundation
import Testing
@testable import Fraud

/// One 200,000-transaction run shared by the statistical tests (generating it takes a while
/// in a debug build).
struct GeneratedCorpus: Sendable {
    static let shared = GeneratedCorpus(count: 200_000)
    /// The command's defaults (10,000 customers at 200 tx/s): each customer far busier, the
    /// episodes denser; signatures must hold there too.
    static let busy = GeneratedCorpus(count: 100_000, customers: 10_000, rate: 200, seed: 99)

    let world: World
    let transactions: [Transaction]
    let labels: [FraudLabel?]
    let maxPending: Int
    let stats: GeneratorStats

    init(count: Int, customers: Int = 20_000, rate: Double = 20, seed: UInt64 = 42) {
        var config = GeneratorConfig(startMillis: 1_767_225_600_000)  // 2026-01-01T00:00Z
        config.customers = customers
        config.ratePerSecond = rate
        config.seed = seed
        var g = TransactionGenerator(config: config)
        var txs: [Transaction] = []
        var labels: [FraudLabel?] = []
        txs.reserveCapacity(count)
        labels.reserveCapacity(count)
        var maxPending = 0
        for _ in 0..<count {
            let (t, l) = g.next()
            txs.append(t)
            labels.append(l)
            maxPending = max(maxPending, g.pendingCount)
        }
        world = g.world
        transactions = txs
        self.labels = labels
        self.maxPending = maxPending
        stats = g.stats
    }

    static func customerIndex(_ id: String) -> Int { Int(id.dropFirst(2))! }

    /// Each customer's transactions, in stream order (indices into `transactions`).
    var byCustomer: [String: [Int]] {
        var m: [String: [Int]] = [:]
        for (i, t) in transactions.enumerated() { m[t.customerId, default: []].append(i) }
        return m
    }
}

@Suite struct RandomTests {
    @Test func splitMixMatchesTheReferenceSequence() {
        var s = SplitMix64(seed: 0)
        #expect(s.next() == 0xE220_A839_7B1D_CDAF)
        #expect(s.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test func sameSeedSameNumbersAndHelpersStayInRange() {
        var a = Xoshiro256(seed: 9), b = Xoshiro256(seed: 9), c = Xoshiro256(seed: 10)
        let xs = (0..<100).map { _ in a.next() }
        #expect(xs == (0..<100).map { _ in b.next() })
        #expect(xs != (0..<100).map { _ in c.next() })
        var sum = 0.0
        for _ in 0..<10_000 {
            let u = a.uniform()
            #expect(u >= 0 && u < 1)
            sum += a.normal()
            #expect(a.int(7) < 7)
            #expect(a.exponential(rate: 2) >= 0)
        }
        #expect(abs(sum / 10_000) < 0.05)
        var hits = [0, 0, 0]
        for _ in 0..<30_000 { hits[a.weighted([1, 2, 0])] += 1 }
        #expect(hits[2] == 0)
        #expect(abs(Double(hits[1]) / Double(hits[0]) - 2) < 0.15)
    }
}

@Suite struct GeneratorTests {
    func bytes(seed: UInt64, count: Int) -> [UInt8] {
        var config = GeneratorConfig(startMillis: 1_767_225_600_000)
        config.customers = 2_000
        config.seed = seed
        var g = TransactionGenerator(config: config)
        var out: [UInt8] = []
        for _ in 0..<count {
            let (t, l) = g.next()
            out += t.jsonBytes
            out.append(10)
            if let l { out += l.jsonBytes; out.append(10) }
        }
        return out
    }

    @Test func sameSeedGivesIdenticalBytes() {
        #expect(bytes(seed: 7, count: 20_000) == bytes(seed: 7, count: 20_000))
    }

    @Test func differentSeedGivesDifferentTransactions() {
        #expect(bytes(seed: 7, count: 2_000) != bytes(seed: 8, count: 2_000))
    }

    @Test func mixParsesNamesAndWeights() throws {
        let m = try GeneratorConfig.parseMix("velocity-attack=1, amount-spike=2.5")
        #expect(m == [.velocityAttack: 1, .amountSpike: 2.5])
        #expect(throws: (any Error).self) { try GeneratorConfig.parseMix("velocity=1") }
        #expect(throws: (any Error).self) { try GeneratorConfig.parseMix("amount-spike") }
    }

    @Test func onlyTheMixedPatternsAppear() {
        var config = GeneratorConfig(startMillis: 1_767_225_600_000)
        config.customers = 2_000
        config.fraudRatio = 0.1
        config.mix = [.amountSpike: 1, .velocityAttack: 1]
        var g = TransactionGenerator(config: config)
        for _ in 0..<20_000 { _ = g.next() }
        #expect(g.stats.count(.amountSpike) > 0 && g.stats.count(.velocityAttack) > 0)
        #expect(g.stats.fraud == g.stats.count(.amountSpike) + g.stats.count(.velocityAttack))
        #expect(abs(Double(g.stats.fraud) / 20_000 - 0.1) < 0.02)
    }

    @Test func cardNumbersPassLuhn() {
        #expect(Luhn.isValid("4111111111111111"))
        #expect(!Luhn.isValid("4111111111111112"))
        #expect(Luhn.isValid("79927398713"))
        let w = World(customers: 5_000, seed: 3)
        for p in w.customers {
            #expect(p.cardNumber.utf8.count == 16)
            #expect(Luhn.isValid(p.cardNumber))
        }
    }

    @Test func idsAndAmountsAreWellFormed() {
        let c = GeneratedCorpus.shared
        #expect(c.transactions[0].transactionId == "t-000000000001")
        #expect(Set(c.transactions.map(\.transactionId)).count == c.transactions.count)
        for t in c.transactions.prefix(20_000) {
            #expect(t.customerId.hasPrefix("c-") && t.customerId.utf8.count == 8)
            #expect(t.merchantId.hasPrefix("m-") && t.merchantId.utf8.count == 8)
            #expect(t.amount > 0 && abs((t.amount * 100).rounded() - t.amount * 100) < 1e-6)
            #expect(["pos", "ecommerce", "mobile", "atm"].contains(t.channel))
            #expect(MerchantCategory(name: t.merchantCategory) != nil)
        }
        #expect(Set(c.transactions.map(\.currency)).isSuperset(of: ["USD", "EUR", "GBP", "JPY"]))
    }

    @Test func eventTimesNeverGoBackAndTheQueueStaysBounded() {
        let c = GeneratedCorpus.shared
        var last = Int64.min
        for t in c.transactions {
            #expect(t.timeMillis >= last)
            last = t.timeMillis
        }
        // 20 tx/s for 200,000 transactions: close to 10,000 s of event time.
        let span = Double(c.transactions.last!.timeMillis - c.transactions[0].timeMillis) / 1000
        #expect(span > 8_500 && span < 11_500)
        #expect(c.maxPending < 2_000)
    }

    @Test func fraudRatioIsAsRequested() {
        let c = GeneratedCorpus.shared
        let ratio = Double(c.labels.compactMap { $0 }.count) / Double(c.transactions.count)
        #expect(abs(ratio - 0.02) < 0.002, "ratio \(ratio)")
        #expect(c.stats.fraud == c.labels.compactMap { $0 }.count)
    }

    @Test(arguments: [false, true]) func everyPatternAppearsAndMatchesItsSignature(busy: Bool) throws {
        let c = busy ? GeneratedCorpus.busy : GeneratedCorpus.shared
        let w = c.world
        let byCustomer = c.byCustomer
        var position: [Int: Int] = [:]  // transaction index → its place in the customer's list
        for (_, list) in byCustomer { for (k, i) in list.enumerated() { position[i] = k } }
        var seen: [FraudPattern: Int] = [:]
        var compromisedCustomers: [String: Set<String>] = [:]
        var failures: [FraudPattern: Int] = [:]
        var compromisedStart: [String: Int64] = [:]
        // Episodes still unfolding when the corpus ends are cut short: judge bursts only
        // where the whole burst fits.
        let end = c.transactions.last!.timeMillis
        for (i, label) in c.labels.enumerated() {
            guard let label else { continue }
            let t = c.transactions[i]
            #expect(label.transactionId == t.transactionId && label.customerId == t.customerId)
            #expect(label.amount == t.amount && label.timeMillis == t.timeMillis)
            seen[label.pattern, default: 0] += 1
            let ci = GeneratedCorpus.customerIndex(t.customerId)
            let profile = w.customers[ci]
            let typical = w.typicalAmount(customer: ci)
            let list = byCustomer[t.customerId]!
            let k = position[i]!
            var ok = true
            switch label.pattern {
            case .velocityAttack:
                let near = list.filter { abs(c.transactions[$0].timeMillis - t.timeMillis) <= 20 * 60_000 }
                ok = near.count >= 6 || t.timeMillis > end - 20 * 60_000
            case .impossibleTravel:
                guard k > 0 else { ok = false; break }
                let p = c.transactions[list[k - 1]]
                let km = greatCircleKm(lat1: p.location.lat, lon1: p.location.lon, lat2: t.location.lat, lon2: t.location.lon)
                let hours = Double(t.timeMillis - p.timeMillis) / 3_600_000
                ok = km > 2_000 && (hours <= 0 || km / hours > 1_000) && hours < 2
            case .amountSpike:
                ok = t.amount >= 4.9 * typical
            case .unusualHours:
                let local = Int(((t.timeMillis / 60_000 + Int64(t.utcOffsetMinutes)) % 1440 + 1440) % 1440) / 60
                ok = local < 5 && t.amount >= 1.4 * typical
            case .categoryDeviation:
                let cat = MerchantCategory(name: t.merchantCategory)!
                ok = !profile.prefers(cat) && ["jewellery", "electronics", "gift-cards"].contains(t.merchantCategory)
                    && t.amount > typical
            case .compromisedMerchant:
                compromisedCustomers[t.merchantId, default: []].insert(t.customerId)
                compromisedStart[t.merchantId] = min(compromisedStart[t.merchantId] ?? .max, t.timeMillis)
                ok = t.channel == "pos"
            case .accountTakeover:
                let home = w.cities[Int(profile.homeCity)].country
                ok = t.location.country != home && ["ecommerce", "mobile"].contains(t.channel) && t.amount >= 2.9 * typical
            }
            if !ok { failures[label.pattern, default: 0] += 1 }
        }
        for p in FraudPattern.allCases { #expect((seen[p] ?? 0) > 0, "no \(p.rawValue)") }
        #expect(failures.isEmpty, "signature mismatches: \(failures) of \(seen)")
        // Compromised terminals run over days: their shape is checked on whole episodes
        // (aCompromisedTerminalRunsManyCustomersCardsOverDays).
        #expect(!compromisedCustomers.isEmpty && !compromisedStart.isEmpty)
    }

    /// A compromised terminal: 20–60 different customers' cards at one grocery, fuel,
    /// restaurant or retail merchant, in person, the first at once and the rest within 1–4 days.
    @Test func aCompromisedTerminalRunsManyCustomersCardsOverDays() {
        var config = GeneratorConfig(startMillis: 1_767_225_600_000)
        config.customers = 10_000
        config.seed = 5
        var g = TransactionGenerator(config: config)
        var spans: [Int64] = []
        for i in 0..<40 {
            let t = 1_767_225_600_000 + Int64(i) * 5 * 86_400_000
            g.pending = Heap()
            let started = g.compromisedMerchant(at: t)
            #expect(started)
            let episode = g.pending.unordered
            let merchants = Set(episode.map(\.merchant)), customers = Set(episode.map(\.customer))
            #expect(merchants.count == 1 && customers.count == episode.count && (20...60).contains(episode.count), "episode \(i)")
            #expect(episode.allSatisfy { $0.pattern == .compromisedMerchant && $0.channel == .pos })
            let cat = MerchantCategory(rawValue: Int(g.world.merchants.category[Int(merchants.first!)]))!
            #expect([.grocery, .fuel, .restaurant, .retail].contains(cat))
            let times = episode.map(\.time)
            #expect(times.min() == t && times.max()! - t <= 4 * 86_400_000)
            spans.append(times.max()! - t)
        }
        // Over days, not hours: what lets the first victims' reports warn of the later ones.
        #expect(spans.filter { $0 > 86_400_000 / 2 }.count >= 35)
    }

    /// The bank's reports: only of fraud, each hours to a month after it, emitted in event-time
    /// order once its time has come, from their own random stream (transactions unchanged).
    @Test func fraudReportsComeLateInOrderAndLeaveTheTransactionsAlone() {
        var config = GeneratorConfig(startMillis: 1_767_225_600_000)
        // 44 days of event time: every report of the first fortnight's fraud is due.
        config.customers = 1_000
        config.ratePerSecond = 1_000 * 4.5 / 86_400
        config.seed = 11
        var plain = TransactionGenerator(config: config)
        config.reports = true
        var g = TransactionGenerator(config: config)
        var fraud: [String: FraudLabel] = [:]
        var reports: [FraudReport] = []
        var lastReport = Int64.min
        for _ in 0..<200_000 {
            let (t, l) = g.next()
            let (p, pl) = plain.next()
            #expect(t == p && l == pl)
            if let l { fraud[l.transactionId] = l }
            while let r = g.nextReport() {
                #expect(r.reportedAtMillis <= g.clockMillis && r.reportedAtMillis >= lastReport)
                lastReport = r.reportedAtMillis
                reports.append(r)
            }
        }
        #expect(plain.pendingReportCount == 0 && plain.nextReport() == nil)
        let end = g.clockMillis
        var reported = Set<String>()
        for r in reports {
            let l = fraud[r.transactionId]
            #expect(l != nil, "\(r.transactionId) is reported but not fraud")
            guard let l else { continue }
            #expect(reported.insert(r.transactionId).inserted, "\(r.transactionId) reported twice")
            let delay = r.reportedAtMillis - l.timeMillis
            #expect(delay >= 2 * 3_600_000 && delay <= 30 * 86_400_000 && r.fraudTimeMillis == l.timeMillis)
            #expect(r.customerId == l.customerId && r.amount == l.amount)
        }
        // Of the fraud old enough for every report to be due (30 days), about 90 % reported;
        // of the last day's, none can be yet beyond the 40 % reported within a day.
        let old = fraud.values.filter { $0.timeMillis < end - 30 * 86_400_000 }
        let share = Double(old.filter { reported.contains($0.transactionId) }.count) / Double(max(old.count, 1))
        #expect(old.count > 500 && abs(share - 0.9) < 0.03, "\(old.count) old frauds, \(share) reported")
        let recent = fraud.values.filter { $0.timeMillis > end - 2 * 3_600_000 }
        #expect(!recent.isEmpty && recent.allSatisfy { !reported.contains($0.transactionId) })
        #expect(g.pendingReportCount > 0)
    }

    @Test func accountTakeoverSilencesTheCustomer() {
        let c = GeneratedCorpus.shared
        // Between the first and the last takeover transaction, the customer does nothing genuine.
        var spans: [String: (Int64, Int64)] = [:]
        for (i, l) in c.labels.enumerated() where l?.pattern == .accountTakeover {
            let t = c.transactions[i]
            let s = spans[t.customerId] ?? (t.timeMillis, t.timeMillis)
            spans[t.customerId] = (min(s.0, t.timeMillis), max(s.1, t.timeMillis))
        }
        #expect(!spans.isEmpty)
        for (i, t) in c.transactions.enumerated() where c.labels[i] == nil {
            if let s = spans[t.customerId] { #expect(!(t.timeMillis > s.0 && t.timeMillis < s.1)) }
        }
    }

    @Test func genuineSpendingLooksLikeTheCustomer() {
        let c = GeneratedCorpus.shared
        let w = c.world
        var genuine = 0, daytime = 0, preferred = 0, atHome = 0, pos = 0, typicalish = 0
        for (i, t) in c.transactions.enumerated() where c.labels[i] == nil {
            genuine += 1
            let ci = GeneratedCorpus.customerIndex(t.customerId)
            let profile = w.customers[ci]
            let hour = Int(((t.timeMillis / 60_000 + Int64(t.utcOffsetMinutes)) % 1440 + 1440) % 1440) / 60
            if (6..<22).contains(hour) { daytime += 1 }
            if profile.prefers(MerchantCategory(name: t.merchantCategory)!) { preferred += 1 }
            if t.location.city == w.cities[Int(profile.homeCity)].name { atHome += 1 }
            if t.channel == "pos" { pos += 1 }
            if t.amount < 4 * w.typicalAmount(customer: ci) { typicalish += 1 }
        }
        let g = Double(genuine)
        #expect(Double(daytime) / g > 0.95, "daytime \(Double(daytime) / g)")
        #expect(Double(preferred) / g > 0.85, "preferred \(Double(preferred) / g)")
        #expect(Double(atHome) / g > 0.8, "at home \(Double(atHome) / g)")
        #expect(Double(pos) / g > 0.5, "pos \(Double(pos) / g)")
        #expect(Double(typicalish) / g > 0.95, "typical amounts \(Double(typicalish) / g)")
    }

    @Test func aMillionCustomersFitInAFewBytesEach() {
        #expect(MemoryLayout<CustomerProfile>.stride <= 48)
        #expect(MemoryLayout<CustomerState>.stride <= 40)
    }
}
