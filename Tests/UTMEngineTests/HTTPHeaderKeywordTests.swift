import Foundation
import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// Session 6 header keywords as Suricata 7 users write them: http.request_header and
/// http.response_header (one instance per header, a content matches within one header),
/// http.server and http.location, on HTTP/1 and HTTP/2 traffic built here, positive and
/// negative, and the same alerts from a compiled bundle.
@Suite struct HTTPHeaderKeywordTests {
    static let rules = """
        alert http any any -> any any (msg:"ua line"; http.request_header; content:"User-Agent: EvilBot"; nocase; startswith; sid:1;)
        alert http any any -> any any (msg:"two headers, one line"; http.request_header; content:"accept"; nocase; content:"evilbot"; distance:0; nocase; sid:2;)
        alert http any any -> any any (msg:"x-debug header"; flow:to_client; http.response_header; content:"x-debug: on"; nocase; startswith; endswith; sid:3;)
        alert http any any -> any any (msg:"server"; flow:to_client; http.server; content:"Apache/2.2"; startswith; sid:4;)
        alert http any any -> any any (msg:"location"; flow:to_client; http.location; content:"http://redirect.example/"; startswith; sid:5;)
        alert http any any -> any any (msg:"absent header"; http.request_header; content:"x-not-sent"; nocase; sid:6;)
        alert http any any -> any any (msg:"h2 pseudo"; http.request_header; content:":method: POST"; sid:7;)
        """

    static func h1(ua: String, server: String, location: String) -> [[UInt8]] {
        let req = "GET /x HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\nUser-Agent: \(ua)\r\n\r\n"
        let resp = "HTTP/1.1 302 Found\r\nServer: \(server)\r\nLocation: \(location)\r\nX-Debug: on\r\nContent-Length: 0\r\n\r\n"
        return EngineTraffic.tcpSession(v6: false, sport: 45000, dport: 80, exchanges: [(Array(req.utf8), Array(resp.utf8))])
    }

    static func h2(ua: String, server: String, location: String) -> [[UInt8]] {
        typealias B = HTTP2BodyEngineTests
        let block: [UInt8] = [0x83, 0x86, 0x84] + B.lit(":authority", "a.example") + B.lit("accept", "*/*") + B.lit("user-agent", ua)
        let client = B.preface + B.frame(4, 0, 0, []) + B.frame(1, 0x5, 1, block)
        let resp: [UInt8] = [0x08 | 0x00, 0x03] + Array("302".utf8)   // :status literal (static name 8)
        let headers = resp + B.lit("server", server) + B.lit("location", location) + B.lit("x-debug", "on")
        let server = B.frame(4, 0, 0, []) + B.frame(1, 0x5, 1, headers)
        return B.session(sport: 45001, [(true, client), (false, server)])
    }

    static func sids(_ frames: [[UInt8]], _ defs: DetectDefinitions) -> [Int] {
        let engine = Engine()
        engine.loadDetection(defs)
        return FirewallEngineTests.sids(FirewallEngineTests.run(engine, frames).events).sorted()
    }

    static func definitions() -> DetectDefinitions {
        var p = RuleParser()
        p.load(text: rules, file: "hdr.rules")
        let set = p.finish()
        #expect(set.signatures.count == 7, "every rule loads")
        return DetectDefinitions(ruleSet: set)
    }

    @Test func http1AndHTTP2() throws {
        let defs = Self.definitions()
        let h1 = Self.sids(Self.h1(ua: "EvilBot/1.0", server: "Apache/2.2.3", location: "http://redirect.example/a"), defs)
        #expect(h1 == [1, 3, 4, 5])
        let h2 = Self.sids(Self.h2(ua: "EvilBot/1.0", server: "Apache/2.2.3", location: "http://redirect.example/a"), defs)
        #expect(h2 == [1, 3, 4, 5, 7], "HTTP/2 lines are lower-case names; pseudo-headers included")
        // Negative: other values; the same header text split over two headers never matches
        // one content (sid 2 spans Accept and User-Agent lines in the joined buffer).
        let other = Self.sids(Self.h1(ua: "Mozilla/5.0", server: "nginx", location: "/local"), defs)
        #expect(other == [3])
        let other2 = Self.sids(Self.h2(ua: "Mozilla/5.0", server: "nginx Apache/2.2", location: "/local"), defs)
        #expect(other2 == [3, 7], "startswith is per value")
    }

    /// The compiled bundle keeps the new buffers: re-encoding gives the same bytes and the
    /// decoded rules give the same alerts.
    @Test func bundleRoundTrip() throws {
        let defs = Self.definitions()
        let bytes = DefinitionsBundle.encode(definitions: defs)
        let back = try DefinitionsBundle.decode(bytes, file: "b")
        #expect(DefinitionsBundle.encode(definitions: back) == bytes)
        #expect(back.signatures.first { $0.sid == 4 }?.list(for: .httpServer) != nil)
        #expect(back.signatures.first { $0.sid == 1 }?.list(for: .httpRequestHeader) != nil)
        for frames in [Self.h1(ua: "EvilBot", server: "Apache/2.2", location: "http://redirect.example/"),
                       Self.h2(ua: "EvilBot", server: "Apache/2.2", location: "http://redirect.example/")] {
            #expect(Self.sids(frames, back) == Self.sids(frames, defs))
        }
    }

    @Test func keywordsTakeNoValue() {
        for kw in ["http.request_header", "http.response_header", "http.server", "http.location"] {
            var p = RuleParser()
            p.load(text: "alert http any any -> any any (\(kw):x; content:\"a\"; sid:1;)\n", file: "bad.rules")
            #expect(p.finish().signatures.isEmpty, "\(kw) with a value")
        }
    }
}
