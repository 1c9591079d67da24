import Testing
import UTMCore
import UTMDetect

/// The DetectEngine on hand-written rules and hand-built packets and streams.
@Suite struct DetectEngineTests {
    func defs(_ rules: String) -> DetectDefinitions {
        var p = RuleParser()
        p.load(text: rules, file: "test.rules")
        return DetectDefinitions(ruleSet: p.finish())
    }

    func facts(_ proto: UInt8 = 6, toServer: Bool = true) -> PacketFacts {
        var f = PacketFacts()
        f.ipProto = proto
        f.source = IPAddress(v4: 0x0a00_0001)
        f.destination = IPAddress(v4: 0x0800_0808)
        f.sourcePort = 40000
        f.destinationPort = 80
        f.direction = toServer ? .toServer : .toClient
        f.established = true
        return f
    }

    func sids(_ d: DetectEngine, _ body: (DetectEngine, (Int, Bool) -> Void) -> Void) -> [UInt32] {
        var out: [UInt32] = []
        body(d) { i, _ in out.append(d.defs.signature(i).sid) }
        return out
    }

    func stream(_ d: DetectEngine, _ parts: [String], slot: Int) -> [UInt32] {
        var out: [UInt32] = []
        for part in parts {
            d.beginPacket()
            _ = Array(part.utf8).withUnsafeBytes { raw in
                d.inspectStream(facts(), chunk: ByteView(raw), gap: false, direction: .toServer, slot: slot, time: 0) { i, _ in
                    out.append(d.defs.signature(i).sid)
                }
            }
        }
        return out
    }

    @Test func contentAcrossTwoSegments() {
        let d = DetectEngine(definitions: defs("""
            alert tcp any any -> any 80 (msg:"split"; flow:to_server; content:"evil-payload"; sid:1;)
            alert tcp any any -> any 80 (msg:"rel"; content:"GET"; content:"secret"; distance:0; sid:2;)
            """))
        let slot = d.flowSlot(index: 3, flowID: 77)
        #expect(stream(d, ["xx GET /a evil-pa", "yload sec", "ret"], slot: slot).sorted() == [1, 2])
        // The same data in one chunk on a fresh flow alerts the same.
        let s2 = d.flowSlot(index: 4, flowID: 78)
        #expect(stream(d, ["xx GET /a evil-payload secret"], slot: s2).sorted() == [1, 2])
    }

    @Test func passStopsLaterRules() {
        let d = DetectEngine(definitions: defs("""
            alert udp any any -> any any (msg:"a"; content:"abc"; sid:1;)
            pass udp any any -> any any (msg:"p"; content:"abc"; sid:2;)
            drop udp any any -> any any (msg:"d"; content:"abc"; sid:3;)
            """))
        d.beginPacket()
        var out: [UInt32] = []
        Array("xxabcxx".utf8).withUnsafeBytes { raw in
            _ = d.inspectPacket(facts(17), payload: ByteView(raw), slot: -1, time: 0) { i, _ in out.append(d.defs.signature(i).sid) }
        }
        #expect(out == [3])
    }

    @Test func flowbitsAcrossPackets() {
        let d = DetectEngine(definitions: defs("""
            alert udp any any -> any any (msg:"set"; content:"login"; flowbits:set,seen; flowbits:noalert; sid:1;)
            alert udp any any -> any any (msg:"check"; content:"data"; flowbits:isset,seen; sid:2;)
            """))
        let slot = d.flowSlot(index: 1, flowID: 5)
        var out: [UInt32] = []
        for payload in ["data", "login", "data"] {
            d.beginPacket()
            Array(payload.utf8).withUnsafeBytes { raw in
                _ = d.inspectPacket(facts(17), payload: ByteView(raw), slot: slot, time: 0) { i, alert in
                    if alert { out.append(d.defs.signature(i).sid) }
                }
            }
        }
        #expect(out == [2])
    }

    @Test func thresholdLimit() {
        let d = DetectEngine(definitions: defs("""
            alert udp any any -> any any (msg:"t"; content:"x"; threshold:type limit, track by_src, count 2, seconds 60; sid:1;)
            """))
        var n = 0
        for _ in 0 ..< 5 {
            d.beginPacket()
            Array("x".utf8).withUnsafeBytes { raw in
                _ = d.inspectPacket(facts(17), payload: ByteView(raw), slot: -1, time: 10) { _, _ in n += 1 }
            }
        }
        #expect(n == 2)
    }

    @Test func bundleRoundTripAndDamage() throws {
        let text = """
            alert tcp any any -> any 80 (msg:"one"; content:"alpha"; sid:1;)
            alert http any any -> any any (msg:"two"; http.uri; content:"/beta"; sid:2;)
            """
        let original = defs(text)
        let bytes = DefinitionsBundle.encode(sources: [("t.rules", text)], definitions: original)
        let back = try DefinitionsBundle.decode(bytes, file: "b")
        #expect(back.count == original.count)
        #expect(back.signatures.map(\.sid) == original.signatures.map(\.sid))
        for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
            #expect(throws: BundleError.self) { try DefinitionsBundle.decode(Array(bytes[0 ..< cut]), file: "b") }
        }
        for i in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 211)) {
            var damaged = bytes
            damaged[i] ^= 0x10
            #expect(throws: BundleError.self) { try DefinitionsBundle.decode(damaged, file: "b") }
        }
    }
    /// Rules without a prefilter meet only packets of their protocol, direction and ports
    /// (signature groups): the port-445 rule is not even verified for a packet to port 80.
    @Test func signatureGroupsSplitByPortAndDirection() {
        let d = DetectEngine(definitions: defs("""
            alert tcp any any -> any 445 (msg:"smb syn"; flags:S; sid:1;)
            alert tcp any any -> any any (msg:"reply"; flow:to_client; flags:S; sid:2;)
            alert tcp any 445 -> any any (msg:"from 445"; flags:S; sid:3;)
            alert tcp any any <> any 445 (msg:"both ways"; flags:S; sid:4;)
            """))
        func run(_ f: PacketFacts) -> [UInt32] {
            sids(d) { d, onMatch in
                d.beginPacket()
                d.inspectPacket(f, payload: .empty, slot: -1, time: 0, onMatch)
            }.sorted()
        }
        var f = facts()
        f.tcpFlags = 0x02
        let before = d.stats.verifications
        #expect(run(f) == [])
        // Only the bidirectional rule (kept in every group) was verified for port 80.
        #expect(d.stats.verifications - before == 1)
        f.destinationPort = 445
        #expect(run(f) == [1, 4])
        var r = facts(toServer: false)
        r.tcpFlags = 0x02
        r.sourcePort = 445
        #expect(run(r) == [2, 3, 4])
    }

    /// The UDP prefilter split by port (PortPatternSets): every rule the ports admit is still
    /// found, including several-port rules that name the dedicated port and, when both ports
    /// key rules, the full-set fallback; rules to other ports are not even candidates.
    @Test func portSplitPrefilterFindsWhatThePortsAdmit() {
        var rules = ""
        for i in 0 ..< 70 { rules += "alert udp any any -> any 53 (msg:\"q\(i)\"; content:\"q\(i)x\"; sid:\(100 + i);)\n" }
        rules += """
            alert udp any 53 -> any any (msg:"resp"; content:"resp"; sid:1;)
            alert udp any any -> any 69 (msg:"tftp"; content:"|00 01|"; sid:2;)
            alert udp any any -> any any (msg:"any"; content:"anyport"; sid:3;)
            alert udp any any -> any [53,5353] (msg:"multi"; content:"multi"; sid:4;)
            alert udp any 123 -> any any (msg:"ntp"; content:"ntp-x"; sid:5;)
            """
        let d = DetectEngine(definitions: defs(rules))
        let payload: [UInt8] = Array("q5x resp ".utf8) + [0, 1] + Array(" anyport multi ntp-x".utf8)
        func run(_ sp: UInt16, _ dp: UInt16) -> (sids: [UInt32], verified: UInt64) {
            var f = facts(17)
            f.sourcePort = sp
            f.destinationPort = dp
            let before = d.stats.verifications
            let got = sids(d) { d, onMatch in
                d.beginPacket()
                payload.withUnsafeBytes { raw in
                    _ = d.inspectPacket(f, payload: ByteView(raw), slot: -1, time: 0, onMatch)
                }
            }
            return (got.sorted(), d.stats.verifications - before)
        }
        #expect(run(40000, 53).sids == [3, 4, 105])
        let response = run(53, 40000)
        #expect(response.sids == [1, 3])
        // Candidates: the unkeyed and the source-keyed rules (resp, ntp-x); not TFTP's
        // |00 01|, the several-port rule or the 70 query rules (destination-keyed).
        #expect(response.verified == 3)
        #expect(run(40000, 69).sids == [2, 3])
        #expect(run(40000, 5353).sids == [3, 4])
        #expect(run(123, 53).sids == [3, 4, 5, 105])
        #expect(run(40000, 40001).sids == [3])
    }

    /// One-byte contents stay out of the automaton and are verified directly: still found.
    @Test func oneBytePatternsAreVerifiedDirectly() {
        let d = DetectEngine(definitions: defs("""
            alert udp any any -> any any (msg:"nul"; content:"|00|"; depth:4; sid:1;)
            alert udp any any -> any any (msg:"long"; content:"abc"; sid:2;)
            """))
        #expect(d.defs.patternSets[0]?.maxID == 1)
        for (text, want) in [("x\u{0}yz", [UInt32(1)]), ("xyz abc", [2]), ("xyzw\u{0}", [])] {
            let got = sids(d) { d, onMatch in
                d.beginPacket()
                Array(text.utf8).withUnsafeBytes { raw in
                    _ = d.inspectPacket(facts(17), payload: ByteView(raw), slot: -1, time: 0, onMatch)
                }
            }
            #expect(got == want, "\(text)")
        }
    }

    /// Version 2 bundles hold the compiled signatures: decoding and encoding again gives the same
    /// bytes, and a version 1 file is refused with E_BUNDLE_VERSION.
    @Test func bundleStoresCompiledSignatures() throws {
        let text = """
            alert tcp $EXTERNAL_NET any -> $HOME_NET [445,139] (msg:"a"; flow:established,to_server; content:"|ff|SMB"; depth:8; byte_test:2,>,10,0,relative,little; pcre:"/x{2,}/Ri"; flowbits:set,s; classtype:trojan-activity; metadata:signature_severity Major; sid:1; rev:2;)
            alert http any any -> any any (msg:"b"; flowbits:isset,s; http.uri; content:"/q"; startswith; isdataat:!2,relative; threshold:type limit,track by_src,count 1,seconds 60; sid:2;)
            alert udp any any -> any 53 (msg:"c"; byte_extract:1,0,n; byte_jump:1,0,relative,from_beginning; content:"x"; within:n; dsize:>4; sid:3;)
            alert icmp any any -> any any (msg:"d"; itype:8; icode:0; ttl:<5; sid:4;)
            """
        let original = defs(text)
        #expect(original.count == 4)
        let bytes = DefinitionsBundle.encode(definitions: original)
        let back = try DefinitionsBundle.decode(bytes, file: "b")
        #expect(DefinitionsBundle.encode(definitions: back) == bytes)
        #expect(back.signatures.map(\.sid) == original.signatures.map(\.sid))
        #expect(back.flowbitNames.names == original.flowbitNames.names)
        var old = bytes
        old[8] = 1
        do {
            _ = try DefinitionsBundle.decode(old, file: "old.bundle")
            Issue.record("a version 1 bundle loaded")
        } catch {
            #expect(error.code == .badVersion)
            #expect(error.description.hasPrefix("E_BUNDLE_VERSION: old.bundle: "))
        }
    }
    /// Many candidates at once (the heapsort path): matches still come in evaluation order.
    @Test func manyCandidatesKeepEvaluationOrder() {
        let rules = (1 ... 40).map { "alert udp any any -> any any (msg:\"m\"; content:\"abc\"; sid:\(41 - $0);)" }
        let d = DetectEngine(definitions: defs(rules.joined(separator: "\n")))
        let got = sids(d) { d, onMatch in
            d.beginPacket()
            Array("xxabcxx".utf8).withUnsafeBytes { raw in
                _ = d.inspectPacket(facts(17), payload: ByteView(raw), slot: -1, time: 0, onMatch)
            }
        }
        #expect(got == (1 ... 40).map { UInt32(41 - $0) })
    }
}
