import Foundation
import Testing
import AllocationCounter
import UTMCore
import UTMDecode
import UTMDetect
@testable import UTMEngine

/// Firewall mode through the whole engine: the packet tables, the app hooks of HTTP, TLS and
/// DNS, default policies, alerts, drops, and threat detection seeing only what the firewall
/// accepted.
@Suite struct FirewallEngineTests {
    static func engine(_ rules: String, policies: [(String, String)] = [], td: String? = nil) throws -> Engine {
        var set = FirewallRuleSet()
        set.load(text: rules, file: "fw.rules")
        #expect(set.errors.isEmpty, "\(set.errors)")
        for (k, v) in policies { try set.setPolicy(k, v) }
        var config = EngineConfig()
        config.firewall = set
        config.modes.dropLogFlows = true
        let engine = Engine(config: config)
        if let td {
            var parser = RuleParser()
            parser.load(text: td, file: "td.rules")
            engine.loadDetection(DetectDefinitions(ruleSet: parser.finish()))
        }
        return engine
    }

    static func run(_ engine: Engine, _ frames: [[UInt8]]) -> (events: [[String: Any]], dropped: Int) {
        var dropped = 0
        for (i, f) in frames.enumerated() {
            f.withByteView { v in
                let d = engine.process(frame: v, linkType: .ethernet,
                                       timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)), wireLength: v.count)
                if d.verdict != .accept { dropped += 1 }
            }
        }
        engine.finish()
        let events = String(decoding: engine.eve.buffer, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        return (events, dropped)
    }

    static func of(_ events: [[String: Any]], _ type: String) -> [[String: Any]] {
        events.filter { $0["event_type"] as? String == type }
    }

    static func sids(_ events: [[String: Any]]) -> [Int] {
        of(events, "alert").compactMap { ($0["alert"] as? [String: Any])?["signature_id"] as? Int }
    }

    static func reasons(_ events: [[String: Any]]) -> [String] {
        of(events, "drop").compactMap { ($0["drop"] as? [String: Any])?["reason"] as? String }
    }

    static let http = WebFilterEngineTests.http("www.example.com")

    /// An empty ruleset is fail-closed: every packet meets `packet:filter`'s `drop:packet`.
    @Test func emptyRulesetDropsEveryPacket() throws {
        let (events, dropped) = Self.run(try Self.engine(""), Self.http)
        #expect(dropped == Self.http.count)
        #expect(Self.reasons(events).allSatisfy { $0 == "default packet policy" })
        #expect(Self.reasons(events).count == Self.http.count)
        #expect(Self.of(events, "http").isEmpty)
    }

    /// Packets accepted, no app rules: the first packet with HTTP in it meets the app hooks'
    /// `drop:flow`; every later packet is dropped with the flow.
    @Test func appHooksWithoutRulesDropTheFlow() throws {
        let engine = try Self.engine("accept:hook tcp:all any any -> any any (sid:100;)\n")
        let (events, dropped) = Self.run(engine, Self.http)
        let reasons = Self.reasons(events)
        #expect(reasons.first == "default app policy")
        #expect(reasons.dropFirst().allSatisfy { $0 == "flow drop" })
        #expect(dropped == reasons.count && dropped == Self.http.count - 3, "only the handshake passes")
        #expect(Self.of(events, "http").isEmpty)
        let c = try #require(engine.firewallCounters)
        #expect(c.accepted == 3 && c.blocked == UInt64(dropped))
        #expect(c.dropDefaultAppPolicy == 1 && c.dropFlow == UInt64(dropped - 1))
        let stats = try #require(Self.of(events, "stats").first?["stats"] as? [String: Any])
        #expect((stats["firewall"] as? [String: Any])?["blocked"] as? Int == dropped)
    }

    /// A ruleset that accepts each HTTP hook lets the session through; the transaction is
    /// logged and threat detection sees it.
    @Test func acceptedHooksLetHTTPThrough() throws {
        let engine = try Self.engine("""
            accept:hook tcp:all any any -> any any (sid:100;)
            accept:hook http1:request_started any any -> any any (sid:101;)
            accept:tx http1:request_line any any -> any any (http.host; content:"www.example.com"; sid:102;)
            """, td: "alert http any any -> any any (msg:\"td\"; http.method; content:\"GET\"; sid:1;)\n")
        let (events, dropped) = Self.run(engine, Self.http)
        #expect(dropped == 0)
        #expect(Self.of(events, "http").count == 1)
        #expect(Self.sids(events) == [1], "the TD rule ran on what the firewall accepted")
        // Another host: request_line has no match, its default drop:flow applies.
        let other = try Self.engine("""
            accept:hook tcp:all any any -> any any (sid:100;)
            accept:hook http1:request_started any any -> any any (sid:101;)
            accept:tx http1:request_line any any -> any any (http.host; content:"www.example.org"; sid:102;)
            """, td: "alert http any any -> any any (msg:\"td\"; http.method; content:\"GET\"; sid:1;)\n")
        let (blockedEvents, blockedCount) = Self.run(other, Self.http)
        #expect(blockedCount > 0 && Self.reasons(blockedEvents).first == "default app policy")
        #expect(Self.sids(blockedEvents).isEmpty, "threat detection never saw the dropped request")
        #expect(Self.of(blockedEvents, "http").isEmpty)
    }

    /// A firewall rule's own drop, with alert; and a default policy with alert (Suricata's
    /// reserved signature ids for default-policy alerts).
    @Test func alertsFromRulesAndPolicies() throws {
        let engine = try Self.engine("""
            drop:flow,alert tcp:all any any -> any 80 (msg:"no plain web"; flags:S; sid:200;)
            """, policies: [("packet.filter", "accept:hook,alert"), ("app.default-policy", "accept:hook")])
        let (events, dropped) = Self.run(engine, Self.http)
        #expect(Self.sids(events) == [200])
        #expect(Self.reasons(events).first == "rules")
        #expect(dropped == Self.http.count)
        let alert = try #require(Self.of(events, "alert").first?["alert"] as? [String: Any])
        #expect(alert["action"] as? String == "blocked" && alert["signature"] as? String == "no plain web")

        let policyAlerts = try Self.engine("", policies: [("packet.filter", "accept:hook,alert"),
                                                         ("app.http1.default-policy", "accept:hook"),
                                                         ("app.http1.request-line", "accept:tx,alert")])
        let (pe, pd) = Self.run(policyAlerts, Self.http)
        #expect(pd == 0)
        let sids = Self.sids(pe)
        #expect(sids.filter { $0 == Int(FirewallRuleSet.packetPolicySID) }.count == Self.http.count)
        #expect(sids.filter { $0 == Int(FirewallRuleSet.appPolicySID) }.count == 1, "accept:tx: once per transaction")
        #expect(Self.of(pe, "http").count == 1)
    }

    /// TLS: `accept:flow` on the SNI, with `<` accepting client_in_progress before it.
    @Test func tlsSNIWithAcceptPrior() throws {
        let frames = EngineTraffic.tcpSession(v6: false, sport: 41500, dport: 443, exchanges: [
            (EngineTraffic.clientHello(sni: "allowed.example.com"), EngineTraffic.serverHello())])
        let rules = """
            accept:hook tcp:all any any -> any any (sid:100;)
            accept:flow tls:<client_hello_done any any -> any any (tls.sni; content:"allowed.example.com"; sid:101;)
            """
        let (events, dropped) = Self.run(try Self.engine(rules), frames)
        #expect(dropped == 0)
        #expect(Self.of(events, "tls").count == 1)
        let denied = EngineTraffic.tcpSession(v6: false, sport: 41501, dport: 443, exchanges: [
            (EngineTraffic.clientHello(sni: "denied.example.com"), EngineTraffic.serverHello())])
        let (de, dd) = Self.run(try Self.engine(rules), denied)
        #expect(dd > 0 && Self.reasons(de).first == "default app policy")
    }

    /// DNS over UDP has the generic hooks, a transaction per message.
    @Test func dnsGenericHooks() throws {
        let frames = EngineTraffic.dns(sport: 40999, name: "a.example.net")
        let rules = """
            accept:hook udp:all any any -> any any (sid:100;)
            accept:hook dns:request_started any any -> any any (sid:101;)
            accept:hook dns:request_complete any any -> any any (sid:102;)
            accept:hook dns:response_started any any -> any any (sid:103;)
            accept:hook dns:response_complete any any -> any any (sid:104;)
            """
        let (events, dropped) = Self.run(try Self.engine(rules), frames)
        #expect(dropped == 0 && Self.of(events, "dns").count == 2)
        let noResponse = rules.split(separator: "\n").filter { !$0.contains("response") }.joined(separator: "\n")
        let (ne, nd) = Self.run(try Self.engine(noResponse), frames)
        #expect(nd == 1 && Self.reasons(ne) == ["default app policy"])
        #expect(Self.of(ne, "dns").count == 1, "the query was logged, the answer dropped")
    }

    /// IDS mode: the firewall alerts but drops nothing.
    @Test func idsModeDropsNothing() throws {
        var set = FirewallRuleSet()
        try set.setPolicy("packet.filter", "drop:packet,alert")
        var config = EngineConfig()
        config.firewall = set
        config.modes.ids = true
        let (events, dropped) = Self.run(Engine(config: config), Self.http)
        #expect(dropped == 0)
        #expect(Self.sids(events).count == Self.http.count)
        #expect(Self.of(events, "http").count == 1)
    }

    /// DESIGN: no allocation per packet, with firewall rules evaluated at every hook.
    @Test func firewallDoesNotAllocate() throws {
        guard allocationCounterWorks() else { return }
        let engine = try Self.engine("""
            accept:hook tcp:all any any -> any any (sid:100;)
            accept:hook udp:all any any -> any any (sid:101;)
            accept:hook http1:request_started any any -> any any (sid:102;)
            accept:tx,alert http1:request_line any any -> any any (http.host; content:"example"; sid:103;)
            accept:flow tls:<client_hello_done any any -> any any (tls.sni; content:"example"; sid:104;)
            """, policies: [("app.dns.default-policy", "accept:hook")])
        var before = engine.firewallCounters?.accepted ?? 0
        let n = steadyStateAllocations(engine, EngineTraffic.round(), rounds: 10) {
            before = engine.firewallCounters?.accepted ?? 0
        }
        #expect(n == 0, "the firewall allocated \(n) times")
        #expect((engine.firewallCounters?.accepted ?? 0) > before)
        #expect(engine.firewallCounters?.blocked == 0)
    }
}
