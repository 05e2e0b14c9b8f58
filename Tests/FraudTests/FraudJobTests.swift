import Foundation
import KafkaClient
import NIOCore
@testable import Fraud
@testable import Jobs
@testable import Streams
import Testing

/// jobs/fraud-scoring.yaml run through the runtime's code path, every score checked against a
/// brute-force computation of each rule from the customer's earlier transactions.
@Suite struct FraudJobTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func pipeline() throws -> LocalPipeline {
        switch JobFile.load(path: repo.appendingPathComponent("jobs/fraud-scoring.yaml").path) {
        case .failure(let d): Issue.record("\(d.rendered)"); throw d
        case .success(let f): return try LocalPipeline(job: JobPlanner.plan(f).job)
        }
    }

    struct Rng {
        var s: UInt64
        mutating func next(_ n: Int) -> Int {
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Int((s >> 33) % UInt64(n))
        }
    }

    static let cities: [(String, String, Double, Double, Int)] = [
        ("London", "GB", 51.5072, -0.1276, 0), ("Paris", "FR", 48.8566, 2.3522, 60), ("New York", "US", 40.7128, -74.0060, -300),
        ("Tokyo", "JP", 35.6762, 139.6503, 540), ("Manchester", "GB", 53.4808, -2.2426, 0), ("Lagos", "NG", 6.5244, 3.3792, 60),
    ]
    static let categories = ["grocery", "fuel", "restaurant", "retail", "jewellery", "electronics"]

    /// Customers with bursts, trips, night purchases and spikes, in arrival order.
    static func traffic(_ n: Int) -> [Transaction] {
        var rng = Rng(s: 7)
        var out: [Transaction] = []
        var t: Int64 = 1_767_225_600_000
        for i in 0..<n {
            // Bursts: sometimes the next transaction is seconds later, for the same customer.
            let burst = rng.next(8) == 0 && !out.isEmpty
            t += burst ? Int64(5_000 + rng.next(60_000)) : Int64(rng.next(900_000))
            let customer = burst ? out.last!.customerId : "c\(rng.next(12))"
            let city = cities[rng.next(10) < 7 ? (Int(customer.dropFirst())! % 2) * 4 : rng.next(cities.count)]
            let amount = rng.next(15) == 0 ? Double(500 + rng.next(5000)) : Double(5 + rng.next(120)) + Double(rng.next(100)) / 100
            let cat = categories[rng.next(12) == 0 ? 4 + rng.next(2) : rng.next(4)]
            out.append(Transaction(transactionId: "t\(i)", customerId: customer, amount: amount, currency: "EUR",
                                   merchantId: "m\(rng.next(30))", merchantCategory: cat, channel: "pos",
                                   cardNumber: "4000123412341\(String(format: "%03d", Int(customer.dropFirst())!))", timeMillis: t,
                                   utcOffsetMinutes: city.4, location: .init(lat: city.2, lon: city.3, city: city.0, country: city.1)))
        }
        return out
    }

    static func km(_ a: Transaction.Location, _ b: Transaction.Location) -> Double {
        let r = Double.pi / 180
        let x = sin((b.lat - a.lat) * r / 2), y = sin((b.lon - a.lon) * r / 2)
        let h = x * x + cos(a.lat * r) * cos(b.lat * r) * y * y
        return 2 * 6371.0088 * asin(min(1, h.squareRoot()))
    }

    /// The shipped model, read here with Foundation (not the job's decoder) and walked by this
    /// file's own code.
    struct Walker: @unchecked Sendable {
        var inputs: [(name: String, categories: [String]?)] = []
        var base = 0.0
        var trees: [(f: [Int], th: [Double], l: [Int], r: [Int], ml: [Bool], v: [Double])] = []
    }
    static let model: Walker = {
        let o = try! JSONSerialization.jsonObject(with: Data(contentsOf: repo.appendingPathComponent("models/fraud-gbdt.json"))) as! [String: Any]
        var w = Walker()
        w.inputs = (o["inputs"] as! [[String: Any]]).map { ($0["name"] as! String, $0["categories"] as? [String]) }
        w.base = o["baseScore"] as! Double
        w.trees = (o["trees"] as! [[String: Any]]).map {
            ($0["feature"] as! [Int], $0["threshold"] as! [Double], $0["left"] as! [Int], $0["right"] as! [Int],
             $0["missingLeft"] as! [Bool], $0["value"] as! [Double])
        }
        return w
    }()

    static func round(_ x: Double?, _ places: Double) -> Double? {
        x.map { ($0 * pow(10, places)).rounded(.toNearestOrAwayFromZero) / pow(10, places) }
    }

    /// The model's probability for named inputs (nil: missing; strings: categories).
    static func probability(_ inputs: [String: Any?]) -> Double {
        var x: [Double] = []
        for input in model.inputs {
            let v = inputs[input.name] ?? nil
            if let cats = input.categories {
                for c in cats { x.append((v as? String) == c ? 1 : 0) }
            } else if let b = v as? Bool {
                x.append(b ? 1 : 0)
            } else if let d = v as? Double {
                x.append(d)
            } else if let i = v as? Int {
                x.append(Double(i))
            } else {
                x.append(.nan)
            }
        }
        var z = model.base
        for t in model.trees {
            var n = 0
            while t.f[n] >= 0 { n = (x[t.f[n]].isNaN ? t.ml[n] : x[t.f[n]] < t.th[n]) ? t.l[n] : t.r[n] }
            z += t.v[n]
        }
        return 1 / (1 + exp(-z))
    }

    /// The job file's defaults for what a ruleset on fraud-rules may change, written out again
    /// for the oracle.
    struct Params {
        var threshold = 0.8, rulesWeight = 0.3, modelWeight = 1.4
        var velocity = 0.5, amount = 0.3, spike = 0.5, location = 0.2, travel = 0.9, time = 0.1, night = 0.3, country = 0.3, category = 0.4
        var burstCount = 5, spikeFactor = 6.0, travelKmh = 900.0, nightBefore = 5
        var merchant = 0.3, merchantMinReports = 4
    }

    /// Versions of merchants' fraud reports (fraud-merchant-risk), as the oracle reads them:
    /// merchant → (valid from, reports in the 24 hours and 7 days up to then), oldest first.
    typealias MerchantRisk = [String: [(from: Int64, reports24h: Int, reports7d: Int)]]

    /// The merchant's reports as the job must see them at `t`: the version in force then, its
    /// age in whole hours, its counts while younger than their span.
    static func merchantFeedback(_ risk: MerchantRisk, _ merchant: String, at t: Int64) -> (day: Int, week: Int, ageHours: Int?) {
        guard let v = risk[merchant]?.last(where: { $0.from <= t }) else { return (0, 0, nil) }
        let age = Int((t - v.from) / 3_600_000)
        return (age < 24 ? v.reports24h : 0, age < 168 ? v.reports7d : 0, age)
    }

    /// Versions spread over `traffic(3000)`'s fortnight: merchants reported before some of
    /// their transactions and after others, one version below the threshold, one aged past a
    /// week, and one after the last transaction (which no score may see).
    static func merchantRiskFixture(_ txs: [Transaction]) -> (records: [(key: String?, json: String?)], risk: MerchantRisk) {
        let t0 = txs.first!.timeMillis, day: Int64 = 86_400_000
        let versions: [(String, Int64, Int, Int)] = [
            ("m3", t0 + 2 * day, 5, 6), ("m3", t0 + 4 * day, 1, 3), ("m3", t0 + 10 * day, 4, 4),
            ("m5", t0 + day / 2, 4, 4), ("m11", t0 + 3 * day, 7, 9), ("m17", txs.last!.timeMillis + 1, 9, 9),
        ]
        var risk: MerchantRisk = [:]
        var records: [(key: String?, json: String?)] = []
        for (m, from, d, w) in versions {
            risk[m, default: []].append((from, d, w))
            records.append((m, #"{"merchant_id":"\#(m)","valid_from":"\#(Timestamp(millis: from).iso8601)","reports_24h":\#(d),"reports_7d":\#(w),"reports_30d":\#(w)}"#))
        }
        // Out of order on the topic: a version older than one already read still counts.
        records.swapAt(0, 2)
        return (records, risk)
    }

    /// What each rule of the job file says, from the customer's earlier transactions.
    static func expected(_ tx: Transaction, before: [Transaction], _ q: Params = Params(), risk merchantRisk: MerchantRisk = [:]) -> (hits: [String: Bool], bank: Double, risk: Double) {
        let inLastHour = before.filter { tx.timeMillis - $0.timeMillis <= 3_600_000 }.count + 1
        let in10m = before.filter { tx.timeMillis - $0.timeMillis <= 600_000 }.count + 1
        let avg = before.isEmpty ? nil : before.map(\.amount).reduce(0, +) / Double(before.count)
        let prev = before.last
        let dist = prev.map { km($0.location, tx.location) }
        let hours = prev.map { Double(max((tx.timeMillis - $0.timeMillis) / 1000, 60)) / 3600 }
        let hour = Int(((tx.timeMillis / 1000 + Int64(tx.utcOffsetMinutes) * 60) % 86_400 + 86_400) % 86_400 / 3600)
        let countrySeen = before.contains { $0.location.country == tx.location.country }
        let categorySeen = before.contains { $0.merchantCategory == tx.merchantCategory }
        var h: [String: Bool] = [:]
        h["velocity_hit"] = inLastHour > 5
        h["amount_hit"] = avg.map { tx.amount > 3 * $0 } ?? false
        h["location_hit"] = (dist ?? 0) > 804.672
        h["time_hit"] = hour < 6 || hour >= 22
        h["travel_hit"] = dist.map { $0 > 300 && $0 / hours! > q.travelKmh } ?? false
        h["burst_hit"] = in10m >= q.burstCount
        h["spike_hit"] = before.count >= 3 && tx.amount > q.spikeFactor * avg!
        h["night_hit"] = hour < q.nightBefore
        h["new_country_hit"] = before.count >= 5 && !countrySeen
        h["new_category_hit"] = before.count >= 10 && !categorySeen
        let feedback = merchantFeedback(merchantRisk, tx.merchantId, at: tx.timeMillis)
        h["merchant_hit"] = feedback.day >= q.merchantMinReports
        func w(_ k: String, _ v: Double) -> Double { h[k]! ? v : 0 }
        let bank = w("velocity_hit", 0.4) + w("amount_hit", 0.3) + w("location_hit", 0.2) + w("time_hit", 0.1)
        let parts = [h["velocity_hit"]! || h["burst_hit"]! ? q.velocity : 0,
                     h["spike_hit"]! ? q.spike : w("amount_hit", q.amount),
                     h["travel_hit"]! ? q.travel : w("location_hit", q.location),
                     h["night_hit"]! ? q.night : w("time_hit", q.time),
                     w("new_country_hit", q.country), w("new_category_hit", q.category), w("merchant_hit", q.merchant)]
        let rules = (min(parts.reduce(0, +), 1) * 10_000).rounded() / 10_000
        // The learned score's inputs, computed here from the history.
        let sameCat = before.filter { $0.merchantCategory == tx.merchantCategory }
        let located = before
        let home = located.isEmpty ? nil : Transaction.Location(lat: located.map(\.location.lat).reduce(0, +) / Double(located.count),
                                                                 lon: located.map(\.location.lon).reduce(0, +) / Double(located.count), city: "", country: "")
        let catAvg = sameCat.isEmpty ? nil : sameCat.map(\.amount).reduce(0, +) / Double(sameCat.count)
        let prevMax = before.map(\.amount).max(), catMax = sameCat.map(\.amount).max()
        let speed = dist.map { ($0 / hours!).rounded(.toNearestOrAwayFromZero) }
        let p = probability([
            "tx_last_10m": in10m, "tx_last_hour": inLastHour,
            "tx_last_24h": before.filter { tx.timeMillis - $0.timeMillis <= 86_400_000 }.count + 1,
            "prev_count": before.count, "amount_ratio": round(avg.map { tx.amount / $0 }, 3),
            "category_ratio": round(catAvg.map { tx.amount / $0 }, 3), "max_ratio": round(prevMax.map { tx.amount / $0 }, 3),
            "category_max_ratio": round(catMax.map { tx.amount / $0 }, 3), "category_seen": sameCat.count,
            "country_seen": before.filter { $0.location.country == tx.location.country }.count,
            "distance_km": round(dist, 1), "km_from_home": round(home.map { km($0, tx.location) }, 1), "speed_kmh": speed,
            "local_hour": hour, "resellable": ["electronics", "jewellery", "gift-cards", "online"].contains(tx.merchantCategory),
            "remote": ["ecommerce", "mobile"].contains(tx.channel), "amount": tx.amount,
            "merchant_category": tx.merchantCategory, "channel": tx.channel,
            "merchant_reports_24h": feedback.day, "merchant_reports_7d": feedback.week, "merchant_report_age_h": feedback.ageHours,
        ])
        let modelScore = (p * 10_000).rounded() / 10_000
        let risk = (min(q.rulesWeight * rules + q.modelWeight * modelScore, 1) * 10_000).rounded() / 10_000
        return (h, (bank * 10_000).rounded() / 10_000, risk)
    }

    static func objects(_ out: [ProducerRecord], topic: String) -> [[String: Any]] {
        out.filter { $0.topic == topic }.map { r in
            var b = r.value!
            return try! JSONSerialization.jsonObject(with: Data(b.readBytes(length: b.readableBytes)!)) as! [String: Any]
        }
    }

    @Test func everyTransactionIsScoredAtOnceAsTheRulesSay() throws {
        let p = try Self.pipeline()
        let txs = Self.traffic(3000)
        // Merchant risk is versioned: each transaction meets the version in force at its own
        // event time, whatever the table holds by then (here: all of it, before the first).
        let (riskRecords, risk) = Self.merchantRiskFixture(txs)
        // A version without its start is refused (dead-lettered), the others load.
        #expect(p.loadTable(topic: "fraud-merchant-risk", riskRecords + [("m9", #"{"reports_7d":4}"#)])
                == ["byte 0: field valid_from is missing or null, and the schema says NOT NULL"])
        var history: [String: [Transaction]] = [:]
        var alerts = 0, firedRules = Set<String>(), merchantHits = 0
        for (i, tx) in txs.enumerated() {
            // The watermark is not moved: arrival order scores without waiting for it.
            p.push(topic: "transactions", value: tx.jsonBytes, key: Array(tx.customerId.utf8), timestamp: tx.timeMillis + 3, advance: false)
            let out = p.drain()
            let scores = Self.objects(out, topic: "fraud-scores")
            try #require(scores.count == 1, "transaction \(i) gave \(scores.count) scores")
            let s = scores[0]
            let want = Self.expected(tx, before: history[tx.customerId, default: []], risk: risk)
            history[tx.customerId, default: []].append(tx)
            #expect(s["transaction_id"] as? String == tx.transactionId)
            let feedback = Self.merchantFeedback(risk, tx.merchantId, at: tx.timeMillis)
            #expect(s["merchant_reports_24h"] as? Int == feedback.day, "\(tx.transactionId) merchant reports (24 h)")
            #expect(s["merchant_reports_7d"] as? Int == feedback.week, "\(tx.transactionId) merchant reports (7 days)")
            #expect(s["merchant_report_age_h"] as? Int == feedback.ageHours, "\(tx.transactionId) merchant report age")
            if want.hits["merchant_hit"]! { merchantHits += 1 }
            for (k, v) in want.hits {
                #expect(s[k] as? Bool == v, "\(tx.transactionId) \(k)")
                if v { firedRules.insert(k) }
            }
            #expect(abs((s["bank_score"] as! Double) - want.bank) < 1e-9, "\(tx.transactionId) bank score")
            #expect(abs((s["risk_score"] as! Double) - want.risk) < 1e-9, "\(tx.transactionId) risk score")
            let a = Self.objects(out, topic: "fraud-alerts")
            #expect(a.count == (want.risk > 0.8 ? 1 : 0), "\(tx.transactionId) alert")
            if let alert = a.first {
                alerts += 1
                #expect(alert["alert_id"] as? String == "alert-\(tx.transactionId)")
                #expect(alert["card"] as? String == "**** " + tx.cardNumber.suffix(4))
                #expect(alert["source_topic"] as? String == "transactions")
                #expect(alert["source_offset"] as? Int == i)
                #expect((alert["produced_at"] as? String).flatMap { Timestamp(parsing: $0)?.millis } == tx.timeMillis + 3)
                #expect((alert["evidence"] as? String)?.isEmpty == false)
                if want.hits["velocity_hit"]! {
                    #expect((alert["evidence"] as! String).contains("transactions in 60 min > 5"))
                }
                if want.hits["merchant_hit"]! {
                    #expect((alert["evidence"] as! String).contains("confirmed fraud reports at this merchant"))
                }
            }
            // Alerts and scores are stamped with their detection time, not the event time.
            let wall = Int64(Date().timeIntervalSince1970 * 1000)
            for r in out where r.topic != "transactions-dlq" {
                #expect(abs((r.timestamp ?? 0) - wall) < 10_000, "\(r.topic) record timestamp")
            }
            // The card number never leaves the job.
            for r in out {
                var b = r.value!
                #expect(!String(decoding: b.readBytes(length: b.readableBytes)!, as: UTF8.self).contains(tx.cardNumber))
            }
        }
        #expect(alerts > 10)
        // The 5-minute fraud rate: transactions and alerts per window of event time.
        p.finish()
        var want: [Int64: (Int, Int)] = [:]
        for tx in txs {
            let w = tx.timeMillis / 300_000 * 300_000
            let alerted = Self.expected(tx, before: history[tx.customerId]!.prefix { $0.transactionId != tx.transactionId }.map { $0 }, risk: risk).risk > 0.8
            want[w, default: (0, 0)].0 += 1
            if alerted { want[w, default: (0, 0)].1 += 1 }
        }
        let rates = Self.objects(p.drain(), topic: "fraud-metrics")
        #expect(rates.count == want.count)
        for r in rates {
            let w = Timestamp(parsing: r["window_start"] as! String)!.millis
            #expect(r["transactions"] as? Int == want[w]?.0 && r["alerts"] as? Int == want[w]?.1, "window \(w)")
            let rate = Double(want[w]!.1) / Double(want[w]!.0)
            #expect(abs((r["alert_rate"] as! Double) - (rate * 10_000).rounded() / 10_000) < 1e-9)
            #expect(r["above_alarm"] as? Bool == ((rate * 10_000).rounded() / 10_000 > 0.05))
        }
        #expect(firedRules == Set(FraudRules.hits), "rules that never fired: \(Set(FraudRules.hits).subtracting(firedRules))")
        #expect(merchantHits > 20)
        // m17's only version starts after the last transaction: its scores (checked above to
        // have no report) are the leak test.
        #expect(txs.filter { $0.merchantId == "m17" }.count > 20)
    }

    /// Block lists are tables: a transaction with a blocked card or merchant alerts with risk 1
    /// and says why; a lifted block (tombstone) and a record without a reason block nothing;
    /// every other transaction scores as the rules say.
    @Test func aBlockedCardOrMerchantAlertsWithRiskOneAndSaysWhy() throws {
        let p = try Self.pipeline()
        let txs = Self.traffic(600)
        let card = txs[10].cardNumber, merchant = "m7"
        #expect(p.loadTable(topic: "fraud-blocked-cards", [(card, #"{"reason":"reported stolen"}"#)]).isEmpty)
        #expect(p.loadTable(topic: "fraud-blocked-merchants", [(merchant, #"{"reason":"breach"}"#), ("m8", #"{"note":"no reason"}"#)]).count == 1)
        #expect(p.loadTable(topic: "fraud-blocked-countries", [("NG", #"{"reason":"sanctions"}"#), ("NG", nil)]).isEmpty)
        var history: [String: [Transaction]] = [:]
        var blockedSeen = 0, lagos = 0
        for tx in txs {
            p.push(topic: "transactions", value: tx.jsonBytes, key: Array(tx.customerId.utf8), timestamp: tx.timeMillis, advance: false)
            let out = p.drain()
            let s = try #require(Self.objects(out, topic: "fraud-scores").first)
            let want = Self.expected(tx, before: history[tx.customerId, default: []])
            history[tx.customerId, default: []].append(tx)
            let blocked = tx.cardNumber == card || tx.merchantId == merchant
            if tx.location.country == "NG" { lagos += 1 }
            #expect(s["blocked_hit"] as? Bool == blocked, "\(tx.transactionId)")
            #expect(abs((s["risk_score"] as! Double) - (blocked ? 1.0 : want.risk)) < 1e-9, "\(tx.transactionId) risk score")
            let alert = Self.objects(out, topic: "fraud-alerts").first
            guard blocked else { continue }
            blockedSeen += 1
            let a = try #require(alert, "\(tx.transactionId): a blocked transaction alerts")
            #expect((a["rules"] as? String)?.contains("block-list") == true)
            let evidence = a["evidence"] as? String ?? ""
            if tx.cardNumber == card { #expect(evidence.contains("card on the block list: reported stolen"), "\(evidence)") }
            if tx.merchantId == merchant { #expect(evidence.contains("merchant on the block list: breach"), "\(evidence)") }
        }
        #expect(blockedSeen > 10 && lagos > 0)
    }

    /// Allow lists are tables: a transaction with an allowed card or merchant is scored as the
    /// rules say but raises no alert — unless it is blocked as well; an entry past its
    /// `valid_until` allows nothing.
    @Test func anAllowedCardOrMerchantIsScoredButDoesNotAlertUnlessBlocked() throws {
        let txs = Self.traffic(600)
        // The oracle's risks first: allow the card and the merchant with the most alerts.
        var history: [String: [Transaction]] = [:]
        var risks: [Double] = []
        for tx in txs {
            risks.append(Self.expected(tx, before: history[tx.customerId, default: []]).risk)
            history[tx.customerId, default: []].append(tx)
        }
        func mostAlerting(_ key: (Transaction) -> String, except: Set<String> = []) -> String {
            var n: [String: Int] = [:]
            for (tx, r) in zip(txs, risks) where r > 0.8 && !except.contains(key(tx)) { n[key(tx), default: 0] += 1 }
            return n.max { ($0.value, $1.key) < ($1.value, $0.key) }!.key
        }
        let card = mostAlerting(\.cardNumber)
        let expiredCard = mostAlerting(\.cardNumber, except: [card])
        let merchant = mostAlerting(\.merchantId)
        let blockedToo = mostAlerting(\.merchantId, except: [merchant])
        let p = try Self.pipeline()
        #expect(p.loadTable(topic: "fraud-allowed-cards", [(card, #"{"reason":"travelling, told the bank"}"#),
                                                             (expiredCard, #"{"reason":"last year","valid_until":"2025-12-31T00:00:00Z"}"#)]).isEmpty)
        #expect(p.loadTable(topic: "fraud-allowed-merchants", [(merchant, #"{"reason":"rules misread it","valid_until":"2027-01-01T00:00:00Z"}"#),
                                                                 (blockedToo, #"{"reason":"allowed"}"#)]).isEmpty)
        #expect(p.loadTable(topic: "fraud-blocked-merchants", [(blockedToo, #"{"reason":"breach"}"#)]).isEmpty)
        var silenced = 0, blockedAlerts = 0, expiredAlerts = 0
        for (tx, risk) in zip(txs, risks) {
            p.push(topic: "transactions", value: tx.jsonBytes, key: Array(tx.customerId.utf8), timestamp: tx.timeMillis, advance: false)
            let out = p.drain()
            let s = try #require(Self.objects(out, topic: "fraud-scores").first)
            let allowed = tx.cardNumber == card || tx.merchantId == merchant || tx.merchantId == blockedToo
            let blocked = tx.merchantId == blockedToo
            #expect(s["allowed_hit"] as? Bool == allowed, "\(tx.transactionId)")
            #expect(abs((s["risk_score"] as! Double) - (blocked ? 1.0 : risk)) < 1e-9, "\(tx.transactionId): an allowed transaction is still scored")
            let alerted = !Self.objects(out, topic: "fraud-alerts").isEmpty
            #expect(alerted == (blocked || (!allowed && risk > 0.8)), "\(tx.transactionId) allowed \(allowed) blocked \(blocked) risk \(risk)")
            #expect(s["alert"] as? Bool == alerted)
            if allowed && !blocked && risk > 0.8 { silenced += 1 }
            if blocked { blockedAlerts += 1 }
            if tx.cardNumber == expiredCard && risk > 0.8 && !allowed { expiredAlerts += 1 }
        }
        #expect(silenced >= 2 && blockedAlerts >= 1 && expiredAlerts >= 1, "silenced \(silenced), blocked \(blockedAlerts), expired \(expiredAlerts)")
    }

    /// A ruleset on fraud-rules changes the very next transaction's score and alert, every
    /// alert and score names its version; a challenger is scored beside it in shadow (its own
    /// parameters over the champion's) and writes fraud-alerts-shadow; a record without a
    /// version changes nothing; tombstones end the shadow run and restore the defaults.
    @Test func aPublishedRulesetTakesEffectAtTheNextTransactionAndAChallengerRunsInShadow() throws {
        let p = try Self.pipeline()
        let txs = Self.traffic(1000)
        var history: [String: [Transaction]] = [:]
        var champion = Params(), challenger: Params? = nil
        var version = "recommended-2", challengerVersion: String? = nil
        var alertsSeen = 0, shadowSeen = 0, differ = 0
        for (i, tx) in txs.enumerated() {
            switch i {
            case 200:
                #expect(p.loadTable(topic: "fraud-rules", [("champion", #"{"version":"night-owl-1","alert_threshold":0.5,"w_night":0.6,"burst_count":3,"model_weight":1.0,"spike_factor":4}"#)]).isEmpty)
                champion.threshold = 0.5; champion.night = 0.6; champion.burstCount = 3; champion.modelWeight = 1.0; champion.spikeFactor = 4
                version = "night-owl-1"
            case 400:
                #expect(p.loadTable(topic: "fraud-rules", [("challenger", #"{"version":"cautious-1","rules_weight":0.6,"travel_kmh":500,"alert_threshold":0.7}"#)]).isEmpty)
                var c = champion
                c.rulesWeight = 0.6; c.travelKmh = 500; c.threshold = 0.7
                challenger = c
                challengerVersion = "cautious-1"
            case 600:
                // No version: dead-lettered, the champion stays.
                #expect(p.loadTable(topic: "fraud-rules", [("champion", #"{"alert_threshold":0.1}"#)]).count == 1)
            case 800:
                #expect(p.loadTable(topic: "fraud-rules", [("challenger", nil), ("champion", nil)]).isEmpty)
                champion = Params(); challenger = nil; version = "recommended-2"; challengerVersion = nil
            default: break
            }
            p.push(topic: "transactions", value: tx.jsonBytes, key: Array(tx.customerId.utf8), timestamp: tx.timeMillis, advance: false)
            let out = p.drain()
            let s = try #require(Self.objects(out, topic: "fraud-scores").first)
            let before = history[tx.customerId, default: []]
            history[tx.customerId, default: []].append(tx)
            let want = Self.expected(tx, before: before, champion)
            let risk = s["risk_score"] as! Double
            #expect(abs(risk - want.risk) < 1e-9, "\(tx.transactionId) risk score under \(version)")
            #expect(s["ruleset"] as? String == version)
            #expect(s["alert"] as? Bool == (want.risk > champion.threshold), "\(tx.transactionId)")
            let alert = Self.objects(out, topic: "fraud-alerts").first
            #expect((alert != nil) == (want.risk > champion.threshold), "\(tx.transactionId) alert under \(version)")
            if let alert {
                alertsSeen += 1
                #expect(alert["ruleset"] as? String == version)
            }
            let shadow = Self.objects(out, topic: "fraud-alerts-shadow").first
            if let c = challenger {
                let sw = Self.expected(tx, before: before, c)
                #expect(abs((s["shadow_score"] as? Double ?? -1) - sw.risk) < 1e-9, "\(tx.transactionId) shadow score")
                #expect(s["shadow_ruleset"] as? String == challengerVersion)
                #expect((shadow != nil) == (sw.risk > c.threshold), "\(tx.transactionId) shadow alert")
                if let shadow {
                    shadowSeen += 1
                    #expect(shadow["ruleset"] as? String == challengerVersion && shadow["champion_ruleset"] as? String == version)
                }
                if (sw.risk > c.threshold) != (want.risk > champion.threshold) { differ += 1 }
            } else {
                #expect(s["shadow_score"] is NSNull && shadow == nil, "\(tx.transactionId): no challenger, no shadow")
            }
        }
        #expect(alertsSeen > 20 && shadowSeen > 5 && differ > 0, "alerts \(alertsSeen), shadow alerts \(shadowSeen), decisions that differ \(differ)")
    }

    /// The rulesets table of the job file and `riverbank fraud ruleset`'s validator agree on
    /// every parameter's name and type.
    @Test func theJobsRulesetTableHoldsExactlyTheParametersTheCLIValidates() throws {
        guard case .success(let f) = JobFile.load(path: Self.repo.appendingPathComponent("jobs/fraud-scoring.yaml").path) else {
            Issue.record("the job file does not load"); return
        }
        let t = try #require(f.definition.tables.first { $0.name == "rulesets" })
        #expect(t.topic == FraudTopics.rules)
        #expect(t.fields.map(\.name) == ["version"] + FraudRuleset.parameters.map(\.name))
        for (field, p) in zip(t.fields.dropFirst(), FraudRuleset.parameters) {
            #expect(field.type.description == p.kind.sqlType, "\(p.name)")
        }
    }

    /// A bank whose events carry no location and no merchant category: the job runs, the rules
    /// on them are off (never hit), and the missing fields are reported with what depends on them.
    @Test func eventsWithoutALocationOrCategoryTurnThoseRulesOffWithAWarning() throws {
        guard case .success(let f) = JobFile.load(path: Self.repo.appendingPathComponent("jobs/fraud-scoring.yaml").path) else {
            Issue.record("the job file does not load"); return
        }
        let warnings = Locked<[String]>([])
        let p = try LocalPipeline(job: JobPlanner.plan(f, fieldCheck: FieldCheck(sample: 200) { m in warnings.withLock { $0.append(m) } }).job)
        let txs = Self.traffic(400)
        for tx in txs {
            var o = try JSONSerialization.jsonObject(with: Data(tx.jsonBytes)) as! [String: Any]
            o["location"] = nil
            o["merchant_category"] = nil
            p.push(topic: "transactions", value: Array(try JSONSerialization.data(withJSONObject: o)), key: Array(tx.customerId.utf8),
                   timestamp: tx.timeMillis, advance: false)
        }
        let out = p.drain()
        let scores = Self.objects(out, topic: "fraud-scores")
        #expect(scores.count == txs.count, "every transaction scored")
        for rule in ["location_hit", "travel_hit", "new_country_hit", "new_category_hit"] {
            #expect(scores.allSatisfy { $0[rule] as? Bool == false }, "\(rule) is off")
        }
        #expect(scores.contains { $0["velocity_hit"] as? Bool == true }, "the other rules still fire")
        let w = warnings.withLock { $0 }
        for field in ["location.lat", "location.lon", "location.country", "merchant_category"] {
            #expect(w.contains { $0.contains("field \(field) was absent or NULL in each of the first 200 records") }, "\(field): \(w)")
        }
        let lat = w.first { $0.contains("field location.lat") } ?? ""
        #expect(lat.contains("distance_km") && lat.contains("location_hit") && lat.contains("travel_hit"), "\(lat)")
        #expect(!w.contains { $0.contains("field amount") || $0.contains("field currency") }, "\(w)")

        // A customer whose events carry them until one does not: that one is not a new
        // country or a new category.
        var t = txs.last!.timeMillis
        for i in 0..<12 {
            t += 3_600_000
            let tx = Transaction(transactionId: "mixed-\(i)", customerId: "c-mixed", amount: 20, currency: "EUR", merchantId: "m1",
                                 merchantCategory: "grocery", channel: "pos", cardNumber: "4000123412340999", timeMillis: t,
                                 utcOffsetMinutes: 0, location: .init(lat: 51.5, lon: -0.12, city: "London", country: "GB"))
            var o = try JSONSerialization.jsonObject(with: Data(tx.jsonBytes)) as! [String: Any]
            if i == 11 {
                o["location"] = nil
                o["merchant_category"] = nil
            }
            p.push(topic: "transactions", value: Array(try JSONSerialization.data(withJSONObject: o)), key: Array(tx.customerId.utf8),
                   timestamp: tx.timeMillis, advance: false)
        }
        let last = try #require(Self.objects(p.drain(), topic: "fraud-scores").last)
        #expect(last["transaction_id"] as? String == "mixed-11")
        #expect(last["new_country_hit"] as? Bool == false && last["new_category_hit"] as? Bool == false, "\(last)")
    }

    @Test func aMalformedTransactionGoesToTheDeadLetterTopicAndScoringGoesOn() throws {
        let p = try Self.pipeline()
        p.push(topic: "transactions", value: Array(#"{"transaction_id":"t1","customer_id":"c1","amount":"lots","timestamp":"2026-01-01T10:00:00Z"}"#.utf8), timestamp: 1, advance: false)
        let tx = Self.traffic(1)[0]
        p.push(topic: "transactions", value: tx.jsonBytes, timestamp: 2, advance: false)
        let out = p.drain()
        #expect(out.filter { $0.topic == "transactions-dlq" }.count == 1)
        #expect(Self.objects(out, topic: "fraud-scores").count == 1)
    }
}
