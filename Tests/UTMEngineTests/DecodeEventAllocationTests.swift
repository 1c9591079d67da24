import AllocationCounter
import Testing
import UTMCore
import UTMDecode
import UTMDetect
@testable import UTMEngine

/// The decoder-event path in steady state: packets raising events (IPv4 options, IPv6
/// extension headers and their options, ICMP tables, a TCP header that fails to decode,
/// overlapping fragments) among ordinary traffic, with a rule for every decoder event loaded,
/// must not allocate: the checks are bit ORs and bounded walks, the flowless inspection reuses
/// the engine's state.
@Suite struct DecodeEventAllocationTests {
    typealias T = EngineTraffic
    typealias S6 = Session6KeywordEngineTests

    static func eventFrames() -> [[UInt8]] {
        let udp: [UInt8] = T.be16(40000) + T.be16(9999) + T.be16(12) + [0, 0] + Array("ping".utf8)
        let udp48: [UInt8] = T.be16(40005) + T.be16(9999) + T.be16(48) + [0, 0] + [UInt8](repeating: 0x41, count: 40)
        var evil = Array(udp48[8..<16])
        evil[3] ^= 0xFF
        var shortOffset = T.tcp(40001, 80, seq: 1, ack: 0, flags: T.syn)
        shortOffset[12] = 0x40
        return [
            S6.ipv4(proto: 17, options: [0x44, 0x01, 0, 0], udp),
            S6.ipv4(proto: 17, options: [148, 4, 0, 0, 148, 4, 0, 0, 7, 7, 3, 0, 0, 0, 0, 0], udp),
            T.ip(v6: false, proto: 6, toServer: true, shortOffset),
            T.ip(v6: false, proto: 1, toServer: true, [8, 1, 0, 0, 0, 7, 0, 9]),
            T.ip(v6: true, proto: 43, toServer: true, [60, 0, 0, 0, 0, 0, 0, 0] + [17, 0, 1, 0, 1, 2, 0, 0] + udp),
            T.ip(v6: true, proto: 58, toServer: true, [1, 9, 0, 0, 0, 0, 0, 0]),
            S6.ipv4(proto: 17, flags: 0x2000, Array(udp48[0..<16])),
            S6.ipv4(proto: 17, flags: 0x2001, evil),
            S6.ipv4(proto: 17, flags: 2, Array(udp48[16...])),
        ]
    }

    /// The events the frames raise, one rule each (`everyEventRuleLoaded` loads all 64).
    static let names = ["ipv4.opt_invalid_len", "ipv4.opt_duplicate", "ipv4.opt_malformed", "tcp.invalid_optlen",
                        "icmpv4.unknown_code", "ipv6.rh_type_0", "ipv6.zero_len_padn", "icmpv6.unknown_code",
                        "ipv4.frag_overlap"]

    @Test func decoderEventsDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        var rules = ""
        for (i, name) in Self.names.enumerated() {
            rules += "alert pkthdr any any -> any any (msg:\"\(name)\"; decode-event:\(name); sid:\(100 + i);)\n"
        }
        var parser = RuleParser()
        parser.load(text: rules, file: "decode-events.rules")
        let set = parser.finish()
        #expect(set.report.skipped.isEmpty && set.report.errors.isEmpty)
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        var alertsBefore = engine.stats.alerts
        let traffic = T.round() + Self.eventFrames()
        let n = steadyStateAllocations(engine, traffic, rounds: 10) { alertsBefore = engine.stats.alerts }
        print("Engine allocations with decoder event rules: \(n); alerts \(engine.stats.alerts - alertsBefore)")
        #expect(n == 0, "the decoder event path allocated \(n) times")
        // Every round: the two option packets (three events), the undecodable TCP, ICMPv4 code,
        // routing type 0 and empty PadN (one packet), ICMPv6 code, two overlap alerts.
        #expect(engine.stats.alerts - alertsBefore == 10 * 10)
    }

    /// A rule for every decoder event: a packet then meets more than 32 candidates, which the
    /// detect engine orders with a heap sort whose step was a nested function (debug builds
    /// gave it a heap context: it allocated on every such packet).
    @Test func everyEventRuleLoaded() {
        guard allocationCounterWorks() else { return }
        var rules = ""
        for bit in 0..<64 {
            guard let name = DecodeEvents.name(ofBit: bit) else { continue }
            rules += "alert pkthdr any any -> any any (msg:\"\(name)\"; decode-event:\(name); sid:\(200 + bit);)\n"
            // Sixty more on the same events: a packet with one event meets over 32 rules.
            rules += "alert pkthdr any any -> any any (msg:\"\(name) too\"; decode-event:\(name); sid:\(300 + bit);)\n"
        }
        for i in 0..<40 {
            rules += "alert pkthdr any any -> any any (msg:\"opt \(i)\"; decode-event:ipv4.opt_invalid_len; sid:\(400 + i);)\n"
        }
        var parser = RuleParser()
        parser.load(text: rules, file: "decode-events.rules")
        let set = parser.finish()
        #expect(set.report.skipped.isEmpty && set.report.errors.isEmpty)
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        var alertsBefore = engine.stats.alerts
        let n = steadyStateAllocations(engine, T.round() + Self.eventFrames(), rounds: 10) { alertsBefore = engine.stats.alerts }
        #expect(n == 0, "\(n) allocations with over 32 candidates per event packet")
        #expect(engine.stats.alerts - alertsBefore >= 10 * 50)
    }
}
