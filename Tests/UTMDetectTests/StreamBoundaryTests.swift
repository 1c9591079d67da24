import Testing
import UTMCore
import UTMDetect

/// Stream rules whose first content ends one segment while their prefilter content lies wholly
/// in the next (suricata-verify issue-4220: `|0D 0A 0D 0A|TV` then `AAAA…` within 200).
@Suite struct StreamBoundaryTests {
    func stream(_ rules: String, _ parts: [String]) -> [UInt32] {
        var p = RuleParser()
        p.load(text: rules, file: "test.rules")
        let d = DetectEngine(definitions: DetectDefinitions(ruleSet: p.finish()))
        let slot = d.flowSlot(index: 1, flowID: 9)
        var f = PacketFacts()
        f.ipProto = 6
        f.source = IPAddress(v4: 0x0a00_0001)
        f.destination = IPAddress(v4: 0x0a00_0002)
        f.sourcePort = 30709
        f.destinationPort = 25
        f.direction = .toServer
        f.established = true
        var out: [UInt32] = []
        for part in parts {
            d.beginPacket()
            _ = Array(part.utf8).withUnsafeBytes { raw in
                d.inspectStream(f, chunk: ByteView(raw), gap: false, direction: .toServer, slot: slot, time: 0) { i, _ in
                    out.append(d.defs.signature(i).sid)
                }
            }
        }
        return out
    }

    static let rule = #"alert tcp any any -> any 25 (msg:"exe in mail"; content:"|0D 0A 0D 0A|TV"; content:"AAAAAAAAAAAAAAAA"; within:200; sid:9;)"#

    @Test func earlierContentInThePreviousSegment() {
        // Split inside the first content, and right after it: the prefilter (the longer
        // content) is wholly in the second segment both times.
        #expect(stream(Self.rule, ["filename=x.exe\r\n\r\n", "TVpQAAIAAAAEAA8A//8AALgAAAAAAAAAQAAaAAAAAAAAAAAAAAAAAAAA"]) == [9])
        #expect(stream(Self.rule, ["filename=x.exe\r\n\r\nTVpQ", "AAIAAAAEAA8A//8AALgAAAAAAAAAQAAaAAAAAAAAAAAAAAAAAAAA"]) == [9])
        // The same bytes in one segment alert once too.
        #expect(stream(Self.rule, ["filename=x.exe\r\n\r\nTVpQAAIAAAAEAA8A//8AALgAAAAAAAAAQAAaAAAAAAAAAAAAAAAAAAAA"]) == [9])
    }

    @Test func withinStillHolds() {
        // The first content more than 200 bytes before the prefilter content: no match.
        let filler = String(repeating: "x", count: 300)
        #expect(stream(Self.rule, ["a\r\n\r\nTV" + filler, "AAAAAAAAAAAAAAAA"]).isEmpty)
    }
}
