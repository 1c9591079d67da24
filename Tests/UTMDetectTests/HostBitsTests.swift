import Testing
import UTMCore
@testable import UTMDetect

/// `xbits` and `hostbits`: Suricata's syntax (its own good and bad rule lists), the bounded
/// host table (expiry, pairs, eviction, memory) and the bundle round-trip. Traffic across
/// flows is in UTMEngineTests/AppProtoRuleTests.
@Suite struct HostBitsTests {
    func op(_ s: Signature) -> HostBitOp? {
        for h in s.headerMatches { if case .hostBit(let o) = h { return o } }
        return nil
    }

    @Test func xbitsSyntaxAsSuricata() throws {
        let good: [(String, HostBitOp.Kind, HostBitOp.Track, Int)] = [
            ("xbits:set,bit1,track ip_src;", .set, .source, 30),
            ("xbits:isset,bit2,track ip_dst;", .isSet, .destination, 30),
            ("xbits:isnotset, bit3,  track ip_pair;", .isNotSet, .pair, 30),
            ("xbits:toggle,bit4, track   ip_pair;", .toggle, .pair, 30),
            ("xbits:  unset ,bit5,track ip_src;", .unset, .source, 30),
            ("xbits:set,bit6 ,track ip_src, expire 10 ;", .set, .source, 10),
            ("xbits:set,ET.2020_8260.1,track ip_src,expire 3600;", .set, .source, 3600),
        ]
        for (text, kind, track, expire) in good {
            let s = try #require(rule(opts(text + " content:\"abc\";")), "\(text)")
            let o = try #require(op(s), "\(text)")
            #expect(o.kind == kind && o.track == track && o.expire == expire, "\(text)")
        }
        let quiet = try #require(rule(opts("xbits:set, bit7, track ip_pair, expire 3600; xbits:noalert;")))
        #expect(quiet.noalert && op(quiet)?.expire == 3600)
        let bad = [
            "xbits:alert;", "xbits:n0alert;", "xbits:set,abc,track nonsense, expire 3600;",
            "xbits:set,abc,track ip_source, expire 3600;", "xbits:set,abc,track ip_src, expire -1;",
            "xbits:set,abc,track ip_src, expire 0;", "xbits:set,bit1,noalert,track ip_src;",
            "xbits:isset,bit2,track ip_dst,asdf;", "xbits:isnotset,track ip_pair;", "xbits:bit6,set,track ip_src,expire 10;",
            "xbits:set,bit7,track ip_pair,expire;", "xbits:set,bit7,trackk ip_pair,expire 3600, noalert;",
            "xbits:!set,abc,track ip_dst;", "xbits:set,a,track tx;", "xbits:set;", "xbits;",
        ]
        for text in bad {
            let e = ruleError(opts(text))
            #expect(e != nil, "\(text)")
            #expect(!(e.map { "\($0)" } ?? "").contains("\n"), "\(text)")
        }
    }

    @Test func hostbitsSyntaxAsSuricata() throws {
        let s = try #require(rule(opts("hostbits:set,abc;")))
        #expect(op(s) == HostBitOp(kind: .set, track: .source, name: op(s)!.name, expire: 300))
        #expect(op(try #require(rule(opts("hostbits:isset, name , dst ;"))))?.track == .destination)
        #expect(op(try #require(rule(opts("hostbits:unset,name,src;"))))?.track == .source)
        #expect(op(try #require(rule(opts("hostbits:set,name,track ip_dst,expire 60;"))))?.expire == 60)
        #expect(try #require(rule(opts("hostbits:noalert;"))).noalert)
        for text in ["hostbits:set,a,both;", "hostbits:set,a,track ip_pair;", "hostbits:frob,a;", "hostbits:set;",
                     "hostbits:noalert,a;", "hostbits:set,a,src,dst;"] {
            #expect(ruleError(opts(text)) != nil, "\(text)")
        }
    }

    func facts(_ src: String, _ dst: String, at t: Int64) -> PacketFacts {
        var p = PacketFacts()
        p.ipProto = 6; p.source = IPAddress(src)!; p.destination = IPAddress(dst)!
        p.time = t
        return p
    }

    @Test func tableSemantics() {
        let t = HostBitTable(capacity: 64)
        let set = HostBitOp(kind: .set, track: .source, name: 1, expire: 30)
        let isSet = HostBitOp(kind: .isSet, track: .source, name: 1, expire: 30)
        let isSetDst = HostBitOp(kind: .isSet, track: .destination, name: 1, expire: 30)
        let isNotSet = HostBitOp(kind: .isNotSet, track: .source, name: 1, expire: 30)
        let a = facts("10.0.0.1", "8.8.8.8", at: 1000)
        #expect(!t.check(isSet, a) && t.check(isNotSet, a))
        t.apply(set, a)
        #expect(t.check(isSet, a) && !t.check(isNotSet, a))
        // The same host seen as destination, later, by another flow.
        #expect(t.check(isSetDst, facts("1.2.3.4", "10.0.0.1", at: 1030)), "alive for expire seconds")
        #expect(!t.check(isSetDst, facts("1.2.3.4", "10.0.0.1", at: 1031)), "expired")
        #expect(!t.check(HostBitOp(kind: .isSet, track: .source, name: 2, expire: 30), a), "another name")
        // Toggle and unset.
        let toggle = HostBitOp(kind: .toggle, track: .source, name: 1, expire: 30)
        t.apply(toggle, a); #expect(t.check(isSet, a))
        t.apply(toggle, a); #expect(!t.check(isSet, a))
        t.apply(set, a); t.apply(HostBitOp(kind: .unset, track: .source, name: 1, expire: 30), a)
        #expect(!t.check(isSet, a))
        // Pairs ignore the direction; v6 works the same.
        let pairSet = HostBitOp(kind: .set, track: .pair, name: 3, expire: 60)
        let pairIs = HostBitOp(kind: .isSet, track: .pair, name: 3, expire: 60)
        t.apply(pairSet, facts("2001:db8::1", "2001:db8::2", at: 2000))
        #expect(t.check(pairIs, facts("2001:db8::2", "2001:db8::1", at: 2010)))
        #expect(!t.check(pairIs, facts("2001:db8::2", "2001:db8::3", at: 2010)))
    }

    /// More hosts than slots: the table keeps its size, evicts the least recently used, and
    /// a host checked recently survives.
    @Test func boundedWithLRUEviction() {
        let t = HostBitTable(capacity: 16)
        #expect(t.capacity == 16 && t.memoryBytes > 0 && t.memoryBytes < 16 * 128)
        let set = HostBitOp(kind: .set, track: .source, name: 0, expire: 3600)
        let isSet = HostBitOp(kind: .isSet, track: .source, name: 0, expire: 3600)
        let keep = facts("192.168.0.1", "8.8.8.8", at: 10)
        t.apply(set, keep)
        for i in 0 ..< 200 {
            t.apply(set, facts("10.1.\(i / 250).\(i % 250)", "8.8.8.8", at: 10))
            #expect(t.check(isSet, keep), "touched every round, never the oldest (\(i))")
        }
        #expect(t.live(now: 10) == 16 && t.evictions > 0)
        // Expired entries are reused before anything is evicted.
        let before = t.evictions
        for i in 0 ..< 8 { t.apply(set, facts("172.16.0.\(i)", "8.8.8.8", at: 100_000)) }
        #expect(t.evictions == before)
    }

    @Test func bundleRoundTrip() throws {
        var p = RuleParser()
        p.load(text: """
            alert tcp any any -> any any (msg:"a"; content:"x"; xbits:set,ET.a,track ip_pair,expire 3600; xbits:noalert; sid:1;)
            alert tcp any any -> any any (msg:"b"; content:"y"; hostbits:isset,ET.a,dst; flowbits:set,f; sid:2;)
            """, file: "t.rules")
        let original = DetectDefinitions(ruleSet: p.finish())
        #expect(original.count == 2 && original.usesHostBits)
        let bytes = DefinitionsBundle.encode(definitions: original)
        let back = try DefinitionsBundle.decode(bytes, file: "b")
        #expect(DefinitionsBundle.encode(definitions: back) == bytes)
        let a = try #require(back.signatures.first { $0.sid == 1 })
        let b = try #require(back.signatures.first { $0.sid == 2 })
        #expect(a.noalert && op(a)?.track == .pair && op(a)?.expire == 3600 && op(a)?.kind == .set)
        #expect(op(b)?.kind == .isSet && op(b)?.track == .destination && op(b)?.name == op(a)?.name)
    }
}
