import Foundation
import KafkaClient
import NIOCore
@testable import Jobs
@testable import Streams
import Testing

/// The analytics job files shipped in jobs/, run through the runtime's code path on generated
/// rows and checked against brute-force computations of what each one promises.
@Suite struct AnalyticsJobTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func pipeline(_ file: String) throws -> LocalPipeline {
        switch JobFile.load(path: Self.repo.appendingPathComponent("jobs/\(file)").path) {
        case .failure(let d): Issue.record("\(d.rendered)"); throw d
        case .success(let f): return try LocalPipeline(job: JobPlanner.plan(f).job)
        }
    }

    func objects(_ out: [ProducerRecord], topic: String) -> [[String: Any]] {
        out.filter { $0.topic == topic }.map { r in
            var b = r.value!
            return try! JSONSerialization.jsonObject(with: Data(b.readBytes(length: b.readableBytes)!)) as! [String: Any]
        }
    }

    struct Rng {
        var s: UInt64
        mutating func next(_ n: Int) -> Int {
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Int((s >> 33) % UInt64(n))
        }
    }

    static let t0: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z
    static func iso(_ ms: Int64, offsetMinutes: Int16 = 0) -> String { TimeText.iso8601(Timestamp(millis: ms, offsetMinutes: offsetMinutes)) }

    @Test func loginAnomaliesFindFailedBurstsAndFirstUseOfADeviceOrCountry() throws {
        struct Login { var id: String; var customer: String; var success: Bool; var device: String?; var country: String?; var ts: Int64 }
        var rng = Rng(s: 42)
        var logins: [Login] = []
        var t = Self.t0
        for i in 0..<4000 {
            t += Int64(rng.next(20_000))
            let c = "c\(rng.next(15))"
            let device: String? = rng.next(10) == 0 ? nil : "d\(rng.next(4))-\(c)"
            let country: String? = rng.next(12) == 0 ? nil : ["GB", "FR", "DE", "US"][rng.next(4) == 0 ? rng.next(4) : 0]
            logins.append(Login(id: "l\(i)", customer: c, success: rng.next(3) != 0, device: device, country: country, ts: t))
        }
        let p = try pipeline("login-anomalies.yaml")
        for l in logins {
            var fields = ["\"login_id\":\"\(l.id)\"", "\"customer_id\":\"\(l.customer)\"", "\"success\":\(l.success)", "\"timestamp\":\"\(Self.iso(l.ts, offsetMinutes: 60))\""]
            if let d = l.device { fields.append("\"device_id\":\"\(d)\"") }
            if let c = l.country { fields.append("\"country\":\"\(c)\"") }
            p.push(topic: "logins", json: "{" + fields.joined(separator: ",") + "}")
        }
        p.finish()
        let out = objects(p.drain(), topic: "login-anomalies")

        var bursts: [String: Int] = [:]
        for l in logins where !l.success { bursts["\(l.customer)@\(Self.iso(l.ts / 600_000 * 600_000))", default: 0] += 1 }
        let wantBursts = bursts.filter { $0.value >= 5 }
        var wantDevice = Set<String>(), wantCountry = Set<String>()
        for (_, ls) in Dictionary(grouping: logins, by: \.customer) {
            for (j, l) in ls.enumerated() where l.success && j > 0 {
                let before = ls[..<j]
                if let d = l.device, !before.contains(where: { $0.device == d }) { wantDevice.insert(l.id) }
                if let c = l.country, !before.contains(where: { $0.country == c }) { wantCountry.insert(l.id) }
            }
        }
        let gotBursts = out.filter { $0["kind"] as? String == "failed-attempts" }
        #expect(gotBursts.count == wantBursts.count)
        for b in gotBursts {
            #expect(wantBursts["\(b["customer_id"] as! String)@\(b["window_start"] as! String)"] == (b["failed_attempts"] as! Int))
        }
        #expect(Set(out.filter { $0["kind"] as? String == "new-device" }.map { $0["login_id"] as! String }) == wantDevice)
        #expect(Set(out.filter { $0["kind"] as? String == "new-country" }.map { $0["login_id"] as! String }) == wantCountry)
        #expect(!wantDevice.isEmpty && !wantCountry.isEmpty && !wantBursts.isEmpty)
        // The event's own offset is kept in what is written.
        #expect((out.first { $0["kind"] as? String == "new-device" }?["at"] as? String)?.hasSuffix("+01:00") == true)
    }

    @Test func customerSegmentsFollowThirtyDaysOfEachCustomersPurchases() throws {
        struct Tx { var id: Int; var customer: String; var amount: Double; var ts: Int64 }
        var rng = Rng(s: 7)
        var txs: [Tx] = []
        var t = Self.t0
        for i in 0..<3000 {
            t += Int64(rng.next(3_600_000))  // ~ every half hour: 30 days hold a few hundred
            txs.append(Tx(id: i, customer: "c\(rng.next(25))", amount: Double(rng.next(40_000)) / 100, ts: t))
        }
        let p = try pipeline("customer-segments.yaml")
        for x in txs {
            p.push(topic: "transactions", json: "{\"transaction_id\":\"t\(x.id)\",\"customer_id\":\"\(x.customer)\",\"amount\":\(x.amount),\"timestamp\":\"\(Self.iso(x.ts))\"}")
        }
        p.finish()
        let out = objects(p.drain(), topic: "customer-segments")
        #expect(out.count == txs.count)
        var want: [String: (Int, Double, Int?, String)] = [:]
        for (_, xs) in Dictionary(grouping: txs, by: \.customer) {
            for (j, x) in xs.enumerated() {
                let window = xs[...j].filter { $0.ts >= x.ts - 30 * 86_400_000 }
                let f = window.count
                let m = window.reduce(0.0) { $0 + $1.amount }
                let prev = j > 0 ? xs[j - 1].ts : nil
                let days = prev.map { Int(($0 - x.ts).magnitude / 86_400_000) }
                let seg = f >= 20 && m >= 2000 ? "champion" : f >= 10 ? "loyal" : m >= 1000 ? "big-spender" : prev == nil ? "new" : days! > 60 ? "returning" : "occasional"
                want["\(x.customer)@\(Self.iso(x.ts))"] = (f, (m * 100).rounded() / 100, days, seg)
            }
        }
        var segments = Set<String>()
        for o in out {
            let k = "\(o["customer_id"] as! String)@\(o["last_purchase"] as! String)"
            guard let w = want[k] else { Issue.record("unexpected \(o)"); continue }
            #expect(o["frequency_30d"] as? Int == w.0)
            #expect(abs((o["monetary_30d"] as! Double) - w.1) < 0.006)
            #expect(o["days_since_previous"] as? Int == w.2)
            #expect(o["segment"] as? String == w.3, "\(k)")
            segments.insert(o["segment"] as! String)
        }
        #expect(segments.count >= 3, "the data should reach several segments: \(segments)")
    }

    @Test func categoryRevenueAddsInterchangeFeesOverASlidingHour() throws {
        var rng = Rng(s: 3)
        let cats = ["grocery", "travel", "electronics", "fuel"]
        var rows: [(cat: String, channel: String, amount: Double, ts: Int64)] = []
        var t = Self.t0
        for _ in 0..<2000 {
            t += Int64(rng.next(60_000))
            rows.append((cats[rng.next(4)], rng.next(2) == 0 ? "pos" : "ecommerce", Double(rng.next(50_000)) / 100, t))
        }
        let p = try pipeline("category-revenue.yaml")
        for (i, r) in rows.enumerated() {
            p.push(topic: "transactions", json: "{\"transaction_id\":\"t\(i)\",\"customer_id\":\"c\",\"amount\":\(r.amount),\"merchant_category\":\"\(r.cat)\",\"channel\":\"\(r.channel)\",\"timestamp\":\"\(Self.iso(r.ts))\"}")
        }
        p.finish()
        func fee(_ r: (cat: String, channel: String, amount: Double, ts: Int64)) -> Double {
            let rate = ["grocery", "fuel"].contains(r.cat) ? 0.0105 : ["travel", "airline", "hotel"].contains(r.cat) ? 0.0230 : r.channel == "ecommerce" ? 0.0195 : 0.0165
            return ((r.amount * rate + 0.10) * 100).rounded() / 100
        }
        var want: [String: (Int, Double, Double)] = [:]
        for r in rows {
            var s = r.ts / 300_000 * 300_000
            while s > r.ts - 3_600_000 {
                let k = "\(r.cat)@\(Self.iso(s))"
                let c = want[k] ?? (0, 0, 0)
                want[k] = (c.0 + 1, c.1 + r.amount, c.2 + fee(r))
                s -= 300_000
            }
        }
        let out = objects(p.drain(), topic: "analytics-category-revenue")
        #expect(out.count == want.count)
        for o in out {
            guard let w = want["\(o["category"] as! String)@\(o["window_start"] as! String)"] else { Issue.record("unexpected \(o)"); continue }
            #expect(o["transactions"] as? Int == w.0)
            #expect(abs((o["revenue"] as! Double) - w.1) < 0.006)
            #expect(abs((o["interchange"] as! Double) - w.2) < 0.006)
        }
    }
}
