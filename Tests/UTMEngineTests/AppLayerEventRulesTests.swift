import Testing
import AllocationCounter
import UTMCore
import UTMAppLayer
import UTMDetect
@testable import UTMEngine

/// `app-layer-event:` rules through the engine (session 10): the HTTP/1, TLS and DNS parsers
/// and protocol detection raise Suricata's anomaly events on the packet whose bytes showed
/// the anomaly; event rules alert on those packets and only on them; the stats event counts
/// every event by protocol and name.
@Suite struct AppLayerEventRulesTests {
    typealias T = EngineTraffic
    typealias S6 = Session6KeywordEngineTests

    /// A keep-alive HTTP session with a header line missing its colon and an HTTP/1.1 request
    /// without Host, answered by a response whose chunk size is not hex.
    static func badHTTP(sport: UInt16, isn: UInt32? = nil) -> [[UInt8]] {
        T.tcpSession(v6: false, sport: sport, dport: 80, exchanges: [
            (Array("GET /a HTTP/1.1\r\nHost: www.example.com\r\nNoColonHere\r\n\r\n".utf8),
             Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)),
            (Array("GET /b HTTP/1.1\r\nUser-Agent: x\r\n\r\n".utf8),
             Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8)),
        ], isn: isn)
    }

    /// The server talks first (a banner) on port 80, then the client speaks HTTP.
    static func serverFirst(sport: UInt16) -> [[UInt8]] {
        T.tcpSession(v6: false, sport: sport, dport: 80, exchanges: [
            ([], Array("hello\r\n".utf8)),
            (Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), Array("HTTP/1.1 204 No Content\r\n\r\n".utf8)),
        ])
    }

    /// A TLS ClientHello followed by a heartbeat record (Heartbleed's carrier).
    static func heartbeat(sport: UInt16) -> [[UInt8]] {
        T.tcpSession(v6: false, sport: sport, dport: 443, exchanges: [
            (T.clientHello(sni: "hb.example.com") + [0x18, 0x03, 0x03, 0x00, 0x03, 0x01, 0x40, 0x00], T.serverHello()),
        ])
    }

    /// A DNS query with the reserved Z bit set, and its normal response.
    static func zFlagDNS(sport: UInt16) -> [[UInt8]] {
        var frames = T.dns(sport: sport, name: "z.example.net")
        // Ethernet 14 + IPv4 20 + UDP 8, then the DNS header: flags' low byte is the 4th byte.
        frames[0][14 + 20 + 8 + 3] |= 0x40
        return frames
    }

    static let rules = """
        alert http any any -> any any (msg:"missing colon"; flow:established,to_server; app-layer-event:http.request_field_missing_colon; sid:1;)
        alert http any any -> any any (msg:"no host"; flow:established,to_server; app-layer-event:http.missing_host_header; sid:2;)
        alert http any any -> any any (msg:"chunk len"; flow:established,to_client; app-layer-event:http.invalid_response_chunk_len; sid:3;)
        alert http any any -> any any (msg:"ambiguous host, never here"; flow:established; app-layer-event:http.host_header_ambiguous; sid:4;)
        alert tls any any -> any any (msg:"heartbeat"; flow:established; app-layer-event:tls.heartbeat_message; sid:5;)
        alert dns any any -> any any (msg:"z flag"; app-layer-event:dns.z_flag_set; sid:6;)
        alert ip any any -> any any (msg:"server spoke first"; flow:established; app-layer-event:applayer_wrong_direction_first_data; sid:7;)
        alert http any any -> any any (msg:"wrong direction for the flag"; flow:established,to_client; app-layer-event:http.request_field_missing_colon; sid:8;)
        alert tls any any -> any any (msg:"tls event on an http rule's protocol, never"; app-layer-event:tls.invalid_record_type; sid:9;)
        """

    @Test func eventRulesAlertOnTheirEventsOnly() throws {
        let frames = Self.badHTTP(sport: 41000) + Self.serverFirst(sport: 41001) + Self.heartbeat(sport: 41002)
            + Self.zFlagDNS(sport: 41003) + T.round()
        let n = try S6.alerts(Self.rules, frames)
        #expect(n[1] == 1 && n[2] == 1 && n[3] == 1, "\(n)")
        #expect(n[5] == 1 && n[6] == 1 && n[7] == 1, "\(n)")
        // The clean office round (HTTP, TLS, DNS) raised nothing; the direction and protocol
        // of a rule still hold.
        #expect(n[4] == nil && n[8] == nil && n[9] == nil, "\(n)")
    }

    @Test func cleanTrafficRaisesNoEvent() throws {
        let engine = Engine()
        var p = RuleParser()
        p.load(text: Self.rules, file: "ev.rules")
        engine.loadDetection(DetectDefinitions(ruleSet: p.finish()))
        let frames = T.round()
        for i in frames.indices {
            _ = frames[i].withByteView { v in
                engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)), wireLength: v.count)
            }
        }
        #expect(engine.stats.appEvents.counts.allSatisfy { $0 == 0 })
        #expect(engine.stats.alerts == 0)
    }

    /// The stats event counts each event under its protocol and Suricata name (those that
    /// happened).
    @Test func statsCountEachEvent() {
        let engine = Engine()
        let frames = Self.badHTTP(sport: 41100) + Self.heartbeat(sport: 41101) + Self.zFlagDNS(sport: 41102)
        for i in frames.indices {
            _ = frames[i].withByteView { v in
                engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)), wireLength: v.count)
            }
        }
        let missing = AppLayerEvents.lookup("http.request_field_missing_colon")!.bit
        #expect(engine.stats.appEvents.count(.http, bit: missing) == 1)
        #expect(engine.stats.appEvents.count(.tls, bit: AppLayerEvents.lookup("tls.heartbeat_message")!.bit) == 1)
        #expect(engine.stats.appEvents.count(.dns, bit: AppLayerEvents.lookup("dns.z_flag_set")!.bit) == 1)
        engine.eve.reset()
        engine.writeStats()
        let text = String(decoding: engine.eve.buffer, as: UTF8.self)
        // Only the events that happened, by protocol.
        #expect(text.contains(#""event":{"http":{"request_field_missing_colon":1,"#), "\(text)")
        #expect(text.contains(#""tls":{"heartbeat_message":1}"#) && text.contains(#""dns":{"z_flag_set":1}"#), "\(text)")
        #expect(!text.contains("gzip_decompression_failed") && !text.contains(#""applayer":"#), "\(text)")
    }
}

/// DESIGN: no allocation per packet on the event path either: parsers raising events, the
/// engine ORing and counting them, event rules evaluated and alerting.
@Suite(.serialized) struct AppLayerEventAllocationTests {
    @Test func eventRaisingFlowsDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        var frames = EngineTraffic.round()
        for c in 0 ..< 4 {
            frames += AppLayerEventRulesTests.badHTTP(sport: UInt16(41200 + c))
            frames += AppLayerEventRulesTests.heartbeat(sport: UInt16(41210 + c))
            frames += AppLayerEventRulesTests.zFlagDNS(sport: UInt16(41220 + c))
        }
        var p = RuleParser()
        p.load(text: AppLayerEventRulesTests.rules, file: "ev.rules")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: p.finish()))
        var alertsBefore: UInt64 = 0
        let rounds = 10
        let n = steadyStateAllocations(engine, frames, rounds: rounds) { alertsBefore = engine.stats.alerts }
        #expect(n == 0, "the event path allocated \(n) times")
        // sids 1, 2, 3, 5 and 6 once per event-raising flow each round.
        #expect(engine.stats.alerts - alertsBefore == UInt64(rounds * 4 * 5))
    }
}
