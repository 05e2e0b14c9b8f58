import NIOCore
import NIOSSL

/// TLS for connections to brokers with SSL listeners: which certificates to trust, and an
/// optional client certificate (mutual TLS, as MSK and self-managed clusters use it).
public struct KafkaTLSConfig: Sendable {
    public var configuration: TLSConfiguration

    /// Full control with swift-nio-ssl's configuration.
    public init(configuration: TLSConfiguration) {
        self.configuration = configuration
    }

    /// - Parameters:
    ///   - caFile: PEM file of the certificate authorities to trust; nil: the system's store.
    ///   - certificateFile, keyFile: PEM client certificate (chain) and its private key, for
    ///     brokers that require client authentication.
    ///   - verifyHostname: check that the broker's certificate names the host connected to.
    ///   - insecure: accept any certificate (tests only: anyone on the path can read along).
    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil,
                verifyHostname: Bool = true, insecure: Bool = false) throws {
        var c = TLSConfiguration.makeClientConfiguration()
        if let caFile { c.trustRoots = .file(caFile) }
        if insecure {
            c.certificateVerification = .none
        } else if !verifyHostname {
            c.certificateVerification = .noHostnameVerification
        }
        switch (certificateFile, keyFile) {
        case (nil, nil): break
        case (let cert?, let key?):
            do {
                c.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                c.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } catch {
                throw KafkaError.invalidConfiguration("TLS client certificate \(cert) / key \(key): \(error)")
            }
        default:
            throw KafkaError.invalidConfiguration("a TLS client certificate needs both certificateFile and keyFile")
        }
        self.configuration = c
    }

    /// The context shared by a client's connections (building one loads and parses the trust store).
    func makeContext() throws -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw KafkaError.invalidConfiguration("TLS: \(error)")
        }
    }
}

extension BrokerAddress {
    /// Hostname for SNI and certificate checks (nil for IP literals, which SNI must not carry).
    var tlsServerName: String? {
        let h = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if h.contains(":") { return nil }  // IPv6
        let parts = h.split(separator: ".")
        if parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) { return nil }  // IPv4
        return h
    }
}
