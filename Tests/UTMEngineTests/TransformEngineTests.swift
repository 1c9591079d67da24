import Foundation
import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// Buffer transforms on traffic built here (EngineTraffic's frames): DNS queries, TLS SNIs and
/// HTTP requests, with the rules today's ET Open and IOC generators write, each positive and
/// negative, and the same alerts after a bundle round-trip.
@Suite struct TransformEngineTests {
    static func dnsFrames(_ names: [String]) -> [[UInt8]] {
        names.enumerated().flatMap { EngineTraffic.dns(sport: UInt16(41000 + $0.offset), name: $0.element) }
    }

    static func tlsFrames(_ snis: [String]) -> [[UInt8]] {
        snis.enumerated().flatMap { i, sni in
            EngineTraffic.tcpSession(v6: false, sport: UInt16(42000 + i), dport: 443, exchanges: [
                (EngineTraffic.clientHello(sni: sni), EngineTraffic.serverHello()),
            ])
        }
    }

    static func httpFrames(_ requests: [String]) -> [[UInt8]] {
        requests.enumerated().flatMap { i, request in
            EngineTraffic.tcpSession(v6: false, sport: UInt16(43000 + i), dport: 80, exchanges: [
                (Array(request.utf8), Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)),
            ])
        }
    }

    /// Runs `frames` through an engine with `rules`, and again with the rules compiled into a
    /// bundle and loaded back; returns the alerting sids by source port, both ways.
    static func run(_ frames: [[UInt8]], rules: String) -> (direct: [Int: [Int]], bundled: [Int: [Int]]) {
        var parser = RuleParser()
        parser.load(text: rules, file: "transforms.rules")
        let set = parser.finish()
        #expect(set.report.errors.isEmpty, "\(set.report.errors)")
        let defs = DetectDefinitions(ruleSet: set)
        let bytes = DefinitionsBundle.encode(definitions: defs)
        let loaded = try? DefinitionsBundle.decode(bytes, file: "transforms.bundle")
        #expect(loaded != nil)
        return (alerts(frames, defs), loaded.map { alerts(frames, $0) } ?? [:])
    }

    static func alerts(_ frames: [[UInt8]], _ defs: DetectDefinitions) -> [Int: [Int]] {
        let engine = Engine()
        engine.loadDetection(defs)
        for (i, f) in frames.enumerated() {
            _ = f.withByteView {
                engine.process(frame: $0, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)), wireLength: $0.count)
            }
        }
        engine.finish()
        var out: [Int: [Int]] = [:]
        for line in String(decoding: engine.eve.buffer, as: UTF8.self).split(separator: "\n") {
            guard let e = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  e["event_type"] as? String == "alert",
                  let sid = (e["alert"] as? [String: Any])?["signature_id"] as? Int,
                  let port = e["src_port"] as? Int else { continue }
            out[sid, default: []].append(port)
        }
        for k in out.keys { out[k]?.sort() }
        return out
    }

    /// The IOC generators' domain rule: `dotprefix; content:".evil.xyz"; endswith` matches the
    /// domain and every subdomain, not a name that merely ends the same way. Its content is
    /// the prefilter pattern of the derived buffer (the plain dns.query automaton never sees it).
    @Test func dnsDotprefix() throws {
        let names = ["evil.xyz", "a.evil.xyz", "notevil.xyz", "evil.xyz.example", "EVIL.Xyz", "b.c.evil.xyz"]
        let rules = """
            alert dns $HOME_NET any -> any any (msg:"IOC evil.xyz"; dns.query; dotprefix; content:".evil.xyz"; nocase; endswith; sid:1;)
            alert dns any any -> any any (msg:"case-sensitive"; dns.query; dotprefix; content:".evil.xyz"; endswith; sid:2;)
            alert dns any any -> any any (msg:"lower then dotprefix"; dns.query; to_lowercase; dotprefix; content:".evil.xyz"; endswith; sid:3;)
            alert dns any any -> any any (msg:"plain"; dns.query; content:"notevil"; sid:4;)
            alert dns any any -> any any (msg:"two chains"; dns.query; content:"b.c."; startswith; dns.query; dotprefix; content:".c.evil"; sid:5;)
            alert dns any any -> any any (msg:"bsize of the transformed buffer"; dns.query; dotprefix; content:".evil.xyz"; bsize:9; sid:6;)
            """
        let frames = Self.dnsFrames(names)
        let (direct, bundled) = Self.run(frames, rules: rules)
        #expect(direct[1] == [41000, 41001, 41004, 41005], "evil.xyz, a.evil.xyz, EVIL.Xyz, b.c.evil.xyz")
        #expect(direct[2] == [41000, 41001, 41005])
        #expect(direct[3] == [41000, 41001, 41004, 41005])
        #expect(direct[4] == [41002], "the untransformed buffer is still there")
        #expect(direct[5] == [41005])
        #expect(direct[6] == [41000], "'.evil.xyz' is 9 bytes: bsize sees the dot")
        #expect(bundled == direct)
        let defs = DetectDefinitions(ruleSet: { var p = RuleParser(); p.load(text: rules, file: "x"); return p.finish() }())
        #expect(defs.derived.count == 2, "sids 1, 2 and 5 share one (dns.query, dotprefix) buffer")
        #expect(defs.patternSets[BufferID.count] != nil, "the derived buffer has a prefilter automaton")
    }

    @Test func tlsSNI() throws {
        let snis = ["www.bad.example", "bad.example", "notbad.example", "WWW.BAD.EXAMPLE", "bad.example.org"]
        let rules = """
            alert tls any any -> any any (msg:"sni"; tls.sni; dotprefix; content:".bad.example"; endswith; sid:10;)
            alert tls any any -> any any (msg:"sni lower"; tls.sni; to_lowercase; dotprefix; content:".bad.example"; endswith; sid:11;)
            alert tls any any -> any any (msg:"sni upper"; tls.sni; to_uppercase; content:"BAD.EXAMPLE"; startswith; sid:12;)
            alert tls any any -> any any (msg:"sni md5"; tls.sni; to_md5; content:"|\(Self.md5Hex("bad.example"))|"; sid:13;)
            """
        let (direct, bundled) = Self.run(Self.tlsFrames(snis), rules: rules)
        #expect(direct[10] == [42000, 42001])
        #expect(direct[11] == [42000, 42001, 42003])
        #expect(direct[12] == [42001, 42004])
        #expect(direct[13] == [42001], "raw md5 of the SNI, not hex text")
        #expect(bundled == direct)
    }

    @Test func httpTransforms() throws {
        let requests = [
            "GET /a%2Fb%20c?q=sel%65ct+1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0\r\nX-Evil-Header: 1\r\n\r\n",
            "GET /plain HTTP/1.1\r\nHost: www.example.com\r\nuser-agent: curl\r\n\r\n",
            "GET /x HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Bad   Bot\r\n\r\n",
            "GET /y HTTP/1.1\r\nHost: www.example.com\r\nUSER-AGENT: curl\r\n\r\n",
        ]
        let rules = #"""
            alert http any any -> any any (msg:"url_decode"; http.uri; url_decode; content:"/a/b c?q=select 1"; sid:20;)
            alert http any any -> any any (msg:"uri raw"; http.uri; content:"select"; sid:21;)
            alert http any any -> any any (msg:"header lower"; http.header; to_lowercase; content:"x-evil-header: 1"; sid:22;)
            alert http any any -> any any (msg:"ua compress"; http.user_agent; compress_whitespace; content:"Bad Bot"; sid:23;)
            alert http any any -> any any (msg:"ua strip"; http.user_agent; strip_whitespace; content:"BadBot"; endswith; sid:24;)
            alert http any any -> any any (msg:"header lower"; http.header; header_lowercase; content:"user-agent: curl"; sid:25;)
            alert http any any -> any any (msg:"header raw"; http.header; content:"user-agent: curl"; sid:26;)
            alert http any any -> any any (msg:"xor"; http.uri; xor:"01"; content:"|2e 71 6d 60 68 6f|"; sid:27;)
            alert http any any -> any any (msg:"pcrexform"; http.uri; pcrexform:"q=([^&]+)"; content:"sel%65ct"; startswith; sid:28;)
            """#
        let (direct, bundled) = Self.run(Self.httpFrames(requests), rules: rules)
        #expect(direct[20] == [43000])
        #expect(direct[21] == nil, "the plain URI keeps its escapes")
        #expect(direct[22] == [43000])
        #expect(direct[23] == [43002])
        #expect(direct[24] == [43002])
        #expect(direct[25] == [43001, 43003], "names lower-cased, values kept")
        #expect(direct[26] == [43001])
        #expect(direct[27] == [43001], "/plain xor 01")
        #expect(direct[28] == [43000])
        #expect(bundled == direct)
    }

    static func md5Hex(_ s: String) -> String {
        let d = Transform.applyChain([.toMD5], to: Array(s.utf8)) ?? []
        return d.map { String(format: "%02x", $0) }.joined(separator: " ")
    }
}
