import Testing
import UTMCore
@testable import UTMDetect

/// Session 9 (modernkw2): flowint, requires, the packet header buffers, entropy, dns.rrtype
/// and dns.rcode — parsing (errors are one line with file:line), the bundle round trip, and
/// matching on hand-built packets through `DetectEngine`.
@Suite struct ModernKeywordTests {
    func defs(_ rules: String) -> (DetectDefinitions, RuleLoadReport) {
        var p = RuleParser()
        p.load(text: rules, file: "modern.rules")
        let set = p.finish()
        return (DetectDefinitions(ruleSet: set), set.report)
    }

    func facts(toServer: Bool = true) -> PacketFacts {
        var f = PacketFacts()
        f.ipProto = 17
        f.ipVersion = 4
        f.source = IPAddress(v4: 0x0a54_0001)
        f.destination = IPAddress(v4: 0x0a54_0002)
        f.sourcePort = 40000
        f.destinationPort = 21
        f.direction = toServer ? .toServer : .toClient
        f.established = true
        return f
    }

    /// Sids alerting on one packet of `slot` with this payload.
    func packet(_ d: DetectEngine, _ payload: String, slot: Int, headers: PacketHeaderViews = .none,
                facts f: PacketFacts? = nil) -> [UInt32] {
        var out: [UInt32] = []
        d.beginPacket()
        _ = Array(payload.utf8).withByteView { view in
            d.inspectPacket(f ?? facts(), payload: view, headers: headers, slot: slot, time: 0) { i, alert in
                if alert { out.append(d.defs.signature(i).sid) }
            }
        }
        return out.sorted()
    }

    // MARK: flowint

    static let counting = """
        alert udp any any -> any 21 (msg:"third USER on a flow"; flow:to_server; content:"USER"; flowint:users,>=,2; sid:2;)
        alert udp any any -> any 21 (msg:"count USER"; flow:to_server; content:"USER"; flowint:users,+,1; noalert; sid:1;)
        alert udp any any -> any 21 (msg:"first seen"; flow:to_server; content:"USER"; flowint:seen,notset; flowint:seen,=,1; sid:3;)
        alert udp any any -> any 21 (msg:"copy to max"; flow:to_server; content:"PASS"; flowint:max,=,users; noalert; sid:4;)
        alert udp any any -> any 21 (msg:"max equals users"; flow:to_server; content:"QUIT"; flowint:max,==,users; flowint:max,!=,0; sid:5;)
        alert udp any any -> any 21 (msg:"less than"; flow:to_server; content:"QUIT"; flowint:users,<,3; sid:6;)
        alert udp any any -> any 21 (msg:"sub"; flow:to_server; content:"DELE"; flowint:users,-,1; flowint:users,isset; noalert; sid:7;)
        alert udp any any -> any 21 (msg:"after sub"; flow:to_server; content:"NOOP"; flowint:users,<=,2; flowint:users,>,1; sid:8;)
        """

    @Test func flowintCountsAcrossPacketsOfOneFlowAndResetsOnANewFlowInTheSlot() throws {
        let (defs, report) = defs(Self.counting)
        #expect(report.errors.isEmpty && report.skipped.isEmpty, "\(report.errors + report.skipped)")
        let d = DetectEngine(definitions: defs)
        var slot = d.flowSlot(index: 5, flowID: 100)
        // The writer (sid 1) runs before the reader (sid 2) whatever the file order: Suricata's
        // ordering of flowint setters first.
        #expect(packet(d, "USER a", slot: slot) == [3], "first USER: the count becomes 1; seen was not set")
        #expect(packet(d, "USER b", slot: slot) == [2], "second: this packet's add (sid 1) made it 2")
        #expect(packet(d, "USER c", slot: slot) == [2])
        #expect(d.flowInts?.values(slot).count == 2, "users and seen")
        #expect(packet(d, "PASS x", slot: slot) == [])
        #expect(packet(d, "QUIT", slot: slot) == [5], "max copied from users (3); users is not < 3")
        #expect(packet(d, "DELE", slot: slot) == [])
        #expect(packet(d, "NOOP", slot: slot) == [8], "users 3 - 1 = 2")
        // Another direction or port: no change.
        #expect(packet(d, "USER z", slot: slot, facts: facts(toServer: false)) == [])
        // A new flow in the same slot starts from nothing, as its flowbits do.
        slot = d.flowSlot(index: 5, flowID: 101)
        #expect(d.flowInts?.values(slot).count == 0)
        #expect(packet(d, "USER a", slot: slot) == [3])
        #expect(packet(d, "QUIT", slot: slot) == [6], "users is 1 on the new flow; max unset")
        // No flow: tests do not match, changes are dropped.
        #expect(packet(d, "USER a", slot: -1) == [])
    }

    @Test func flowintValuesSurviveADefinitionsUpdateByName() {
        let old = DetectEngine(definitions: defs(Self.counting).0)
        let slot = old.flowSlot(index: 2, flowID: 50)
        _ = packet(old, "USER a", slot: slot)
        _ = packet(old, "USER b", slot: slot)
        // The new rules intern another name first, so "users" has another index, and no longer
        // use "seen" (dropped).
        let rules = "alert udp any any -> any 21 (msg:\"other\"; content:\"X\"; flowint:other,=,1; sid:9;)\n"
            + "alert udp any any -> any 21 (msg:\"still counting\"; flow:to_server; content:\"USER\"; flowint:users,>=,2; sid:2;)\n"
        let new = DetectEngine(definitions: defs(rules).0)
        #expect(new.takeFlows(from: old))
        #expect(new.flowInts?.values(slot).count == 1, "users kept, seen dropped")
        #expect(packet(new, "USER c", slot: slot) == [2], "the count of 2 carried over")
    }

    @Test func flowintReadsNothingWhereNoRuleUsesIt() {
        let d = DetectEngine(definitions: defs("alert tcp any any -> any any (msg:\"x\"; content:\"x\"; sid:1;)").0)
        #expect(d.flowInts == nil, "no table without a flowint rule")
    }

    @Test func flowintOverflowIsCountedAndTheRuleStillMatches() {
        var rules = ""
        for i in 0 ..< FlowInts.capacity + 2 {
            rules += "alert udp any any -> any 21 (msg:\"v\(i)\"; content:\"SET\(i)-\"; flowint:v\(i),=,\(i); sid:\(i + 1);)\n"
        }
        let d = DetectEngine(definitions: defs(rules).0)
        let slot = d.flowSlot(index: 0, flowID: 1)
        for i in 0 ..< FlowInts.capacity + 2 {
            #expect(packet(d, "SET\(i)-", slot: slot) == [UInt32(i + 1)], "the rule matches even when its value cannot be kept")
        }
        d.beginPacket()
        #expect(d.flowInts?.values(slot).count == FlowInts.capacity)
        #expect(d.stats.flowintOverflows == 2)
    }

    @Test func flowintValuesWrapAt32BitsAndUnsetNamesAsSuricata() {
        var v = FlowInts()
        var ok = v.apply(FlowIntOp(kind: .sub, name: 1, target: 1))
        #expect(ok)
        #expect(v.value(1) == nil, "- on an unset name leaves it unset")
        ok = v.apply(FlowIntOp(kind: .add, name: 1, target: 2))
        #expect(ok)
        #expect(v.value(1) == 2, "+ on an unset name sets it")
        ok = v.apply(FlowIntOp(kind: .sub, name: 1, target: 3))
        #expect(ok)
        #expect(v.value(1) == UInt32.max, "2 - 3 wraps as Suricata's uint32")
        #expect(!v.check(FlowIntOp(kind: .greater, name: 2, target: 0)), "comparisons of an unset name do not match")
        #expect(v.check(FlowIntOp(kind: .greater, name: 1, target: 9, targetIsVariable: true)), "an unset value flowint is 0")
        #expect(!v.check(FlowIntOp(kind: .equal, name: 1, target: 9, targetIsVariable: true)))
        ok = v.apply(FlowIntOp(kind: .set, name: 3, target: 9, targetIsVariable: true))
        #expect(ok)
        #expect(v.value(3) == 0, "= from an unset flowint sets 0")
    }

    @Test func flowintParseErrors() {
        for (text, why) in [
            ("flowint:a,+;", "needs a value"), ("flowint:a,isset,1;", "takes no value"), ("flowint:a,**,1;", "unknown operator"),
            ("flowint:a;", "expected NAME"), ("flowint:a,=,4294967296;", "32-bit"), ("flowint:,=,1;", "bad name"),
        ] {
            let e = ruleError(opts(text))
            #expect(e?.kind == .invalid && e?.description.contains(why) == true, "\(text): \(String(describing: e))")
            #expect(e?.description.hasPrefix("bad.rules:7:") == true)
        }
    }

    // MARK: requires

    @Test func requiresLeavesRulesForOtherEnginesOutSilently() {
        let (defs, r) = defs("""
            alert tcp any any -> any any (msg:"7.0.3+"; requires: version >= 7.0.3; content:"a"; sid:1;)
            alert tcp any any -> any any (msg:"8 only"; requires: version >= 8; some.suricata9.keyword; content:"b"; sid:2;)
            alert tcp any any -> any any (msg:"7 before 8"; requires: version >= 7 < 8 | >= 8.0.3; content:"c"; sid:3;)
            alert tcp any any -> any any (msg:"geoip"; requires: feature geoip, version >= 7; content:"d"; sid:4;)
            alert tcp any any -> any any (msg:"ja4"; requires: feature ja4; content:"e"; sid:5;)
            alert newproto any any -> any any (msg:"unknown protocol, 9 only"; requires: version >= 9; sid:6;)
            alert tcp any any -> any any (msg:"unknown requirement"; requires: lua-version >= 5; content:"f"; sid:7;)
            alert tcp any any -> any any (msg:"old"; requires: version < 7; content:"g"; sid:8;)
            alert tcp any any -> any any (msg:"bad"; requires: version 7; content:"h"; sid:9;)
            """)
        #expect(defs.count == 3, "sids 1, 3, 5 load")
        #expect(r.unmetRequirements.count == 5, "\(r.unmetRequirements)")
        #expect(r.unmetRequirements.allSatisfy { $0.kind == .unmetRequirement && $0.file == "modern.rules" })
        #expect(r.skipped.isEmpty && r.unsupportedKeywords.isEmpty,
                "unmet requirements are checked before keywords and protocols: \(r.unsupportedKeywords)")
        #expect(r.errors.count == 1 && r.errors[0].description.contains("modern.rules:9: invalid rule: requires"), "\(r.errors)")
        #expect(r.loaded == 3 && r.enabledRules == 9)
    }

    @Test func requiresVersionGrammar() throws {
        #expect(try DetectRequires.versionMet(">= 7.0.10"))
        #expect(try !DetectRequires.versionMet("> 7.0.10"))
        #expect(try DetectRequires.versionMet("= 7.0.10"))
        #expect(try DetectRequires.versionMet("< 8"))
        #expect(try !DetectRequires.versionMet(">= 7.1"))
        #expect(try DetectRequires.versionMet(">= 8 | >= 7 < 7.1"))
        for bad in ["", ">=", ">= 7.a", ">= 1.2.3.4", "7", ">= 7 |"] {
            #expect(throws: RuleError.self, "\(bad)") { try DetectRequires.versionMet(Substring(bad)) }
        }
    }

    // MARK: Header buffers

    /// IPv4 (IHL 6: one NOP-padded option word) + a TCP SYN with an MSS option.
    static let ipv4SYN: [UInt8] = [0x46, 0, 0, 52, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 84, 0, 1, 10, 84, 0, 2, 1, 1, 1, 0]
        + [0x9c, 0x40, 0, 21, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0x72, 0x10, 0, 0, 0, 0, 2, 4, 5, 0xb4]

    func tcpFacts() -> PacketFacts {
        var f = facts()
        f.ipProto = 6
        return f
    }

    @Test func headerBuffersAreTheRawHeaders() {
        let (defs, r) = defs("""
            alert ip any any -> any any (msg:"ipv4 with options"; ipv4.hdr; content:"|46|"; depth:1; bsize:24; sid:1;)
            alert tcp any any -> any any (msg:"mss 1460 option"; tcp.hdr; content:"|02 04 05 b4|"; offset:20; sid:2;)
            alert tcp any any -> any any (msg:"no window 1"; tcp.hdr; byte_test:2,=,1,14; sid:3;)
            alert tcp any any -> any any (msg:"window 29200"; tcp.hdr; byte_test:2,=,29200,14; sid:4;)
            alert ip any any -> any any (msg:"not v6"; ipv6.hdr; content:"|60|"; depth:1; sid:5;)
            alert udp any any -> any any (msg:"not udp"; udp.hdr; bsize:8; sid:6;)
            alert tcp any any -> any any (msg:"with payload"; tcp.hdr; content:"|02|"; offset:13; depth:1; pkt_data; content:"hello"; sid:7;)
            """)
        #expect(r.errors.isEmpty && r.skipped.isEmpty, "\(r.errors)")
        #expect(defs.signature(0).prefilter == nil || defs.signature(0).prefilter?.buffer.isPacketHeader == false,
                "header contents never prefilter")
        let d = DetectEngine(definitions: defs)
        let slot = d.flowSlot(index: 0, flowID: 9)
        let sids = Self.ipv4SYN.withByteView { ip in
            packet(d, "hello", slot: slot, headers: PacketHeaderViews(ip: ip, ipHeaderLength: 24, transportHeaderLength: 24), facts: tcpFacts())
        }
        #expect(sids == [1, 2, 4, 7], "\(sids)")
        // Without header views (or with lengths past the bytes) the buffers are absent.
        #expect(packet(d, "hello", slot: slot, facts: tcpFacts()) == [])
        let cut = Self.ipv4SYN.withByteView { ip in
            packet(d, "hello", slot: slot, headers: PacketHeaderViews(ip: ip, ipHeaderLength: 24, transportHeaderLength: 40), facts: tcpFacts())
        }
        #expect(cut == [1], "a transport header past the captured bytes is not lent: \(cut)")
    }

    @Test func headerBufferSelectionByVersionAndProtocol() {
        let bytes = [UInt8](repeating: 0xAB, count: 64)
        bytes.withByteView { ip in
            let h = PacketHeaderViews(ip: ip, ipHeaderLength: 40, transportHeaderLength: 8)
            var b = InspectionBuffers()
            h.fill(&b, ipVersion: 6, ipProto: 58)
            #expect(b[.ipv6Header]?.count == 40 && b[.icmpv6Header]?.count == 8)
            #expect(b[.ipv4Header] == nil && b[.icmpv4Header] == nil && b[.tcpHeader] == nil)
            b = InspectionBuffers()
            h.fill(&b, ipVersion: 4, ipProto: 1)
            #expect(b[.ipv4Header]?.count == 40 && b[.icmpv4Header]?.count == 8 && b[.icmpv6Header] == nil)
            b = InspectionBuffers()
            h.fill(&b, ipVersion: 4, ipProto: 17)
            #expect(b[.udpHeader]?.count == 8)
        }
    }

    @Test func inspectionBuffersHoldIdsPast64() {
        var b = InspectionBuffers()
        let high = BufferID.icmpv6Header
        #expect(Int(high.rawValue) >= 64 && BufferID.count <= InspectionBuffers.capacity)
        [1, 2, 3].withByteView { v in
            b[high] = v
            #expect(b[high]?.count == 3)
            #expect(b[BufferID(rawValue: high.rawValue - 64)!] == nil, "the high word does not alias the low one")
            b[high] = nil
            #expect(b[high] == nil)
            b[high] = v
            b.removeAll()
            #expect(b[high] == nil)
        }
    }

    // MARK: entropy

    @Test func entropyValues() {
        func e(_ bytes: [UInt8]) -> Double { bytes.withByteView { EntropyMatch.entropy($0, 0, $0.count) } }
        #expect(e([]) == 0 && e(Array("aaaaaaa".utf8)) == 0)
        #expect(abs(e(Array("abcdabcd".utf8)) - 2) < 1e-12)
        #expect(abs(e((0 ... 255).map { UInt8($0) }) - 8) < 1e-12)
        for x in [1.0, 2, 3, 10, 1000, 123_456.789, 0.001] {
            // log2 against exact powers and a known value.
            #expect(abs(EntropyMatch.log2(x * 2) - EntropyMatch.log2(x) - 1) < 1e-12)
        }
        #expect(abs(EntropyMatch.log2(10) - 3.321928094887362) < 1e-12)
    }

    @Test func entropyOnBuffersWithOffsetAndBytes() {
        let random = (0 ..< 256).map { UInt8(($0 * 167 + 13) & 0xff) }
        let text = Array("GET /index.html HTTP/1.1 aaaaaaaaaaaaaaaaaaaaaaaaa".utf8)
        func match(_ options: String, _ bytes: [UInt8]) -> Bool {
            guard let sig = rule(opts(options)) else { return false }
            return inspect(sig, bytes)
        }
        #expect(match("entropy: value >= 7.9;", random))
        #expect(!match("entropy: value >= 7.9;", text))
        #expect(match("entropy: value < 5;", text))
        #expect(match("entropy: offset 25, value = 0;", text), "the a's alone")
        #expect(match("entropy: bytes 4, value 2;", Array("abcdzzzz".utf8)))
        #expect(!match("entropy: bytes 300, value >= 0;", random), "a window past the buffer does not match")
        #expect(!match("entropy: offset 300, value >= 0;", random))
        #expect(match("entropy: offset -5, value > 7.9;", random), "a negative offset does not move the window (Suricata)")
        #expect(match("content:\"GET\"; entropy: value != 8;", text))
        #expect(!match("content:\"GET\"; entropy: value > 4.5;", text))
        for (text, why) in [
            ("entropy: bytes 4;", "value is required"), ("entropy: value ? 7;", "bad value"), ("entropy: value 7, value 6;", "twice"),
            ("entropy: offset 70000, value 1;", "-65535"), ("entropy: width 3, value 1;", "unknown option"), ("entropy: 7;", "expected"),
        ] {
            let e = ruleError(opts(text))
            #expect(e?.kind == .invalid && e?.description.contains(why) == true, "\(text): \(String(describing: e))")
        }
    }

    // MARK: dns.rrtype / dns.rcode

    @Test func dnsRRTypeAndRcodeParse() throws {
        let sig = try #require(rule(opts("dns.rrtype:16; dns.rcode:!nxdomain;", proto: "dns")))
        #expect(sig.proto.app == .dns)
        #expect(sig.headerMatches == [.dnsRRType(IntMatch(mode: .equal, a: 16)), .dnsRcode(IntMatch(mode: .notEqual, a: 3))])
        #expect(ruleError(opts("dns.rrtype:70000;", proto: "dns"))?.description.contains("0...65535") == true)
        #expect(ruleError(opts("dns.rrtype:1;", proto: "http"))?.description.contains("needs dns") == true)
        #expect(ruleError(opts("dns.rcode:bogus;", proto: "dns"))?.kind == .invalid)
        var types = DNSRRTypes()
        for t: UInt16 in [5, 5, 1, 1, 28] { types.add(t) }
        #expect(types.count == 3 && types.any(IntMatch(mode: .equal, a: 28)) && !types.any(IntMatch(mode: .equal, a: 16)))
        for t: UInt16 in 100 ..< 110 { types.add(t) }
        #expect(types.count == 8 && types.dropped)
    }

    // MARK: Bundle

    @Test func bundleRoundTripKeepsTheSession9Keywords() throws {
        let (defs, r) = defs(Self.counting + """

            alert tcp any any -> any any (msg:"e"; content:"x"; entropy: bytes 10, offset 2, value >= 7.25; sid:20;)
            alert tcp any any -> any any (msg:"h"; tcp.hdr; content:"|02 04|"; sid:21;)
            alert dns any any -> any any (msg:"r"; dns.rrtype:1; dns.rcode:3; sid:22;)
            """)
        #expect(r.errors.isEmpty)
        let decoded = try DefinitionsBundle.decode(DefinitionsBundle.encode(definitions: defs), file: "modern.bundle")
        #expect(decoded.count == defs.count)
        for i in 0 ..< defs.count {
            let a = defs.signature(i), b = decoded.signature(i)
            #expect(a.sid == b.sid && a.headerMatches == b.headerMatches, "sid \(a.sid)")
            #expect(a.lists.map(\.buffer) == b.lists.map(\.buffer))
            for (la, lb) in zip(a.lists, b.lists) {
                for case .entropy(let x) in la.elements {
                    #expect(lb.elements.contains { if case .entropy(let y) = $0 { return y == x } else { return false } })
                }
            }
        }
    }

    /// A brute-force counter on a stream rule: the window check (kept bytes + new bytes) that
    /// finds the old match again is a repeat, and must not count the attempt again (review
    /// finding: it counted 3 for one "PASS root").
    @Test func flowintCountsAStreamMatchOnceWhateverTheWindowRepeats() {
        var p = RuleParser()
        p.load(text: #"alert tcp any any -> any 25 (msg:"x"; flow:to_server; content:"PASS "; content:"root"; distance:0; flowint:fails,+,1; sid:1;)"#,
               file: "window.rules")
        let set = p.finish()
        #expect(set.report.errors.isEmpty && set.report.skipped.isEmpty)
        let d = DetectEngine(definitions: DetectDefinitions(ruleSet: set))
        let slot = d.flowSlot(index: 1, flowID: 7)
        var f = PacketFacts()
        f.ipProto = 6; f.ipVersion = 4
        f.source = IPAddress(v4: 0x0a00_0001); f.destination = IPAddress(v4: 0x0a00_0002)
        f.sourcePort = 30000; f.destinationPort = 25; f.direction = .toServer; f.established = true
        var sids: [UInt32] = []
        for part in ["PASS root\r\n", "PASS x\r\n", "PASS y\r\n"] {
            d.beginPacket()
            _ = Array(part.utf8).withUnsafeBytes { raw in
                d.inspectStream(f, chunk: ByteView(raw), gap: false, direction: .toServer, slot: slot, time: 0) { i, _ in
                    sids.append(d.defs.signature(i).sid)
                }
            }
        }
        #expect(sids == [1])
        #expect(d.stats.windowRepeats > 0, "the window found the match again")
        #expect(d.flowInts?.values(slot).value(0) == 1, "one match, one increment")
    }
}
