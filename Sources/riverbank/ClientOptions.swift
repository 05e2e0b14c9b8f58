import ArgumentParser
import KafkaClient

/// Connection security options shared by the client commands (produce, consume, perf).
struct ClientTLSOptions: ParsableArguments {
    @Flag(help: "Connect with TLS (the brokers' SSL listener).") var tls = false
    @Option(help: "PEM file of certificate authorities to trust (implies --tls; default: the system's).") var tlsCa: String?
    @Option(help: "PEM client certificate for mutual TLS (implies --tls; needs --tls-key).") var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert.") var tlsKey: String?
    @Flag(help: "Do not check that the broker's certificate names the host (it must still be trusted).") var tlsNoVerifyHostname = false
    @Flag(help: "Accept any broker certificate (testing only).") var tlsInsecure = false

    var enabled: Bool { tls || tlsCa != nil || tlsCert != nil || tlsInsecure }

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    /// Sets `config.tls` when TLS is asked for; exits with a clear message on unusable files.
    func apply(to config: inout KafkaClientConfig) {
        guard enabled else { return }
        do {
            config.tls = try KafkaTLSConfig(caFile: tlsCa, certificateFile: tlsCert, keyFile: tlsKey,
                                            verifyHostname: !tlsNoVerifyHostname, insecure: tlsInsecure)
        } catch {
            fail("\(error)")
        }
    }
}
