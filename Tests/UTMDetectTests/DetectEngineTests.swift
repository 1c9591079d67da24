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
        body(d) { i, _ in out.append(d.defs.signatures[i].sid) }
        return out
    }

    func stream(_ d: DetectEngine, _ parts: [String], slot: Int) -> [UInt32] {
        var out: [UInt32] = []
        for part in parts {
            d.beginPacket()
            Array(part.utf8).withUnsafeBytes { raw in
                d.inspectStream(facts(), chunk: ByteView(raw), gap: false, direction: .toServer, slot: slot, time: 0) { i, _ in
                    out.append(d.defs.signatures[i].sid)
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
            _ = d.inspectPacket(facts(17), payload: ByteView(raw), slot: -1, time: 0) { i, _ in out.append(d.defs.signatures[i].sid) }
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
                    if alert { out.append(d.defs.signatures[i].sid) }
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
}
