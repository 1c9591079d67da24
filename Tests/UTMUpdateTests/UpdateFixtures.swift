import Foundation
import UTMCrypto
@testable import UTMUpdate

/// A temporary folder, a test key pair generated per run (never a committed private key) and
/// helpers that sign artifacts with it.
struct UpdateFixture {
    let dir: String
    let privateKey: [UInt8]
    let publicKey: [UInt8]
    let keyring: Keyring
    let now = UInt64(Date().timeIntervalSince1970)

    init() throws {
        dir = FileManager.default.temporaryDirectory.path + "/mimamori-upd-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard let pair = Ed25519.generateKeyPair() else { throw UpdateError("key generation failed") }
        privateKey = pair.privateKey
        publicKey = pair.publicKey
        keyring = Keyring(keys: [pair.publicKey])
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: dir) }

    func artifact(_ kind: ArtifactKind, _ sequence: UInt64, payload: [UInt8], created: UInt64? = nil, expires: UInt64? = nil,
                  key: [UInt8]? = nil) -> [UInt8] {
        SignedArtifact.sign(kind: kind, sequence: sequence, created: created ?? now - 60, expires: expires ?? now + 86_400,
                            payload: payload, privateKey: key ?? privateKey)!
    }

    func definitions(_ kind: ArtifactKind, _ sequence: UInt64, _ files: [(String, String)]) -> [UInt8] {
        artifact(kind, sequence, payload: PayloadArchive.encode(files.map { ($0.0, Array($0.1.utf8)) }))
    }

    var store: DefinitionStore { DefinitionStore(root: dir + "/definitions") }
    var updater: DefinitionUpdater { DefinitionUpdater(store: store, keyring: keyring) }

    static let goodRules = """
        alert http any any -> any any (msg:"update test: evil path"; content:"/evil"; http_uri; sid:7100001; rev:1;)
        alert tcp any any -> any 23 (msg:"update test: telnet"; sid:7100002; rev:1;)
        """
    /// Drops every TCP packet: loads fine, fails the self-test's clean flow.
    static let dropAllRules = """
        drop tcp any any -> any any (msg:"update test: drop everything"; sid:7100003; rev:1;)
        """
    /// A ClamAV MD5 signature of an arbitrary test file (not EICAR: the scanner has that built in).
    static let goodHDB = "44d88612fea8a8f36de82e1278abb02f:12:Mimamori.Test.Hash\n"
}
