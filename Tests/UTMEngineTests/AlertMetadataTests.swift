import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// An alert on an HTTP transaction carries that transaction's `http` object (Suricata's default
/// alert `metadata`), so the customer's report says which site and URL set it off; it is the
/// transaction the rule matched, not whatever the flow saw last.
@Suite struct AlertMetadataTests {
    static let rules = #"""
        alert http any any -> any any (msg:"second request's URI"; flow:to_server; http.uri; content:"/second"; sid:1;)
        alert http any any -> any any (msg:"response body"; flow:to_client; file_data; content:"payload-two"; sid:2;)
        alert tcp any any -> any any (msg:"stream bytes"; flow:to_server; content:"X-Probe|3a|"; sid:3;)
        """#

    static func events(size: Int = 50) -> [[String: Any]] {
        var p = RuleParser()
        p.load(text: rules, file: "meta.rules")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: p.finish()))
        // Two transactions on one keep-alive flow: the alerts belong to the second.
        let req = "GET /first HTTP/1.1\r\nHost: one.example\r\nUser-Agent: UA-1\r\n\r\n"
            + "GET /second HTTP/1.1\r\nHost: two.example\r\nUser-Agent: UA-2\r\nX-Probe: 1\r\n\r\n"
        let resp = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\npayload-one"
            + "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\npayload-two"
        // 50-byte segments: the first response is one segment, the second two; 4096: both
        // responses in one segment (the second body must still be inspected, on its own).
        return FirewallEngineTests.run(engine, HTTPBufferFillTests.h1(req, resp, size: size)).events
    }

    static func alert(_ events: [[String: Any]], _ sid: Int) -> [String: Any]? {
        FirewallEngineTests.of(events, "alert").first { ($0["alert"] as? [String: Any])?["signature_id"] as? Int == sid }
    }

    @Test(arguments: [50, 4096]) func httpRuleAlertsNameTheirTransaction(size: Int) throws {
        let events = Self.events(size: size)
        let uri = try #require(Self.alert(events, 1)?["http"] as? [String: Any])
        #expect(uri["hostname"] as? String == "two.example")
        #expect(uri["url"] as? String == "/second")
        #expect(uri["http_user_agent"] as? String == "UA-2")
        #expect(uri["http_method"] as? String == "GET")
        let body = try #require(Self.alert(events, 2)?["http"] as? [String: Any])
        #expect(body["hostname"] as? String == "two.example", "a response alert names its request's site")
        #expect(body["status"] as? Int == 200)
    }

    /// A stream rule is not tied to one transaction: no `http` object is guessed for it.
    @Test func streamRuleAlertHasNoTransaction() throws {
        let stream = try #require(Self.alert(Self.events(), 3))
        #expect(stream["http"] == nil)
        #expect(stream["app_proto"] as? String == "http")
    }

    /// A `tls.sni` rule's alert carries the handshake's `tls` object; a `dns.query` rule's the
    /// query it matched (Suricata 7's `dns.query` list of one), and not the other's.
    @Test func tlsAndDNSRuleAlertsNameTheirHandshakeAndQuery() throws {
        var p = RuleParser()
        p.load(text: #"""
            alert tls any any -> any any (msg:"sni"; tls.sni; content:"bad.example"; sid:10;)
            alert dns any any -> any any (msg:"query"; dns.query; content:"evil.example"; sid:11;)
            """#, file: "meta2.rules")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: p.finish()))
        let frames = EngineTraffic.tcpSession(v6: false, sport: 41234, dport: 443, exchanges: [
            (EngineTraffic.clientHello(sni: "www.bad.example"), EngineTraffic.serverHello()),
        ]) + EngineTraffic.dns(sport: 41235, name: "cdn.evil.example")
        let events = FirewallEngineTests.run(engine, frames).events
        let tls = try #require(Self.alert(events, 10))
        #expect((tls["tls"] as? [String: Any])?["sni"] as? String == "www.bad.example")
        #expect(tls["dns"] == nil && tls["http"] == nil)
        let dns = try #require(Self.alert(events, 11))
        let query = try #require(((dns["dns"] as? [String: Any])?["query"] as? [[String: Any]])?.first)
        #expect(query["rrname"] as? String == "cdn.evil.example")
        #expect(query["rrtype"] as? String == "A")
        #expect(query["id"] as? Int == 41235)
        #expect(dns["tls"] == nil)
    }

    /// The same on HTTP/2: a header rule's and a body rule's alerts carry the stream's `http`
    /// object (protocol HTTP/2, host without the port).
    @Test func http2RuleAlertsNameTheirStream() throws {
        var p = RuleParser()
        p.load(text: #"""
            alert http any any -> any any (msg:"h2 path"; http.uri; content:"/Path"; sid:20;)
            alert http any any -> any any (msg:"h2 body"; flow:to_client; file_data; content:"ok"; sid:21;)
            """#, file: "meta3.rules")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: p.finish()))
        let events = FirewallEngineTests.run(engine, HTTPBufferFillTests.h2(size: 30)).events
        for sid in [20, 21] {
            let http = try #require(Self.alert(events, sid)?["http"] as? [String: Any], "sid \(sid)")
            #expect(http["protocol"] as? String == "HTTP/2")
            #expect(http["url"] as? String == "/Path")
            #expect(http["hostname"] as? String == "WWW.Example.COM")
        }
    }
}
