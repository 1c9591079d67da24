import Testing
import UTMCore
import UTMCrypto
@testable import UTMAppLayer

@Suite struct CryptoTests {
    let crypto = QUICInitialCrypto()!
    let dcid = hex("8394c8f03e515708")

    /// RFC 9001 A.1: client Initial key, IV and header-protection key for DCID 0x8394c8f03e515708.
    @Test func rfc9001ClientInitialKeys() throws {
        let keys = try #require(dcid.withByteView { QUICInitialKeys.derive(version: .v1, dcid: $0, crypto: crypto) })
        #expect(keys.client.key.bytes == hex("1f369613dd76d5467730efcbe3b1a22d"))
        #expect(keys.client.iv.bytes == hex("fa044b2f42a3fd3b46fb255c"))
        #expect(keys.client.hp.bytes == hex("9f50449e04a0e810283a1e9933adedd2"))
        #expect(keys.server != keys.client)
    }

    /// RFC 9369 A.1: the same for QUIC v2 (its own salt and "quicv2" labels).
    @Test func rfc9369ClientInitialKeys() throws {
        let keys = try #require(dcid.withByteView { QUICInitialKeys.derive(version: .v2, dcid: $0, crypto: crypto) })
        #expect(keys.client.key.bytes == hex("8b1a0bc121284290a29e0971b5cd045d"))
        #expect(keys.client.iv.bytes == hex("91f73e2351d8fa91660e909f"))
        #expect(keys.client.hp.bytes == hex("45b95e15235d6f45a6b19cbcb0294ba9"))
    }

    @Test func hkdfRefusesWhatItDoesNotSupport() {
        var big = [UInt8](repeating: 0, count: 33)
        let ok = big.withUnsafeMutableBytes {
            crypto.hkdfExpandLabel(secret: Bytes32(), label: StaticString("x").byteView, into: $0)
        }
        #expect(!ok)
        var empty = [UInt8]()
        #expect(!empty.withUnsafeMutableBytes {
            crypto.hkdfExpandLabel(secret: Bytes32(), label: StaticString("x").byteView, into: $0)
        })
        // An empty salt and empty IKM are legal HKDF inputs.
        #expect(crypto.hkdfExtract(salt: .empty, ikm: .empty) != nil)
    }

    @Test func gcmRoundTripAndTamper() throws {
        let key = try #require(Bytes16(hex("000102030405060708090a0b0c0d0e0f").withByteView { $0 }))
        let nonce = try #require(Bytes12(hex("101112131415161718191a1b").withByteView { $0 }))
        let aad = hex("c0ffee")
        let text = Array("a QUIC payload that spans more than one AES block".utf8)
        var sealed = [UInt8](repeating: 0, count: text.count + 16)
        let n = aad.withByteView { a in text.withByteView { t in
            sealed.withUnsafeMutableBytes { crypto.aes128GCMSeal(key: key, nonce: nonce, aad: a, plaintext: t, into: $0) } } }
        #expect(n == text.count + 16)
        var out = [UInt8](repeating: 0, count: text.count)
        let m = aad.withByteView { a in sealed.withByteView { s in
            out.withUnsafeMutableBytes { crypto.aes128GCMOpen(key: key, nonce: nonce, aad: a, sealed: s, into: $0) } } }
        #expect(m == text.count)
        #expect(out == text)
        // Any flipped bit (ciphertext, tag, AAD) or a short buffer fails without trapping.
        for i in [0, text.count - 1, text.count, text.count + 15] {
            var bad = sealed
            bad[i] ^= 1
            let r = aad.withByteView { a in bad.withByteView { s in
                out.withUnsafeMutableBytes { crypto.aes128GCMOpen(key: key, nonce: nonce, aad: a, sealed: s, into: $0) } } }
            #expect(r == nil)
        }
        let badAAD = hex("c0ffef")
        #expect(badAAD.withByteView { a in sealed.withByteView { s in
            out.withUnsafeMutableBytes { crypto.aes128GCMOpen(key: key, nonce: nonce, aad: a, sealed: s, into: $0) } } } == nil)
        var small = [UInt8](repeating: 0, count: 3)
        #expect(aad.withByteView { a in sealed.withByteView { s in
            small.withUnsafeMutableBytes { crypto.aes128GCMOpen(key: key, nonce: nonce, aad: a, sealed: s, into: $0) } } } == nil)
        #expect(aad.withByteView { a in hex("0011").withByteView { s in
            out.withUnsafeMutableBytes { crypto.aes128GCMOpen(key: key, nonce: nonce, aad: a, sealed: s, into: $0) } } } == nil)
        // A tag alone is an empty plaintext.
        var tagOnly = [UInt8](repeating: 0, count: 16)
        _ = [UInt8]().withByteView { t in tagOnly.withUnsafeMutableBytes {
            crypto.aes128GCMSeal(key: key, nonce: nonce, aad: .empty, plaintext: t, into: $0) } }
        #expect(tagOnly.withByteView { s in out.withUnsafeMutableBytes {
            crypto.aes128GCMOpen(key: key, nonce: nonce, aad: .empty, sealed: s, into: $0) } } == 0)
    }

    /// RFC 9001 A.2: header protection sample of the client Initial and its mask.
    @Test func headerProtectionMask() throws {
        let keys = try #require(dcid.withByteView { QUICInitialKeys.derive(version: .v1, dcid: $0, crypto: crypto) })
        let packet = hex(rfc9001ClientInitialHex)
        // Sample at pn offset (18) + 4.
        let sample = try #require(Bytes16(packet.withByteView { $0.slice(22, 16)! }))
        let mask = try #require(crypto.aes128EncryptBlock(key: keys.client.hp, block: sample))
        // Unmasking the protected bytes must give the RFC's unprotected header c3 ... 00000002.
        #expect(packet[0] ^ (mask[0] & 0x0f) == 0xc3)
        #expect([packet[18] ^ mask[1], packet[19] ^ mask[2], packet[20] ^ mask[3], packet[21] ^ mask[4]] == [0, 0, 0, 2])
    }

    @Test func nonceIsIVXorPacketNumber() {
        var iv = Bytes12()
        iv.raw = (0, 0)
        let n = iv.xoringCounter(0x0102_0304_0506_0708)
        #expect(n.bytes == [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8])
    }
}
