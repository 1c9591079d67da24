import Testing
import UTMCore
@testable import UTMDetect

@Suite struct VerifyTests {
    @Test func offsetAndDepthAreAbsolute() throws {
        let sig = try #require(rule(opts(#"content:"abc"; offset:2; depth:4;"#)))
        #expect(inspect(sig, "xxabcx"))
        #expect(inspect(sig, "xxxabc"))   // window is [2, 6): "xabc" fits
        #expect(!inspect(sig, "xxxxabc"))
        #expect(!inspect(sig, "xabc"))
    }

    @Test func distanceAndWithin() throws {
        let sig = try #require(rule(opts(#"content:"GET"; content:"evil"; distance:2; within:6;"#)))
        #expect(inspect(sig, "GET  evil"))
        #expect(inspect(sig, "GET    evil"))  // evil at 7..11, window ends at 3+2+6 = 11
        #expect(!inspect(sig, "GET     evil")) // one byte too far
        #expect(!inspect(sig, "GET evil"))     // starts before distance
        let neg = try #require(rule(opts(#"content:"a"; content:"b"; distance:-1; within:3;"#)))
        #expect(inspect(neg, "ab"))
    }

    @Test func negatedContent() throws {
        let sig = try #require(rule(opts(#"content:"user"; content:!"admin"; distance:0; within:10;"#)))
        #expect(inspect(sig, "user=bob"))
        #expect(!inspect(sig, "user=admin"))
        #expect(inspect(sig, "user=bob..........admin")) // admin outside the window
        let abs = try #require(rule(opts(#"content:!"secret"; depth:10;"#)))
        #expect(inspect(abs, "nothing here"))
        #expect(!inspect(abs, "a secret!"))
        #expect(inspect(abs, "0123456789secret"))
    }

    @Test func backtrackingRetriesEarlierContent() throws {
        // The first "a=" is followed by the wrong value; Suricata retries "a=" at the next
        // occurrence because the following content is relative to it.
        let sig = try #require(rule(opts(#"content:"a="; content:"1"; within:1;"#)))
        #expect(inspect(sig, "a=2&a=1"))
        #expect(!inspect(sig, "a=2&a=3"))
        // Three levels deep.
        let deep = try #require(rule(opts(#"content:"<"; content:">"; distance:0; within:3; content:"!"; within:1;"#)))
        #expect(inspect(deep, "<ab> <c>!"))
        #expect(!inspect(deep, "<ab> <c>?"))
        // Retry with a relative pcre after the content.
        let p = try #require(rule(opts(#"content:"id="; pcre:"/^[0-9]{3}&/R";"#)))
        #expect(inspect(p, "id=ab&id=123&"))
        #expect(!inspect(p, "id=ab&id=12&"))
    }

    @Test func relativePcreAnchorsAtPreviousMatch() throws {
        let sig = try #require(rule(opts(#"content:"X"; pcre:"/^Y/R";"#)))
        #expect(inspect(sig, "aXYb"))
        #expect(!inspect(sig, "aXbY"))
        let abs = try #require(rule(opts(#"pcre:"/^Y/";"#)))
        #expect(!inspect(abs, "aY"))
        let neg = try #require(rule(opts(#"content:"X"; pcre:!"/^Y/R";"#)))
        #expect(inspect(neg, "XZ"))
        #expect(!inspect(neg, "XY"))
        let ci = try #require(rule(opts(#"pcre:"/hello.world/si";"#)))
        #expect(inspect(ci, "HELLO\nWORLD"))
    }

    @Test func nocaseStartsEndsWith() throws {
        let sig = try #require(rule(opts(#"content:"HeLLo"; nocase;"#)))
        #expect(inspect(sig, "say hello"))
        let cs = try #require(rule(opts(#"content:"HeLLo";"#)))
        #expect(!inspect(cs, "say hello"))
        let sw = try #require(rule(opts(#"content:"GET"; startswith; content:".exe"; endswith;"#)))
        #expect(inspect(sw, "GET /a.exe"))
        #expect(!inspect(sw, " GET /a.exe"))
        #expect(!inspect(sw, "GET /a.exe?"))
    }

    /// The nocase search jumps between the occurrences of either case of the first letter (and
    /// a case-sensitive one between exact occurrences), eight bytes a step: matches in any
    /// case, false starts before the match, a match past several words, windows that end
    /// before it, and the last position a match may start at.
    @Test func nocaseFirstLetterJumps() throws {
        let sig = try #require(rule(opts(#"content:"Evil.EXE"; nocase;"#)))
        #expect(inspect(sig, "evil.exe"))
        #expect(inspect(sig, "EVIL.EXE"))
        #expect(inspect(sig, "eVe Ev EVil eviL.ExE"))
        #expect(inspect(sig, String(repeating: "e", count: 37) + "vIL.eXe"))
        #expect(!inspect(sig, String(repeating: "E", count: 40) + "vil.ex"))
        #expect(!inspect(sig, "evil-exe evil.ex"))
        let deep = try #require(rule(opts(#"content:"zz"; nocase; depth:12;"#)))
        #expect(inspect(deep, "0123456789ZZ"))
        #expect(inspect(deep, "0123456789zZ0123"))
        #expect(!inspect(deep, "01234567890ZZ"))
        let digit = try #require(rule(opts(#"content:"7a"; nocase;"#)))
        #expect(inspect(digit, "123456789012345677A"))
        #expect(!inspect(digit, "1234567890123456777"))
        let exact = try #require(rule(opts(#"content:"eXe";"#)))
        #expect(inspect(exact, "exe EXE eXe"))
        #expect(!inspect(exact, "exe EXE exE eXE Exe"))
    }

    @Test func isdataat() throws {
        let rel = try #require(rule(opts(#"content:"ab"; isdataat:2,relative;"#)))
        #expect(inspect(rel, "abcd"))
        #expect(!inspect(rel, "abc"))
        let negRel = try #require(rule(opts(#"content:"ab"; isdataat:!1,relative;"#)))
        #expect(inspect(negRel, "xxab"))
        #expect(!inspect(negRel, "xxabc"))
        let abs = try #require(rule(opts(#"isdataat:4;"#)))
        #expect(inspect(abs, "12345"))
        #expect(!inspect(abs, "1234"))
    }

    @Test func byteTestVariants() throws {
        func t(_ o: String, _ bytes: [UInt8]) -> Bool { rule(opts(o)).map { inspect($0, bytes) } ?? false }
        #expect(t("byte_test:2,=,258,0;", [1, 2]))
        #expect(t("byte_test:2,=,513,0,little;", [1, 2]))
        #expect(t("byte_test:1,>,5,1;", [0, 6]))
        #expect(!t("byte_test:1,>,5,1;", [0, 5]))
        #expect(t("byte_test:1,<=,5,1;", [0, 5]))
        #expect(t("byte_test:1,&,128,0;", [0x80]))
        #expect(t("byte_test:1,!&,128,0;", [0x7f]))
        #expect(t("byte_test:1,!,5,0;", [4]))
        #expect(t("byte_test:1,^,1,0;", [3]))
        #expect(t("byte_test:3,>,99,0,string,dec;", Array("123".utf8)))
        #expect(t("byte_test:2,=,255,0,string,hex;", Array("ff".utf8)))
        #expect(t("byte_test:3,=,8,0,string,oct;", Array("010".utf8)))
        #expect(!t("byte_test:3,=,1,0,string,dec;", Array("abc".utf8)))
        #expect(t("byte_test:2,=,3,0,bitmask 0x0f00;", [0x03, 0xff]))
        #expect(t(#"content:"L"; byte_test:1,=,9,0,relative;"#, Array("xL".utf8) + [9]))
        #expect(!t("byte_test:4,=,0,0;", [0, 0]))  // not enough bytes
    }

    @Test func byteJumpAndExtract() throws {
        // Length-prefixed field: jump over it, then expect the marker.
        let sig = try #require(rule(opts(#"content:"H"; byte_jump:1,0,relative; content:"Z"; within:1;"#)))
        #expect(inspect(sig, [UInt8(ascii: "H"), 3, 1, 2, 3, UInt8(ascii: "Z")]))
        #expect(!inspect(sig, [UInt8(ascii: "H"), 2, 1, 2, 3, UInt8(ascii: "Z")]))
        let align = try #require(rule(opts(#"byte_jump:1,0,align; content:"Z"; within:1;"#)))
        #expect(inspect(align, [1, 0, 0, 0, 0, UInt8(ascii: "Z")]))  // 1+1 → aligned 4 → pos 5
        let begin = try #require(rule(opts(#"byte_jump:1,0,from_beginning,post_offset 1; content:"Z"; within:1;"#)))
        #expect(inspect(begin, [2, 0, 0, UInt8(ascii: "Z")]))
        let ex = try #require(rule(opts(#"byte_extract:1,0,n; content:"A"; distance:n; within:1;"#)))
        #expect(inspect(ex, [2, 0, 0, UInt8(ascii: "A")]))
        #expect(!inspect(ex, [1, 0, 0, UInt8(ascii: "A")]))
        let jumpOut = try #require(rule(opts(#"byte_jump:1,0;"#)))
        #expect(!inspect(jumpOut, [200, 1, 2]))
    }

    @Test func urilenAndBuffersInVerify() throws {
        let sig = try #require(rule("""
            alert http any any -> any any (msg:"x"; flow:established,to_server; content:"POST"; http_method; \
            content:"/gate.php"; http_uri; urilen:<20; dsize:>0; flowbits:set,seen; flowbits:noalert; sid:9;)
            """))
        var buffers = InspectionBuffers()
        var facts = PacketFacts()
        facts.ipProto = 6; facts.direction = .toServer; facts.established = true; facts.appProto = .http
        facts.payloadSize = 100
        var bits = FlowBits()
        var v = Verifier()
        let method = Array("POST".utf8), uri = Array("/gate.php?id=1".utf8)
        method.withByteView { m in
            uri.withByteView { u in
                buffers[.httpMethod] = m
                #expect(v.verify(sig, packet: facts, buffers: buffers, flowbits: &bits) == .noMatch) // no URI yet
                buffers[.httpURI] = u
                #expect(v.verify(sig, packet: facts, buffers: buffers, flowbits: &bits) == .match(alert: false))
                facts.direction = .toClient
                #expect(v.verify(sig, packet: facts, buffers: buffers, flowbits: &bits) == .noMatch)
            }
        }
        let names = try #require(rule("alert tcp any any -> any any (msg:\"x\"; flowbits:set,seen; sid:1;)"))
        #expect(bits.isSet(names.flowbits[0].bits[0]))
    }

    @Test func flowbitsConditionsAndStorage() throws {
        var p = RuleParser()
        p.load(text: """
            alert tcp any any -> any any (msg:"set"; content:"login"; flowbits:set,auth; flowbits:noalert; sid:1;)
            alert tcp any any -> any any (msg:"check"; content:"cmd"; flowbits:isset,auth; sid:2;)
            alert tcp any any -> any any (msg:"not"; content:"cmd"; flowbits:isnotset,auth; sid:3;)
            alert tcp any any -> any any (msg:"toggle"; content:"flip"; flowbits:toggle,auth; sid:4;)
            """, file: "fb.rules")
        let set = p.finish()
        var v = Verifier()
        var facts = PacketFacts(); facts.ipProto = 6
        var bits = FlowBits()
        func run(_ sid: Int, _ text: String) -> VerifyResult {
            var b = InspectionBuffers()
            return Array(text.utf8).withByteView { view in
                b[.payload] = view
                return v.verify(set.signatures[sid - 1], packet: facts, buffers: b, flowbits: &bits)
            }
        }
        #expect(run(2, "cmd") == .noMatch)
        #expect(run(3, "cmd") == .match(alert: true))
        #expect(run(1, "login") == .match(alert: false))
        #expect(run(2, "cmd") == .match(alert: true))
        #expect(run(3, "cmd") == .noMatch)
        #expect(run(4, "flip") == .match(alert: true))
        #expect(run(2, "cmd") == .noMatch)

        var fb = FlowBits()
        for i in 0 ..< 20 { fb.set(UInt16(i)) }
        #expect(fb.count == FlowBits.capacity && fb.overflows == 4)
        fb.unset(3)
        #expect(!fb.isSet(3) && fb.isSet(15) && fb.count == 15)
    }

    @Test func headerKeywords() throws {
        let syn = try #require(rule(opts("flags:S,12;")))
        var facts = PacketFacts(); facts.ipProto = 6; facts.tcpFlags = 0x02
        var v = Verifier(); var bits = FlowBits()
        #expect(v.verify(syn, packet: facts, buffers: InspectionBuffers(), flowbits: &bits) == .match(alert: true))
        facts.tcpFlags = 0x12
        #expect(v.verify(syn, packet: facts, buffers: InspectionBuffers(), flowbits: &bits) == .noMatch)
        let icmp = try #require(rule(opts("itype:8; icode:0;", proto: "icmp")))
        var f2 = PacketFacts(); f2.ipProto = 1; f2.icmpType = 8
        #expect(v.verify(icmp, packet: f2, buffers: InspectionBuffers(), flowbits: &bits) == .match(alert: true))
        f2.icmpType = 0
        #expect(v.verify(icmp, packet: f2, buffers: InspectionBuffers(), flowbits: &bits) == .noMatch)
    }

    @Test func streamSizeAndJumpBeforeStart() throws {
        let sig = try #require(rule(opts("stream_size:client, >,424;")))
        var f = PacketFacts(); f.ipProto = 6; f.clientStreamBytes = 425
        var v = Verifier(); var bits = FlowBits()
        #expect(v.verify(sig, packet: f, buffers: InspectionBuffers(), flowbits: &bits) == .match(alert: true))
        f.clientStreamBytes = 424
        #expect(v.verify(sig, packet: f, buffers: InspectionBuffers(), flowbits: &bits) == .noMatch)
        #expect(ruleError(opts("stream_size:middle,>,1;"))?.kind == .invalid)
        let ssl = try #require(rule(opts("ssl_version:sslv3,tls1.0;", proto: "tls")))
        var t = PacketFacts(); t.ipProto = 6; t.appProto = .tls; t.tlsVersion = 0x0300
        #expect(v.verify(ssl, packet: t, buffers: InspectionBuffers(), flowbits: &bits) == .match(alert: true))
        t.tlsVersion = 0x0303
        #expect(v.verify(ssl, packet: t, buffers: InspectionBuffers(), flowbits: &bits) == .noMatch)
        #expect(ruleError(opts("ssl_version:tls9;"))?.kind == .invalid)
        let state = try #require(rule(opts("ssl_state:client_hello|server_hello,!client_keyx;", proto: "tls")))
        t.tlsVersion = 0x0300; t.tlsStates = TLSStates.clientHello
        #expect(v.verify(state, packet: t, buffers: InspectionBuffers(), flowbits: &bits) == .match(alert: true))
        t.tlsStates |= TLSStates.clientKeyExchange
        #expect(v.verify(state, packet: t, buffers: InspectionBuffers(), flowbits: &bits) == .noMatch)
        // A jump before the buffer start lands at the start (Suricata).
        let back = try #require(rule(opts(#"content:"B"; byte_jump:1,0,relative,post_offset -20; content:"A"; within:1;"#)))
        #expect(inspect(back, [UInt8(ascii: "A"), UInt8(ascii: "B"), 1, 0]))
    }

    @Test func backtrackingIsBounded() throws {
        // A pathological rule on a pathological buffer stops at the step limit, not never.
        let sig = try #require(rule(opts(#"content:"a"; content:"a"; distance:0; content:"a"; distance:0; content:"b"; distance:0;"#)))
        let bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 5000)
        var v = Verifier(stepLimit: 3000)
        let list = try #require(sig.list(for: .payload))
        #expect(!bytes.withByteView { v.inspect(list, in: $0) })
    }
}

@Suite struct PortIndexTests {
    /// Every port looks up what the map it was built from holds, including ports that share
    /// the filter's bit (equal modulo 1,024) with a key but are not keys themselves.
    @Test func looksUpLikeTheMap() {
        let map: [UInt16: [Int32]] = [0: [1], 80: [2, 3], 1104: [4], 8080: [5], 65535: [6], 443: [7]]
        let index = PortIndex(map)
        #expect(!index.isEmpty)
        let wrong = (0...65535).filter { index[UInt16($0)] != map[UInt16($0)] }
        #expect(wrong.isEmpty, "ports \(wrong.prefix(5))")
        let empty = PortIndex([:])
        #expect(empty.isEmpty && empty[80] == nil)
    }
}
