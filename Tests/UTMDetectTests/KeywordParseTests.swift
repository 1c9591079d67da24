import Testing
import UTMCore
@testable import UTMDetect

@Suite struct KeywordParseTests {
    func content(_ sig: Signature, _ buffer: BufferID = .payload, _ i: Int = 0) -> ContentMatch? {
        guard let l = sig.list(for: buffer), i < l.elements.count, case .content(let c) = l.elements[i] else { return nil }
        return c
    }

    @Test func metadataKeywords() throws {
        let sig = try #require(rule("""
            alert tcp any any -> any any (msg:"ET TEST \\"quoted\\" \\; semi"; gid:3; sid:2000001; rev:7; \
            classtype:trojan-activity; reference:url,example.com; metadata:created_at 2010_07_30, signature_severity Major; \
            target:dest_ip; tag:session,5,packets;)
            """))
        #expect(sig.msg == "ET TEST \"quoted\" ; semi")
        #expect(sig.gid == 3 && sig.sid == 2000001 && sig.rev == 7)
        #expect(sig.classtype?.description == "A Network Trojan was detected")
        #expect(sig.priority == 1)
        #expect(sig.metadata.count == 2 && sig.metadata[1].key == "signature_severity")
        #expect(sig.productSeverity == 3)
        #expect(sig.references == ["url,example.com"])
        #expect(sig.target == .destination)
        let p = try #require(rule(opts("priority:2; classtype:trojan-activity;")))
        #expect(p.priority == 2 && p.productSeverity == 2)
        let low = try #require(rule(opts("classtype:misc-activity;")))
        #expect(low.priority == 3 && low.productSeverity == 1)
        #expect(ruleError(opts("classtype:no-such-class;"))?.kind == .invalid)
        #expect(ruleError("alert tcp any any -> any any (msg:\"x\";)")?.kind == .invalid)
    }

    @Test func contentDecodingAndModifiers() throws {
        let sig = try #require(rule(opts(#"content:"GET |20 2f|a\"b\;c\\"; nocase; offset:2; depth:20; fast_pattern;"#)))
        let c = try #require(content(sig))
        #expect(c.pattern == Array("GET  /a\"b;c\\".utf8))
        #expect(c.nocase && c.folded == Array("get  /a\"b;c\\".utf8))
        #expect(c.offset == .constant(2) && c.depth == .constant(20) && c.fastPattern)
        let neg = try #require(rule(opts(#"content:!"x"; content:"abc"; distance:0; within:10;"#)))
        #expect(content(neg)?.negated == true)
        #expect(content(neg, .payload, 1)?.isRelative == true)
        let only = try #require(rule(opts(#"content:"abcdef"; fast_pattern:only;"#)))
        #expect(content(only)?.fastPatternOnly == true)
        let chop = try #require(rule(opts(#"content:"abcdefgh"; fast_pattern:2,4;"#)))
        #expect(chop.prefilter?.pattern == Array("cdef".utf8))
        let sw = try #require(rule(opts(#"content:"GET"; startswith; content:"x"; endswith;"#)))
        #expect(content(sw)?.startsWith == true && content(sw, .payload, 1)?.endsWith == true)
    }

    @Test func contentErrors() {
        #expect(ruleError(opts(#"content:"|4g|";"#))?.message.contains("bad hex") == true)
        #expect(ruleError(opts(#"content:"|414|";"#))?.message.contains("odd number") == true)
        #expect(ruleError(opts(#"content:"|41";"#))?.message.contains("unterminated") == true)
        #expect(ruleError(opts(#"content:"abcdef"; depth:3;"#))?.message.contains("shorter than the content") == true)
        #expect(ruleError(opts(#"content:"abcdef"; within:3;"#))?.message.contains("shorter than the content") == true)
        #expect(ruleError(opts(#"content:"a"; depth:5; distance:1;"#))?.kind == .invalid)
        #expect(ruleError(opts(#"nocase;"#))?.message.contains("needs a preceding content") == true)
        #expect(ruleError(opts(#"content:"";"#))?.kind == .invalid)
        #expect(ruleError(opts(#"content:"abc; sid:2;"#))?.kind != nil)
        #expect(ruleError(opts(#"content:"a"; fast_pattern; content:"b"; fast_pattern;"#))?.kind == .invalid)
        #expect(ruleError(opts(#"content:"abc"; fast_pattern:2,4;"#))?.kind == .invalid)
    }

    @Test func pcreFlagsAndBuffers() throws {
        let sig = try #require(rule(opts(#"content:"a"; pcre:"/^b[0-9]+/Rsmi"; pcre:"/\.php\?id=/U"; pcre:!"/evil/H";"#)))
        let payload = try #require(sig.list(for: .payload))
        guard case .pcre(let p) = payload.elements[1] else { Issue.record("no pcre"); return }
        #expect(p.relative && p.regex.options.contains(.caseless) && p.regex.options.contains(.dotAll))
        #expect(sig.list(for: .httpURI)?.elements.count == 1)
        guard case .pcre(let h)? = sig.list(for: .httpHeader)?.elements.first else { Issue.record("no H pcre"); return }
        #expect(h.negated)
        for (flag, buffer) in [("I", BufferID.httpRawURI), ("P", .httpClientBody), ("D", .httpRawHeader), ("M", .httpMethod),
                               ("C", .httpCookie), ("S", .httpStatCode), ("Y", .httpStatMsg), ("V", .httpUserAgent),
                               ("W", .httpHost), ("Z", .httpRawHost), ("Q", .fileData)] {
            let s = rule(opts("pcre:\"/x/\(flag)\";"))
            #expect(s?.list(for: buffer) != nil, "flag \(flag)")
        }
        let sticky = try #require(rule(opts(#"file_data; pcre:"/x/R";"#)))
        #expect(sticky.list(for: .fileData) != nil)
    }

    @Test func badPcreNamesFileAndLine() throws {
        let e = try #require(ruleError(opts(#"pcre:"/(unclosed/";"#)))
        #expect(e.kind == .invalid)
        #expect(e.description.hasPrefix("bad.rules:7:"))
        #expect(e.message.contains("pcre"))
        #expect(ruleError(opts(#"pcre:"/x/q";"#))?.message.contains("unknown flag") == true)
        #expect(ruleError(opts(#"pcre:"x";"#))?.kind == .invalid)
        #expect(ruleError(opts(#"pcre:"/x/UH";"#))?.kind == .invalid)
    }

    @Test func bothBufferSyntaxes() throws {
        let old = try #require(rule(opts(#"content:"POST"; http_method; content:"/a.php"; http_uri; content:"Mozilla"; http_user_agent; content:"x"; http_client_body; content:"200"; http_stat_code;"#, proto: "http")))
        let new = try #require(rule(opts(#"http.method; content:"POST"; http.uri; content:"/a.php"; http.user_agent; content:"Mozilla"; http.request_body; content:"x"; http.stat_code; content:"200";"#, proto: "http")))
        for b in [BufferID.httpMethod, .httpURI, .httpUserAgent, .httpClientBody, .httpStatCode] {
            #expect(old.list(for: b)?.elements.count == 1, "\(b.name)")
            #expect(new.list(for: b)?.elements.count == 1, "\(b.name)")
        }
        #expect(old.list(for: .payload) == nil && new.list(for: .payload) == nil)
        let tls = try #require(rule(opts(#"tls_sni; content:"evil.com"; tls.sni; content:"x"; dns_query; content:"q"; dns.query; content:"r"; ja3_hash; content:"abc"; ja3.hash; content:"def"; file_data; content:"MZ"; pkt_data; content:"p";"#)))
        #expect(tls.list(for: .tlsSNI)?.elements.count == 2)
        #expect(tls.list(for: .dnsQuery)?.elements.count == 2)
        #expect(tls.list(for: .ja3Hash)?.elements.count == 2)
        #expect(tls.list(for: .fileData)?.elements.count == 1)
        #expect(tls.list(for: .payload)?.elements.count == 1)
        let uric = try #require(rule(opts(#"uricontent:"/x.php";"#)))
        #expect(uric.list(for: .httpURI) != nil)
        #expect(ruleError(opts(#"http_uri; content:"a";"#))?.kind == .invalid)
    }

    @Test func flowAndFlowbits() throws {
        let sig = try #require(rule(opts("flow:established,to_server,no_stream; flowbits:set,a; flowbits:isset,b|c; flowbits:isnotset,d&e; flowbits:noalert;")))
        #expect(sig.flow == [.established, .toServer, .noStream])
        #expect(sig.flowbits.count == 3 && sig.noalert)
        #expect(sig.flowbits[1].any && sig.flowbits[1].bits.count == 2)
        #expect(!sig.flowbits[2].any && sig.flowbits[2].bits.count == 2)
        #expect(rule(opts("flow:from_client,stateless;"))?.flow == [.toServer, .stateless])
        #expect(rule(opts("flow:from_server,only_stream,not_established;"))?.flow == [.toClient, .onlyStream, .notEstablished])
        #expect(ruleError(opts("flow:to_server,to_client;"))?.kind == .invalid)
        #expect(ruleError(opts("flow:sideways;"))?.kind == .invalid)
        #expect(ruleError(opts("flowbits:frob,a;"))?.kind == .invalid)
        #expect(ruleError(opts("flowbits:set;"))?.kind == .invalid)
    }

    @Test func sizesAndThresholds() throws {
        #expect(rule(opts("dsize:>100;"))?.dsize == IntMatch(mode: .greater, a: 100))
        #expect(rule(opts("dsize:10<>20;"))?.dsize == IntMatch(mode: .range, a: 10, b: 20))
        #expect(rule(opts("dsize:!0;"))?.dsize == IntMatch(mode: .notEqual, a: 0))
        #expect(ruleError(opts("dsize:abc;"))?.kind == .invalid)
        #expect(ruleError(opts("dsize:20<>10;"))?.kind == .invalid)
        let u = try #require(rule(opts("urilen:<5,raw;", proto: "http")))
        #expect(u.list(for: .httpRawURI) != nil)
        let t = try #require(rule(opts("threshold: type both, track by_dst, count 10, seconds 1; detection_filter:track by_src,count 5,seconds 60;")))
        #expect(t.threshold == ThresholdSpec(kind: .both, track: .byDestination, count: 10, seconds: 1))
        #expect(t.detectionFilter?.count == 5)
        #expect(ruleError(opts("threshold:type limit, track by_src;"))?.kind == .invalid)
    }

    @Test func byteKeywords() throws {
        let sig = try #require(rule(opts("content:\"a\"; byte_test:1,!&,128,6,relative; byte_jump:4,-10,relative,little,from_beginning, post_offset -1; byte_extract:2,0,len,relative; byte_test:2,>,len,0,string,hex; isdataat:!len,relative;")))
        let l = try #require(sig.list(for: .payload))
        #expect(l.elements.count == 6)
        guard case .byteTest(let t) = l.elements[1] else { Issue.record("byte_test"); return }
        #expect(t.op == .and && t.negated && t.relative && t.value == .constant(128))
        guard case .byteJump(let j) = l.elements[2] else { Issue.record("byte_jump"); return }
        #expect(j.fromBeginning && j.postOffset == -1 && j.encoding.littleEndian && j.offset == .constant(-10))
        guard case .byteTest(let t2) = l.elements[4] else { Issue.record("byte_test 2"); return }
        #expect(t2.value == .variable(0) && t2.encoding.stringBase == 16)
        #expect(sig.variableCount == 1)
        #expect(ruleError(opts("byte_test:9,=,1,0;"))?.kind == .invalid)
        #expect(ruleError(opts("byte_test:1,~,1,0;"))?.kind == .invalid)
        #expect(ruleError(opts("byte_jump:2;"))?.kind == .invalid)
        #expect(ruleError(opts("byte_test:1,=,nope,0;"))?.kind == .invalid)
        #expect(ruleError(opts("isdataat:1,sideways;"))?.kind == .invalid)
    }

    @Test func unsupportedKeywordSkipsOnlyThatRule() {
        var p = RuleParser()
        p.load(text: """
            # comment
            alert tcp any any -> any any (msg:"ok"; content:"a"; sid:1;)
            alert tcp any any -> any any (msg:"skip"; luajit:check.lua; sid:2;)
            alert tcp any any -> any any (msg:"skip2"; frobnicate; sid:3;)
            alert tcp any any -> any any (msg:"multi"; \\
              content:"b"; sid:4;)
            garbage line
            alert tcp any any -> any any (msg:"ok2"; sid:5;)
            """, file: "mixed.rules")
        let set = p.finish()
        #expect(set.report.enabledRules == 6)
        #expect(set.report.loaded == 3)
        #expect(set.report.unsupportedKeywords == ["luajit": 1, "frobnicate": 1])
        #expect(set.report.errors.count == 1)
        #expect(set.report.errors.first?.description.hasPrefix("mixed.rules:7:") == true)
        #expect(set.signatures.map(\.sid) == [1, 4, 5])
        #expect(set.signatures[1].line == 5)
    }

    @Test func fastPatternSelection() throws {
        let s = try #require(rule(opts(#"content:"ab"; content:!"longestnegated"; content:"abcd"; http_uri; content:"xyz";"#, proto: "http")))
        #expect(s.prefilter?.buffer == .httpURI && s.prefilter?.pattern == Array("abcd".utf8))
        let e = try #require(rule(opts(#"content:"short"; fast_pattern; nocase; content:"muchlongerpattern";"#)))
        #expect(e.prefilter?.pattern == Array("short".utf8) && e.prefilter?.nocase == true)
        let none = try #require(rule(opts(#"content:!"x"; pcre:"/y/";"#)))
        #expect(none.prefilter == nil)
    }
}

/// Content positions are bounded as Suricata stores them (offset/depth 16-bit, distance/within
/// 32-bit): a larger number is a one-line error, and the largest accepted ones build an engine
/// (session 8 review: `offset:9223372036854775807; depth:10;` loaded and its position arithmetic
/// trapped when the engine was built).
@Suite struct ContentPositionBoundsTests {
    @Test func hugePositionsAreRefused() {
        for text in ["content:\"AB\"; offset:9223372036854775807; depth:10;", "content:\"AB\"; depth:65536;",
                     "content:\"AB\"; offset:70000;", "content:\"A\"; content:\"B\"; distance:4294967296;",
                     "content:\"A\"; content:\"B\"; within:-9223372036854775808;"] {
            let e = ruleError(opts(text))
            #expect(e.map { "\($0)" }?.contains("out of range") == true, "\(text): \(String(describing: e))")
        }
    }

    @Test func largestPositionsBuildAnEngine() throws {
        var p = RuleParser()
        p.load(text: """
            alert tcp any any -> any any (msg:"max"; content:"AB"; offset:65535; depth:65535; sid:1;)
            alert tcp any any -> any any (msg:"rel"; content:"A"; content:"B"; distance:2147483647; within:2147483647; sid:2;)
            """, file: "t.rules")
        let set = p.finish()
        #expect(set.report.loaded == 2, "\(set.report.errors)")
        let d = DetectEngine(definitions: DetectDefinitions(ruleSet: set))
        #expect(d.defs.count == 2)
    }
}
