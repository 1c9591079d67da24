import Testing
import UTMCore
import UTMCrypto
@testable @_spi(Testing) import UTMAppLayer

@Suite struct QUICParserTests {
    let dcid = hex("8394c8f03e515708")

    func clientOnly() -> QUICConfig {
        var c = QUICConfig()
        c.serverCryptoCapacity = 0
        return c
    }

    @Test func rfc9001ClientInitial() {
        var c = Collector(config: clientOnly())
        c.feed(hex(rfc9001ClientInitialHex))
        #expect(c.parser.isQUIC)
        #expect(c.parser.version == 1)
        #expect(c.parser.knownVersion == .v1)
        #expect(c.parser.withDCID { $0.bytes } == dcid)
        #expect(c.parser.scidLength == 0)
        #expect(c.client == rfcClientHello)
        // The ClientHello handshake header: type 1, length 0x0000ed (the CRYPTO frame's own
        // length field is 0x40f1: 0xf1 = 241 = 4 + 0xed).
        #expect(Array(c.client.prefix(4)) == [0x01, 0x00, 0x00, 0xed])
        #expect(sniFromClientHello(c.client) == "example.com")
        #expect(c.calls == 1)
        #expect(c.parser.clientHelloComplete)
        #expect(c.parser.done)
        #expect(c.parser.packetsOpened == 1)
        #expect(c.parser.frameErrors == 0)
    }

    @Test func rfc9369ClientInitialV2() {
        var c = Collector(config: clientOnly())
        c.feed(hex(rfc9369ClientInitialHex))
        #expect(c.parser.isQUIC)
        #expect(c.parser.version == 0x6b33_43cf)
        #expect(c.parser.knownVersion == .v2)
        #expect(c.client == rfcClientHello)
        #expect(sniFromClientHello(c.client) == "example.com")
    }

    @Test func probeRecognisesInitials() {
        #expect(hex(rfc9001ClientInitialHex).withByteView { QUICParser.probe($0) })
        #expect(hex(rfc9369ClientInitialHex).withByteView { QUICParser.probe($0) })
        // DNS, a short header, an unknown version, a v1 Handshake packet type, garbage.
        #expect(!hex("12340100000100000000000003777777").withByteView { QUICParser.probe($0) })
        #expect(!hex("4001020304050607080910111213141516171819").withByteView { QUICParser.probe($0) })
        var unknown = hex(rfc9001ClientInitialHex); unknown[4] = 0x09
        #expect(!unknown.withByteView { QUICParser.probe($0) })
        var handshake = hex(rfc9001ClientInitialHex); handshake[0] = 0xe0
        #expect(!handshake.withByteView { QUICParser.probe($0) })
        #expect(![UInt8]().withByteView { QUICParser.probe($0) })
        // A v2 packet with v1's Initial type bits is a v2 0-RTT... no: type 0 in v2 is Retry.
        var v2asRetry = hex(rfc9369ClientInitialHex); v2asRetry[0] = 0xc0
        #expect(!v2asRetry.withByteView { QUICParser.probe($0) })
    }

    @Test func tamperedPacketIsNotOpened() {
        for index in [30, 600, 1199] {
            var p = hex(rfc9001ClientInitialHex)
            p[index] ^= 0x40
            var c = Collector(config: clientOnly())
            c.feed(p)
            #expect(c.client.isEmpty)
            #expect(!c.parser.isQUIC)
            #expect(c.parser.openFailures == 1)
        }
    }

    /// Every truncation and every single-byte corruption of the header must end quietly.
    @Test func truncatedAndCorruptedNeverTrap() {
        let p = hex(rfc9001ClientInitialHex)
        for n in 0 ..< p.count {
            var c = Collector(config: clientOnly())
            c.feed(Array(p.prefix(n)))
            #expect(c.client.isEmpty)
            #expect(c.parser.done) // first datagram was not a readable client Initial
        }
        for i in 0 ..< 40 {
            for v: UInt8 in [0x00, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xff] {
                var q = p
                q[i] = v
                var c = Collector(config: clientOnly())
                c.feed(q)
                _ = c.parser.done
            }
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0 ..< 300 {
            var q = p
            for _ in 0 ..< 4 { q[Int.random(in: 0 ..< q.count, using: &rng)] = UInt8.random(in: 0 ... 255, using: &rng) }
            var c = Collector(config: clientOnly())
            c.feed(Array(q.prefix(Int.random(in: 0 ... q.count, using: &rng))))
            c.feed(q, .toClient)
        }
    }

    /// Chrome-style: the ClientHello spread over two Initial packets, the second one first,
    /// each packet holding shuffled CRYPTO frames, duplicates, PING, ACK and PADDING.
    @Test func clientHelloAcrossPacketsOutOfOrder() {
        var hello: [UInt8] = [0x01, 0x00, 0x06, 0x00] // 0x600 = 1536 bytes body
        hello += (0 ..< 1536).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        // Packet A: bytes 900..<1540 in three shuffled frames, a PING and an ACK with ranges.
        var a: [UInt8] = [0x01]
        a += [0x02, 0x05, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x01] // ACK: 2 extra ranges
        a += cryptoFrame(offset: 1200, hello[1200 ..< 1540])
        a += cryptoFrame(offset: 900, hello[900 ..< 1000])
        a += cryptoFrame(offset: 1000, hello[1000 ..< 1200])
        // Packet B: bytes 0..<950 (overlapping A), shuffled, with a duplicate.
        var b: [UInt8] = []
        b += cryptoFrame(offset: 500, hello[500 ..< 950])
        b += cryptoFrame(offset: 0, hello[0 ..< 300])
        b += cryptoFrame(offset: 0, hello[0 ..< 100]) // duplicate
        b += [0x03, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x0b, 0x0c] // ACK_ECN
        b += cryptoFrame(offset: 300, hello[300 ..< 500])
        let pa = protectInitial(dcid: dcid, packetNumber: 1, payload: a, padTo: 1200)
        let pb = protectInitial(dcid: dcid, packetNumber: 0, pnLength: 1, payload: b, padTo: 1200)
        var c = Collector(config: clientOnly())
        c.feed(pa)
        #expect(c.client.isEmpty)         // nothing contiguous from offset 0 yet
        #expect(c.parser.isQUIC)
        #expect(!c.parser.clientHelloComplete)
        #expect(!c.parser.done)
        c.feed(pb)
        #expect(c.calls == 1)             // all new bytes in one call, in order
        #expect(c.client == hello)
        #expect(c.parser.clientHelloComplete)
        #expect(c.parser.done)
        #expect(c.parser.frameErrors == 0)
    }

    /// New contiguous bytes are handed on once each, and only the new ones.
    @Test func deliveryIsIncremental() {
        var hello: [UInt8] = [0x01, 0x00, 0x00, 0xfc]
        hello += (0 ..< 252).map { UInt8($0) }
        var c = Collector(config: clientOnly())
        c.feed(protectInitial(dcid: dcid, packetNumber: 0, payload: cryptoFrame(offset: 0, hello[0 ..< 100]), padTo: 1200))
        #expect(c.client == Array(hello[0 ..< 100]))
        c.feed(protectInitial(dcid: dcid, packetNumber: 1, payload: cryptoFrame(offset: 50, hello[50 ..< 180]), padTo: 1200))
        #expect(c.client == Array(hello[0 ..< 180]))
        #expect(c.calls == 2)
        // Retransmission of old bytes with different content is ignored.
        var evil = hello; evil[10] ^= 0xff
        c.feed(protectInitial(dcid: dcid, packetNumber: 2, payload: cryptoFrame(offset: 0, evil[0 ..< 180]), padTo: 1200))
        #expect(c.calls == 2)
        #expect(c.parser.clientCrypto.bytes == Array(hello[0 ..< 180]))
        c.feed(protectInitial(dcid: dcid, packetNumber: 3, payload: cryptoFrame(offset: 180, hello[180...]), padTo: 1200))
        #expect(c.client == hello)
        #expect(c.parser.clientHelloComplete)
    }

    /// Coalesced packets: two Initials and a packet of another type in one datagram, then
    /// trailing zero padding.
    @Test func coalescedPackets() {
        var hello: [UInt8] = [0x01, 0x00, 0x00, 0x10]
        hello += [UInt8](repeating: 0x55, count: 16)
        let p1 = protectInitial(dcid: dcid, packetNumber: 0, payload: cryptoFrame(offset: 0, hello[0 ..< 8]))
        let p2 = protectInitial(dcid: dcid, packetNumber: 1, payload: cryptoFrame(offset: 8, hello[8...]))
        // A "Handshake" packet (type 2): skipped by its Length.
        var hs: [UInt8] = [0xe0, 0, 0, 0, 1, 8] + dcid + [0, 0x40, 0x20]
        hs += [UInt8](repeating: 0x77, count: 0x20)
        var c = Collector(config: clientOnly())
        c.feed(p1 + hs + p2 + [UInt8](repeating: 0, count: 300))
        #expect(c.client == hello)
        #expect(c.parser.packetsOpened == 2)
    }

    /// Server Initials are opened with the server keys and passed as `.toClient`.
    @Test func serverInitial() {
        var hello: [UInt8] = [0x01, 0x00, 0x00, 0x04, 1, 2, 3, 4]
        var serverHello: [UInt8] = [0x02, 0x00, 0x00, 0x06]
        serverHello += [9, 8, 7, 6, 5, 4]
        var c = Collector()
        c.feed(protectInitial(dcid: dcid, packetNumber: 0, payload: cryptoFrame(offset: 0, hello[...]), padTo: 1200))
        #expect(c.parser.clientHelloComplete)
        #expect(!c.parser.done) // waits for the ServerHello
        let ack: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00]
        let sp = protectInitial(dcid: dcid, scid: [1, 2, 3], packetNumber: 0, pnLength: 2,
                                payload: ack + cryptoFrame(offset: 0, serverHello[...]), server: true)
        c.feed(sp, .toClient)
        #expect(c.server == serverHello)
        #expect(c.parser.serverHelloComplete)
        #expect(c.parser.done)
        hello.removeAll()
        serverHello.removeAll()
    }

    /// After a Retry (or a restarted handshake) the client uses a new DCID; its packets are
    /// opened with keys from it when the original keys fail.
    @Test func newDCIDIsAdopted() {
        var hello: [UInt8] = [0x01, 0x00, 0x00, 0x04, 1, 2, 3, 4]
        var c = Collector(config: clientOnly())
        // First Initial carries no CRYPTO (only PING), so nothing is delivered yet.
        c.feed(protectInitial(dcid: dcid, packetNumber: 0, payload: [0x01], padTo: 1200))
        #expect(c.parser.isQUIC)
        let newDCID = hex("0102030405060708090a")
        c.feed(protectInitial(dcid: newDCID, token: [7, 7, 7], packetNumber: 1, payload: cryptoFrame(offset: 0, hello[...]), padTo: 1200))
        #expect(c.client == hello)
        #expect(c.parser.withDCID { $0.bytes } == newDCID)
        hello.removeAll()
    }

    @Test func packetLimit() {
        var config = clientOnly()
        config.maxPackets = 3
        var c = Collector(config: config)
        for pn in 0 ..< 3 { c.feed(protectInitial(dcid: dcid, packetNumber: UInt64(pn), payload: [0x01], padTo: 1200)) }
        #expect(c.parser.done)
        c.feed(protectInitial(dcid: dcid, packetNumber: 3, payload: cryptoFrame(offset: 0, [1, 0, 0, 0][...]), padTo: 1200))
        #expect(c.client.isEmpty)
        c.parser.reset()
        #expect(!c.parser.done)
        #expect(!c.parser.isQUIC)
        c.feed(hex(rfc9001ClientInitialHex))
        #expect(c.client == rfcClientHello)
    }

    @Test func cryptoBufferIsBounded() {
        var config = clientOnly()
        config.cryptoCapacity = 64
        var c = Collector(config: config)
        var payload = cryptoFrame(offset: 0, [UInt8](repeating: 0x01, count: 100)[...])
        payload += [0x06, 0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 0x01, 0x00] // offset near 2^62
        c.feed(protectInitial(dcid: dcid, packetNumber: 0, payload: payload, padTo: 1200))
        #expect(c.client.count == 64)
        #expect(c.parser.clientHelloComplete) // full buffer counts as complete: stop waiting
    }

    @Test func oversizedPacketIsSkipped() {
        var config = clientOnly()
        config.maxPacketBytes = 1000
        var c = Collector(config: config)
        c.feed(hex(rfc9001ClientInitialHex))
        #expect(c.client.isEmpty)
        #expect(c.parser.openFailures == 1)
    }

    @Test func frameWalkRejectsHostileFrames() {
        func walk(_ b: [UInt8]) -> QUICFrameWalkResult {
            b.withByteView { walkQUICFrames($0) { _, _ in } }
        }
        #expect(walk([0, 0, 0, 1, 0]) == .complete)
        #expect(walk([0x02, 0x00, 0x00, 0x80, 0xff, 0xff, 0xff, 0x00]) == .malformed) // huge range count
        #expect(walk([0x02, 0x00, 0x00, 0x01, 0x00, 0x00]) == .malformed)             // cut range
        #expect(walk([0x06, 0x00, 0x05, 1, 2]) == .malformed)                          // cut data
        #expect(walk([0x06, 0xff]) == .malformed)                                      // cut varint
        #expect(walk([0x1c, 0x0a, 0x06, 0x02, 0x41, 0x42]) == .complete)              // CONNECTION_CLOSE
        #expect(walk([0x1c, 0x0a, 0x06, 0x09, 0x41]) == .malformed)
        #expect(walk([0x08, 0x00]) == .unexpectedFrame)                                // STREAM
        #expect(walk([0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00]) == .malformed) // offset+len > 2^62-1
        var rng = SystemRandomNumberGenerator()
        for _ in 0 ..< 2000 {
            let b = (0 ..< Int.random(in: 0 ... 40, using: &rng)).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
            _ = walk(b)
            var p = QUICParser(config: clientOnly())
            b.withByteView { p.feedDecryptedPayload($0, direction: .toServer) { _, _ in } }
        }
    }

    /// RFC 9000 A.3's example, and the edges of the window.
    @Test func packetNumberDecoding() {
        #expect(QUICParser.decodePacketNumber(truncated: 0x9b32, length: 2, largest: 0xa82f_30ea) == 0xa82f_9b32)
        #expect(QUICParser.decodePacketNumber(truncated: 2, length: 4, largest: -1) == 2)
        #expect(QUICParser.decodePacketNumber(truncated: 0, length: 1, largest: 255) == 256)
        #expect(QUICParser.decodePacketNumber(truncated: 0xff, length: 1, largest: 256) == 255)
    }

    @Test func varints() {
        func v(_ b: [UInt8]) -> UInt64? { b.withByteView { quicVarint($0, 0)?.value } }
        // RFC 9000 A.1 sample encodings.
        #expect(v(hex("c2197c5eff14e88c")) == 151_288_809_941_952_652)
        #expect(v(hex("9d7f3e7d")) == 494_878_333)
        #expect(v(hex("7bbd")) == 15293)
        #expect(v(hex("25")) == 37)
        #expect(v(hex("4025")) == 37)
        #expect(v(hex("c2197c5eff14e8")) == nil)
        #expect(v([]) == nil)
    }

    @Test func firstDatagramFromServerOrNotQUICGivesUp() {
        var c = Collector()
        c.feed(hex(rfc9001ClientInitialHex), .toClient)
        #expect(c.parser.done)
        var d = Collector()
        d.feed(Array("GET / HTTP/1.1\r\n".utf8))
        #expect(d.parser.done)
    }
}
