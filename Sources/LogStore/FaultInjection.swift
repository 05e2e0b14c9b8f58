#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Named crash points for crash-safety tests: with `RIVERBANK_FAULT_INJECT=<point>` in its
/// environment the process kills itself with SIGKILL on reaching `<point>`, the same as a
/// `kill -9` landing exactly there. Unset (always, outside tests) it costs one comparison.
public enum FaultInjection {
    public static let point: String? = ProcessInfo.processInfo.environment["RIVERBANK_FAULT_INJECT"]

    @inline(__always)
    public static func crashPoint(_ name: String) {
        guard let point, point == name else { return }
        kill(getpid(), SIGKILL)
    }
}
