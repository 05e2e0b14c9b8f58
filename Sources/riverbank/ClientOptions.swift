import ArgumentParser
import Foundation
import KafkaClient

/// Connection security (TLS, SASL) shared by the client commands (produce, consume, perf).
struct ClientSecurityOptions: ParsableArguments {
    @Flag(help: "Connect with TLS (the brokers' SSL listener).") var tls = false
    @Option(help: "PEM file of certificate authorities to trust (implies --tls; default: the system's).") var tlsCa: String?
    @Option(help: "PEM client certificate for mutual TLS (implies --tls; needs --tls-key).") var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert.") var tlsKey: String?
    @Flag(help: "Do not check that the broker's certificate names the host (it must still be trusted).") var tlsNoVerifyHostname = false
    @Flag(help: "Accept any broker certificate (testing only).") var tlsInsecure = false
    @Option(help: "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.") var saslMechanism: String?
    @Option(help: "SASL user name.") var saslUsername: String?
    @Option(help: "SASL password (better: the RIVERBANK_SASL_PASSWORD environment variable, which ps does not show).")
    var saslPassword: String?

    var enabled: Bool { tls || tlsCa != nil || tlsCert != nil || tlsInsecure }

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if let m = saslMechanism, KafkaSASL.Mechanism(rawValue: m.uppercased()) == nil {
            throw ValidationError("unknown SASL mechanism '\(m)' (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)")
        }
        if (saslMechanism == nil) != (saslUsername == nil) {
            throw ValidationError("--sasl-mechanism and --sasl-username go together")
        }
    }

    /// A client for `bootstrap` with this security; a bad address is a usage error naming it.
    func client(bootstrap: String) throws -> KafkaClientConfig {
        var c: KafkaClientConfig
        do { c = try KafkaClientConfig(bootstrap: bootstrap) } catch { throw ValidationError("--bootstrap \(bootstrap): \(error)") }
        apply(to: &c)
        return c
    }

    /// Sets `config.tls` / `config.sasl` as asked; exits with a clear message on unusable input.
    func apply(to config: inout KafkaClientConfig) {
        if let m = saslMechanism.flatMap({ KafkaSASL.Mechanism(rawValue: $0.uppercased()) }), let user = saslUsername {
            guard let password = saslPassword ?? ProcessInfo.processInfo.environment["RIVERBANK_SASL_PASSWORD"] else {
                fail("SASL needs a password: --sasl-password or RIVERBANK_SASL_PASSWORD")
            }
            config.sasl = KafkaSASL(mechanism: m, username: user, password: password)
        }
        guard enabled else { return }
        do {
            config.tls = try KafkaTLSConfig(caFile: tlsCa, certificateFile: tlsCert, keyFile: tlsKey,
                                            verifyHostname: !tlsNoVerifyHostname, insecure: tlsInsecure)
        } catch {
            fail("\(error)")
        }
    }
}
