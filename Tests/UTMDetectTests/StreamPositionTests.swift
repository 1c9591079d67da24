import Testing
import UTMCore
import UTMDetect

/// Absolute positions (`depth`, `offset`, `startswith`, non-relative `byte_test`...) of TCP
/// stream rules count from the stream's first byte, with Suricata's packet fallback for rules
/// whose contents have a depth or offset (README "Stream positions, session 8").
@Suite struct StreamPositionTests {
    /// One flow direction's chunks given with their stream offsets (as the reassembler does).
    final class Run {
        let d: DetectEngine
        let slot: Int
        var out: [UInt32] = []
        var offset: UInt64 = 0
        init(_ rules: String) {
            var p = RuleParser()
            p.load(text: rules, file: "test.rules")
            let set = p.finish()
            #expect(set.report.errors.isEmpty && set.report.skipped.isEmpty)
            d = DetectEngine(definitions: DetectDefinitions(ruleSet: set))
            slot = d.flowSlot(index: 1, flowID: 9)
        }
        static func facts() -> PacketFacts {
            var f = PacketFacts()
            f.ipProto = 6
            f.source = IPAddress(v4: 0x0a5c_0001)
            f.destination = IPAddress(v4: 0x0a5c_0002)
            f.sourcePort = 40000
            f.destinationPort = 8000
            f.direction = .toServer
            f.established = true
            return f
        }
        /// `part` at the next stream offset; `lost` bytes before it were never seen (a gap).
        func send(_ part: String, lost: UInt64 = 0) {
            send(Array(part.utf8), lost: lost)
        }
        func send(_ bytes: [UInt8], lost: UInt64 = 0) {
            offset += lost
            d.beginPacket()
            let d = self.d
            let at = offset
            _ = bytes.withUnsafeBytes { raw in
                d.inspectStream(Self.facts(), chunk: ByteView(raw), gap: lost > 0, streamOffset: at,
                                direction: .toServer, slot: slot, time: 0) { i, _ in
                    self.out.append(d.defs.signature(i).sid)
                }
            }
            offset += UInt64(bytes.count)
        }
        /// The same bytes as a packet payload (packet-point rules only).
        func packet(_ part: String) {
            d.beginPacket()
            let d = self.d
            _ = Array(part.utf8).withUnsafeBytes { raw in
                d.inspectPacket(Self.facts(), payload: ByteView(raw), slot: slot, time: 0) { i, _ in
                    self.out.append(d.defs.signature(i).sid)
                }
            }
        }
    }

    static func alerts(_ rule: String, _ parts: [String]) -> [UInt32] {
        let r = Run(rule)
        for p in parts { r.send(p) }
        return r.out
    }

    static let neither = #"alert tcp any any -> any any (msg:"depth"; flow:established,to_server; content:"HELO"; depth:4; sid:10;)"#
    static let onlyStream = #"alert tcp any any -> any any (msg:"depth only_stream"; flow:established,to_server,only_stream; content:"HELO"; depth:4; sid:11;)"#
    static let noStream = #"alert tcp any any -> any any (msg:"depth no_stream"; flow:established,to_server,no_stream; content:"HELO"; depth:4; sid:12;)"#
    /// An absolute byte_test and no content position: Suricata inspects it on the stream only.
    static let byteTest = #"alert tcp any any -> any any (msg:"byte_test"; flow:established,to_server; content:"ab"; byte_test:1,=,0x5a,0; sid:13;)"#

    @Test func patternAtTheStreamStartFires() {
        #expect(Self.alerts(Self.neither, ["HELO there"]) == [10])
        #expect(Self.alerts(Self.onlyStream, ["HELO there"]) == [11])
        #expect(Self.alerts(Self.byteTest, ["Z ab"]) == [13])
        // Not at the start: nothing.
        #expect(Self.alerts(Self.onlyStream, [" HELO"]).isEmpty)
        #expect(Self.alerts(Self.byteTest, [" Zab"]).isEmpty)
    }

    @Test func laterSegmentBeginningWithThePattern() {
        // Stream-only rules: the later segment is not the stream's first bytes (was an alert
        // before this change: positions counted from each segment).
        #expect(Self.alerts(Self.onlyStream, ["EHLO x\r\n", "HELO y\r\n"]).isEmpty)
        #expect(Self.alerts(Self.byteTest, ["hello ab", "Z ab"]).isEmpty)
        // Far into the stream (past the window) too.
        #expect(Self.alerts(Self.onlyStream, [String(repeating: "z", count: 3000), "HELO y"]).isEmpty)
        #expect(Self.alerts(Self.byteTest, [String(repeating: "z", count: 3000), "Z ab"]).isEmpty)
        // Neither flag: Suricata also inspects the packet's own payload (its depth counts from
        // the packet's first byte), so the later segment alerts, as before.
        #expect(Self.alerts(Self.neither, ["EHLO x\r\n", "HELO y\r\n"]) == [10])
        let r = Run(Self.neither)
        r.send("EHLO x\r\n")
        r.send("HELO y\r\n")
        #expect(r.d.stats.packetFallbackMatches == 1)
        #expect(r.d.stats.streamPositionSkips >= 1)
        // no_stream is a packet rule: the stream never alerts it, each packet's payload does.
        let p = Run(Self.noStream)
        p.send("HELO")
        #expect(p.out.isEmpty)
        p.packet("EHLO x")
        p.packet("HELO y")
        #expect(p.out == [12])
    }

    @Test func anchoredPatternSplitOverTheFirstTwoSegmentsFiresOnce() {
        for (rule, sid) in [(Self.neither, UInt32(10)), (Self.onlyStream, 11)] {
            #expect(Self.alerts(rule, ["HE", "LO world"]) == [sid])
            #expect(Self.alerts(rule, ["H", "E", "L", "O"]) == [sid])
            // Not again on later segments (the window's match lies in bytes inspected before).
            #expect(Self.alerts(rule, ["HE", "LO world", "more", "and more"]) == [sid])
            // Split, but not at the stream's start.
            #expect(Self.alerts(rule, ["xHE", "LO world"]).isEmpty)
        }
        // startswith is a depth: the same.
        let sw = #"alert tcp any any -> any any (msg:"startswith"; flow:only_stream; content:"HELO"; startswith; sid:14;)"#
        #expect(Self.alerts(sw, ["HE", "LO"]) == [14])
        #expect(Self.alerts(sw, ["hi", "HELO"]).isEmpty)
    }

    @Test func depthAndOffsetCountFromTheStreamStart() {
        // Bytes 6..8 of the stream.
        let both = #"alert tcp any any -> any any (msg:"offset depth"; flow:only_stream; content:"XY"; offset:6; depth:2; sid:20;)"#
        #expect(Self.alerts(both, ["abcd", "efXYgh"]) == [20])
        #expect(Self.alerts(both, ["abcdefXY"]) == [20])
        #expect(Self.alerts(both, ["abcd", "XYefgh"]).isEmpty)
        #expect(Self.alerts(both, ["abcd", "efgXYh"]).isEmpty)
        #expect(Self.alerts(both, ["abcdefgh", "abcdefXY"]).isEmpty)
        // An offset alone: anywhere from stream byte 6 on, however late the segment.
        let offset = #"alert tcp any any -> any any (msg:"offset"; flow:only_stream; content:"XY"; offset:6; sid:21;)"#
        #expect(Self.alerts(offset, ["XYzzzzzz"]).isEmpty)
        #expect(Self.alerts(offset, [String(repeating: "z", count: 2000), "XYzz"]) == [21])
        #expect(Self.alerts(offset, ["zz", "XYzzzz"]).isEmpty)
        #expect(Self.alerts(offset, ["zzzz", "zzXY"]) == [21])
        // A negated content wholly before the bytes inspected is not judged there: no match
        // (Suricata: `depth <= stream_start_offset` is no match, negated or not).
        let negated = #"alert tcp any any -> any any (msg:"negated"; flow:only_stream; content:!"GET"; depth:3; content:"zz"; sid:22;)"#
        #expect(Self.alerts(negated, ["PUT zz"]) == [22])
        #expect(Self.alerts(negated, [String(repeating: "a", count: 2000), "zz"]).isEmpty)
    }

    @Test func midstreamAndGaps() {
        // Midstream the stream's first byte is the first byte seen: the caller gives offset 0.
        #expect(Self.alerts(Self.onlyStream, ["HELO mid"]) == [11])
        // After a gap the lost bytes still count: depth 4 is behind.
        let r = Run(Self.onlyStream)
        r.send("ab")
        r.send("HELO", lost: 100)
        #expect(r.out.isEmpty)
        // The packet fallback still reads the segment after the gap.
        let n = Run(Self.neither)
        n.send("ab")
        n.send("HELO", lost: 100)
        #expect(n.out == [10])
        // Without offsets from the caller, a gap makes the position unknown: stream-only
        // absolute positions do not match after it.
        let u = Run(Self.onlyStream)
        let d = u.d
        var f = Run.facts()
        f.isStream = true
        for (part, gap) in [("ab", false), ("HELO", true)] {
            _ = Array(part.utf8).withUnsafeBytes { raw in
                d.inspectStream(f, chunk: ByteView(raw), gap: gap, direction: .toServer, slot: u.slot, time: 0) { i, _ in
                    u.out.append(d.defs.signature(i).sid)
                }
            }
        }
        #expect(u.out.isEmpty)
    }

    @Test func absoluteIsdataatAsksTheStream() {
        // `isdataat:20` without relative: the stream has a byte at offset 20 (GPL SMTP RCPT TO
        // overflow's form), however short the segment that brings the content.
        let at = #"alert tcp any any -> any any (msg:"isdataat"; flow:only_stream; content:"RCPT"; isdataat:20; sid:40;)"#
        #expect(Self.alerts(at, [String(repeating: "z", count: 30), "RCPT"]) == [40])
        #expect(Self.alerts(at, ["RCPT x"]).isEmpty)
        #expect(Self.alerts(at, ["RCPT x", String(repeating: "z", count: 30)]) == [40])
        // Negated: only while the stream is shorter.
        let not = #"alert tcp any any -> any any (msg:"not isdataat"; flow:only_stream; content:"RCPT"; isdataat:!20; sid:41;)"#
        #expect(Self.alerts(not, ["RCPT"]) == [41])
        #expect(Self.alerts(not, [String(repeating: "z", count: 30), "RCPT"]).isEmpty)
        #expect(Self.alerts(not, ["zz", "RCPT"]) == [41])
    }

    @Test func unanchoredRulesAreUnchanged() {
        let plain = #"alert tcp any any -> any any (msg:"plain"; flow:only_stream; content:"HELO"; sid:30;)"#
        #expect(Self.alerts(plain, ["EHLO x", "HELO y"]) == [30])
        #expect(Self.alerts(plain, [String(repeating: "z", count: 3000), "HE", "LO"]) == [30])
    }
}
