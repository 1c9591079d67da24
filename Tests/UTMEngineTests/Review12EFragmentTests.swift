import Foundation
import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// Second review of session 12's fragment fixes (fragfix): fails on ebce5c5.
@Suite struct Review12EFragmentTests {
    typealias T = EngineTraffic
    typealias S6 = Session6KeywordEngineTests
    typealias F = FirewallEngineTests
    typealias FT = Session12FragmentTests

    /// The drop mark lets a third party kill a datagram it does not send: one spoofed
    /// fragment with the datagram's addresses and IP ID that a rule drops (here TOS 32, at an
    /// offset the real fragments cover, same bytes so nothing conflicts) marks the slot, and
    /// the real last fragment is dropped although neither real fragment matches any drop
    /// rule. Suricata drops the spoofed fragment alone; the receiver, which never got it,
    /// rebuilds the real datagram. Expected: one drop (the spoofed fragment), the datagram's
    /// rule alerts.
    @Test func aDroppedSpoofedFragmentDoesNotDropTheRealDatagram() throws {
        var p = RuleParser()
        p.load(text: """
            drop ip any any -> any any (msg:"tos 32"; tos:32; sid:50;)
            alert udp any any -> any 9999 (msg:"the datagram"; sid:41;)
            """, file: "f.rules")
        let engine = Engine(config: EngineConfig())
        engine.loadDetection(DetectDefinitions(ruleSet: p.finish()))
        let udp = FT.udp
        let frames = [S6.ipv4(proto: 17, tos: 32, flags: 0x2000 | 2, Array(udp[16 ..< 32])),  // spoofed, dropped
                      S6.ipv4(proto: 17, flags: 0x2000, Array(udp[0 ..< 16])),
                      S6.ipv4(proto: 17, flags: 2, Array(udp[16...]))]
        let (events, dropped) = F.run(engine, frames)
        #expect(dropped == 1 && F.sids(events).sorted() == [41, 50], "dropped \(dropped), sids \(F.sids(events))")
    }
}
