import Crypto
import Foundation

/// SASL credentials for brokers with SASL listeners (SASL_PLAINTEXT, or SASL_SSL together with
/// `KafkaClientConfig.tls`).
public struct KafkaSASL: Sendable {
    public enum Mechanism: String, Sendable, CaseIterable {
        /// Username and password in clear (only sensible over TLS).
        case plain = "PLAIN"
        /// RFC 5802/7677 SCRAM: the password never crosses the wire and the broker proves it
        /// knows the credentials too.
        case scramSHA256 = "SCRAM-SHA-256"
        case scramSHA512 = "SCRAM-SHA-512"
    }

    public var mechanism: Mechanism
    public var username: String
    public var password: String

    public init(mechanism: Mechanism, username: String, password: String) {
        self.mechanism = mechanism
        self.username = username
        self.password = password
    }
}

/// The client side of one SASL exchange: `start()` gives the first token, `respond(to:)` the
/// next one for each server token, nil once the exchange is complete (for SCRAM, after the
/// server's signature has been checked).
struct SASLClient {
    enum State { case initial, sentFirst(bare: String), sentFinal(serverSignature: [UInt8]), done }

    let sasl: KafkaSASL
    let clientNonce: String
    private(set) var state = State.initial

    init(_ sasl: KafkaSASL, clientNonce: String? = nil) {
        self.sasl = sasl
        self.clientNonce = clientNonce ?? SASLClient.makeNonce()
    }

    static func makeNonce() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<24).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: ",", with: "_")
    }

    mutating func start() -> [UInt8] {
        switch sasl.mechanism {
        case .plain:
            state = .done
            return Array("\0\(sasl.username)\0\(sasl.password)".utf8)
        case .scramSHA256, .scramSHA512:
            // RFC 5802 5.1: ',' and '=' in the name are escaped.
            let name = sasl.username.replacingOccurrences(of: "=", with: "=3D").replacingOccurrences(of: ",", with: "=2C")
            let bare = "n=\(name),r=\(clientNonce)"
            state = .sentFirst(bare: bare)
            return Array("n,,\(bare)".utf8)
        }
    }

    /// The reply to a server token; nil when there is nothing more to send.
    mutating func respond(to server: [UInt8]) throws -> [UInt8]? {
        switch state {
        case .initial:
            throw KafkaError.authenticationFailed("SASL exchange used before start")
        case .done:
            return nil
        case .sentFirst(let bare):
            let serverFirst = String(decoding: server, as: UTF8.self)
            let (reply, signature) = try scramFinal(bare: bare, serverFirst: serverFirst)
            state = .sentFinal(serverSignature: signature)
            return Array(reply.utf8)
        case .sentFinal(let expected):
            let attrs = Self.attributes(String(decoding: server, as: UTF8.self))
            if let e = attrs["e"] { throw KafkaError.authenticationFailed("broker: \(e)") }
            guard let v = attrs["v"], let got = Data(base64Encoded: v), Array(got) == expected else {
                throw KafkaError.authenticationFailed("the broker's SCRAM signature is wrong: it does not know the credentials")
            }
            state = .done
            return nil
        }
    }

    private func scramFinal(bare: String, serverFirst: String) throws -> (String, [UInt8]) {
        let attrs = Self.attributes(serverFirst)
        if attrs["m"] != nil { throw KafkaError.authenticationFailed("SCRAM: unsupported mandatory extension") }
        guard let nonce = attrs["r"], nonce.hasPrefix(clientNonce), nonce.count > clientNonce.count else {
            throw KafkaError.authenticationFailed("SCRAM: the broker's nonce does not extend ours")
        }
        guard let saltB64 = attrs["s"], let salt = Data(base64Encoded: saltB64), !salt.isEmpty else {
            throw KafkaError.authenticationFailed("SCRAM: missing or bad salt")
        }
        // Hostile input: an absurd count would keep the client busy hashing.
        guard let iterations = attrs["i"].flatMap(Int.init), (1...100_000).contains(iterations) else {
            throw KafkaError.authenticationFailed("SCRAM: bad iteration count \(attrs["i"] ?? "none")")
        }
        let withoutProof = "c=biws,r=\(nonce)"
        let authMessage = Array("\(bare),\(serverFirst),\(withoutProof)".utf8)
        let (proof, serverSignature): ([UInt8], [UInt8])
        switch sasl.mechanism {
        case .scramSHA256:
            (proof, serverSignature) = Self.scram(SHA256.self, password: sasl.password, salt: Array(salt), iterations: iterations,
                                                  authMessage: authMessage)
        case .scramSHA512:
            (proof, serverSignature) = Self.scram(SHA512.self, password: sasl.password, salt: Array(salt), iterations: iterations,
                                                  authMessage: authMessage)
        case .plain:
            throw KafkaError.authenticationFailed("PLAIN has no second round")
        }
        return ("\(withoutProof),p=\(Data(proof).base64EncodedString())", serverSignature)
    }

    /// RFC 5802 section 3: the client proof and the server signature to expect.
    static func scram<H: HashFunction>(_: H.Type, password: String, salt: [UInt8], iterations: Int,
                                       authMessage: [UInt8]) -> (proof: [UInt8], serverSignature: [UInt8]) {
        let salted = pbkdf2(H.self, password: Array(password.utf8), salt: salt, iterations: iterations)
        let key = SymmetricKey(data: salted)
        let clientKey = Array(HMAC<H>.authenticationCode(for: Array("Client Key".utf8), using: key))
        let storedKey = Array(H.hash(data: clientKey))
        let clientSignature = Array(HMAC<H>.authenticationCode(for: authMessage, using: SymmetricKey(data: storedKey)))
        let proof = zip(clientKey, clientSignature).map { $0 ^ $1 }
        let serverKey = Array(HMAC<H>.authenticationCode(for: Array("Server Key".utf8), using: key))
        let serverSignature = Array(HMAC<H>.authenticationCode(for: authMessage, using: SymmetricKey(data: serverKey)))
        return (proof, serverSignature)
    }

    /// PBKDF2 with HMAC-H, one block of H's output length (SCRAM's Hi()).
    static func pbkdf2<H: HashFunction>(_: H.Type, password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        let key = SymmetricKey(data: password)
        var u = Array(HMAC<H>.authenticationCode(for: salt + [0, 0, 0, 1], using: key))
        var out = u
        for _ in 1..<max(iterations, 1) {
            u = Array(HMAC<H>.authenticationCode(for: u, using: key))
            for i in out.indices { out[i] ^= u[i] }
        }
        return out
    }

    /// "a=1,b=2" → ["a": "1", "b": "2"] (values may contain '=').
    static func attributes(_ s: String) -> [String: String] {
        var out = [String: String]()
        for part in s.split(separator: ",") {
            guard let eq = part.firstIndex(of: "="), part.distance(from: part.startIndex, to: eq) == 1 else { continue }
            out[String(part[..<eq])] = String(part[part.index(after: eq)...])
        }
        return out
    }
}
