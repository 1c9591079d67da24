import Testing
import UTMCore
import UTMAppLayer
@testable import UTMDetect
import UTMFlow
@testable import UTMEngine

/// Review 11c (evtiming + the lead's flowless packets): failing tests for the lead.
@Suite struct Review11CTests {
    typealias T = EngineTraffic
    typealias S6 = Session6KeywordEngineTests

    // MARK: Held app events read as another protocol's

    /// IDS mode: an HTTP/1 `Upgrade: h2c` request with a header line without a colon raises
    /// http.request_field_missing_colon (bit 1) while packet rules see no protocol; the event is
    /// held. The server's 101 switches the flow to HTTP/2, so the client's next packet sees
    /// http2 and the held bit 1 is ORed in as http2's bit 1, invalid_frame_data: a false
    /// http2 alert, and the http event never matches. Inline: the http event once, no http2.
    @Test(arguments: [false, true]) func heldHTTPEventIsNotAnHTTP2Event(ids: Bool) {
        let request = "GET /up HTTP/1.1\r\nHost: h.example\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nBadLineWithoutColon\r\n\r\n"
        let switching = Array("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n".utf8)
            + HTTP2EngineTests.frame(4, 0, 0, []) + HTTP2EngineTests.frame(1, 0x4, 1, [0x88])
            + HTTP2EngineTests.frame(0, 0x1, 1, Array("hi".utf8))
        let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + HTTP2EngineTests.frame(4, 0, 0, [])
        let frames = T.tcpSession(v6: false, sport: 44100, dport: 80, exchanges: [
            (Array(request.utf8), switching), (preface, HTTP2EngineTests.frame(4, 0x1, 0, [])),
        ]) + T.round()
        let rules = """
            alert http any any -> any any (msg:"http missing colon"; app-layer-event:http.request_field_missing_colon; sid:1;)
            alert http2 any any -> any any (msg:"http2 invalid frame data"; app-layer-event:http2.invalid_frame_data; sid:2;)
            """
        let n = EventTimingTests.alerts(rules, frames, ids: ids)
        #expect(n[2] == nil, "ids \(ids): an HTTP/1 event read as HTTP/2's: \(n)")
        // Lead: in IDS mode the held HTTP/1 event is dropped (counted in `pendingEventsLost`)
        // when the next packet shows HTTP/2: an `http` event rule cannot match a packet whose
        // protocol is http2. Inline it matched on the request itself.
        #expect(n[1] == (ids ? nil : 1), "ids \(ids): \(n)")
    }

    // MARK: Held fragments and unreadable transport headers

    /// A TCP fragment has no TCP header here (flags, seq and ack read 0): Suricata's `flags`,
    /// `seq` and `ack` need a decoded TCP header (PKT_IS_TCP), so GPL SCAN NULL (sid 2100623)
    /// never matches a fragment. Here every held TCP fragment is a "NULL scan".
    @Test func tcpFragmentIsNoNullScan() throws {
        let tcp = T.tcp(40007, 80, seq: 77, ack: 88, flags: T.psh | T.ackFlag, [UInt8](repeating: 0x42, count: 40))
        let frames = [
            S6.ipv4(proto: 6, flags: 0x2000, Array(tcp[0 ..< 24])),
            S6.ipv4(proto: 6, flags: 0x2003, Array(tcp[24 ..< 48])),
        ]
        let rules = """
            alert tcp any any -> any any (msg:"GPL SCAN NULL"; flow:stateless; ack:0; flags:0; seq:0; sid:2100623;)
            """
        let n = try S6.alerts(rules, frames)
        #expect(n[2100623] == nil, "held TCP fragments (no TCP header decoded) matched flags:0/seq:0/ack:0: \(n)")
    }

    /// The same with the transport header unreadable (data offset 0): no TCP header.
    @Test func unreadableTCPHeaderIsNoNullScan() throws {
        let frame = T.ip(v6: false, proto: 6, toServer: true,
                         T.be16(40100) + T.be16(80) + T.be32(0) + T.be32(0) + [0x00, 0x00] + T.be16(512) + [0, 0, 0, 0])
        let n = try S6.alerts("""
            alert tcp any any -> any any (msg:"GPL SCAN NULL"; flow:stateless; ack:0; flags:0; seq:0; sid:2100623;)
            """, [frame])
        #expect(n[2100623] == nil, "\(n)")
    }

    /// An ICMP fragment: no ICMP header decoded, type and code read 0. Suricata's itype/icode
    /// need an ICMP header; here every ICMP fragment is an "Echo Reply" (GPL ICMP_INFO sid 2100408).
    @Test func icmpFragmentIsNoEchoReply() throws {
        let icmp: [UInt8] = [8, 0, 0, 0, 0, 1, 0, 1] + [UInt8](repeating: 0x61, count: 40)
        let frames = [
            S6.ipv4(proto: 1, flags: 0x2000, Array(icmp[0 ..< 24])),
            S6.ipv4(proto: 1, flags: 0x2003, Array(icmp[24 ..< 48])),
        ]
        let n = try S6.alerts("""
            alert icmp any any -> any any (msg:"GPL ICMP_INFO Echo Reply"; icode:0; itype:0; sid:2100408;)
            """, frames)
        #expect(n[2100408] == nil, "held ICMP fragments matched itype:0/icode:0: \(n)")
    }

    /// Suricata: a fragment meets no rule whose ports are not `any` (detect.c: PKT_IS_FRAGMENT
    /// returns false for a rule without SIG_FLAG_DP_ANY/SP_ANY). Here the port 0 a fragment is
    /// given satisfies a negated port or a range from 0.
    @Test func fragmentMeetsNoRuleNamingPorts() throws {
        let udp: [UInt8] = T.be16(40005) + T.be16(80) + T.be16(48) + [0, 0] + [UInt8](repeating: 0x41, count: 40)
        let frames = [
            S6.ipv4(proto: 17, flags: 0x2000, Array(udp[0 ..< 24])),
            S6.ipv4(proto: 17, flags: 0x2003, Array(udp[24 ..< 48])),
        ]
        let n = try S6.alerts("""
            alert udp any any -> any !53 (msg:"not DNS"; sid:1;)
            alert udp any any -> any 0:1023 (msg:"low port"; sid:2;)
            """, frames)
        #expect(n[1] == nil && n[2] == nil, "fragments matched rules naming ports: \(n)")
    }

    // MARK: Packets without a flow and flowbits

    /// Suricata's flowbits keywords never match a packet without a flow (detect-flowbits.c:
    /// `if (p->flow == NULL) return 0;`, isnotset included). A packet the full flow table has
    /// no room for meets `flowbits:isnotset` rules here.
    @Test func flowlessPacketMeetsNoIsnotset() {
        let engine = FlowlessPacketTests.engine("""
            alert udp any any -> any 9999 (msg:"isnotset needs a flow"; content:"attack"; flowbits:isnotset,seen; sid:30;)
            """) { c in c.flow.capacity = 2 }
        for (i, f) in FlowlessPacketTests.fill().enumerated() {
            f.withByteView { v in
                _ = engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_699_999_999, micros: Int32(i)),
                                   wireLength: v.count)
            }
        }
        let (events, _) = FirewallEngineTests.run(engine, [FlowlessPacketTests.attackUDP])
        #expect(engine.stats.untracked == 1)
        #expect(FlowlessPacketTests.sids(events)[30] == nil, "\(FlowlessPacketTests.sids(events))")
    }
}
