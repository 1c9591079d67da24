import Testing
import UTMCore
import UTMDetect

/// Stream rules whose parts lie in different segments of one direction (README "Stream window,
/// session 6"): each chunk is verified on its new bytes, then over the direction's kept tail
/// followed by the new bytes, without alerting twice on bytes already inspected.
@Suite struct StreamWindowTests {
    static let twoPart = #"alert tcp any any -> any any (msg:"two parts"; content:"AAAA"; content:"BBBB"; distance:0; sid:1;)"#
    /// The same with the prefilter on the second content.
    static let reversed = #"alert tcp any any -> any any (msg:"fp second"; content:"AAAA"; content:"BBBBBBBB"; distance:0; fast_pattern; sid:2;)"#

    final class Run {
        let d: DetectEngine
        let slot: Int
        var out: [UInt32] = []
        init(_ rules: String, config: DetectConfig = .init()) {
            var p = RuleParser()
            p.load(text: rules, file: "test.rules")
            d = DetectEngine(definitions: DetectDefinitions(ruleSet: p.finish()), config: config)
            slot = d.flowSlot(index: 1, flowID: 9)
        }
        func send(_ part: String, _ dir: Direction = .toServer, gap: Bool = false) {
            var f = PacketFacts()
            f.ipProto = 6
            f.source = IPAddress(v4: 0x0a57_0001)
            f.destination = IPAddress(v4: 0x0a57_0002)
            f.sourcePort = 40000
            f.destinationPort = 8000
            if dir == .toClient {
                swap(&f.source, &f.destination)
                swap(&f.sourcePort, &f.destinationPort)
            }
            f.direction = dir
            f.established = true
            d.beginPacket()
            let d = self.d
            _ = Array(part.utf8).withUnsafeBytes { raw in
                d.inspectStream(f, chunk: ByteView(raw), gap: gap, direction: dir, slot: slot, time: 0) { i, _ in
                    self.out.append(d.defs.signature(i).sid)
                }
            }
        }
    }

    static func alerts(_ rules: String, _ parts: [String]) -> [UInt32] {
        let r = Run(rules)
        for p in parts { r.send(p) }
        return r.out
    }

    @Test func anchorInOneSegmentRestInTheNext() {
        #expect(Self.alerts(Self.twoPart, ["xxAAAAxx", "yyBBBByy"]) == [1])
        #expect(Self.alerts(Self.reversed, ["xxAAAAxx", "yyBBBBBBBByy"]) == [2])
        // Whole in one segment: once, as before.
        #expect(Self.alerts(Self.twoPart, ["xxAAAAxxyyBBBByy"]) == [1])
        // Wrong order across segments: no match.
        #expect(Self.alerts(Self.twoPart, ["xxBBBBxx", "yyAAAAyy"]).isEmpty)
    }

    @Test func splitInThreeAndManySegments() {
        #expect(Self.alerts(Self.twoPart, ["xxAAAAxx", "middle", "yyBBBByy"]) == [1])
        #expect(Self.alerts(Self.reversed, ["xxAA", "AAxx", "yyBBBB", "BBBByy"]) == [2])
        // One byte per segment.
        let bytes = "..AAAA....BBBB..".map { String($0) }
        #expect(Self.alerts(Self.twoPart, bytes) == [1])
        #expect(Self.alerts(Self.reversed, "..AAAA..BBBBBBBB..".map { String($0) }) == [2])
        // Many filler segments between the parts, still inside the window (1024 bytes).
        #expect(Self.alerts(Self.twoPart, ["AAAA"] + Array(repeating: String(repeating: "z", count: 100), count: 9) + ["BBBB"]) == [1])
    }

    @Test func noDoubleAlertOnInspectedBytes() {
        // The match is reported on the segment that completes it, not again on later ones.
        #expect(Self.alerts(Self.twoPart, ["xxAAAAxx", "yyBBBByy", "more", "and more"]) == [1])
        // A later segment that only repeats the prefilter pattern: the match over the window
        // lies in bytes already inspected.
        #expect(Self.alerts(Self.twoPart, ["xxAAAAxx", "yyBBBByy", "AAAA"]) == [1])
        #expect(Self.alerts(Self.reversed, ["xxAAAAxx", "BBBBBBBB", "zz", "BBBBBBBB"]) == [2])
        // A new complete match in the new bytes alone alerts again (one alert per packet).
        #expect(Self.alerts(Self.twoPart, ["AAAABBBB", "AAAABBBB"]) == [1, 1])
    }

    @Test func bothDirectionsKeepTheirOwnWindow() {
        let rules = """
            alert tcp any any -> any any (msg:"req"; flow:to_server; content:"AAAA"; content:"BBBB"; distance:0; sid:10;)
            alert tcp any any -> any any (msg:"resp"; flow:to_client; content:"CCCC"; content:"DDDD"; distance:0; sid:11;)
            """
        let r = Run(rules)
        r.send("xxAAAAxx", .toServer)
        r.send("xxCCCCxx", .toClient)
        r.send("BBBB", .toClient)          // the other direction's bytes: no match
        #expect(r.out.isEmpty)
        r.send("DDDD", .toClient)
        r.send("BBBB", .toServer)
        #expect(r.out == [11, 10])
        // Parts in different directions never combine.
        let c = Run(Self.twoPart)
        c.send("xxAAAAxx", .toServer)
        c.send("yyBBBByy", .toClient)
        #expect(c.out.isEmpty)
    }

    @Test func bytesOutsideTheWindowDoNotMatch() {
        // Documented limit: the window keeps the last `tailBytes` (1024 by default) bytes of a
        // direction, so parts further apart than that are not seen together.
        let far = Array(repeating: String(repeating: "z", count: 100), count: 11)
        #expect(Self.alerts(Self.twoPart, ["AAAA"] + far + ["BBBB"]).isEmpty)
        // A smaller configured window.
        var config = DetectConfig()
        config.tailBytes = 16
        let r = Run(Self.twoPart, config: config)
        for p in ["AAAA", String(repeating: "z", count: 20), "BBBB"] { r.send(p) }
        #expect(r.out.isEmpty)
        let s = Run(Self.twoPart, config: config)
        for p in ["AAAA", String(repeating: "z", count: 8), "BBBB"] { s.send(p) }
        #expect(s.out == [1])
    }

    @Test func gapEndsTheWindow() {
        let r = Run(Self.twoPart)
        r.send("xxAAAAxx")
        r.send("yyBBBByy", gap: true)
        #expect(r.out.isEmpty)
    }

    @Test func anchoredRulesUseTheWindowOnlyFromTheStreamStart() {
        let rule = #"alert tcp any any -> any any (msg:"anchored"; content:"AAAA"; depth:4; content:"BBBB"; distance:0; sid:3;)"#
        // The window begins at the stream's first byte: depth holds from there (Suricata).
        #expect(Self.alerts(rule, ["AAAAxx", "yyBBBB"]) == [1].map { _ in 3 })
        #expect(Self.alerts(rule, ["xAAAAx", "yyBBBB"]).isEmpty)
        // Mid-stream the window's first byte is arbitrary: not verified over the window.
        let r = Run(rule)
        r.send(String(repeating: "z", count: 1100))
        r.send("AAAAxx")
        r.send("BBBB")
        #expect(r.out.isEmpty)
        // After a gap the stream's offset 0 is not its first byte either.
        let g = Run(rule)
        g.send("hello")
        g.send("AAAAxx", gap: true)
        g.send("yyBBBB")
        #expect(g.out.isEmpty)
        // A later segment that itself begins with the anchor still matches on its own bytes:
        // Suricata's packet-payload fallback for a rule whose content has a depth (README
        // "Stream positions, session 8"; `StreamPositionTests` has the stream-only rules).
        #expect(Self.alerts(rule, ["AAAAxx", "yyBBBB", "AAAAxxBBBB"]) == [3, 3])
    }

    @Test func pendingListKeepsFourPerDirection() {
        // Documented limit: five signatures waiting for the rest of their match in one
        // direction; the one whose pattern began earliest is forgotten.
        let rules = (1 ... 5).map { k in
            #"alert tcp any any -> any any (msg:"p\#(k)"; content:"PPPP\#(k)"; content:"QQ"; distance:0; sid:2\#(k);)"#
        }.joined(separator: "\n")
        let r = Run(rules)
        r.send("PPPP1 PPPP2 PPPP3 PPPP4 PPPP5 ")
        r.send("QQ")
        #expect(Set(r.out) == [22, 23, 24, 25])
        #expect(r.out.count == 4)
        #expect(r.d.stats.pendingOverflows == 1)
    }

    @Test func countersSayWhatHappened() {
        let r = Run(Self.twoPart)
        for p in ["xxAAAAxx", "yyBBBByy", "AAAA"] { r.send(p) }
        #expect(r.d.stats.windowMatches == 1)
        #expect(r.d.stats.windowRepeats == 1)
    }
}
