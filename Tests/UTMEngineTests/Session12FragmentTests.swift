import Foundation
import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// Session 12: the fragment that completes a datagram is inspected as a packet of its own
/// before the datagram (EngineAnomalies.swift, `completingFragment`), as Suricata
/// inspects every fragment; and a fail-closed firewall judges held fragments like the other
/// packets without a flow (Engine.swift's decode verdicts, EngineFlowless.swift).
@Suite struct Session12FragmentTests {
    typealias T = EngineTraffic
    typealias S6 = Session6KeywordEngineTests
    typealias F = FirewallEngineTests

    static let udp: [UInt8] = T.be16(40007) + T.be16(9999) + T.be16(40) + [0, 0] + [UInt8](repeating: 0x42, count: 32)

    /// Two fragments in order: the first (MF, offset 0) is held, the second (offset 2, i.e.
    /// 16 bytes) completes the datagram.
    static func inOrder(src: [UInt8] = S6.a) -> [[UInt8]] {
        [S6.ipv4(proto: 17, flags: 0x2000, src: src, Array(Self.udp[0 ..< 16])),
         S6.ipv4(proto: 17, flags: 2, src: src, Array(udp[16...]))]
    }

    static let rules = """
        alert ip any any -> any any (msg:"a later fragment"; fragoffset:>0; sid:21;)
        alert ip any any -> any any (msg:"more fragments"; fragbits:M; sid:20;)
        alert udp any any -> any 9999 (msg:"the port: the datagram only"; sid:22;)
        alert ip any any -> any any (msg:"each packet: two fragments and the datagram"; sid:24;)
        alert ip any any -> any any (msg:"no fragment bits: the datagram only"; fragbits:!M; fragoffset:0; sid:26;)
        """

    /// Session 11 saw the second fragment only as the datagram: `fragoffset:>0` never fired on
    /// a two-fragment datagram. Now each fragment and the datagram are a packet each: sid 24
    /// three times, the port rule and the fragment-less test once (the datagram).
    @Test func theCompletingFragmentIsAPacket() throws {
        let n = try S6.alerts(Self.rules, Self.inOrder())
        #expect(n[21] == 1 && n[20] == 1, "\(n)")
        #expect(n[22] == 1 && n[24] == 3 && n[26] == 1, "\(n)")
    }

    /// Out of order: the second fragment arrives first (held, offset > 0), the first completes
    /// the datagram and shows its MF bit.
    @Test func outOfOrderTheFirstFragmentCompletes() throws {
        let frames = Self.inOrder()
        let n = try S6.alerts(Self.rules, [frames[1], frames[0]])
        #expect(n[21] == 1 && n[20] == 1 && n[24] == 3 && n[22] == 1 && n[26] == 1, "\(n)")
    }

    /// Inline, a drop rule on later fragments drops the completing fragment, and with it the
    /// datagram: its port rule alerts, but the packet is not forwarded.
    @Test func aDropOnTheCompletingFragmentDropsIt() throws {
        var p = RuleParser()
        p.load(text: "drop ip any any -> any any (msg:\"late fragment\"; fragoffset:>0; sid:21;)\n", file: "f.rules")
        let engine = Engine(config: EngineConfig())
        engine.loadDetection(DetectDefinitions(ruleSet: p.finish()))
        let (events, dropped) = F.run(engine, Self.inOrder())
        #expect(dropped == 1, "the second frame")
        #expect(F.sids(events) == [21])
    }

    /// A fail-closed firewall (`packet:filter` drops what no rule accepts) with only a port rule:
    /// a held fragment has no ports and is dropped by the default packet policy (session 11
    /// forwarded it unjudged); a rule that accepts the sender's range accepts fragments too.
    @Test func failClosedFirewallJudgesHeldFragments() throws {
        let byPort = try F.engine("accept:hook udp:all any any -> any 9999 (sid:100;)\n",
                                  policies: [("packet.filter", "drop:packet,alert")])
        let (events, dropped) = F.run(byPort, [Self.inOrder()[0]])
        #expect(dropped == 1 && F.reasons(events) == ["default packet policy"], "\(F.reasons(events))")

        let byAddress = try F.engine("accept:packet ip:all 192.168.1.0/24 any -> any any (sid:101;)\n",
                                     policies: [("packet.filter", "drop:packet,alert")])
        let (_, accepted) = F.run(byAddress, Self.inOrder(src: T.client4))
        #expect(accepted == 0)
    }

    /// An IPS drop of a held fragment drops that frame only: the datagram is still rebuilt and
    /// processed, as in Suricata (its bytes stay in the reassembly slot). Marking the datagram
    /// instead let a spoofed fragment that a rule drops take a real datagram down
    /// (Review12EFragmentTests).
    @Test func aDroppedHeldFragmentDropsThatFrameOnly() throws {
        var p = RuleParser()
        p.load(text: """
            drop ip any any -> any any (msg:"more fragments"; fragbits:M; sid:40;)
            alert udp any any -> any 9999 (msg:"the datagram"; sid:41;)
            """, file: "f.rules")
        let engine = Engine(config: EngineConfig())
        engine.loadDetection(DetectDefinitions(ruleSet: p.finish()))
        let (events, dropped) = F.run(engine, Self.inOrder())
        #expect(dropped == 1)
        #expect(engine.stats.blockedPackets == 1)
        #expect(F.sids(events).sorted() == [40, 41], "\(F.sids(events))")
        // IDS mode drops nothing: the datagram is processed and its rule alerts.
        var c = EngineConfig()
        c.modes.ids = true
        let ids = Engine(config: c)
        var q = RuleParser()
        q.load(text: """
            drop ip any any -> any any (msg:"more fragments"; fragbits:M; sid:40;)
            alert udp any any -> any 9999 (msg:"the datagram"; sid:41;)
            """, file: "f.rules")
        ids.loadDetection(DetectDefinitions(ruleSet: q.finish()))
        let (idsEvents, idsDropped) = F.run(ids, Self.inOrder())
        #expect(idsDropped == 0)
        #expect(F.sids(idsEvents).sorted() == [40, 41], "\(F.sids(idsEvents))")
    }

    /// The completing fragment's own TOS (not the first fragment's, which the datagram has).
    @Test func theCompletingFragmentHasItsOwnTOS() throws {
        let frames = [S6.ipv4(proto: 17, flags: 0x2000, Array(Self.udp[0 ..< 16])),
                      S6.ipv4(proto: 17, tos: 0x10, flags: 2, Array(Self.udp[16...]))]
        let n = try S6.alerts("alert ip any any -> any any (msg:\"tos 16\"; tos:16; sid:32;)\n", frames)
        #expect(n[32] == 1, "\(n)")
    }

    /// A rebuilt datagram whose transport header is broken (a UDP length beyond the datagram:
    /// the invalid path): its completing fragment is still judged as a packet first, and the
    /// dropped held fragment is the only frame dropped.
    @Test func aBrokenDatagramsLastFragmentIsJudgedAsAPacket() throws {
        var bad = Self.udp
        bad[4] = 0; bad[5] = 200
        let frames = [S6.ipv4(proto: 17, flags: 0x2000, Array(bad[0 ..< 16])),
                      S6.ipv4(proto: 17, flags: 2, Array(bad[16...]))]
        var p = RuleParser()
        p.load(text: """
            drop ip any any -> any any (msg:"more fragments"; fragbits:M; sid:40;)
            alert ip any any -> any any (msg:"last fragment"; fragoffset:>0; sid:42;)
            """, file: "f.rules")
        let engine = Engine(config: EngineConfig())
        engine.loadDetection(DetectDefinitions(ruleSet: p.finish()))
        let (events, dropped) = F.run(engine, frames)
        #expect(dropped == 1)
        #expect(F.sids(events).sorted() == [40, 42], "\(F.sids(events))")
    }
}
