import Foundation
import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// `dataset` / `datarep` and `ip.src` / `ip.dst` (session 9) on traffic built here through the
/// whole engine: the blocklist rules IOC feeds ship (C2 domains on `dns.query`, JA3 hashes,
/// URI hashes through `to_sha256` / `to_md5`, bad addresses), each with a rule that must match
/// and one that must not, as parsed and after a bundle round trip.
@Suite struct DatasetEngineTests {
    typealias T = EngineTraffic

    /// Alerting source ports by sid, directly and from the bundle (which must agree).
    static func alerts(_ rules: String, _ files: [String: String], _ frames: [[UInt8]],
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> [Int: [Int]] {
        var parser = RuleParser()
        parser.fileReader = { path in
            guard let t = files[path] else { throw CocoaError(.fileNoSuchFile) }
            return Array(t.utf8)
        }
        parser.load(text: rules, file: "/etc/rules/ioc.rules")
        let set = parser.finish()
        #expect(set.report.errors.isEmpty && set.report.skipped.isEmpty, "\(set.report.errors) \(set.report.skipped)",
                sourceLocation: sourceLocation)
        let defs = DetectDefinitions(ruleSet: set)
        let direct = TransformEngineTests.alerts(frames, defs)
        // The bundle is decoded fresh: its sets are its own (a `set` above does not leak in).
        let bundled = TransformEngineTests.alerts(frames, try DefinitionsBundle.decode(DefinitionsBundle.encode(definitions: defs), file: "ioc.bundle"))
        #expect(direct == bundled, "bundle round trip: \(direct) vs \(bundled)", sourceLocation: sourceLocation)
        return direct
    }

    @Test func dnsQueryBlocklistAndReputation() throws {
        let names = ["evil.example", "c2.bad.com", "ok.example", "EVIL.example"]
        let rules = """
            alert dns any any -> any any (msg:"c2 domain"; dns.query; dataset:isset,c2,type string,load c2.lst; sid:1;)
            alert dns any any -> any any (msg:"not listed"; dns.query; dataset:isnotset,c2; sid:2;)
            alert dns any any -> any any (msg:"lower-cased c2"; dns.query; to_lowercase; dataset:isset,c2; sid:3;)
            alert dns any any -> any any (msg:"bad rep"; dns.query; datarep:rep,>,50,type string,load rep.lst; sid:4;)
            alert dns any any -> any any (msg:"low rep"; dns.query; datarep:rep,<,50; sid:5;)
            alert dns any any -> any any (msg:"rep ten"; dns.query; datarep:rep,==,10; sid:6;)
            alert dns any any -> any any (msg:"empty set"; dns.query; dataset:isset,none,type string,load none.lst; sid:7;)
            """
        let files = ["/etc/rules/c2.lst": "ZXZpbC5leGFtcGxl\nYzIuYmFkLmNvbQ==\n",
                     "/etc/rules/rep.lst": "ZXZpbC5leGFtcGxl,90\nb2suZXhhbXBsZQ==,10\n",
                     "/etc/rules/none.lst": ""]
        let n = try Self.alerts(rules, files, TransformEngineTests.dnsFrames(names))
        // Source ports 41000... by name (dns.query is the request's, as Suricata's).
        let evil = 41000, c2 = 41001, ok = 41002, upper = 41003
        #expect(n[1] == [evil, c2], "\(n)")
        #expect(n[2] == [ok, upper], "bytes are compared as they are: EVIL.example is not listed; \(n)")
        #expect(n[3] == [evil, c2, upper], "to_lowercase before the lookup: \(n)")
        #expect(n[4] == [evil] && n[5] == [ok] && n[6] == [ok], "c2.bad.com is not in the reputation list: \(n)")
        #expect(n[7] == nil)
    }

    @Test func httpURIHashes() throws {
        let requests = ["GET /malware/payload.bin HTTP/1.1\r\nHost: a.example\r\n\r\n",
                        "GET /index.html HTTP/1.1\r\nHost: a.example\r\n\r\n"]
        let rules = """
            alert http any any -> any any (msg:"bad uri sha256"; http.uri; to_sha256; dataset:isset,uri-sha,type sha256,load sha.lst; sid:1;)
            alert http any any -> any any (msg:"bad uri md5"; http.uri; to_md5; dataset:isset,uri-md5,type md5,load md5.lst; sid:2;)
            alert http any any -> any any (msg:"sha list, md5 buffer"; http.uri; to_md5; dataset:isset,uri-sha; sid:3;)
            alert http any any -> any any (msg:"uri not hashed"; http.uri; dataset:isset,uri-sha; sid:4;)
            alert http any any -> any any (msg:"content and dataset"; http.uri; content:"/index"; startswith; http.uri; to_sha256; dataset:isnotset,uri-sha; sid:5;)
            """
        let files = ["/etc/rules/sha.lst": "95a828a32d3362bf2c83c63cb90b010622ffd143c1a56f477ac2d6b9e82591d3\n",
                     "/etc/rules/md5.lst": "D7E6C9A88A1B87F555809153562FF93A,3\n"]
        let n = try Self.alerts(rules, files, TransformEngineTests.httpFrames(requests))
        #expect(n[1] == [43000] && n[2] == [43000], "\(n)")
        #expect(n[3] == nil && n[4] == nil, "a 16-byte digest is no sha256 member, the raw URI none either: \(n)")
        #expect(n[5] == [43001], "a content (the prefilter) on the URI and the hash of it not listed: \(n)")
    }

    /// JA3: the set learns the ClientHello's JA3 (`set`), then a list of it matches (`isset`).
    @Test func tlsJA3List() throws {
        let frames = TransformEngineTests.tlsFrames(["a.example", "b.example"])
        var learn = RuleParser()
        learn.load(text: "alert tls any any -> any any (msg:\"learn\"; ja3.hash; dataset:set,ja3-seen,type string; sid:9;)", file: "learn.rules")
        let defs = DetectDefinitions(ruleSet: learn.finish())
        let learned = TransformEngineTests.alerts(frames, defs)
        #expect(learned[9] == [42000], "set matches the first time only (both hellos have one JA3): \(learned)")
        let members = defs.datasets[0].members()
        #expect(members.count == 1 && members[0].key.count == 32, "the JA3 hash as 32 hex characters")
        let ja3 = try #require(String(validating: members[0].key, as: UTF8.self))
        let list = Data(ja3.utf8).base64EncodedString() + "\n"
        let rules = """
            alert tls any any -> any any (msg:"bad ja3"; ja3.hash; dataset:isset,bad-ja3,type string,load ja3.lst; sid:1;)
            alert tls any any -> any any (msg:"other ja3"; ja3.hash; dataset:isset,other-ja3,type string,load other.lst; sid:2;)
            alert tls any any -> any any (msg:"unknown ja3"; ja3.hash; dataset:isnotset,other-ja3; sid:3;)
            """
        let n = try Self.alerts(rules, ["/etc/rules/ja3.lst": list, "/etc/rules/other.lst": "ZTdkNzA1YTM2ODZjYTM2NTkxNjc0ODg5NWIzZTJiNjQ=\n"], frames)
        #expect(n[1] == [42000, 42001] && n[2] == nil && n[3] == [42000, 42001], "\(n)")
    }

    /// ip.src / ip.dst with `type ip` (IPv4 and IPv6 in one list) and `type ipv4`.
    @Test func addressLists() throws {
        var frames = TransformEngineTests.dnsFrames(["a.example"])          // IPv4 client 192.168.1.10
        frames += T.tcpSession(v6: true, sport: 44000, dport: 8080, exchanges: [  // 2001:db8::1 -> ::2
            (Array("GET / HTTP/1.1\r\nHost: v6.example\r\n\r\n".utf8), Array("HTTP/1.1 204 No Content\r\n\r\n".utf8)),
        ])
        let rules = """
            alert udp any any -> any any (msg:"bad v4 source"; ip.src; dataset:isset,bad-ips,type ip,load ips.lst; sid:1;)
            alert tcp any any -> any any (msg:"bad v6 server"; flow:to_server; ip.dst; dataset:isset,bad-ips; sid:2;)
            alert ip any any -> any any (msg:"unlisted source"; ip.src; dataset:isset,other,type ipv4,load other.lst; sid:3;)
            alert udp any any -> any any (msg:"v4 list"; ip.dst; dataset:isset,v4,type ipv4,load v4.lst; sid:4;)
            alert tcp any any -> any any (msg:"v4 list, v6 packet"; ip.src; dataset:isnotset,v4; flow:to_server; tcp.flags:S; sid:5;)
            alert dns any any -> any any (msg:"query from a listed host"; dns.query; content:"a.example"; ip.src; dataset:isset,bad-ips; sid:6;)
            alert udp any any -> any any (msg:"content on ip.src"; ip.src; content:"|c0 a8 01 0a|"; bsize:4; sid:7;)
            alert dns any any -> any any (msg:"fast_pattern on ip.src"; dns.query; content:"a.example"; ip.src; content:"|c0 a8|"; startswith; fast_pattern; sid:8;)
            """
        let files = ["/etc/rules/ips.lst": "192.168.1.10\n2001:db8::2\n",
                     "/etc/rules/other.lst": "10.81.0.66\n",
                     "/etc/rules/v4.lst": "93.184.216.34\n"]
        let n = try Self.alerts(rules, files, frames)
        #expect(n[1] == [41000], "the query, not the response from 93.184.216.34: \(n)")
        #expect(!(n[2] ?? []).isEmpty && Set(n[2] ?? []) == [44000], "\(n)")
        #expect(n[3] == nil, "\(n)")
        #expect(n[4] == [41000], "\(n)")
        #expect(n[5] == [44000], "an IPv6 address is never in an ipv4 set: \(n)")
        #expect(n[6] == [41000], "\(n)")
        #expect(n[7] == [41000] && n[8] == [41000], "address buffers never carry the prefilter pattern: \(n)")
    }

    /// The stats event's `detect` object counts the sets, their members and refused `set`s.
    @Test func statsEventCountsTheSets() throws {
        var parser = RuleParser()
        parser.fileReader = { _ in Array("ZXZpbC5leGFtcGxl\nYzIuYmFkLmNvbQ==\n".utf8) }
        parser.load(text: """
            alert dns any any -> any any (msg:"c2"; dns.query; dataset:isset,c2,type string,load c2.lst; sid:1;)
            alert http any any -> any any (msg:"uris"; http.uri; dataset:set,uris,type string,memcap 100; sid:2;)
            """, file: "/r/s.rules")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: parser.finish()))
        let frames = TransformEngineTests.httpFrames(["GET /a HTTP/1.1\r\nHost: x\r\n\r\n", "GET /b HTTP/1.1\r\nHost: x\r\n\r\n",
                                                      "GET /c HTTP/1.1\r\nHost: x\r\n\r\n"])
        for (i, f) in frames.enumerated() {
            _ = f.withByteView { engine.process(frame: $0, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)), wireLength: $0.count) }
        }
        engine.finish()
        let stats = String(decoding: engine.eve.buffer, as: UTF8.self).split(separator: "\n").compactMap { line -> [String: Any]? in
            guard let e = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], e["event_type"] as? String == "stats" else { return nil }
            return (e["stats"] as? [String: Any])?["detect"] as? [String: Any]
        }.last
        let d = try #require(stats)
        // memcap 100 gives the uris set room for one value: /a is added, /b and /c refused.
        #expect(d["datasets"] as? Int == 2 && d["dataset_members"] as? Int == 3 && d["dataset_full"] as? Int == 2, "\(d)")
    }
}
