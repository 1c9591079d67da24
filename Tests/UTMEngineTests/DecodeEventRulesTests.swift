import Testing
import UTMCore
import UTMDecode
import UTMDetect
@testable import UTMEngine

/// `decode-event:` rules over traffic built here, through the engine and the bundle codec
/// (`S6.alerts`): events of decoded packets with a flow, of a packet that fails to decode, and
/// of fragments held for reassembly; Suricata's names, with and without the `decoder.` prefix.
@Suite struct DecodeEventRulesTests {
    typealias T = EngineTraffic
    typealias S6 = Session6KeywordEngineTests

    static let udp: [UInt8] = T.be16(40000) + T.be16(9999) + T.be16(12) + [0, 0] + Array("ping".utf8)

    /// IPv4 fragment of `udp48` at `offset` (a multiple of 8), built by `S6.ipv4` (id 0x1234).
    static func fragment(_ piece: [UInt8], offset: Int, more: Bool) -> [UInt8] {
        S6.ipv4(proto: 17, flags: UInt16(offset / 8) | (more ? 0x2000 : 0), piece)
    }

    static let udp48: [UInt8] = T.be16(40005) + T.be16(9999) + T.be16(48) + [0, 0] + [UInt8](repeating: 0x41, count: 40)

    @Test func decoderEventsReachTheirRules() throws {
        let rules = """
            alert pkthdr any any -> any any (msg:"IPv4 invalid option length"; decode-event:ipv4.opt_invalid_len; sid:1;)
            alert pkthdr any any -> any any (msg:"IPv4 duplicated option"; decode-event:ipv4.opt_duplicate; sid:2;)
            alert pkthdr any any -> any any (msg:"TCP data offset below 5"; decode-event:tcp.invalid_optlen; sid:3;)
            alert pkthdr any any -> any any (msg:"ICMPv4 unknown code"; decode-event:icmpv4.unknown_code; sid:4;)
            alert pkthdr any any -> any any (msg:"IPv6 routing type 0"; decode-event:ipv6.rh_type_0; sid:5;)
            alert pkthdr any any -> any any (msg:"IPv4 fragment overlap"; decode-event:ipv4.frag_overlap; sid:6;)
            alert pkthdr any any -> any any (msg:"EVE spelling"; decode-event:decoder.ipv4.frag_overlap; sid:7;)
            alert pkthdr any any -> any any (msg:"IPv6 fragment overlap"; decode-event:ipv6.frag_overlap; sid:8;)
            alert pkthdr any any -> any any (msg:"UDP hlen invalid"; decode-event:udp.hlen_invalid; sid:9;)
            alert udp any any -> any 9999 (msg:"every UDP packet that decoded"; sid:10;)
            """
        var evil = Array(Self.udp48[8..<16])
        evil[3] ^= 0xFF
        let frames: [[UInt8]] = [
            T.ip(v6: false, proto: 17, toServer: true, Self.udp),                                 // clean
            S6.ipv4(proto: 17, options: [0x44, 0x01, 0, 0], Self.udp),                            // 1, decoded
            S6.ipv4(proto: 17, options: [148, 4, 0, 0, 148, 4, 0, 0], Self.udp),                  // 2, decoded
            T.ip(v6: false, proto: 6, toServer: true, T.tcp(40001, 80, seq: 1, ack: 0, flags: T.syn).enumerated()
                .map { $0.offset == 12 ? 0x40 : $0.element }),                                    // 3, fails to decode
            T.ip(v6: false, proto: 1, toServer: true, [8, 1, 0, 0, 0, 7, 0, 9]),                  // 4, decoded
            T.ip(v6: true, proto: 43, toServer: true, [17, 0, 0, 0, 0, 0, 0, 0] + Self.udp),      // 5, decoded
            Self.fragment(Array(Self.udp48[0..<16]), offset: 0, more: true),                      // held
            Self.fragment(evil, offset: 8, more: true),                                           // held, overlap
            Self.fragment(Array(Self.udp48[16...]), offset: 16, more: false),                     // completes, overlap
        ]
        let n = try S6.alerts(rules, frames)
        #expect(n[1] == 1 && n[2] == 1 && n[3] == 1 && n[4] == 1 && n[5] == 1, "\(n)")
        // The overlapping fragment (held: no flow, judged by the event rules alone) and the
        // datagram it completes (first data kept, still marked).
        #expect(n[6] == 2 && n[7] == 2, "\(n)")
        #expect(n[8] == nil && n[9] == nil, "events the traffic does not raise: \(n)")
        // Decoded UDP to 9999, one alert per flow for this header-only rule: clean, the two
        // packets with options (one flow), routing type 0, the reassembly. The events never keep
        // a decodable packet from its ordinary rules.
        #expect(n[10] == 4, "\(n)")
    }

    /// Clean traffic meets no decoder event rule, whichever of the table's events it names.
    @Test func cleanTrafficRaisesNoDecoderEvent() throws {
        var rules = ""
        for bit in 0..<DecodeEvents.definedBits {
            rules += "alert pkthdr any any -> any any (msg:\"e\(bit)\"; decode-event:\(DecodeEvents.name(ofBit: bit)!); sid:\(100 + bit);)\n"
        }
        let frames: [[UInt8]] = [
            T.ip(v6: false, proto: 17, toServer: true, Self.udp),
            T.ip(v6: true, proto: 17, toServer: true, Self.udp),
            T.ip(v6: false, proto: 6, toServer: true, T.tcp(40001, 80, seq: 1, ack: 0, flags: T.syn)),
            T.ip(v6: false, proto: 1, toServer: true, [8, 0, 0, 0, 0, 7, 0, 9]),
            Self.fragment(Array(Self.udp48[0..<16]), offset: 0, more: true),
            Self.fragment(Array(Self.udp48[16...]), offset: 16, more: false),
            Self.fragment(Array(Self.udp48[8..<16]), offset: 8, more: true),
        ]
        let n = try S6.alerts(rules, frames)
        #expect(n.isEmpty, "\(n)")
    }

    /// The stats event counts packets per decoder event under `decoder.event`, by Suricata's name.
    @Test func countersInStatsEvent() {
        let engine = Engine(config: EngineConfig())
        let frames = [S6.ipv4(proto: 17, options: [0x44, 0x01, 0, 0], Self.udp),
                      S6.ipv4(proto: 17, options: [0x44, 0x01, 0, 0], Self.udp),
                      T.ip(v6: false, proto: 17, toServer: true, Self.udp)]
        for (i, frame) in frames.enumerated() {
            _ = frame.withByteView { v in
                engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)), wireLength: v.count)
            }
        }
        engine.eve.reset()
        engine.eve.setEnabled(.stats, true)
        engine.writeStats()
        let text = String(decoding: engine.eve.buffer, as: UTF8.self)
        #expect(text.contains(#""ipv4.opt_invalid_len":2"#), "\(text)")
        #expect(!text.contains(#""ipv4.trunc_pkt""#), "only events that happened; \(text)")
        #expect(text.contains(#""event":{"ipv4.opt_invalid_len":2}"#), "\(text)")
    }
}
