import Foundation

/// Keeps the cleaner's disk traffic at or under a byte rate (Kafka's
/// `log.cleaner.io.max.bytes.per.second`): after each chunk of I/O, if the bytes done since
/// the window started are ahead of the rate, sleep until they are not.
public struct Throttler {
    let bytesPerSecond: Double
    /// Sleeps on behalf of the throttler; returns false to stop (shutdown) early.
    let sleep: (Double) -> Bool
    private var windowStart: UInt64 = DispatchTime.now().uptimeNanoseconds
    private var windowBytes: Double = 0
    public private(set) var sleptSeconds: Double = 0

    public init(bytesPerSecond: Double, sleep: @escaping (Double) -> Bool) {
        self.bytesPerSecond = bytesPerSecond
        self.sleep = sleep
    }

    public static var unlimited: Throttler { Throttler(bytesPerSecond: .infinity, sleep: { _ in true }) }

    /// Accounts for `bytes` of I/O; returns false if a sleep was cut short by shutdown.
    mutating func observe(_ bytes: Int) -> Bool {
        guard bytesPerSecond.isFinite, bytesPerSecond > 0 else { return true }
        windowBytes += Double(bytes)
        let now = DispatchTime.now().uptimeNanoseconds
        let elapsed = Double(now - windowStart) / 1e9
        let due = windowBytes / bytesPerSecond
        if due > elapsed {
            let pause = due - elapsed
            sleptSeconds += pause
            if !sleep(pause) { return false }
        }
        // Restart the window now and then so a long idle spell does not become a burst allowance.
        if elapsed > 1 {
            windowStart = DispatchTime.now().uptimeNanoseconds
            windowBytes = 0
        }
        return true
    }
}
