import Foundation
import Testing
import AllocationCounter
import UTMCore
import UTMDecode
import UTMDetect
import UTMOutput
@testable import UTMEngine

/// HTTP/2 through the whole engine: detection by the client preface, `http` events with
/// `http2`, `alert http` rules on each stream's headers, the firewall's `http2:stream` hooks,
/// and no allocation per packet.
@Suite struct HTTP2EngineTests {
    static func frame(_ type: UInt8, _ flags: UInt8, _ stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags,
                UInt8(stream >> 24 & 0x7f), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)] + payload
    }

    /// A request with :path and :authority as literals (with incremental indexing, so the second
    /// request of the session reads them from the dynamic table), and a response.
    static func session(sport: UInt16, path: String, host: String) -> [[UInt8]] {
        let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
        func request(_ sid: UInt32) -> [UInt8] {
            let block: [UInt8] = sid == 1
                ? [0x82, 0x86] + [0x44, UInt8(path.utf8.count)] + Array(path.utf8) + [0x41, UInt8(host.utf8.count)] + Array(host.utf8)
                : [0x82, 0x86, 0xbf, 0xbe]  // dynamic 62 = :authority, 63 = :path
            return frame(1, 0x5, sid, block)
        }
        let response = frame(1, 0x4, 1, [0x88] + [0x0f, 0x10] + [9] + Array("text/html".utf8)) + frame(0, 0x1, 1, Array("hello".utf8))
        let response3 = frame(1, 0x5, 3, [0x8d])
        return EngineTraffic.tcpSession(v6: false, sport: sport, dport: 8080, exchanges: [
            (preface + frame(4, 0, 0, []) + request(1), frame(4, 0, 0, []) + response),
            (request(3), response3),
        ])
    }

    static func run(_ engine: Engine, _ frames: [[UInt8]]) -> [[String: Any]] {
        FirewallEngineTests.run(engine, frames).events
    }

    @Test func streamsBecomeHTTPEventsAndAlerts() throws {
        var parser = RuleParser()
        parser.load(text: """
            alert http any any -> any any (msg:"h2 uri"; http.uri; content:"/malware/payload.exe"; sid:1;)
            alert http any any -> any any (msg:"h2 host"; http.host; content:"evil.example"; sid:2;)
            alert http any any -> any any (msg:"h2 404"; http.stat_code; content:"404"; sid:3;)
            """, file: "h2.rules")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: parser.finish()))
        let events = Self.run(engine, Self.session(sport: 42000, path: "/malware/payload.exe", host: "evil.example"))
        let http = FirewallEngineTests.of(events, "http")
        #expect(http.count == 2)
        let h = try #require(http.first?["http"] as? [String: Any])
        #expect(http.first?["app_proto"] as? String == "http2")
        #expect(h["url"] as? String == "/malware/payload.exe" && h["hostname"] as? String == "evil.example")
        #expect(h["protocol"] as? String == "HTTP/2" && h["status"] as? Int == 200 && h["length"] as? Int == 5)
        #expect((h["http2"] as? [String: Any])?["stream_id"] as? Int == 1)
        #expect((h["request_headers"] as? [[String: Any]])?.count == 4)
        let second = try #require(http.last?["http"] as? [String: Any])
        #expect(second["url"] as? String == "/malware/payload.exe", "the dynamic table carried :path over")
        #expect(second["status"] as? Int == 404)
        let sids = FirewallEngineTests.sids(events).sorted()
        #expect(sids == [1, 1, 2, 2, 3], "both streams' requests, the second's 404")
        let flow = FirewallEngineTests.of(events, "flow").first
        #expect(flow?["app_proto"] as? String == "http2")
    }

    /// HTTP/1.1 `Upgrade: h2c`: the 101 is logged as HTTP/1, the upgrading request becomes
    /// stream 1 (answered in HTTP/2 in the same segment as the 101), later streams follow.
    @Test func h2cUpgrade() throws {
        let request = "GET /up HTTP/1.1\r\nHost: h.example\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n"
        let switching = Array("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n".utf8)
            + Self.frame(4, 0, 0, []) + Self.frame(1, 0x4, 1, [0x88]) + Self.frame(0, 0x1, 1, Array("hi".utf8))
        let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
        let path = "/second"
        let second = preface + Self.frame(4, 0, 0, []) + Self.frame(1, 0x5, 3, [0x82, 0x86, 0x44, UInt8(path.utf8.count)] + Array(path.utf8))
        let frames = EngineTraffic.tcpSession(v6: false, sport: 42100, dport: 80, exchanges: [
            (Array(request.utf8), switching), (second, Self.frame(1, 0x5, 3, [0x8d])),
        ])
        let events = Self.run(Engine(), frames)
        let http = FirewallEngineTests.of(events, "http").compactMap { $0["http"] as? [String: Any] }
        #expect(http.count == 3)
        #expect(http.first?["status"] as? Int == 101 && http.first?["protocol"] as? String == "HTTP/1.1")
        let s1 = http.first { ($0["http2"] as? [String: Any])?["stream_id"] as? Int == 1 }
        #expect(s1?["url"] as? String == "/up" && s1?["hostname"] as? String == "h.example")
        #expect(s1?["status"] as? Int == 200 && s1?["length"] as? Int == 2)
        let s3 = http.first { ($0["http2"] as? [String: Any])?["stream_id"] as? Int == 3 }
        #expect(s3?["url"] as? String == "/second" && s3?["status"] as? Int == 404)
        #expect(FirewallEngineTests.of(events, "flow").first?["app_proto"] as? String == "http2")
    }

    /// The preface probe: a full preface is HTTP/2, a prefix of it waits, anything else goes on
    /// to the other probes (a bug once made every non-preface client stream wait).
    @Test func prefaceProbeLeavesOtherProtocolsAlone() {
        func probe(_ b: [UInt8]) -> AppProto {
            b.withByteView { AppLayerDetect.probeTCP($0, direction: .toServer, serverPort: 5432, clientPort: 40000) }
        }
        #expect(probe(Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)) == .http2)
        #expect(probe(Array("PRI * HT".utf8)) == .unknown)
        #expect(probe([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]) == .pgsql, "PostgreSQL's SSLRequest")
        #expect(probe([UInt8](repeating: 0x7e, count: 16)) == .failed)
    }

    /// Firewall mode: `http2:stream` hooks accept or drop per stream.
    @Test func firewallStreamHooks() throws {
        let rules = """
            accept:hook tcp:all any any -> any any (sid:100;)
            accept:hook http2:stream:request_started any any -> any any (sid:101;)
            accept:tx http2:stream:request_headers any any -> any any (http.uri; content:"/ok"; sid:102;)
            """
        let allowed = try FirewallEngineTests.engine(rules)
        let (ae, ad) = FirewallEngineTests.run(allowed, Self.session(sport: 42001, path: "/ok", host: "a.example"))
        #expect(ad == 0)
        #expect(FirewallEngineTests.of(ae, "http").count == 2)
        let denied = try FirewallEngineTests.engine(rules)
        let (de, dd) = FirewallEngineTests.run(denied, Self.session(sport: 42002, path: "/no", host: "a.example"))
        #expect(dd > 0 && FirewallEngineTests.reasons(de).first == "default app policy")
        #expect(FirewallEngineTests.of(de, "http").isEmpty)
    }

    @Test func http2DoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        var parser = RuleParser()
        parser.load(text: """
            alert http any any -> any any (msg:"h2"; http.uri; content:"/a"; sid:1;)
            alert http any any -> any any (msg:"h2 line"; http.request_header; content:":path: /a"; startswith; sid:2;)
            alert http any any -> any any (msg:"h2 body"; file_data; content:"hello"; sid:3;)
            alert http any any -> any any (msg:"h2 resp"; http.response_header; content:"content-type: text"; sid:4;)
            """, file: "h2.rules")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: parser.finish()))
        var traffic: [[UInt8]] = []
        for k in 0 ..< 8 { traffic += Self.session(sport: UInt16(43000 + k), path: "/a/\(k)", host: "h\(k).example") }
        var before = engine.eve.counts[EVEEventType.http.rawValue]
        let n = steadyStateAllocations(engine, traffic, rounds: 10) { before = engine.eve.counts[EVEEventType.http.rawValue] }
        #expect(n == 0, "HTTP/2 allocated \(n) times")
        #expect(engine.eve.counts[EVEEventType.http.rawValue] - before == 10 * 8 * 2)
    }

    /// Suricata's http2-long-frame capture: a 70000-byte DATA frame (past the 16 KiB default),
    /// then a second request whose URI the rule matches.
    @Test func longFrameCapture() throws {
        guard let pcap = FirewallCorpusTests.capture("http2-long-frame/input.pcap") else { return }
        let rules = try ReplayCommandTests.temp("h2-long.rules", Data("""
            alert http any any -> any any (msg:"HTTP2 malicious request"; http.uri; content:"/malware/payload.exe"; sid:1; rev:1;)
            """.utf8))
        let r = try ReplayCommandTests.run(["replay", pcap, "--eve", "-", "--rules", rules])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let events = r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(FirewallEngineTests.sids(events) == [1])
        let urls = FirewallEngineTests.of(events, "http").compactMap { ($0["http"] as? [String: Any])?["url"] as? String }
        #expect(urls == ["/", "/malware/payload.exe"])
        let first = FirewallEngineTests.of(events, "http").first?["http"] as? [String: Any]
        #expect(first?["length"] as? Int == 70000)
    }
}
