import Foundation
import Testing
import UTMAppID
import UTMCore
import UTMWebFilter
@testable import UTMEngine

/// Web-filter and app-restriction decisions per protocol, through the whole engine.
@Suite struct WebFilterEngineTests {
    /// casino.example and example.com are gambling (standard level blocks it), news.example is
    /// press (recorded), evil.example is malware (security: never allowable).
    static func database() throws -> CategoryDatabase {
        var c = CategoryCompiler()
        try c.addList(name: "gambling", domains: Array("casino.example\nexample.com\n".utf8), urls: [])
        try c.addList(name: "press", domains: Array("news.example\n".utf8), urls: Array("news.example/casino\n".utf8))
        try c.addList(name: "malware", domains: Array("evil.example\n".utf8), urls: [])
        return try CategoryDatabase(copying: c.build())
    }

    static func engine(_ settings: WebFilterConfig = WebFilterConfig(), database: CategoryDatabase? = nil) throws -> Engine {
        var config = EngineConfig()
        try config.applyWebFilter(config: settings, database: database ?? Self.database())
        return Engine(config: config)
    }

    /// Runs frames; returns each packet's decision and the EVE text.
    static func run(_ engine: Engine, _ frames: [[UInt8]], finish: Bool = true) -> ([PacketDecision], String) {
        var decisions: [PacketDecision] = []
        for (i, f) in frames.enumerated() {
            f.withByteView { v in
                decisions.append(engine.process(frame: v, linkType: .ethernet,
                                                timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)), wireLength: v.count))
            }
        }
        if finish { engine.finish() }
        return (decisions, String(decoding: engine.eve.buffer, as: UTF8.self))
    }

    static func http(_ host: String, path: String = "/") -> [[UInt8]] {
        EngineTraffic.tcpSession(v6: false, sport: 41000, dport: 80, exchanges: [
            (Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\n\r\n".utf8), Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)),
        ])
    }

    static func tls(_ sni: String) -> [[UInt8]] {
        EngineTraffic.tcpSession(v6: false, sport: 41001, dport: 443, exchanges: [
            (EngineTraffic.clientHello(sni: sni), EngineTraffic.serverHello()),
        ])
    }

    static func quicInitial() -> [[UInt8]] {
        let hex = Array(engineRFC9001ClientInitialHex.utf8)
        var payload: [UInt8] = []
        var i = 0
        while i + 1 < hex.count {
            payload.append(UInt8(String(decoding: hex[i ... i + 1], as: UTF8.self), radix: 16)!)
            i += 2
        }
        let udp = EngineTraffic.be16(50000) + EngineTraffic.be16(443) + EngineTraffic.be16(UInt16(8 + payload.count)) + [0, 0] + payload
        return [EngineTraffic.ip(v6: false, proto: 17, toServer: true, udp)]
    }

    // MARK: Per protocol

    @Test func httpRequestToBlockedHostGetsTheBlockPage() throws {
        let engine = try Self.engine()
        let (d, eve) = Self.run(engine, Self.http("www.casino.example", path: "/play"), finish: false)
        // SYN, SYN/ACK, ACK accepted; the request is rejected with the block page; the rest of
        // the flow is dropped.
        #expect(d[0 ..< 3].allSatisfy { $0.verdict == .accept })
        #expect(d[3] == PacketDecision(verdict: .reject, response: .httpBlockPage, source: .webFilter))
        #expect(d[4...].allSatisfy { $0.verdict == .drop && $0.source == .flowBlocked })
        #expect(eve.contains(#""event_type":"drop""#) && eve.contains(#""reason":"web filter""#))
        var page: [UInt8] = []
        engine.writeBlockPage(into: &page)
        let text = String(decoding: page, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 403 Forbidden\r\n"))
        #expect(text.contains("www.casino.example") && text.contains("gambling") && text.contains("ブロック"))
        let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        #expect(text.contains("Content-Length: \(String(format: "%05d", body.utf8.count))"))
        engine.finish()
        let all = String(decoding: engine.eve.buffer, as: UTF8.self)
        #expect(all.contains(#""hostname":"www.casino.example""#))
        #expect(all.contains(#""web_filter":{"category":"gambling","categories":["gambling"],"action":"blocked"}"#))
    }

    @Test func httpURLEntryRecordsAndAllowedHostPasses() throws {
        let (d, eve) = Self.run(try Self.engine(), Self.http("news.example", path: "/casino/today"))
        #expect(d.allSatisfy { $0.verdict == .accept })
        #expect(eve.contains(#""web_filter":{"category":"press","categories":["press"],"action":"recorded"}"#))
        let (d2, eve2) = Self.run(try Self.engine(), Self.http("intranet.example"))
        #expect(d2.allSatisfy { $0.verdict == .accept })
        #expect(eve2.contains(#""web_filter":{"category":null,"categories":[],"action":"allowed"}"#))
    }

    @Test func tlsClientHelloWithBlockedSNIIsReset() throws {
        let (d, eve) = Self.run(try Self.engine(), Self.tls("evil.example"))
        #expect(d[3] == PacketDecision(verdict: .reject, response: .tcpResetBoth, source: .webFilter))
        #expect(eve.contains(#""sni":"evil.example""#))
        #expect(eve.contains(#""web_filter":{"category":"security","categories":["malware"],"action":"blocked"}"#))
        #expect(eve.contains(#""event_type":"drop""#))
    }

    @Test func quicInitialWithBlockedSNIIsDropped() throws {
        let (d, eve) = Self.run(try Self.engine(), Self.quicInitial())
        #expect(d[0] == PacketDecision(verdict: .drop, response: .none, source: .webFilter))
        #expect(eve.contains(#""event_type":"quic""#) && eve.contains(#""sni":"example.com""#))
        #expect(eve.contains(#""action":"blocked""#))
        #expect(eve.contains(#""app":"QUIC""#))
    }

    @Test func dnsQueryForBlockedNameIsRecordedOrAnsweredNXDOMAIN() throws {
        let (d, eve) = Self.run(try Self.engine(), EngineTraffic.dns(sport: 41002, name: "www.casino.example"))
        #expect(d.allSatisfy { $0.verdict == .accept })
        #expect(eve.contains(#""web_filter":{"category":"gambling","categories":["gambling"],"action":"recorded"}"#))
        #expect(!eve.contains(#""event_type":"drop""#))

        var cfg = WebFilterConfig()
        cfg.answerBlockedDNSWithNXDOMAIN = true
        let (d2, eve2) = Self.run(try Self.engine(cfg), EngineTraffic.dns(sport: 41002, name: "www.casino.example"))
        #expect(d2[0] == PacketDecision(verdict: .reject, response: .dnsNXDOMAIN, source: .webFilter))
        #expect(eve2.contains(#""action":"blocked""#) && eve2.contains(#""event_type":"drop""#))
    }

    // MARK: Policy

    @Test func securityAndIllegalCanNeverBeAllowed() throws {
        for entry in ["category:security", "category:illegal", "list:malware", "evil.example", "www.evil.example/page"] {
            var config = EngineConfig()
            #expect(throws: WebFilterConfigError.self, "allow \(entry)") {
                try config.applyWebFilter(config: WebFilterConfig(allow: [entry]), database: Self.database())
            }
        }
        // Even the relaxed level with the filter's other groups allowed blocks malware.
        let relaxed = WebFilterConfig(level: .relaxed, allow: ["category:gambling"])
        let (d, _) = Self.run(try Self.engine(relaxed), Self.tls("evil.example"))
        #expect(d[3].verdict == .reject)
        let (d2, _) = Self.run(try Self.engine(relaxed), Self.tls("casino.example"))
        #expect(d2.allSatisfy { $0.verdict == .accept })
    }

    @Test func blockedApplicationIsRefused() throws {
        let cfg = WebFilterConfig(blockedApps: ["http"])
        let (d, eve) = Self.run(try Self.engine(cfg), Self.http("intranet.example"))
        #expect(d[3] == PacketDecision(verdict: .reject, response: .tcpResetBoth, source: .appPolicy))
        #expect(eve.contains(#""reason":"app policy""#))
        var config = EngineConfig()
        #expect(throws: AppIDSettingsError.self) {
            try config.applyWebFilter(config: WebFilterConfig(blockedApps: ["NoSuchApp"]), database: nil)
        }
    }

    // MARK: No category data

    @Test func withoutCategoryDataTrafficFlows() throws {
        var config = EngineConfig()
        try config.applyWebFilter(config: WebFilterConfig(deny: ["blocked.example"]), database: nil)
        let engine = Engine(config: config)
        let (d, eve) = Self.run(engine, Self.tls("evil.example") + Self.http("casino.example"))
        #expect(d.allSatisfy { $0.verdict == .accept })
        #expect(!eve.contains("web_filter"))
        // Customer entries still apply.
        let (d2, _) = Self.run(Engine(config: config), Self.tls("www.blocked.example"))
        #expect(d2[3].verdict == .reject)
    }

    @Test func replayWarnsAndRunsWhenCategoriesCannotBeLoaded() throws {
        let bad = try ReplayCommandTests.temp("bad.db", Data("not a database".utf8))
        for source in ["/nonexistent/ut1", bad] {
            let r = try ReplayCommandTests.run(["replay", ReplayCommandTests.sample, "--categories", source, "--eve", "-"])
            #expect(r.status == 0, "\(r.stderr)")
            let warnings = r.stderr.split(separator: "\n").filter { $0.hasPrefix("warning: --categories") }
            #expect(warnings.count == 1, "\(r.stderr)")
            #expect(r.stdout.contains(#""event_type":"flow""#) && !r.stdout.contains("web_filter"))
        }
    }
}
