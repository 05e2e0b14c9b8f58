/// What `TransactionGenerator` generates: the world's size and seed, the event-time clock and
/// rate, and how much fraud of which kind.
public struct GeneratorConfig: Sendable {
    public var customers: Int = 10_000
    public var seed: UInt64 = 42
    /// Event time of the simulation's start, UTC milliseconds.
    public var startMillis: Int64
    /// Transactions per second of event time, across all customers (a Poisson process).
    public var ratePerSecond: Double = 200
    /// Share of all transactions that are fraudulent.
    public var fraudRatio: Double = 0.02
    /// Relative weight of each pattern among fraud *transactions* (patterns absent get none).
    public var mix: [FraudPattern: Double] = Dictionary(uniqueKeysWithValues: FraudPattern.allCases.map { ($0, 1.0) })
    /// Whether the generator also makes the bank's delayed fraud reports (`nextReport`): off,
    /// they are not kept at all (a caller that never drains them must not accumulate them).
    public var reports = false
    /// Share of fraud transactions that are ever reported (the rest go unnoticed).
    public var reportedShare = 0.9

    public init(startMillis: Int64) { self.startMillis = startMillis }

    public enum MixError: Error, CustomStringConvertible {
        case malformed(String)
        case unknownPattern(String)
        public var description: String {
            switch self {
            case .malformed(let s): "mix entry '\(s)' is not pattern=weight (weight ≥ 0)"
            case .unknownPattern(let s):
                "unknown fraud pattern '\(s)' (\(FraudPattern.allCases.map(\.rawValue).joined(separator: ", ")))"
            }
        }
    }

    /// `velocity-attack=1,amount-spike=2`: only the patterns named, with those weights.
    public static func parseMix(_ text: String) throws -> [FraudPattern: Double] {
        var mix: [FraudPattern: Double] = [:]
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let w = Double(kv[1]), w >= 0, w.isFinite else { throw MixError.malformed(String(part)) }
            guard let p = FraudPattern(rawValue: kv[0]) else { throw MixError.unknownPattern(kv[0]) }
            mix[p] = w
        }
        guard mix.values.contains(where: { $0 > 0 }) else { throw MixError.malformed(text) }
        return mix
    }
}

/// Counts of what a generator has produced so far.
public struct GeneratorStats: Sendable {
    public var transactions = 0
    public var fraud = 0
    /// Fraud transactions per pattern, in `FraudPattern.allCases` order.
    public var perPattern: [Int] = Array(repeating: 0, count: FraudPattern.allCases.count)

    public func count(_ p: FraudPattern) -> Int { perPattern[FraudPattern.allCases.firstIndex(of: p)!] }
}

import Foundation
