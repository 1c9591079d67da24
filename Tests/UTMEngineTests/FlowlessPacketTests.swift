import AllocationCounter
import Foundation
import Testing
import UTMCore
import UTMDecode
import UTMDetect
import UTMFlow
@testable import UTMEngine

/// Packets that reach no flow (session 11, EngineFlowless.swift): a TCP packet whose TCP header
/// cannot be read still meets `ip` rules, a packet the full flow table has no room for meets
/// the packet rules (or `flow.memcap-policy`), and a fail-closed firewall no longer forwards
/// what it cannot read.
@Suite struct FlowlessPacketTests {
    typealias T = EngineTraffic
    typealias A = AnomalyEventRulesTests
    typealias F = FirewallEngineTests

    /// A TCP packet whose data offset says 0 (a header shorter than its fixed part): the IPv4
    /// header is sound, the TCP header is not. Suricata's bug-6875-01 capture starts with one.
    static var zeroOffsetTCP: [UInt8] {
        T.ip(v6: false, proto: 6, toServer: true,
             T.be16(40100) + T.be16(80) + T.be32(1) + T.be32(0) + [0x00, 0x18] + T.be16(512) + [0, 0, 0, 0] + Array("GET /".utf8))
    }

    static func engine(_ rules: String, _ configure: (inout EngineConfig) -> Void = { _ in }) -> Engine {
        var parser = RuleParser()
        parser.load(text: rules, file: "flowless.rules")
        let set = parser.finish()
        #expect(set.report.errors.isEmpty && set.report.skipped.isEmpty, "\(set.report.errors + set.report.skipped)")
        var config = EngineConfig()
        configure(&config)
        let engine = Engine(config: config)
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        return engine
    }

    static func sids(_ events: [[String: Any]]) -> [Int: Int] {
        var n: [Int: Int] = [:]
        for s in F.sids(events) { n[s, default: 0] += 1 }
        return n
    }

    // MARK: Transport header unreadable

    /// Suricata gives such a packet its IP protocol and no ports or payload: rules of any port
    /// match, rules naming a port or reading the payload do not.
    @Test func brokenTransportHeaderMeetsPortlessRules() throws {
        let rules = """
            alert ip any any -> any any (msg:"any ip"; sid:1;)
            alert ip 192.168.1.0/24 any -> 93.184.216.34 any (msg:"by address"; sid:2;)
            alert ip 10.0.0.0/8 any -> any any (msg:"other sender"; sid:3;)
            alert tcp any any -> any 80 (msg:"a port: not readable"; sid:4;)
            alert ip any any -> any any (msg:"payload: none was decoded"; content:"GET"; sid:5;)
            alert ip any any -> any any (msg:"ttl is the IP header's"; ttl:64; sid:6;)
            alert tcp any any -> any any (msg:"tcp, any port"; sid:8;)
            alert udp any any -> any any (msg:"another protocol"; sid:9;)
            alert tcp any any -> any any (msg:"flags: not readable"; flags:PA; sid:17;)
            """
        let n = try Session6KeywordEngineTests.alerts(rules, [Self.zeroOffsetTCP, A.truncated])
        // The truncated datagram's IP layer did not decode: no rule but the event rules meets it.
        #expect(n[1] == 1 && n[2] == 1 && n[8] == 1, "\(n)")
        #expect(n[3] == nil && n[4] == nil && n[5] == nil && n[9] == nil && n[17] == nil, "\(n)")
        let frame = Self.zeroOffsetTCP
        #expect(frame[14 + 8] == 64 ? n[6] == 1 : n[6] == nil, "\(n)")
    }

    /// Held fragments are inspected as Suricata inspects them (each fragment is a packet with
    /// its IP header and protocol, no ports, no payload); the datagram they rebuild is
    /// inspected whole, its rebuilt header with no fragment bits. Three fragments: the first
    /// two are held, the third completes the datagram and is inspected before it.
    @Test func heldFragmentsMeetHeaderRules() throws {
        let udp: [UInt8] = T.be16(40005) + T.be16(9999) + T.be16(48) + [0, 0] + [UInt8](repeating: 0x41, count: 40)
        let frames = [
            Session6KeywordEngineTests.ipv4(proto: 17, flags: 0x2000, Array(udp[0..<16])),
            Session6KeywordEngineTests.ipv4(proto: 17, flags: 0x2002, Array(udp[16..<32])),
            Session6KeywordEngineTests.ipv4(proto: 17, flags: 4, Array(udp[32...])),
        ]
        let rules = """
            alert udp any any -> any any (msg:"more fragments (GPL teardrop's test)"; fragbits:M; sid:20;)
            alert ip any any -> any any (msg:"a later fragment"; fragoffset:>0; sid:21;)
            alert udp any any -> any 9999 (msg:"the port: the datagram only"; sid:22;)
            alert udp any any -> any any (msg:"the payload: the datagram only"; content:"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; sid:23;)
            alert ip any any -> any any (msg:"header only: each held fragment and the datagram"; sid:24;)
            alert tcp any any -> any any (msg:"another protocol"; sid:25;)
            """
        let n = try Session6KeywordEngineTests.alerts(rules, frames)
        // Session 12: the third fragment, which completes the datagram, is a packet too
        // (Session12FragmentTests): offset > 0, and one more header-only match.
        #expect(n[20] == 2 && n[21] == 2, "\(n)")
        #expect(n[22] == 1 && n[23] == 1 && n[24] == 4 && n[25] == nil, "\(n)")
    }

    /// A blocklist rule drops the unreadable packet inline (a drop event, the alert blocked)
    /// and only alerts in IDS mode.
    @Test(arguments: [false, true]) func blocklistDropsBrokenTCP(ids: Bool) throws {
        let engine = Self.engine("drop ip any any -> 93.184.216.34 any (msg:\"C2\"; sid:7;)\n") { $0.modes.ids = ids }
        let (events, dropped) = F.run(engine, [Self.zeroOffsetTCP])
        #expect(dropped == (ids ? 0 : 1))
        #expect(Self.sids(events) == [7: 1])
        let alert = F.of(events, "alert").first?["alert"] as? [String: Any]
        #expect(alert?["action"] as? String == (ids ? "allowed" : "blocked"))
        #expect(F.reasons(events) == (ids ? [] : ["rules"]))
        let e = F.of(events, "alert").first
        #expect(e?["src_port"] as? Int == 0 && e?["dest_port"] as? Int == 0, "ports of an unreadable header are not reported")
    }

    // MARK: Flow table full

    /// Two flows fill a table of two; both have seen replies and are fresh, so neither may be
    /// evicted. The frames after them get no flow.
    static func fill() -> [[UInt8]] {
        var frames: [[UInt8]] = []
        for p: UInt16 in [41000, 41001] {
            frames.append(A.udp(sport: p))
            frames.append(T.ip(v6: false, proto: 17, toServer: false,
                               T.be16(9999) + T.be16(p) + T.be16(12) + [0, 0] + Array("pong".utf8)))
        }
        return frames
    }

    static var attackUDP: [UInt8] {
        T.ip(v6: false, proto: 17, toServer: true, T.be16(41002) + T.be16(9999) + T.be16(14) + [0, 0] + Array("attack".utf8))
    }

    static var requestTCP: [UInt8] {
        T.ip(v6: false, proto: 6, toServer: true,
             T.tcp(41003, 80, seq: 5, ack: 9, flags: T.psh | T.ackFlag, Array("GET /evil HTTP/1.1\r\n\r\n".utf8)))
    }

    static let tableRules = """
        drop udp any any -> any 9999 (msg:"payload of a packet without a flow"; content:"attack"; sid:10;)
        alert tcp any any -> any 80 (msg:"stream rule: reads the packet"; content:"/evil"; sid:11;)
        alert tcp any any -> any 80 (msg:"needs a session"; flow:established; content:"/evil"; sid:12;)
        alert udp any any -> any 9999 (msg:"needs a direction"; flow:to_server; content:"attack"; sid:13;)
        alert ip any any -> 93.184.216.34 any (msg:"header only"; sid:14;)
        alert udp any any -> any 9999 (msg:"flowbits need a flow"; flowbits:isset,never; sid:15;)
        """

    static func tableFull(_ policy: FlowTablePolicy?, ids: Bool = false) -> (events: [[String: Any]], dropped: Int, engine: Engine) {
        let engine = Self.engine(tableRules) { c in
            c.flow.capacity = 2
            c.modes.ids = ids
            if let policy { c.modes.flowTablePolicy = policy }
        }
        let before = Self.fill()
        for (i, f) in before.enumerated() {
            f.withByteView { v in
                _ = engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_699_999_999, micros: Int32(i)),
                                   wireLength: v.count)
            }
        }
        let (events, dropped) = F.run(engine, [Self.attackUDP, Self.requestTCP])
        return (events, dropped, engine)
    }

    /// The default: the packet is inspected on its own. Rules that need a session, a direction
    /// or flowbits cannot match; the stream rule reads the packet; the drop drops it.
    @Test func fullTableDefaultInspectsThePacketAlone() {
        let (events, dropped, engine) = Self.tableFull(nil)
        #expect(engine.stats.untracked == 2)
        let n = Self.sids(events)
        // Header-only sid 14 met the two filling flows' first packets and the two flowless ones.
        #expect(n[10] == 1 && n[11] == 1 && n[14] == 4, "\(n)")
        #expect(n[12] == nil && n[13] == nil && n[15] == nil, "\(n)")
        #expect(dropped == 1)
        #expect(F.reasons(events) == ["rules"])
        let alert = F.of(events, "alert").first { (($0["alert"] as? [String: Any])?["signature_id"] as? Int) == 10 }
        #expect(alert?["flow_id"] == nil || alert?["flow_id"] as? Int == 0, "no flow to name")
        #expect(alert?["src_port"] as? Int == 41002)
    }

    @Test func fullTableDropPacketPolicy() {
        let (events, dropped, engine) = Self.tableFull(.dropPacket)
        #expect(dropped == 2 && engine.stats.flowTableDrops == 2)
        #expect(F.reasons(events) == ["flow memcap", "flow memcap"])
        let n = Self.sids(events)
        #expect(n[10] == nil && n[11] == nil, "dropped before any rule: \(n)")
        let stats = F.of(events, "stats").first?["stats"] as? [String: Any]
        let flow = stats?["flow"] as? [String: Any]
        #expect(flow?["table_full"] as? Int == 2 && flow?["table_full_dropped"] as? Int == 2, "\(String(describing: flow))")
    }

    @Test func fullTableRejectResetsTCP() {
        let engine = Self.engine(Self.tableRules) { c in
            c.flow.capacity = 2
            c.modes.flowTablePolicy = .reject
        }
        for (i, f) in Self.fill().enumerated() {
            f.withByteView { v in
                _ = engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_699_999_999, micros: Int32(i)),
                                   wireLength: v.count)
            }
        }
        let d = Self.requestTCP.withByteView { v in
            engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: 0), wireLength: v.count)
        }
        #expect(d.verdict == .reject && d.response == .tcpResetBoth && d.source == .flowTable)
    }

    /// Review: a `reject` rule on a packet without a flow whose headers are whole resets the
    /// sender, as for a packet of a flow; on an unreadable header it can only drop.
    @Test func rejectRuleOnFlowlessPackets() {
        let engine = Self.engine("""
            reject tcp any any -> any 80 (msg:"reject"; content:"/evil"; sid:30;)
            reject ip any any -> 93.184.216.34 any (msg:"reject by address"; ttl:<1; sid:31;)
            reject tcp any any -> any any (msg:"reject, header unreadable"; dsize:0; sid:32;)
            """) { c in c.flow.capacity = 2 }
        for (i, f) in Self.fill().enumerated() {
            f.withByteView { v in
                _ = engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_699_999_999, micros: Int32(i)),
                                   wireLength: v.count)
            }
        }
        let d = Self.requestTCP.withByteView { v in
            engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: 0), wireLength: v.count)
        }
        #expect(d.verdict == .reject && d.response == .tcpResetBoth && d.source == .ips)
        let broken = Self.zeroOffsetTCP.withByteView { v in
            engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: 1), wireLength: v.count)
        }
        #expect(broken.verdict == .drop && broken.response == .none, "\(broken)")
    }

    /// pass-packet forwards uninspected (the behaviour before session 11); IDS mode never
    /// drops, drop-packet there inspects as `ignore` does.
    @Test func fullTablePassPacketAndIDS() {
        let pass = Self.tableFull(.passPacket)
        #expect(pass.dropped == 0 && Self.sids(pass.events)[10] == nil)
        let ids = Self.tableFull(.dropPacket, ids: true)
        #expect(ids.dropped == 0 && ids.engine.stats.flowTableDrops == 0)
        #expect(Self.sids(ids.events)[10] == 1)
    }

    // MARK: Settings

    @Test func flowTablePolicySettings() throws {
        func policy(_ items: [String], ids: Bool = false) throws -> FlowTablePolicy {
            var c = EngineConfig()
            c.modes.ids = ids
            var m = false, f = false
            for item in items {
                _ = try ReplaySettings.apply(item, to: &c, explicitMidstreamPolicy: &m, explicitFlowTablePolicy: &f)
            }
            return c.modes.flowTablePolicy
        }
        #expect(try policy([]) == .ignore)
        #expect(try policy(["flow.memcap-policy=drop-packet"]) == .dropPacket)
        #expect(try policy(["flow.memcap-policy=auto"]) == .dropPacket)
        #expect(try policy(["flow.memcap-policy=auto"], ids: true) == .ignore)
        #expect(try policy(["exception-policy=auto"]) == .dropPacket)
        #expect(try policy(["exception-policy=drop-flow"]) == .dropPacket)
        #expect(try policy(["exception-policy=pass-flow"]) == .passPacket)
        // A specific policy wins over the master switch given after it.
        #expect(try policy(["flow.memcap-policy=ignore", "exception-policy=reject"]) == .ignore)
        #expect(throws: ReplaySettings.Failure.self) { try policy(["flow.memcap-policy=drop-flow"]) }
        #expect(throws: ReplaySettings.Failure.self) { try policy(["flow.memcap-policy=sometimes"]) }
    }

    // MARK: Firewall

    /// Fail-closed firewall (`packet:filter` drops what no rule accepts): an unreadable TCP
    /// packet is dropped by the default packet policy, where it used to be forwarded; a packet
    /// the full table has no room for meets the tables too.
    @Test func failClosedFirewallDropsUnreadablePackets() throws {
        let engine = try F.engine("accept:hook tcp:all any any -> any 80 (sid:100;)\n",
                                  policies: [("packet.filter", "drop:packet,alert")])
        let (events, dropped) = F.run(engine, [Self.zeroOffsetTCP])
        #expect(dropped == 1)
        #expect(F.reasons(events) == ["default packet policy"])
        let alert = F.of(events, "alert").first
        #expect(alert != nil && alert?["flow"] == nil, "no flow to describe: \(String(describing: alert))")
        #expect(engine.firewallCounters?.dropDefaultPacketPolicy == 1)
    }

    @Test func firewallAcceptsByAddressWithoutAFlow() throws {
        var set = FirewallRuleSet()
        set.load(text: "accept:packet ip:all 192.168.1.0/24 any -> any any (sid:101;)\n", file: "fw.rules")
        #expect(set.errors.isEmpty, "\(set.errors)")
        var config = EngineConfig()
        config.firewall = set
        config.flow.capacity = 2
        let engine = Engine(config: config)
        var parser = RuleParser()
        parser.load(text: "alert ip any any -> any any (msg:\"seen\"; sid:1;)\n", file: "td.rules")
        engine.loadDetection(DetectDefinitions(ruleSet: parser.finish()))
        let (events, dropped) = F.run(engine, [Self.zeroOffsetTCP] + Self.fill() + [Self.attackUDP])
        // Accepted from the office range; the threat rule saw all four flowless-or-first packets.
        #expect(dropped == 2, "the replies from outside meet the default policy: \(F.reasons(events))")
        #expect(Self.sids(events)[1] == 4, "\(Self.sids(events))")
    }

    /// Event keywords in firewall rules: the packet tables see the decoder's events (they were
    /// accepted in firewall rule files and never met an event).
    @Test func firewallRulesSeeDecoderEvents() throws {
        let engine = try F.engine("""
            drop:packet tcp:all any any -> any any (decode-event:ipv4.opt_invalid_len; sid:102;)
            accept:hook tcp:all any any -> any any (sid:100;)
            """)
        let syn = T.tcp(41200, 80, seq: 1, ack: 0, flags: T.syn)
        let bad = Session6KeywordEngineTests.ipv4(proto: 6, options: [0x44, 0x01, 0, 0], src: T.client4, dst: T.server4, syn)
        let clean = T.ip(v6: false, proto: 6, toServer: true, T.tcp(41201, 80, seq: 1, ack: 0, flags: T.syn))
        let (events, dropped) = F.run(engine, [bad, clean])
        #expect(dropped == 1 && F.reasons(events) == ["rules"], "\(F.reasons(events))")
    }

    /// Reread: a flowless packet's inspection set the verifier's `flowless`, and stream
    /// inspection never cleared it: the next flow's stream rules with `flowbits` failed.
    @Test func flowbitsOnAStreamAfterAFlowlessPacket() throws {
        let rules = """
            alert tcp any any -> any 80 (msg:"stream rule with flowbits"; flow:established,to_server; content:"GET /x"; flowbits:set,seen; sid:40;)
            alert ip any any -> any any (msg:"meets the unreadable packet"; sid:41;)
            """
        var frames = T.tcpSession(v6: false, sport: 41300, dport: 80,
                                  exchanges: [(Array("GET /x HTTP/1.1\r\nHost: a\r\n\r\n".utf8), Session6KeywordEngineTests.ok)])
        frames.insert(Self.zeroOffsetTCP, at: 3)
        let n = try Session6KeywordEngineTests.alerts(rules, frames)
        #expect(n[40] == 1, "\(n)")
    }

    // MARK: Allocation

    /// The flowless paths in steady state (a full table, an unreadable TCP header, the firewall's
    /// tables on both) must not allocate: they reuse the engine's inspection state.
    @Test func flowlessPathsDoNotAllocate() throws {
        guard allocationCounterWorks() else { return }
        var set = FirewallRuleSet()
        set.load(text: "accept:packet ip:all any any -> any any (sid:101;)\n", file: "fw.rules")
        #expect(set.errors.isEmpty, "\(set.errors)")
        var config = EngineConfig()
        config.firewall = set
        config.flow.capacity = 2
        let engine = Engine(config: config)
        var parser = RuleParser()
        parser.load(text: Self.tableRules + "\nalert ip any any -> any any (msg:\"any\"; sid:16;)\n", file: "t.rules")
        engine.loadDetection(DetectDefinitions(ruleSet: parser.finish()))
        var before = engine.stats.alerts
        let traffic = Self.fill() + [Self.attackUDP, Self.requestTCP, Self.zeroOffsetTCP]
        let n = steadyStateAllocations(engine, traffic, rounds: 10) { before = engine.stats.alerts }
        #expect(n == 0, "the flowless paths allocated \(n) times")
        // Per round: sid 10 and 11 on the untracked packets; header-only sid 14 (to the server)
        // on the two new flows' first packets, the two untracked and the unreadable one; sid 16
        // on the first packet of each of the four flow directions and the same three.
        #expect(engine.stats.alerts - before == 10 * (2 + 5 + 7), "\(engine.stats.alerts - before)")
    }
}
