import Foundation
import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// Review of session 12's evfix branch (fragments): failing tests for the lead.
@Suite struct Review12CTests {
    typealias T = EngineTraffic
    typealias S6 = Session6KeywordEngineTests
    typealias F = FirewallEngineTests
    typealias FT = Session12FragmentTests

    /// `frame` with its IPv4 TTL set and the header checksum recomputed.
    static func withTTL(_ frame: [UInt8], _ ttl: UInt8) -> [UInt8] {
        var f = frame
        f[22] = ttl
        f[24] = 0; f[25] = 0
        let ihl = Int(f[14] & 0x0f) * 4
        var sum: UInt32 = 0
        for i in stride(from: 14, to: 14 + ihl, by: 2) { sum += UInt32(f[i]) << 8 | UInt32(f[i + 1]) }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        let c = ~UInt16(sum)
        f[24] = UInt8(c >> 8); f[25] = UInt8(c & 0xff)
        return f
    }

    /// One frame (the completing fragment, carrying the datagram) dropped inline is one blocked
    /// packet: `inspectPortless` counts it and `process` counts the same verdict again.
    @Test func aDroppedCompletingFragmentIsOneBlockedPacket() throws {
        var p = RuleParser()
        p.load(text: "drop ip any any -> any any (msg:\"late fragment\"; fragoffset:>0; sid:21;)\n", file: "f.rules")
        let engine = Engine(config: EngineConfig())
        engine.loadDetection(DetectDefinitions(ruleSet: p.finish()))
        let (_, dropped) = F.run(engine, FT.inOrder())
        #expect(dropped == 1)
        #expect(engine.stats.blockedPackets == 1, "blocked \(engine.stats.blockedPackets) for one dropped frame")
    }

    /// Firewall first, threat detection on what it accepted (Suricata's firewall mode: the TD
    /// instance never sees what the firewall dropped). A fail-closed firewall that accepts
    /// nothing of this datagram drops both fragments; the completing fragment must not reach
    /// the TD rules (it is inspected before the firewall judges anything of it).
    @Test func theFirewallJudgesTheCompletingFragmentBeforeDetection() throws {
        let td = """
            alert ip any any -> any any (msg:"a later fragment"; fragoffset:>0; sid:21;)
            alert ip any any -> any any (msg:"every packet"; sid:24;)
            """
        let engine = try F.engine("accept:hook udp:all any any -> any 53 (sid:100;)\n",
                                  policies: [("packet.filter", "drop:packet,alert")], td: td)
        let (events, dropped) = F.run(engine, FT.inOrder())
        #expect(dropped == 2)
        #expect(F.sids(events).filter { $0 == 21 || $0 == 24 }.isEmpty, "TD alerts on dropped packets: \(F.sids(events))")
    }

    /// A port-only fail-closed firewall drops the held fragment (no ports), so the receiver can
    /// never rebuild the datagram; yet the completing fragment is forwarded and the datagram is
    /// processed as an accepted packet of a flow. Suricata's packet:filter judges every fragment
    /// portless, the completing one too: both are dropped by the default policy.
    @Test func aPortOnlyFirewallDropsTheCompletingFragmentToo() throws {
        let engine = try F.engine("accept:hook udp:all any any -> any 9999 (sid:100;)\n",
                                  policies: [("packet.filter", "drop:packet,alert")])
        let (events, dropped) = F.run(engine, FT.inOrder())
        #expect(dropped == 2, "reasons \(F.reasons(events)); flows \(F.of(events, "flow").count)")
    }

    /// Each fragment is a packet with its own header: a low-TTL completing fragment (the classic
    /// TTL evasion: the fragment expires before the target) meets `ttl:` with its own TTL.
    @Test func theCompletingFragmentHasItsOwnTTL() throws {
        let frames = FT.inOrder()
        let n = try S6.alerts("alert ip any any -> any any (msg:\"ttl 1\"; ttl:1; sid:30;)\n",
                              [frames[0], Self.withTTL(frames[1], 1)])
        #expect(n[30] == 1, "\(n)")
    }

    /// The reserved ("evil") bit of the completing fragment: `fragbits:R` as on a held fragment.
    @Test func theCompletingFragmentKeepsTheReservedBit() throws {
        let udp = FT.udp
        let frames = [S6.ipv4(proto: 17, flags: 0x2000, Array(udp[0 ..< 16])),
                      S6.ipv4(proto: 17, flags: 0x8002, Array(udp[16...]))]
        let n = try S6.alerts("alert ip any any -> any any (msg:\"evil bit\"; fragbits:R; sid:31;)\n", frames)
        #expect(n[31] == 1, "\(n)")
    }
}
