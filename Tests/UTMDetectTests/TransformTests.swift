import Foundation
import Testing
import UTMCore
@testable import UTMDetect

/// The buffer transforms: each on edge input (empty, all-whitespace, truncated escapes,
/// invalid base64...), with the outputs Suricata's own transform tests give, the rule-level
/// errors, and bundle round-trips of transformed lists.
@Suite struct TransformTests {
    static func apply(_ chain: [Transform], _ s: String) -> String? {
        Transform.applyChain(chain, to: Array(s.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }
    static func applyBytes(_ chain: [Transform], _ s: String) -> [UInt8]? {
        Transform.applyChain(chain, to: Array(s.utf8))
    }

    @Test func dotprefix() {
        #expect(Self.apply([.dotprefix], "example.com") == ".example.com")
        #expect(Self.apply([.dotprefix], "a") == ".a")
        // Suricata leaves an empty buffer as it is (no lone dot).
        #expect(Self.apply([.dotprefix], "") == "")
        #expect(Self.apply([.dotprefix, .dotprefix], "x") == "..x")
    }

    @Test func caseChanges() {
        #expect(Self.apply([.toLowercase], " A b C D \u{7f}") == " a b c d \u{7f}")
        #expect(Self.apply([.toUppercase], " A b C D z{") == " A B C D Z{")
        #expect(Self.applyBytes([.toLowercase], "") == [])
        // Only ASCII letters change: bytes >= 0x80 stay.
        #expect(Transform.applyChain([.toUppercase], to: [0xe9, 0x61]) == [0xe9, 0x41])
    }

    @Test func stripWhitespace() {
        #expect(Self.apply([.stripWhitespace], " window.navigate (\t\r\n\u{0b}\u{0c}x ") == "window.navigate(x")
        #expect(Self.apply([.stripWhitespace], " \t\r\n ") == "")
        #expect(Self.apply([.stripWhitespace], "") == "")
    }

    @Test func compressWhitespace() {
        // Suricata's own cases: runs keep their first byte, leading and trailing too.
        #expect(Self.apply([.compressWhitespace], " A B C D ") == " A B C D ")
        #expect(Self.apply([.compressWhitespace], "I  \t J") == "I J")
        #expect(Self.apply([.compressWhitespace], "I\t  J") == "I\tJ")
        #expect(Self.apply([.compressWhitespace], "   ") == " ")
        #expect(Self.apply([.compressWhitespace], "\n\n\nx\r\r") == "\nx\r")
        #expect(Self.apply([.compressWhitespace], "") == "")
    }

    @Test func urlDecode() {
        // Suricata's test vector: '+' is a space, bad or truncated escapes stay literal.
        #expect(Self.apply([.urlDecode], "Suricata%20is+%27%61wesome%21%27%25%30%30%ZZ%4")
                == "Suricata is 'awesome!'%00%ZZ%4")
        #expect(Self.apply([.urlDecode], "%") == "%")
        #expect(Self.apply([.urlDecode], "a%") == "a%")
        #expect(Self.apply([.urlDecode], "%4") == "%4")
        #expect(Self.apply([.urlDecode], "%4g") == "%4g")
        #expect(Self.apply([.urlDecode], "%%41") == "%%41")
        #expect(Self.apply([.urlDecode], "%4%41") == "%4%41")
        #expect(Self.apply([.urlDecode], "%+") == "%+", "the byte after a bad escape is copied as is")
        #expect(Self.apply([.urlDecode], "%2e%2E/") == "../")
        #expect(Self.applyBytes([.urlDecode], "%00%ff") == [0, 0xff])
        #expect(Self.apply([.urlDecode], "") == "")
    }

    @Test func xor() throws {
        let key: [UInt8] = [0x0a, 0x0d, 0xc8, 0xff]
        #expect(Self.applyBytes([.xor(key: key, offset: 0)], "example.com")
                == Array("ou".utf8) + [0xa9, 0x92] + Array("za".utf8) + [0xad, 0xd1] + Array("ib".utf8) + [0xa5])
        // Applying it twice gives the input back.
        #expect(Self.apply([.xor(key: key, offset: 0), .xor(key: key, offset: 0)], "example.com") == "example.com")
        #expect(Self.apply([.xor(key: [0x42], offset: 1)], "B" + String(decoding: Array("hello".utf8).map { $0 ^ 0x42 }, as: UTF8.self)) == "Bhello")
        #expect(Self.apply([.xor(key: [1], offset: 9)], "abc") == "abc", "an offset past the end leaves the buffer")
        #expect(try DetectTransformXor.parse("\"0a0DC8ff\"").key == key)
        #expect(try DetectTransformXor.parse("0d0a").key == [0x0d, 0x0a])
        #expect(try DetectTransformXor.parse("offset 4,0d0ac8ff").offset == 4)
        for bad in ["\"abc\"", "\"zz\"", "\"\"", "var 1 0", "offset 1", String(repeating: "ab", count: 256)] {
            #expect(throws: RuleError.self, "xor:\(bad)") { try DetectTransformXor.parse(Substring(bad)) }
        }
    }

    @Test func hashesAreRawBytes() {
        // md5("") is not computed: Suricata leaves an empty buffer untouched.
        #expect(Self.applyBytes([.toMD5], "") == [])
        let md5 = Self.applyBytes([.toMD5], "abc")
        #expect(md5 == [0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0, 0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1, 0x7f, 0x72])
        let sha1 = Self.applyBytes([.toSHA1], "abc")
        #expect(sha1?.count == 20 && sha1?.prefix(4) == [0xa9, 0x99, 0x3e, 0x36])
        let sha256 = Self.applyBytes([.toSHA256], "abc")
        #expect(sha256?.count == 32 && sha256?.prefix(4) == [0xba, 0x78, 0x16, 0xbf] && sha256?.suffix(2) == [0x15, 0xad])
        // A chain: the hash of the compressed request line (the docs' example shape).
        #expect(Self.applyBytes([.compressWhitespace, .toSHA256], "a  bc")?.count == 32)
        #expect(Self.applyBytes([.compressWhitespace, .toMD5], "a  b") == Self.applyBytes([.toMD5], "a b"))
    }

    @Test func headerTransforms() {
        #expect(Self.apply([.headerLowercase], "Header1: Value1\nheader2:Value2\n") == "header1: Value1\nheader2:Value2\n")
        #expect(Self.apply([.headerLowercase], "X-A: B\r\nHOST: WWW\r\n") == "x-a: B\r\nhost: WWW\r\n")
        #expect(Self.apply([.headerLowercase], "NoColon") == "nocolon")
        #expect(Self.apply([.stripPseudoHeaders], "Header1: Value1\n:method:get\nheader2:Value2\n") == "Header1: Value1\nheader2:Value2\n")
        #expect(Self.apply([.stripPseudoHeaders], ":method:get") == "")
        #expect(Self.apply([.stripPseudoHeaders], "Header1: Value1\n:method:get") == "Header1: Value1\n")
        #expect(Self.apply([.stripPseudoHeaders], ":method:get\nheader2:Value2") == "header2:Value2")
        #expect(Self.apply([.stripPseudoHeaders], "\n\n:a\n") == "\n\n")
    }

    @Test func pcrexform() throws {
        let sig = try #require(rule(opts(#"http.uri; pcrexform:"[a-z]+=([^&]+)"; content:"secret"; startswith;"#, proto: "http")))
        let list = try #require(sig.lists.first)
        #expect(list.transforms.count == 1)
        #expect(Transform.applyChain(list.transforms, to: Array("/x?user=secret&y=1".utf8)) == Array("secret".utf8))
        #expect(Transform.applyChain(list.transforms, to: Array("/nomatch".utf8)) == Array("/nomatch".utf8), "no match leaves the buffer")
        #expect(ruleError(opts(#"http.uri; pcrexform:"[a-z]+"; content:"a";"#, proto: "http"))?.message.contains("capture group") == true)
        #expect(ruleError(opts(#"http.uri; pcrexform:"(a"; content:"a";"#, proto: "http"))?.message.contains("cannot compile") == true)
    }

    @Test func fromBase64() throws {
        var o = Base64Options()
        #expect(Self.apply([.fromBase64(o)], "aGVsbG8=") == "hello")
        #expect(Self.apply([.fromBase64(o)], "aGVsbG8") == "hello")
        #expect(Self.apply([.fromBase64(o)], "aGVs bG8=") == "hel", "rfc4648 stops at a byte outside the alphabet")
        #expect(Self.apply([.fromBase64(o)], "!!!!") == nil, "nothing decoded: the buffer is absent")
        o.mode = .rfc2045
        #expect(Self.apply([.fromBase64(o)], "aGVs\r\nbG8=") == "hello", "rfc2045 skips line breaks")
        o.mode = .strict
        #expect(Self.apply([.fromBase64(o)], "aGVs\r\nbG8=") == nil)
        o = Base64Options(); o.offset = 2
        #expect(Self.apply([.fromBase64(o)], "xxaGVsbG8=") == "hello")
        o.offset = 20
        #expect(Self.apply([.fromBase64(o)], "aGVsbG8=") == "aGVsbG8=", "an offset past the end leaves the buffer")
        o = Base64Options(); o.bytes = 4
        #expect(Self.apply([.fromBase64(o)], "aGVsbG8=") == "hel")
        let p = try DetectTransformFromBase64.parse("bytes 4, offset 3933, mode strict")
        #expect(p.bytes == 4 && p.offset == 3933 && p.mode == .strict)
        #expect(try DetectTransformFromBase64.parse(nil) == Base64Options())
        for bad in ["bytes 4, offset 70000", "mode unknown", "mode strict, mode rfc2045", "bytes x", "color red"] {
            #expect(throws: RuleError.self, "from_base64:\(bad)") { try DetectTransformFromBase64.parse(Substring(bad)) }
        }
    }

    /// The arena: a chain needs room for one input and one output (a 100 KiB body through three
    /// steps fits the default 256 KiB), a result that does not fit is absent and counted, and a
    /// slot's view is cached until the next inspection.
    @Test func derivedBufferArena() {
        let big = [UInt8](repeating: 0x41, count: 100 << 10)
        let d = DerivedBuffers()
        let r = big.withByteView { d.view(slot: 1, base: $0, chain: [.toLowercase, .toUppercase, .dotprefix, .stripWhitespace])?.bytes }
        #expect(r?.count == big.count + 1 && r?.first == 0x2e && r?.last == 0x41)
        #expect(d.overflows == 0)
        let small = DerivedBuffers(arenaBytes: 64)
        let none = Array("x".utf8 + [UInt8](repeating: 0x20, count: 99)).withByteView { small.view(slot: 1, base: $0, chain: [.dotprefix]) }
        #expect(none == nil && small.overflows == 1)
        // Cached per inspection: a second base in the same inspection gets the first result.
        let c = DerivedBuffers()
        let a1 = Array("a.example".utf8).withByteView { c.view(slot: 3, base: $0, chain: [.dotprefix])?.bytes }
        let a2 = Array("other".utf8).withByteView { c.view(slot: 3, base: $0, chain: [.dotprefix])?.bytes }
        #expect(a1 == Array(".a.example".utf8) && a2 == a1)
        c.begin()
        let a3 = Array("other".utf8).withByteView { c.view(slot: 3, base: $0, chain: [.dotprefix])?.bytes }
        #expect(a3 == Array(".other".utf8))
        // Slot 0 is never cached.
        let z = Array("q".utf8).withByteView { c.view(slot: 0, base: $0, chain: [.toUppercase])?.bytes }
        #expect(z == Array("Q".utf8))
    }

    // MARK: Rule level

    @Test func transformMakesItsOwnList() throws {
        let sig = try #require(rule(opts(#"dns.query; content:"evil"; dns.query; dotprefix; content:".evil.xyz"; nocase; endswith;"#, proto: "dns")))
        #expect(sig.lists.count == 2)
        #expect(sig.lists.map(\.transforms.count).sorted() == [0, 1])
        let t = try #require(sig.lists.first { !$0.transforms.isEmpty })
        #expect(t.buffer == .dnsQuery && t.transforms == [.dotprefix])
        // The longer content is the prefilter, in the transformed list.
        #expect(sig.prefilter?.pattern == Array(".evil.xyz".utf8))
        #expect(sig.prefilterSource.map { sig.lists[$0.list].transforms } == [.dotprefix])
    }

    @Test func badTransformsAreOneLineErrors() {
        let cases: [(String, String)] = [
            (opts(#"dotprefix; content:"a";"#), "sticky buffer"),
            (opts(#"pkt_data; to_lowercase; content:"a";"#), "sticky buffer"),
            (opts(#"http.uri; content:"a"; compress_whitespace;"#, proto: "http"), "directly follow"),
            (opts(#"http.uri; xor:"abc"; content:"a";"#, proto: "http"), "even number"),
            (opts(#"http.uri; xor:"zz"; content:"a";"#, proto: "http"), "hexadecimal"),
            (opts(#"http.uri; to_lowercase; content:"Evil";"#, proto: "http"), "upper-case"),
            (opts(#"http.uri; strip_whitespace; content:"a b";"#, proto: "http"), "whitespace"),
            (opts(#"http.uri; compress_whitespace; content:"a  b";"#, proto: "http"), "consecutive"),
            (opts(#"http.uri; dotprefix:1; content:"a";"#, proto: "http"), "takes no value"),
            (opts(#"http.uri; compress_whitespace; pkt_data; content:"a";"#, proto: "http"), "not consumed"),
            (opts(#"dns.query; content:"a"; dns.query; dotprefix;"#, proto: "dns"), "not consumed"),
            (opts("http.uri; " + String(repeating: "dotprefix; ", count: 17) + #"content:"a";"#, proto: "http"), "more than 16"),
        ]
        for (text, needle) in cases {
            let e = ruleError(text)
            #expect(e?.kind == .invalid, "\(text)")
            #expect(e?.message.contains(needle) == true, "\(text): \(e?.message ?? "loaded")")
            #expect(e.map { !$0.description.contains("\n") && $0.description.hasPrefix("bad.rules:7:") } == true)
        }
        // nocase content with upper case is fine after to_lowercase; to_uppercase likewise.
        #expect(ruleError(opts(#"http.uri; to_lowercase; content:"Evil"; nocase;"#, proto: "http")) == nil)
        #expect(ruleError(opts(#"http.header_names; to_lowercase; content:"|0d 0a|user-agent|0d 0a|";"#, proto: "http")) == nil)
    }

    @Test func verifierUsesTheTransformedBuffer() throws {
        let sig = try #require(rule(opts(#"dns.query; dotprefix; content:".evil.xyz"; endswith;"#, proto: "dns")))
        func matches(_ q: String) -> Bool {
            var v = Verifier()
            var bits = FlowBits()
            var facts = PacketFacts()
            facts.ipProto = 17
            facts.appProto = .dns
            return Array(q.utf8).withByteView { view -> Bool in
                var b = InspectionBuffers()
                b[.dnsQuery] = view
                return v.verify(sig, packet: facts, buffers: b, flowbits: &bits) != .noMatch
            }
        }
        #expect(matches("evil.xyz") && matches("a.evil.xyz") && matches("x.y.evil.xyz"))
        #expect(!matches("notevil.xyz") && !matches("evil.xyz.com") && !matches(""))
    }

    /// Every list of every rule carries the chain: one pointer more than before transforms
    /// (buffer and slot share the first word).
    @Test func listLayout() {
        #expect(MemoryLayout<BufferMatchList>.size == 24)
    }

    @Test func bundleRoundTrip() throws {
        var p = RuleParser()
        p.load(text: #"""
            alert dns any any -> any any (msg:"a"; dns.query; dotprefix; content:".evil.xyz"; endswith; sid:1;)
            alert tls any any -> any any (msg:"b"; tls.sni; to_lowercase; dotprefix; content:".bad.example"; sid:2;)
            alert http any any -> any any (msg:"c"; http.uri; url_decode; compress_whitespace; xor:"0102"; content:"zz"; sid:3;)
            alert http any any -> any any (msg:"d"; http.request_line; to_md5; content:"|00 11|"; http.uri; pcrexform:"q=([^&]*)"; content:"x"; sid:4;)
            alert http any any -> any any (msg:"e"; http.header; header_lowercase; strip_pseudo_headers; to_sha1; to_sha256; content:"|01|"; http.cookie; from_base64:bytes 8, mode rfc2045; content:"k"; sid:5;)
            alert dns any any -> any any (msg:"f"; dns.query; dotprefix; content:".other"; sid:6;)
            alert dns any any -> any any (msg:"g"; dns.query; content:"plain"; sid:7;)
            """#, file: "t.rules")
        let set = p.finish()
        #expect(set.signatures.count == 7, "\(set.report.errors)")
        let defs = DetectDefinitions(ruleSet: set)
        // dns.query+dotprefix is one derived buffer for sids 1 and 6.
        #expect(defs.derived.count == 7)
        let bytes = DefinitionsBundle.encode(definitions: defs)
        let loaded = try DefinitionsBundle.decode(bytes, file: "t.bundle")
        #expect(loaded.derived.count == defs.derived.count)
        for i in 0 ..< defs.count {
            let a = defs.signature(i), b = loaded.signature(i)
            #expect(a.lists.map(\.transforms) == b.lists.map(\.transforms))
            #expect(a.lists.map(\.derivedSlot) == b.lists.map(\.derivedSlot))
        }
        #expect(zip(defs.patternSets, loaded.patternSets).allSatisfy { ($0 == nil) == ($1 == nil) })
        #expect(loaded.patternSets[BufferID.count] != nil, "the derived buffer's automaton is in the bundle")
        // Encoding again gives the same bytes.
        #expect(DefinitionsBundle.encode(definitions: loaded) == bytes)
    }
}
