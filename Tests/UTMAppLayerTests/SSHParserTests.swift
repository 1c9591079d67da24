import Testing
import UTMCore
@testable import UTMAppLayer

/// SSH transport bytes built after RFC 4253 (§4.2 identification string, §6 binary packet,
/// §7.1 KEXINIT).
enum SSHBuild {
    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    /// A binary packet: length, padding length, payload (code first), padding.
    static func packet(_ payload: [UInt8], padding: Int = 4) -> [UInt8] {
        be32(payload.count + padding + 1) + [UInt8(padding)] + payload + [UInt8](repeating: 0, count: padding)
    }

    static func nameList(_ s: String) -> [UInt8] { be32(s.utf8.count) + Array(s.utf8) }

    /// KEXINIT with the ten name-lists in RFC order.
    static func kexinit(_ lists: [String]) -> [UInt8] {
        var p: [UInt8] = [20] + [UInt8](repeating: 0xa5, count: 16)
        for l in lists { p += nameList(l) }
        return packet(p + [0] + be32(0), padding: 6)
    }

    static let newKeys = packet([21], padding: 10)

    // The name-lists of the OpenSSH 5.3 client and OpenSSH 5.6 server in nDPI's ssh.pcap, as
    // tshark prints them (ssh.kex.hassh_algorithms / hasshserver_algorithms), with tshark's
    // hashes: client 21b457a327ce7a2d4fce5ef2c42400bd, server b1c6c0d56317555b85c7005a3de29325.
    static let kex = "diffie-hellman-group-exchange-sha256,diffie-hellman-group-exchange-sha1,diffie-hellman-group14-sha1,diffie-hellman-group1-sha1"
    static let enc = "aes128-ctr,aes192-ctr,aes256-ctr,arcfour256,arcfour128,aes128-cbc,3des-cbc,blowfish-cbc,cast128-cbc,aes192-cbc,aes256-cbc,arcfour,rijndael-cbc@lysator.liu.se"
    static let mac = "hmac-md5,hmac-sha1,umac-64@openssh.com,hmac-ripemd160,hmac-ripemd160@openssh.com,hmac-sha1-96,hmac-md5-96"
    static let clientHassh = "21b457a327ce7a2d4fce5ef2c42400bd"
    static let serverHassh = "b1c6c0d56317555b85c7005a3de29325"

    /// The client's lists in the c2s slots and other lists in the s2c ones (and the reverse
    /// for the server), so taking the wrong slot changes the hash.
    static let clientKexinit = kexinit([kex, "ssh-rsa", enc, "aes256-ctr", mac, "hmac-sha1", "none,zlib@openssh.com,zlib", "none", "", ""])
    static let serverKexinit = kexinit([kex, "ssh-rsa,ssh-dss", "3des-cbc", enc, "hmac-md5", mac, "zlib", "none,zlib@openssh.com", "", ""])

    static let clientBytes = Array("SSH-2.0-OpenSSH_5.3\r\n".utf8) + clientKexinit + packet([30] + be32(4) + [1, 2, 3, 4]) + newKeys
        + [0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x00]   // encrypted from here: never read
    static let serverBytes = Array("SSH-2.0-OpenSSH_5.6 comment here\r\n".utf8) + serverKexinit
        + packet([31] + [UInt8](repeating: 7, count: 300)) + newKeys + [0xff, 0xff, 0xff, 0xff]
}

/// The facts of one side, copied out.
struct SSHFacts: Equatable {
    var proto: String?, software: String?, hassh: String?, hasshString: String?
    var banner: Bool, kexinit: Bool, newKeys: Bool, stopped: Bool
    init(_ p: SSHParser, _ d: Direction) {
        let s = p.side(d)
        proto = s.store.string(s.protoVersion)
        software = s.store.string(s.softwareVersion)
        hassh = s.store.string(s.hassh)
        hasshString = s.store.string(s.hasshString)
        banner = s.bannerDone; kexinit = s.kexinitDone; newKeys = s.newKeys; stopped = s.stopped
    }
}

@Suite struct SSHParserTests {
    static func run(_ client: [UInt8], _ server: [UInt8], chunk: Int = .max, parser: inout SSHParser) -> SSHEvents {
        var all: SSHEvents = []
        var ci = 0, si = 0
        // Alternate the directions, `chunk` bytes at a time (the server's banner first, as usual).
        while ci < client.count || si < server.count {
            if si < server.count {
                let n = min(chunk, server.count - si)
                all.formUnion(server[si ..< si + n].withUnsafeBytes { parser.feed(ByteView($0), direction: .toClient, gap: false) })
                si += n
            }
            if ci < client.count {
                let n = min(chunk, client.count - ci)
                all.formUnion(client[ci ..< ci + n].withUnsafeBytes { parser.feed(ByteView($0), direction: .toServer, gap: false) })
                ci += n
            }
        }
        return all
    }

    @Test func wholeHandshake() {
        var p = SSHParser()
        let ev = Self.run(SSHBuild.clientBytes, SSHBuild.serverBytes, parser: &p)
        let c = SSHFacts(p, .toServer), s = SSHFacts(p, .toClient)
        #expect(c.proto == "2.0" && c.software == "OpenSSH_5.3")
        #expect(s.proto == "2.0" && s.software == "OpenSSH_5.6", "comments after the space are not the software")
        #expect(c.hassh == SSHBuild.clientHassh)
        #expect(c.hasshString == [SSHBuild.kex, SSHBuild.enc, SSHBuild.mac, "none,zlib@openssh.com,zlib"].joined(separator: ";"))
        #expect(s.hassh == SSHBuild.serverHassh)
        #expect(s.hasshString == [SSHBuild.kex, SSHBuild.enc, SSHBuild.mac, "none,zlib@openssh.com"].joined(separator: ";"))
        #expect(c.newKeys && s.newKeys && p.encrypted && p.finished)
        #expect(ev.contains(.encrypted) && ev.contains(.banner) && ev.contains(.kexinit))
        #expect(!c.stopped && !s.stopped, "the bytes after NEWKEYS are not read as packets")
    }

    /// Every chunk size, so every field and header is split at every position.
    @Test func splitAnywhere() {
        var whole = SSHParser()
        _ = Self.run(SSHBuild.clientBytes, SSHBuild.serverBytes, parser: &whole)
        var p = SSHParser()
        for chunk in [1, 2, 3, 5, 7, 13, 64, 301] {
            p.reset()
            _ = Self.run(SSHBuild.clientBytes, SSHBuild.serverBytes, chunk: chunk, parser: &p)
            #expect(SSHFacts(p, .toServer) == SSHFacts(whole, .toServer), "chunk \(chunk)")
            #expect(SSHFacts(p, .toClient) == SSHFacts(whole, .toClient), "chunk \(chunk)")
            #expect(p.encrypted)
        }
    }

    /// Every prefix of the client's bytes: never traps; the banner once its line ended, a
    /// HASSH only for a whole KEXINIT.
    @Test func truncatedAnywhere() {
        let bytes = SSHBuild.clientBytes
        let bannerEnd = "SSH-2.0-OpenSSH_5.3\r\n".utf8.count
        let kexEnd = bannerEnd + SSHBuild.clientKexinit.count
        var p = SSHParser()
        for n in 0 ... bytes.count {
            p.reset()
            _ = Array(bytes[0 ..< n]).withUnsafeBytes { p.feed(ByteView($0), direction: .toServer, gap: false) }
            let c = SSHFacts(p, .toServer)
            #expect(c.banner == (n >= bannerEnd - 1), "prefix \(n)")   // a lone CR ends the line too
            // HASSH needs name-lists 0-7: two empty lists (8 bytes), 5 bytes and 6 of padding follow.
            #expect((c.hassh != nil) == (n >= kexEnd - 19), "prefix \(n)")
            #expect(!c.stopped)
        }
    }

    @Test func lineEnds() {
        for text in ["SSH-1.99-PuTTY_Release_0.70\n", "SSH-1.99-PuTTY_Release_0.70\r\n", "SSH-1.99-PuTTY_Release_0.70\rX"] {
            var p = SSHParser()
            _ = Array(text.utf8).withUnsafeBytes { p.feed(ByteView($0), direction: .toServer, gap: false) }
            let c = SSHFacts(p, .toServer)
            #expect(c.proto == "1.99" && c.software == "PuTTY_Release_0.70", "\(text.debugDescription)")
        }
        var p = SSHParser()
        _ = Array("SSH-2.0-\r\n".utf8).withUnsafeBytes { p.feed(ByteView($0), direction: .toServer, gap: false) }
        #expect(SSHFacts(p, .toServer).software == "" && SSHFacts(p, .toServer).proto == "2.0")
    }

    /// RFC 4253 lets the server send other lines first; a client must start with `SSH-`.
    @Test func linesBeforeTheBanner() {
        var p = SSHParser()
        let server = Array("Welcome\r\nto the box\r\nSSH-2.0-dropbear_2022.83\r\n".utf8)
        _ = server.withUnsafeBytes { p.feed(ByteView($0), direction: .toClient, gap: false) }
        #expect(SSHFacts(p, .toClient).software == "dropbear_2022.83")
        let ev = Array("GET / HTTP/1.1\r\n".utf8).withUnsafeBytes { p.feed(ByteView($0), direction: .toServer, gap: false) }
        #expect(ev.contains(.invalidBanner) && SSHFacts(p, .toServer).stopped && !SSHFacts(p, .toServer).banner)
        // Not an identification line either: no second dash.
        var q = SSHParser()
        let ev2 = Array("SSH-2.0\r\n".utf8).withUnsafeBytes { q.feed(ByteView($0), direction: .toServer, gap: false) }
        #expect(ev2.contains(.invalidBanner) && SSHFacts(q, .toServer).proto == nil)
        // Endless pre-banner lines are bounded.
        var r = SSHParser()
        for _ in 0 ..< 20 { _ = Array("hello\n".utf8).withUnsafeBytes { r.feed(ByteView($0), direction: .toClient, gap: false) } }
        #expect(SSHFacts(r, .toClient).stopped)
    }

    @Test func longBannerIsCutAndSkipped() {
        var p = SSHParser()
        let line = "SSH-2.0-" + String(repeating: "A", count: 400) + "\r\n"
        let ev = (Array(line.utf8) + SSHBuild.clientKexinit).withUnsafeBytes { p.feed(ByteView($0), direction: .toServer, gap: false) }
        let c = SSHFacts(p, .toServer)
        #expect(ev.contains(.longBanner) && c.proto == "2.0" && c.software?.count == 256 - 8)
        #expect(c.hassh == SSHBuild.clientHassh, "packets after the long line are still read")
        // A line that never ends is given up after maxLineSkip.
        var q = SSHParser()
        let junk = [UInt8]("SSH-2.0-x".utf8) + [UInt8](repeating: 0x41, count: 10_000)
        _ = junk.withUnsafeBytes { q.feed(ByteView($0), direction: .toServer, gap: false) }
        #expect(SSHFacts(q, .toServer).stopped && SSHFacts(q, .toServer).banner)
    }

    @Test func badPacketsAndGaps() {
        var p = SSHParser()
        let bad = Array("SSH-2.0-x\r\n".utf8) + [0, 0, 0, 1, 0, 0]
        let ev = bad.withUnsafeBytes { p.feed(ByteView($0), direction: .toServer, gap: false) }
        #expect(ev.contains(.invalidRecord) && SSHFacts(p, .toServer).stopped)
        var q = SSHParser()
        _ = Array("SSH-2.0-x\r\n".utf8).withUnsafeBytes { q.feed(ByteView($0), direction: .toServer, gap: false) }
        let ev2 = SSHBuild.clientKexinit.withUnsafeBytes { q.feed(ByteView($0), direction: .toServer, gap: true) }
        #expect(ev2.contains(.invalidRecord) && SSHFacts(q, .toServer).hassh == nil)
        // A name-list longer than its packet: no HASSH, framing kept.
        var r = SSHParser()
        var kex = SSHBuild.clientKexinit
        kex[6 + 16 + 2] = 0x7f
        _ = (Array("SSH-2.0-x\r\n".utf8) + kex + SSHBuild.newKeys).withUnsafeBytes { r.feed(ByteView($0), direction: .toServer, gap: false) }
        #expect(SSHFacts(r, .toServer).hassh == nil && SSHFacts(r, .toServer).hasshString == nil && SSHFacts(r, .toServer).newKeys)
    }

    /// A small HASSH store: the kept string is cut, the hash is still over all of it.
    @Test func hasshStringCut() {
        var c = SSHConfig()
        c.maxHasshString = 40
        var p = SSHParser(config: c)
        _ = (Array("SSH-2.0-x\r\n".utf8) + SSHBuild.clientKexinit).withUnsafeBytes { p.feed(ByteView($0), direction: .toServer, gap: false) }
        let f = SSHFacts(p, .toServer)
        #expect(f.hassh == SSHBuild.clientHassh && f.hasshString?.count == 40 && p.client.hasshTruncated)
    }

    @Test func probe() {
        func probe(_ s: String) -> Bool? { Array(s.utf8).withUnsafeBytes { SSHParser.probe(ByteView($0)) } }
        #expect(probe("SSH-2.0-OpenSSH_9.6\r\n") == true)
        #expect(probe("SS") == nil && probe("") == nil)
        #expect(probe("GET / HTTP/1.1") == false && probe("SX") == false)
    }

    /// Pseudo-random bytes after a banner and as a banner: never traps, stays bounded.
    @Test func garbage() {
        var seed: UInt64 = 0x9e37_79b9_7f4a_7c15
        var p = SSHParser()
        for round in 0 ..< 200 {
            p.reset()
            var bytes = round % 2 == 0 ? Array("SSH-2.0-x\r\n".utf8) : []
            for _ in 0 ..< 600 {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                bytes.append(UInt8(truncatingIfNeeded: seed >> 33))
            }
            _ = Self.run(bytes, bytes, chunk: 1 + round % 17, parser: &p)
            #expect(p.client.store.used <= p.client.store.capacity)
        }
    }
}
