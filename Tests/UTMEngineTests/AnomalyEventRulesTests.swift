import Testing
import UTMCore
import UTMDecode
import UTMDetect
@testable import UTMEngine

/// The event keywords through the engine (session 10): `decode-event` rules on packets that
/// fail to decode (no flow) and on decoded packets of a flow, the gate that keeps event rules
/// away from clean packets and keeps ordinary rules away from undecodable ones, drop in IPS
/// and IDS modes, and how the keywords load (bundle round trip in `S6.alerts`).
@Suite struct AnomalyEventRulesTests {
    typealias T = EngineTraffic
    typealias S6 = Session6KeywordEngineTests

    static func udp(sport: UInt16) -> [UInt8] {
        T.ip(v6: false, proto: 17, toServer: true, T.be16(sport) + T.be16(9999) + T.be16(12) + [0, 0] + Array("ping".utf8))
    }

    /// A UDP datagram whose capture lost its last bytes: the IPv4 total length says more than
    /// the frame holds (ipv4.trunc_pkt, the decoder gives up: no flow).
    static var truncated: [UInt8] { Array(udp(sport: 40001).dropLast(3)) }
    /// Eight bytes where a TCP header of twenty belongs (tcp.pkt_too_small).
    static var shortTCP: [UInt8] { T.ip(v6: false, proto: 6, toServer: true, T.be16(40002) + T.be16(80) + T.be32(1)) }
    /// A well-formed UDP datagram whose IPv4 header carries an option with a length of 1: the
    /// decoder marks it and still decodes the packet (it gets a flow).
    static var badOption: [UInt8] {
        S6.ipv4(proto: 17, options: [0x44, 0x01, 0, 0], T.be16(40003) + T.be16(9999) + T.be16(12) + [0, 0] + Array("ping".utf8))
    }

    /// Suricata's name for a decoder event bit, as the decoder names it (the table may grow).
    static func name(_ e: DecodeEvents) -> String {
        "\(DecodeEvents.name(ofBit: e.rawValue.trailingZeroBitCount)!)"
    }

    @Test func decodeEventRulesMatchTheirEventOnly() throws {
        let rules = """
            alert pkthdr any any -> any any (msg:"truncated"; decode-event:\(Self.name(.ipv4Truncated)); sid:1;)
            alert pkthdr any any -> any any (msg:"short tcp"; decode-event:\(Self.name(.tcpTooShort)); sid:2;)
            alert ip any any -> any any (msg:"every flow's first packet"; sid:3;)
            alert pkthdr any any -> any any (msg:"with the EVE prefix"; decode-event:decoder.\(Self.name(.ipv4Truncated)); sid:4;)
            alert udp any any -> any 9999 (msg:"bad option, decoded"; decode-event:\(Self.name(.ipv4OptionInvalid)); sid:5;)
            alert udp any any -> any 9999 (msg:"bad option and the payload"; decode-event:\(Self.name(.ipv4OptionInvalid)); content:"ping"; sid:6;)
            alert pkthdr any any -> any any (msg:"two events at once: never both here"; decode-event:\(Self.name(.ipv4Truncated)); decode-event:\(Self.name(.tcpTooShort)); sid:7;)
            """
        let n = try S6.alerts(rules, [Self.udp(sport: 40000), Self.truncated, Self.shortTCP, Self.badOption, Self.udp(sport: 40004)])
        #expect(n[1] == 1 && n[2] == 1 && n[4] == 1, "\(n)")
        // The clean datagrams and the one with a bad option have flows: 3 first packets. The
        // short TCP packet's IPv4 header is sound, so `ip` rules meet it too (session 11,
        // FlowlessPacketTests); the truncated one's is not, so only the event rules do.
        #expect(n[3] == 4, "\(n)")
        #expect(n[5] == 1 && n[6] == 1, "the decoded packet with an event meets event rules with its flow; \(n)")
        #expect(n[7] == nil, "\(n)")
    }

    /// Inline, a drop event rule drops the packet that raised it (no flow to drop); IDS, it
    /// alerts and forwards. Clean packets meet no event rule at all.
    @Test(arguments: [false, true]) func dropEventRule(ids: Bool) throws {
        var parser = RuleParser()
        parser.load(text: "drop pkthdr any any -> any any (msg:\"truncated\"; decode-event:\(Self.name(.ipv4Truncated)); sid:9;)", file: "t.rules")
        let set = parser.finish()
        #expect(set.report.errors.isEmpty && set.report.skipped.isEmpty)
        var config = EngineConfig()
        config.modes.ids = ids
        let engine = Engine(config: config)
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        var verdicts: [PacketVerdict] = []
        for (i, frame) in [Self.udp(sport: 40010), Self.truncated, Self.udp(sport: 40011)].enumerated() {
            let d = frame.withByteView { v in
                engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)), wireLength: v.count)
            }
            verdicts.append(d.verdict)
        }
        #expect(verdicts == [.accept, ids ? .accept : .drop, .accept])
        let eve = String(decoding: engine.eve.buffer, as: UTF8.self)
        #expect(eve.components(separatedBy: "\"signature_id\":9").count == 2, "\(eve)")
        #expect(eve.contains(ids ? "\"action\":\"allowed\"" : "\"action\":\"blocked\""), "\(eve)")
    }

    @Test func eventKeywordsLoadOrSayWhy() {
        var parser = RuleParser()
        parser.load(text: """
            alert pkthdr any any -> any any (msg:"a"; decode-event:gre.wrong_version_in_our_dreams; sid:1;)
            alert tcp any any -> any any (msg:"b"; stream-event:not_a_stream_event; sid:2;)
            alert http any any -> any any (msg:"c"; app-layer-event:http.not_an_event; sid:3;)
            alert pkthdr any any -> any any (msg:"d"; decode-event; sid:4;)
            alert pkthdr any any -> any any (msg:"e"; decode-event:\(Self.name(.ipv4Truncated)); sid:5;)
            alert ip any any -> any any (msg:"f"; app-layer-event:nosuchproto.x; sid:6;)
            """, file: "ev.rules")
        let set = parser.finish()
        #expect(set.signatures.map(\.sid) == [5])
        let skipped = set.report.skipped.map(\.description)
        #expect(skipped.count == 4, "\(skipped)")
        #expect(skipped.contains { $0.contains("'decode-event'") && $0.contains("gre.wrong_version_in_our_dreams") }, "\(skipped)")
        #expect(skipped.contains { $0.contains("'stream-event'") && $0.contains("not_a_stream_event") }, "\(skipped)")
        #expect(skipped.contains { $0.contains("'app-layer-event'") && $0.contains("http.not_an_event") }, "\(skipped)")
        #expect(set.report.errors.count == 1 && set.report.errors[0].line == 4, "\(set.report.errors)")
    }
}

extension AnomalyEventRulesTests {
    /// Review: an event keyword with a payload content makes a stream rule and with a sticky
    /// buffer an app-layer rule; both must see the packet's events (they were never met).
    @Test func eventRulesWithStreamAndAppBuffers() throws {
        let ev = Self.name(.ipv4OptionInvalid)
        let request = Array("GET /x HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        var frames = T.tcpSession(v6: false, sport: 41001, dport: 80, exchanges: [(request, S6.ok)])
        // The request segment (frame 3) again with a malformed IPv4 option: same bytes, same
        // place in the stream; the clean session next to it raises nothing.
        let plain = frames[3]
        let l4 = Array(plain[34...])
        frames[3] = S6.ipv4(proto: 6, options: [0x44, 0x01, 0, 0], src: T.client4, dst: T.server4, l4)
        frames += T.tcpSession(v6: false, sport: 41002, dport: 80, exchanges: [(request, S6.ok)])
        let rules = """
            alert tcp any any -> any 80 (msg:"event and stream content"; decode-event:\(ev); content:"GET"; sid:1;)
            alert http any any -> any any (msg:"event and http.method"; decode-event:\(ev); http.method; content:"GET"; sid:2;)
            alert tcp any any -> any 80 (msg:"stream content alone"; content:"GET"; sid:3;)
            """
        let n = try S6.alerts(rules, frames)
        #expect(n[1] == 1 && n[2] == 1, "the session with the bad option only; \(n)")
        #expect(n[3] == 2, "\(n)")
    }

    /// Review: on a raw-IP link (NFQUEUE) the sender's MAC comes from the queue, also for an
    /// alert on a packet that never reached a flow; and a dropped one is in the drop log.
    @Test func flowlessAlertNamesTheSenderAndLogsTheDrop() throws {
        var parser = RuleParser()
        parser.load(text: "drop pkthdr any any -> any any (msg:\"t\"; decode-event:\(Self.name(.ipv4Truncated)); sid:9;)", file: "t.rules")
        let engine = Engine(config: EngineConfig())
        engine.loadDetection(DetectDefinitions(ruleSet: parser.finish()))
        let ip = Array(Self.truncated.dropFirst(14))
        let mac = MACAddress(value: 0x0200_0000_0009)
        let d = ip.withByteView { v in
            engine.process(frame: v, linkType: .raw, timestamp: Timestamp(seconds: 1_700_000_000, micros: 0), wireLength: v.count, sourceMAC: mac)
        }
        #expect(d.verdict == .drop)
        let lines = String(decoding: engine.eve.buffer, as: UTF8.self).split(separator: "\n")
        let alert = lines.first { $0.contains("\"event_type\":\"alert\"") }
        #expect(alert?.contains("02:00:00:00:00:09") == true, "\(lines)")
        #expect(lines.contains { $0.contains("\"event_type\":\"drop\"") }, "\(lines)")
    }
}
