import Testing
import AllocationCounter
import UTMCore
@testable import UTMAppID

// Hand-made first packets for each dissector, names for the suffix table, truncation at every
// length (never traps, never a wrong match on a prefix), and zero allocations per packet.

/// Runs `packets` (direction, bytes) through a fresh state; returns the state.
func identify(_ packets: [(Direction, [UInt8])], transport: UInt8 = 6, server: UInt16, client: UInt16 = 50000,
              _ id: AppIdentifier = AppIdentifier()) -> AppIDState {
    var s = AppIDState()
    for (d, bytes) in packets {
        bytes.withByteView { id.onPayload(&s, payload: $0, direction: d, transport: transport, serverPort: server, clientPort: client) }
    }
    return s
}

func b(_ s: String) -> [UInt8] { Array(s.utf8) }

struct Case: CustomStringConvertible, Sendable {
    var name: String
    var packets: [(Direction, [UInt8])]
    var transport: UInt8
    var server: UInt16
    var expected: AppID
    var description: String { name }
}

let shared = AppIdentifier()

let cases: [Case] = {
    var c: [Case] = []
    func add(_ n: String, _ p: [(Direction, [UInt8])], _ t: UInt8, _ port: UInt16, _ e: AppID) {
        c.append(Case(name: n, packets: p, transport: t, server: port, expected: e))
    }
    add("ssh", [(.toClient, b("SSH-2.0-OpenSSH_9.6\r\n"))], 6, 2222, .ssh)
    add("smtp banner", [(.toClient, b("220 mx.example.jp ESMTP Postfix\r\n"))], 6, 2500, .smtp)
    add("smtp ehlo", [(.toClient, b("220 hello\r\n")), (.toServer, b("EHLO client\r\n"))], 6, 2500, .smtp)
    add("imap", [(.toClient, b("* OK [CAPABILITY IMAP4rev1] ready\r\n"))], 6, 1430, .imap)
    add("pop3", [(.toClient, b("+OK POP3 ready\r\n"))], 6, 1100, .pop3)
    add("ftp", [(.toClient, b("220 (vsFTPd 3.0.5)\r\n"))], 6, 2121, .ftpControl)
    var rdp: [UInt8] = [3, 0, 0, 0x2b, 0x26, 0xe0, 0, 0, 0, 0, 0] + b("Cookie: mstshash=user\r\n") + [1, 0, 8, 0, 3, 0, 0, 0]
    rdp[3] = UInt8(rdp.count)
    add("rdp", [(.toServer, rdp)], 6, 33890, .rdp)
    add("smb1", [(.toServer, [0, 0, 0, 0x20, 0xff, 0x53, 0x4d, 0x42, 0x25] + [UInt8](repeating: 0, count: 27))], 6, 445, .smbv1)
    add("smb2", [(.toServer, [0, 0, 0, 0x40, 0xfe, 0x53, 0x4d, 0x42, 0x40] + [UInt8](repeating: 0, count: 59))], 6, 445, .smbv23)
    add("bittorrent", [(.toServer, [0x13] + b("BitTorrent protocol") + [UInt8](repeating: 0, count: 48))], 6, 40000, .bittorrent)
    add("dht", [(.toServer, b("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"))], 17, 40000, .bittorrent)
    var stun: [UInt8] = [0, 1, 0, 8, 0x21, 0x12, 0xa4, 0x42] + [UInt8](repeating: 7, count: 12) + [0, 0x24, 0, 4, 1, 2, 3, 4]
    add("stun", [(.toServer, stun)], 17, 19305, .stun)
    stun[4] = 0
    add("stun bad cookie", [(.toServer, stun)], 17, 19305, .unknown)
    var ntp = [UInt8](repeating: 0, count: 48); ntp[0] = 0x23
    add("ntp", [(.toServer, ntp)], 17, 123, .ntp)
    var dhcp = [UInt8](repeating: 0, count: 300); dhcp[0] = 1; dhcp[1] = 1; dhcp[2] = 6
    dhcp[236] = 0x63; dhcp[237] = 0x82; dhcp[238] = 0x53; dhcp[239] = 0x63
    add("dhcp", [(.toServer, dhcp)], 17, 67, .dhcp)
    add("openvpn udp", [(.toServer, [0x38] + [UInt8](repeating: 1, count: 25)), (.toClient, [0x40] + [UInt8](repeating: 2, count: 25))], 17, 11940, .openvpn)
    var wg = [UInt8](repeating: 9, count: 148); wg[0] = 1; wg[1] = 0; wg[2] = 0; wg[3] = 0
    add("wireguard", [(.toServer, wg)], 17, 40000, .wireguard)
    var ike = [UInt8](repeating: 0, count: 28); ike[17] = 0x20; ike[18] = 34; ike[27] = 28
    add("ike", [(.toServer, ike)], 17, 500, .ipsec)
    add("http", [(.toServer, b("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))], 6, 8000, .http)
    add("tls", [(.toServer, [0x16, 3, 1, 0, 0x40, 1, 0, 0, 0x3c, 3, 3])], 6, 4430, .tls)
    add("imaps", [(.toServer, [0x16, 3, 1, 0, 0x40, 1, 0, 0, 0x3c, 3, 3])], 6, 993, .imaps)
    add("mysql", [(.toClient, [7, 0, 0, 0, 0x0a] + b("8.0.3") + [0])], 6, 33060, .mysql)
    add("postgres", [(.toServer, [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])], 6, 54320, .postgresql)
    add("vnc", [(.toClient, b("RFB 003.008\n"))], 6, 5999, .vnc)
    add("sip", [(.toServer, b("REGISTER sip:example.jp SIP/2.0\r\n"))], 17, 5090, .sip)
    add("rtsp", [(.toServer, b("OPTIONS rtsp://cam.local/ RTSP/1.0\r\n"))], 6, 8554, .rtsp)
    add("whatsapp", [(.toServer, [0x57, 0x41, 6, 3, 0, 0, 0x20])], 6, 443, .whatsapp)
    add("spotify", [(.toServer, b("SpotUdp0") + [1, 2, 3])], 17, 57621, .spotify)
    add("mqtt", [(.toServer, [0x10, 0x10, 0, 4] + b("MQTT") + [4, 2, 0, 60, 0, 4] + b("abcd"))], 6, 18830, .mqtt)
    add("syslog", [(.toServer, b("<34>Oct 11 22:14:15 host su: failed"))], 17, 514, .syslog)
    add("random tcp", [(.toServer, [0x9c, 0x11, 0x02, 0x77, 0x01, 0x00, 0x42, 0x42])], 6, 40000, .unknown)
    return c
}()

@Suite struct AppIDDissectorTests {
    @Test(arguments: cases)
    func identifies(_ c: Case) {
        let s = identify(c.packets, transport: c.transport, server: c.server, shared)
        #expect(s.result == c.expected, "\(c.name): got \(AppIdentifier.name(s.result))")
        if c.expected != .unknown { #expect(s.done && s.confidence == .payload) }
    }

    /// Every prefix of every hand-made packet: no trap, and never a different app than the
    /// whole packet gives (a prefix may say "not yet" or nothing).
    @Test(arguments: cases)
    func truncatedNeverTrapsOrLies(_ c: Case) {
        let last = c.packets.count - 1
        for n in 0...c.packets[last].1.count {
            var ps = c.packets
            ps[last].1 = Array(ps[last].1.prefix(n))
            let s = identify(ps, transport: c.transport, server: c.server, shared)
            if s.confidence == .payload && c.expected != .unknown {
                #expect(s.result == c.expected, "\(c.name) cut at \(n): \(AppIdentifier.name(s.result))")
            }
        }
    }

    @Test func givesUpAfterMaxPacketsAndGuessesByPort() {
        let junk = [UInt8](repeating: 0x5a, count: 40)
        let s = identify(Array(repeating: (Direction.toServer, junk), count: 10), server: 3389)
        #expect(s.done)
        #expect(s.result == .rdp && s.confidence == .port)
    }
}

@Suite struct AppIDNameTests {
    @Test(arguments: [
        ("www.youtube.com", NameKind.sni, AppID.tls, AppID.youtube),
        ("r3---sn-ogueln7d.googlevideo.com.", .quicSNI, .quic, .youtube),
        ("WWW.GOOGLE.COM", .dnsQuery, .dns, .google),
        ("teams.microsoft.com", .sni, .tls, .teams),
        ("www.microsoft.com", .sni, .tls, .microsoft),
        ("obs.line-scdn.net", .sni, .tls, .line),
        ("zoom.us:443", .httpHost, .http, .zoom),
        ("example.org", .sni, .tls, .unknown),
        ("notyoutube.com", .sni, .tls, .unknown),
        ("com", .sni, .tls, .unknown),
        ("", .sni, .tls, .unknown),
    ])
    func namesRefineTheCarrier(_ name: String, _ kind: NameKind, _ master: AppID, _ app: AppID) {
        var s = AppIDState()
        Array(name.utf8).withByteView { shared.onName(&s, name: $0, kind: kind) }
        #expect(s.master == master)
        #expect(s.app == app, "\(name) -> \(AppIdentifier.name(s.app))")
    }

    @Test func namesKeepPayloadMaster() {
        var s = identify([(.toServer, [0x16, 3, 1, 0, 0x40, 1, 0, 0, 0x3c, 3, 3])], server: 993, shared)
        Array("imap.gmail.com".utf8).withByteView { shared.onName(&s, name: $0, kind: .sni) }
        #expect(s.master == .imaps && s.app == .gmail)
        var out: [UInt8] = []
        AppIdentifier.writeName(s) { out.append($0) }
        #expect(String(decoding: out, as: UTF8.self) == "IMAPS.GMail")
    }
}

@Suite struct AppIDRegistryTests {
    @Test func registryIsInIDOrderAndLargeEnough() {
        #expect(AppRegistry.all.count == AppID.allCases.count)
        for (i, d) in AppRegistry.all.enumerated() { #expect(Int(d.id.rawValue) == i, "\(d.name) at \(i)") }
        #expect(AppRegistry.all.count - 1 >= 60)
        #expect(shared.dissectors.count <= 64)
    }

    @Test func namePatternsAreUniqueAcrossApps() {
        #expect(shared.names.duplicates.isEmpty, "\(shared.names.duplicates)")
        #expect(shared.namePatternCount > 500)
    }

    @Test func namesAreUnique() {
        let names = AppRegistry.all.map { $0.name.description }
        #expect(Set(names).count == names.count)
    }

    @Test func stateIsSmall() {
        #expect(MemoryLayout<AppIDState>.size <= 24)
    }
}

/// Helpers taking the state inout: a local `var` captured by the test's closures would be boxed
/// on the heap in debug builds and counted against the identifier.
func feedOne(_ id: AppIdentifier, _ s: inout AppIDState, _ p: [UInt8], _ d: Direction, _ t: UInt8, _ port: UInt16) {
    p.withByteView { id.onPayload(&s, payload: $0, direction: d, transport: t, serverPort: port, clientPort: 40000) }
}

func nameOne(_ id: AppIdentifier, _ s: inout AppIDState, _ name: [UInt8]) {
    name.withByteView { id.onName(&s, name: $0, kind: .sni) }
}

@Suite(.serialized) struct AppIDAllocationTests {
    @Test func perPacketAndPerNameAllocateNothing() {
        guard allocationCounterWorks() else { return }
        let id = shared
        let packets: [[UInt8]] = cases.flatMap { $0.packets.map { $0.1 } }
        let names = [b("www.youtube.com"), b("x.y.z.example.org"), b("teams.microsoft.com")]
        // Warm up (lazy statics).
        _ = identify([(.toServer, packets[0])], server: 22, id)
        // The first pass initialises lazy statics (method and command lists); the second counts.
        var n = 0
        for pass in 0..<2 {
          let c = countAllocations {
            // Index loops: `for in` over an array of arrays allocates in debug builds.
            var round = 0
            while round < 50 {
                var k = 0
                while k < packets.count {
                    var s = AppIDState()
                    feedOne(id, &s, packets[k], round % 2 == 0 ? .toServer : .toClient, round % 3 == 0 ? 17 : 6, UInt16(round * 7))
                    nameOne(id, &s, names[round % names.count])
                    k += 1
                }
                round += 1
            }
          }
          if pass == 1 { n = c }
        }
        #expect(n == 0, "allocations on the App-ID path: \(n)")
    }
}

@Suite struct AppIDRobustnessTests {
    /// Random and mutated packets on every interesting port: never traps (a cheap stand-in for
    /// the libFuzzer target in Fuzz/FuzzAppID.swift).
    @Test func randomAndMutatedInputNeverTraps() {
        var rng = SystemRandomNumberGenerator()
        let seeds = cases.flatMap { $0.packets.map { $0.1 } }
        let ports: [UInt16] = [22, 25, 53, 67, 88, 110, 123, 137, 138, 139, 143, 161, 389, 443, 445, 500, 514, 853,
                               993, 1194, 1433, 1812, 1900, 3306, 3389, 3478, 4500, 5060, 5353, 5355, 17500, 51820]
        var identified = 0
        for i in 0..<20_000 {
            var bytes = i % 2 == 0 ? seeds[i % seeds.count] : (0..<Int.random(in: 0..<300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if !bytes.isEmpty && i % 2 == 0 {
                for _ in 0..<3 { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng)))
            }
            let port = ports[i % ports.count]
            let s = identify([(.toServer, bytes), (.toClient, bytes)], transport: i % 3 == 0 ? 17 : 6, server: port, shared)
            if s.result != .unknown { identified += 1 }
            var t = s
            bytes.withByteView { shared.onName(&t, name: $0, kind: .sni) }
        }
        #expect(identified > 0)
    }
}
