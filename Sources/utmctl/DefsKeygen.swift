import ArgumentParser
import UTMCrypto
import UTMSystem
import UTMUpdate

extension Defs {
    /// `utmctl defs keygen NAME`: an Ed25519 key pair as NAME.key (hex seed, mode 0600) and
    /// NAME.pub (hex public key, for the box's keys folder). The private key belongs on the
    /// signing host only (firmware/keys/README.md).
    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an Ed25519 signing key pair (NAME.key private, NAME.pub public).")

        @Argument(help: "Path prefix of the two files.")
        var name: String

        func run() throws {
            guard let pair = Ed25519.generateKeyPair() else { throw fail("key generation failed (libcrypto)") }
            do {
                try DurableFile.write(Array((hex(pair.privateKey) + "\n").utf8), to: name + ".key", mode: 0o600)
                try DurableFile.write(Array((hex(pair.publicKey) + "\n").utf8), to: name + ".pub")
            } catch {
                throw fail("\(error)")
            }
            print("wrote \(name).key (private, keep off the box) and \(name).pub (key id \(hex(Keyring.keyID(pair.publicKey))))")
        }
    }
}
