import Testing
import AllocationCounter
import UTMCore
import UTMCrypto
@testable import UTMAppLayer

/// The per-datagram path must not allocate once the parser exists (DESIGN: no allocation per
/// packet). Key derivation happens once per flow and is measured separately.
@Suite(.serialized) struct QUICAllocationTests {
    @Test func openingPacketsDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        let crypto = QUICInitialCrypto()!
        let dcid = hex("8394c8f03e515708")
        let keys = dcid.withByteView { QUICInitialKeys.derive(version: .v1, dcid: $0, crypto: crypto) }!
        let packet = hex(rfc9001ClientInitialHex)
        var out = [UInt8](repeating: 0, count: 2048)
        let sample = Bytes16(packet.withByteView { $0.slice(22, 16)! })!
        // Warm up (lazy OpenSSL state), then count.
        _ = crypto.aes128EncryptBlock(key: keys.client.hp, block: sample)
        let n = countAllocations {
            for _ in 0 ..< 10 {
                _ = crypto.aes128EncryptBlock(key: keys.client.hp, block: sample)
                packet.withByteView { p in
                    _ = out.withUnsafeMutableBytes {
                        crypto.aes128GCMOpen(key: keys.client.key, nonce: keys.client.iv, aad: p.prefix(22),
                                             sealed: p.suffix(from: 22)!, into: $0)
                    }
                }
            }
        }
        #expect(n == 0, "AES-ECB + AES-GCM open allocated \(n) times in 10 rounds")
    }

    @Test func feedingDatagramsDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        let v1 = hex(rfc9001ClientInitialHex)
        let dcid = hex("8394c8f03e515708")
        // A ClientHello in two packets, second first, plus a tampered packet and garbage.
        var hello: [UInt8] = [0x01, 0x00, 0x03, 0x00]
        hello += (0 ..< 0x300).map { UInt8(truncatingIfNeeded: $0) }
        let a = protectInitial(dcid: dcid, packetNumber: 1, payload: cryptoFrame(offset: 400, hello[400...]), padTo: 1200)
        let b = protectInitial(dcid: dcid, packetNumber: 0, payload: [0x01, 0x02, 0, 0, 0, 0] + cryptoFrame(offset: 0, hello[0 ..< 400]), padTo: 1200)
        var bad = a; bad[700] ^= 1
        let garbage = [UInt8](repeating: 0xc3, count: 300)
        var config = QUICConfig()
        config.serverCryptoCapacity = 0
        var parser = QUICParser(config: config)
        var p2 = QUICParser(config: config)
        var delivered = 0
        // Warm-up flow: key derivation (once per flow) and OpenSSL's lazy state.
        v1.withByteView { p2.feed($0, direction: .toServer) { v, _ in delivered += v.count } }
        // First datagram of the measured flow derives keys: count it apart.
        let perFlow = countAllocations {
            a.withByteView { parser.feed($0, direction: .toServer) { v, _ in delivered += v.count } }
        }
        let n1 = countAllocations {
            bad.withByteView { parser.feed($0, direction: .toServer) { v, _ in delivered += v.count } }
        }
        let n2 = countAllocations {
            garbage.withByteView { parser.feed($0, direction: .toServer) { v, _ in delivered += v.count } }
        }
        let n3 = countAllocations {
            b.withByteView { parser.feed($0, direction: .toServer) { v, _ in delivered += v.count } }
        }
        print("QUIC allocations: tampered \(n1), garbage \(n2), good \(n3)")
        let perDatagram = n1 + n2 + n3
        #expect(parser.clientCrypto.count == hello.count)
        #expect(perDatagram == 0, "feed allocated \(perDatagram) times after the flow's keys existed")
        print("QUIC allocations: first datagram of a flow (key derivation) \(perFlow), later datagrams \(perDatagram)")
    }
}
