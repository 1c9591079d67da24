import Testing
import UTMCrypto
@testable import UTMUpdate

@Suite struct SignedArtifactTests {
    @Test func signAndVerify() throws {
        let f = try UpdateFixture()
        defer { f.cleanup() }
        let bytes = f.artifact(.ips, 42, payload: Array("rules".utf8))
        let a = try SignedArtifact.open(bytes, keyring: f.keyring, now: f.now)
        #expect(a.kind == .ips && a.sequence == 42 && a.payload == Array("rules".utf8))
        #expect(a.keyID == Keyring.keyID(f.publicKey))
        #expect(Ed25519.publicKey(privateKey: f.privateKey) == f.publicKey)
    }

    /// Every single byte changed, anywhere (magic, header, digest, signature, payload), is
    /// refused, each with the error of its region.
    @Test func tamperedAnywhereIsRefused() throws {
        let f = try UpdateFixture()
        defer { f.cleanup() }
        let good = f.artifact(.av, 7, payload: Array("main.hdb payload bytes".utf8))
        for i in 0 ..< good.count {
            var bad = good
            bad[i] ^= 0x01
            var code: ArtifactError.Code?
            do { _ = try SignedArtifact.open(bad, keyring: f.keyring, now: f.now) } catch { code = error.code }
            let expected: [ArtifactError.Code] = switch i {
            case 0 ..< 8: [.badMagic]
            case 8 ..< 10: [.badVersion]
            case 10: [.badKind, .badSignature]
            case 16 ..< 24: [.unknownKey]
            case 48 ..< 56: [.truncated, .badLength]
            case 0 ..< 152: [.badSignature]
            default: [.digestMismatch]
            }
            #expect(code.map { expected.contains($0) } == true, "byte \(i): \(String(describing: code)), expected \(expected)")
        }
    }

    @Test func truncatedAndExtendedAreRefused() throws {
        let f = try UpdateFixture()
        defer { f.cleanup() }
        let good = f.artifact(.categories, 3, payload: [UInt8](repeating: 0x61, count: 40))
        for n in 0 ..< good.count {
            #expect(throws: ArtifactError.self) { try SignedArtifact.open(Array(good.prefix(n)), keyring: f.keyring, now: f.now) }
        }
        #expect(throws: ArtifactError.self) { try SignedArtifact.open(good + [0], keyring: f.keyring, now: f.now) }
    }

    @Test func expiredAndFutureAreRefused() throws {
        let f = try UpdateFixture()
        defer { f.cleanup() }
        let expired = f.artifact(.ips, 1, payload: [1], created: f.now - 1000, expires: f.now - 1)
        let e = #expect(throws: ArtifactError.self) { try SignedArtifact.open(expired, keyring: f.keyring, now: f.now) }
        #expect(e?.code == .expired && e?.description.contains("expired") == true)
        let future = f.artifact(.ips, 1, payload: [1], created: f.now + 10 * 86_400, expires: f.now + 20 * 86_400)
        #expect(throws: ArtifactError.self) { try SignedArtifact.open(future, keyring: f.keyring, now: f.now) }
    }

    @Test func wrongKeyIsRefused() throws {
        let f = try UpdateFixture()
        defer { f.cleanup() }
        let other = try #require(Ed25519.generateKeyPair())
        let bytes = f.artifact(.ips, 1, payload: [1], key: other.privateKey)
        let e = #expect(throws: ArtifactError.self) { try SignedArtifact.open(bytes, keyring: f.keyring, now: f.now) }
        #expect(e?.code == .unknownKey)
        // The same key id with another key's signature: the signature check refuses it.
        var forged = bytes
        forged.replaceSubrange(16 ..< 24, with: Keyring.keyID(f.publicKey))
        let e2 = #expect(throws: ArtifactError.self) { try SignedArtifact.open(forged, keyring: f.keyring, now: f.now) }
        #expect(e2?.code == .badSignature)
    }

    @Test func payloadArchiveIsBoundsChecked() throws {
        let files: [(name: String, bytes: [UInt8])] = [("a.rules", Array("x".utf8)), ("main.hdb", [1, 2, 3])]
        let enc = PayloadArchive.encode(files)
        let dec = try PayloadArchive.decode(enc)
        #expect(dec.map(\.name) == ["a.rules", "main.hdb"] && dec[1].bytes == [1, 2, 3])
        for n in 0 ..< enc.count { #expect(throws: ArtifactError.self) { try PayloadArchive.decode(Array(enc.prefix(n))) } }
        for unsafe in ["../x", ".meta", "a/b", ""] {
            #expect(throws: ArtifactError.self) { try PayloadArchive.decode(PayloadArchive.encode([(unsafe, [1])])) }
        }
        #expect(throws: ArtifactError.self) { try PayloadArchive.decode(PayloadArchive.encode([("a", [1]), ("a", [2])])) }
    }
}
