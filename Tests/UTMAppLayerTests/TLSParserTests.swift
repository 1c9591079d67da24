import Testing
import UTMCore
@testable import UTMAppLayer

/// Hand-built hellos: the fingerprints' expected values were computed independently (Python
/// hashlib over the JA3/JA4 strings written out by hand from the specs).
enum TLSBuild {
    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func ext(_ type: UInt16, _ body: [UInt8]) -> [UInt8] { u16(type) + u16(UInt16(body.count)) + body }
    static func list16(_ v: [UInt16]) -> [UInt8] { let b = v.flatMap(u16); return u16(UInt16(b.count)) + b }

    static func clientHello(version: UInt16 = 0x0303, ciphers: [UInt16], extensions: [[UInt8]]) -> [UInt8] {
        var body = u16(version) + [UInt8](repeating: 0x11, count: 32) + [32] + [UInt8](repeating: 0x22, count: 32)
        body += list16(ciphers) + [1, 0]
        let e = extensions.flatMap { $0 }
        body += u16(UInt16(e.count)) + e
        return [1, 0, UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
    }

    static func serverHello(random: [UInt8] = [UInt8](repeating: 0x33, count: 32), cipher: UInt16,
                            extensions: [[UInt8]]) -> [UInt8] {
        var body = u16(0x0303) + random + [32] + [UInt8](repeating: 0x44, count: 32) + u16(cipher) + [0]
        let e = extensions.flatMap { $0 }
        body += u16(UInt16(e.count)) + e
        return [2, 0, UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
    }

    /// Wraps handshake bytes in records of at most `maxRecord` bytes each.
    static func records(_ hs: [UInt8], type: UInt8 = 22, maxRecord: Int = 16384) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < hs.count {
            let n = min(maxRecord, hs.count - i)
            out += [type, 3, 1] + u16(UInt16(n)) + hs[i..<i + n]
            i += n
        }
        return out
    }

    static let sni = ext(0, u16(14) + [0] + u16(11) + Array("example.com".utf8))
    static let alpn = ext(16, u16(12) + [2] + Array("h2".utf8) + [8] + Array("http/1.1".utf8))
    static let groups = ext(10, list16([0x2a2a, 29, 23]))
    static let points = ext(11, [1, 0])
    static let sigalgs = ext(13, list16([0x0403, 0x0804]))
    static let versions = ext(43, [6] + u16(0x3a3a) + u16(0x0304) + u16(0x0303))

    /// GREASE cipher and extension first, as Chromium sends them.
    static let hello = clientHello(ciphers: [0x0a0a, 0x1301, 0x1302, 0xc02b],
                                   extensions: [ext(0x1a1a, []), sni, alpn, groups, points, sigalgs, versions])
}

@Suite struct TLSParserTests {
    let expectedJA3 = "771,4865-4866-49195,0-16-10-11-13-43,29-23,0"
    let expectedJA4 = "t13d0306h2_5559582ccdc4_fb71836bce29"

    @Test func handBuiltClientHelloWithGREASE() {
        let client = TLSBuild.records(TLSBuild.hello)
        let r = runTLS(client: client)
        #expect(r.sni == "example.com")
        #expect(r.alpns == "h2,http/1.1")
        #expect(r.ja3 == expectedJA3)
        #expect(r.ja3Hash == "3736761f91e3f9597a641ce4c92f256c")
        #expect(r.ja4 == expectedJA4)
        var p = TLSParser()
        client.withByteView { p.feed($0, direction: .toServer, gap: false) }
        let ch = p.clientHello!
        #expect(p.string(ch.alpn) == "h2")
        #expect(ch.highestSupportedVersion == 0x0304 && ch.supportedVersionCount == 2)
        #expect(ch.cipherCount == 3 && ch.extensionCount == 6 && ch.hasGREASE)
        #expect(ch.groupCount == 2 && ch.signatureAlgorithmCount == 2)
        #expect(p.takeEvents().contains(.clientHelloDone))
        #expect(p.events.isEmpty)
    }

    @Test func everySplitGivesTheSameResult() {
        let client = TLSBuild.records(TLSBuild.hello)
        let server = TLSBuild.records(TLSBuild.serverHello(cipher: 0x1301, extensions: [
            TLSBuild.ext(43, TLSBuild.u16(0x0304)), TLSBuild.ext(51, TLSBuild.u16(29) + TLSBuild.u16(0))]))
        let whole = runTLS(client: client, server: server)
        #expect(whole.ja3s == "771,4865,43-51")
        for (i, s) in Splits.all(client.count, seeds: 1...16).enumerated() {
            let ss = Splits.all(server.count, seeds: 1...16)[i]
            #expect(runTLS(client: client, server: server, clientSplits: s, serverSplits: ss) == whole, "split \(i)")
        }
    }

    @Test func helloSplitAcrossThreeRecords() {
        let hs = TLSBuild.hello
        let client = TLSBuild.records(hs, maxRecord: (hs.count + 2) / 3)
        #expect(client.count == hs.count + 15)
        for s in Splits.all(client.count) {
            let r = runTLS(client: client, clientSplits: s)
            #expect(r.ja4 == expectedJA4 && r.sni == "example.com")
        }
    }

    @Test func severalMessagesInOneRecord() {
        // ServerHello + a fake Certificate + ServerHelloDone in one record.
        let sh = TLSBuild.serverHello(cipher: 0xc02f, extensions: [TLSBuild.ext(0xff01, [0])])
        let hs = sh + [11, 0, 0, 3, 0, 0, 0] + [14, 0, 0, 0]
        let r = runTLS(client: TLSBuild.records(TLSBuild.hello), server: TLSBuild.records(hs))
        #expect(r.ja3s == "771,49199,65281")
        #expect(r.ja3sHash?.count == 32)
        #expect(r.serverVersion == 0x0303)
        #expect(!r.encrypted)
    }

    @Test func everyTruncationIsSafe() {
        let client = TLSBuild.records(TLSBuild.hello)
        for n in 0..<client.count {
            let r = runTLS(client: Array(client[0..<n]))
            #expect(r.ja4 == nil)
        }
        // Truncated handshake message inside a complete record: malformed, no crash.
        let hs = TLSBuild.hello
        for n in stride(from: 4, to: hs.count, by: 1) {
            var cut = hs
            cut.removeLast(hs.count - n)
            cut[1] = 0; cut[2] = UInt8((n - 4) >> 8); cut[3] = UInt8((n - 4) & 0xff)
            _ = runTLS(client: TLSBuild.records(cut))
        }
    }

    @Test func tls13ServerHelloEndsParsing() {
        var p = TLSParser()
        TLSBuild.records(TLSBuild.hello).withByteView { p.feed($0, direction: .toServer, gap: false) }
        let sh = TLSBuild.records(TLSBuild.serverHello(cipher: 0x1301, extensions: [
            TLSBuild.ext(43, TLSBuild.u16(0x0304)), TLSBuild.ext(16, TLSBuild.u16(3) + [2] + Array("h2".utf8))]))
        sh.withByteView { p.feed($0, direction: .toClient, gap: false) }
        #expect(p.encrypted)
        #expect(p.serverHello?.version == 0x0304)
        #expect(p.string(p.serverHello!.alpn) == "h2")
        #expect(p.takeEvents().isSuperset(of: [.clientHelloDone, .serverHelloDone, .encrypted]))
    }

    @Test func helloRetryRequestThenRealServerHello() {
        let hrrRandom: [UInt8] = [0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
                                  0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c]
        var p = TLSParser()
        TLSBuild.records(TLSBuild.hello).withByteView { p.feed($0, direction: .toServer, gap: false) }
        let hrr = TLSBuild.serverHello(random: hrrRandom, cipher: 0x1301, extensions: [TLSBuild.ext(43, TLSBuild.u16(0x0304))])
        TLSBuild.records(hrr).withByteView { p.feed($0, direction: .toClient, gap: false) }
        #expect(p.serverHello?.isHelloRetryRequest == true)
        #expect(!p.encrypted)
        #expect(p.takeEvents().contains(.helloRetryRequest))
        // Second ClientHello is not re-fingerprinted; the real ServerHello is taken.
        TLSBuild.records(TLSBuild.hello).withByteView { p.feed($0, direction: .toServer, gap: false) }
        let sh = TLSBuild.serverHello(cipher: 0x1301, extensions: [TLSBuild.ext(43, TLSBuild.u16(0x0304))])
        TLSBuild.records(sh).withByteView { p.feed($0, direction: .toClient, gap: false) }
        #expect(p.serverHello?.isHelloRetryRequest == false)
        #expect(p.encrypted)
        #expect(!p.takeEvents().contains(.clientHelloDone))
    }

    @Test func tls12EncryptedAfterChangeCipherSpecBothWays() {
        var p = TLSParser()
        let ccs: [UInt8] = [20, 3, 3, 0, 1, 1]
        ccs.withByteView { p.feed($0, direction: .toServer, gap: false) }
        #expect(!p.encrypted)
        // Encrypted Finished in a handshake record after CCS must not be parsed as a hello.
        let fin: [UInt8] = [22, 3, 3, 0, 8, 1, 0, 0, 4, 9, 9, 9, 9]
        fin.withByteView { p.feed($0, direction: .toServer, gap: false) }
        #expect(p.clientHello == nil)
        ccs.withByteView { p.feed($0, direction: .toClient, gap: false) }
        #expect(p.encrypted)
    }

    @Test func sslv2GapAndGarbageStopTheDirection() {
        var p = TLSParser()
        let v2: [UInt8] = [0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15]
        v2.withByteView { p.feed($0, direction: .toServer, gap: false) }
        #expect(p.takeEvents().contains(.sslv2ClientHello))
        TLSBuild.records(TLSBuild.hello).withByteView { p.feed($0, direction: .toServer, gap: false) }
        #expect(p.clientHello == nil)

        var q = TLSParser()
        Array("GET / HTTP/1.1\r\n".utf8).withByteView { q.feed($0, direction: .toServer, gap: false) }
        #expect(q.takeEvents().contains(.malformed))

        var g = TLSParser()
        let client = TLSBuild.records(TLSBuild.hello)
        client[0..<10].withByteView { g.feed($0, direction: .toServer, gap: false) }
        client[20...].withByteView { g.feed($0, direction: .toServer, gap: true) }
        #expect(g.clientHello == nil)
        #expect(g.takeEvents().contains(.gap))
    }

    @Test func quicHandshakeBytesGiveQPrefix() {
        var c = TLSConfig()
        c.isQUIC = true
        var p = TLSParser(config: c)
        let hs = TLSBuild.hello
        hs[0..<100].withByteView { p.feedHandshake($0, direction: .toServer) }
        hs[100...].withByteView { p.feedHandshake($0, direction: .toServer) }
        #expect(p.string(p.clientHello!.ja4) == "q" + expectedJA4.dropFirst())
    }

    @Test func alpnRulesAndNoExtensions() {
        // Non-alphanumeric ALPN bytes: hex of first byte's high nibble and last byte's low nibble.
        let odd = TLSBuild.ext(16, TLSBuild.u16(3) + [2, 0xab, 0xcd])
        let r = runTLS(client: TLSBuild.records(TLSBuild.clientHello(ciphers: [0x1301], extensions: [odd])))
        #expect(r.ja4?.hasPrefix("t12i0101ad_") == true)
        // No extensions at all (old clients): JA4_c is zeros, JA3 has empty lists.
        let bare = runTLS(client: TLSBuild.records(TLSBuild.clientHello(version: 0x0301, ciphers: [0x002f], extensions: [])))
        #expect(bare.ja4?.hasPrefix("t10i010000_") == true)
        #expect(bare.ja4?.hasSuffix("_000000000000") == true)
        #expect(bare.ja3 == "769,47,,,")
        // IP-literal SNI counts as "i".
        let ip = TLSBuild.ext(0, TLSBuild.u16(10) + [0] + TLSBuild.u16(7) + Array("1.2.3.4".utf8))
        let ipr = runTLS(client: TLSBuild.records(TLSBuild.clientHello(ciphers: [0x1301], extensions: [ip])))
        #expect(ipr.ja4?.hasPrefix("t12i0101") == true)
        #expect(ipr.sni == "1.2.3.4")
    }

    @Test func oversizedHelloIsSkippedNotBuffered() {
        var c = TLSConfig()
        c.maxHandshakeSize = 64
        var p = TLSParser(config: c)
        TLSBuild.records(TLSBuild.hello).withByteView { p.feed($0, direction: .toServer, gap: false) }
        #expect(p.clientHello == nil)
        #expect(p.takeEvents().contains(.handshakeTooLarge))
    }
}
