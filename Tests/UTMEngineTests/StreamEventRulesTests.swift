import Testing
import UTMCore
import UTMDetect
import UTMFlow
@testable import UTMEngine

/// `stream-event:` rules through the engine (README "Stream events, session 10"): the TCP
/// state machine's and reassembly's events of a packet reach the packet's rules, on traffic
/// built here; clean sessions next to it raise none. Each run goes through the rules and the
/// bundle round trip (`Session6KeywordEngineTests.alerts`).
@Suite struct StreamEventRulesTests {
    typealias S6 = Session6KeywordEngineTests

    /// Clean sessions (HTTP over v4 and v6, TLS, DNS) around the anomalous one.
    static var traffic: [[UInt8]] {
        var frames = EngineTraffic.tcpSession(v6: false, sport: 41000, dport: 80, exchanges: [
            (Array("GET /a HTTP/1.1\r\nHost: x\r\n\r\n".utf8), Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)),
        ])
        frames += StreamEventAllocationTests.anomalies(sport: 42000)
        frames += EngineTraffic.tcpSession(v6: true, sport: 41001, dport: 8080, exchanges: [
            (Array("GET /b HTTP/1.1\r\nHost: y\r\n\r\n".utf8), Array("HTTP/1.1 304 Not Modified\r\n\r\n".utf8)),
        ])
        return frames
    }

    @Test func eventRulesMatchThePacketsThatRaisedThem() throws {
        let rules = """
            alert tcp any any -> any any (msg:"broken ack"; stream-event:pkt_broken_ack; sid:1;)
            alert tcp any any -> any any (msg:"retransmission"; stream-event:pkt_retransmission; sid:2;)
            alert tcp any any -> any any (msg:"overlap"; stream-event:reassembly_overlap_different_data; sid:3;)
            alert tcp any any -> any any (msg:"window"; stream-event:est_packet_out_of_window; sid:4;)
            alert tcp any any -> any any (msg:"rule file spelling"; stream-event:3whs_synack_resend_with_different_ack; sid:5;)
            alert tcp any any -> any any (msg:"EVE spelling"; stream-event:stream.pkt_retransmission; sid:6;)
            alert tcp any any -> any any (msg:"direction"; flow:to_server; stream-event:pkt_retransmission; sid:7;)
            alert tcp any any -> any any (msg:"wrong direction"; flow:to_client; stream-event:pkt_retransmission; sid:8;)
            alert tcp any any -> any any (msg:"gap"; stream-event:reassembly_seq_gap; sid:9;)
            """
        let n = try S6.alerts(rules, Self.traffic)
        #expect(n[1] == 1 && n[2] == 1 && n[3] == 1 && n[4] == 1, "\(n)")
        #expect(n[6] == 1 && n[7] == 1, "\(n)")
        #expect(n[5] == nil && n[8] == nil && n[9] == nil, "no such event in this traffic; \(n)")
    }

    /// The same rules over the clean sessions alone: nothing.
    @Test func cleanTrafficRaisesNoStreamEvent() throws {
        var rules = ""
        for bit in 0 ..< StreamEvents.definedBits {
            rules += "alert tcp any any -> any any (msg:\"e\"; stream-event:\(StreamEvents.name(ofBit: bit)!); sid:\(bit + 1);)\n"
        }
        let n = try S6.alerts(rules, EngineTraffic.round())
        #expect(n.isEmpty, "\(n)")
    }

    /// Suricata's events the stream layer never raises are skipped with their name; the
    /// stream-events.rules spellings load.
    @Test func unraisedEventsAreSkippedWithTheirName() {
        var parser = RuleParser()
        parser.load(text: """
            alert tcp any any -> any any (msg:"a"; stream-event:3whs_async_wrong_seq; sid:1;)
            alert tcp any any -> any any (msg:"b"; stream-event:wrong_thread; sid:2;)
            alert tcp any any -> any any (msg:"c"; stream-event:est_synack_resend_with_different_ack; sid:3;)
            alert tcp any any -> any any (msg:"d"; stream-event:FIN_SYN; sid:4;)
            """, file: "se.rules")
        let set = parser.finish()
        #expect(set.signatures.map(\.sid) == [3, 4])
        let skipped = set.report.skipped.map(\.description)
        #expect(skipped.count == 2 && skipped.contains { $0.contains("3whs_async_wrong_seq") }
                && skipped.contains { $0.contains("wrong_thread") }, "\(skipped)")
    }
}
