import Testing
import AllocationCounter
import UTMCore
import UTMFlow
import UTMDetect
@testable import UTMEngine

/// Stream events (README "Stream events, session 10") are raised on the packet path: a packet
/// raising them, and counting them, must not allocate either.
@Suite(.serialized) struct StreamEventAllocationTests {
    /// One session per port with a SYN carrying an ACK number, a retransmission, an overlap
    /// with different bytes and a segment far past the receiver's window, then a normal close.
    static func anomalies(sport: UInt16) -> [[UInt8]] {
        let t = EngineTraffic.self
        let c: UInt32 = 2_000_000 + UInt32(sport), s: UInt32 = 9_000_000 + UInt32(sport)
        let request = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        let n = UInt32(request.count)
        func up(_ seq: UInt32, _ ack: UInt32, _ flags: UInt8, _ data: [UInt8] = []) -> [UInt8] {
            t.ip(v6: false, proto: 6, toServer: true, t.tcp(sport, 80, seq: seq, ack: ack, flags: flags, data))
        }
        func down(_ seq: UInt32, _ ack: UInt32, _ flags: UInt8, _ data: [UInt8] = []) -> [UInt8] {
            t.ip(v6: false, proto: 6, toServer: false, t.tcp(80, sport, seq: seq, ack: ack, flags: flags, data))
        }
        return [
            up(c, 1234, t.syn),
            down(s, c + 1, t.syn | t.ackFlag),
            up(c + 1, s + 1, t.ackFlag),
            up(c + 1, s + 1, t.psh | t.ackFlag, request),
            up(c + 1, s + 1, t.psh | t.ackFlag, request),
            up(c + 1 + n + 8, s + 1, t.psh | t.ackFlag, Array("XXXX".utf8)),
            up(c + 1 + n, s + 1, t.psh | t.ackFlag, Array("abcdefghYYYY".utf8)),
            up(c + 1 + n + 200_000, s + 1, t.psh | t.ackFlag, Array("far".utf8)),
            down(s + 1, c + 1 + n + 12, t.ackFlag),
            up(c + 1 + n + 12, s + 1, t.fin | t.ackFlag),
            down(s + 1, c + 2 + n + 12, t.fin | t.ackFlag),
            up(c + 2 + n + 12, s + 2, t.ackFlag),
        ]
    }

    static func round() -> [[UInt8]] {
        var frames = EngineTraffic.round()
        for c in 0 ..< 4 { frames += anomalies(sport: UInt16(42000 + c)) }
        return frames
    }

    static let raised: [StreamEvents] = [.pktBrokenAck, .pktRetransmission, .overlapDifferentData, .estPacketOutOfWindow]

    @Test func packetsRaisingStreamEventsDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        let engine = Engine()
        var before: [UInt64] = []
        let rounds = 10
        let n = steadyStateAllocations(engine, Self.round(), rounds: rounds) {
            before = Self.raised.map { Self.count(engine, $0) }
        }
        print("Engine allocations with stream events: \(n) in \(rounds) rounds")
        #expect(n == 0, "stream events allocated \(n) times")
        for (i, e) in Self.raised.enumerated() {
            #expect(Self.count(engine, e) - before[i] == UInt64(rounds * 4), "\(e)")
        }
    }

    /// With `stream-event:` rules loaded: the event rules run on those packets and alert,
    /// still without allocating.
    @Test func streamEventRulesDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        var parser = RuleParser()
        parser.load(text: """
            alert tcp any any -> any any (msg:"retransmission"; stream-event:pkt_retransmission; sid:1;)
            alert tcp any any -> any any (msg:"overlap"; stream-event:reassembly_overlap_different_data; sid:2;)
            alert tcp any any -> any any (msg:"window"; flow:to_server; stream-event:est_packet_out_of_window; sid:3;)
            alert tcp any any -> any any (msg:"stream"; flow:established; content:"HTTP/1.1"; sid:4;)
            """, file: "se.rules")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: parser.finish()))
        var alertsBefore = engine.stats.alerts
        let rounds = 10
        let n = steadyStateAllocations(engine, Self.round(), rounds: rounds) { alertsBefore = engine.stats.alerts }
        print("Engine allocations with stream-event rules: \(n); alerts \(engine.stats.alerts - alertsBefore)")
        #expect(n == 0, "stream-event rules allocated \(n) times")
        #expect(engine.stats.alerts - alertsBefore >= UInt64(rounds * 4 * 3))
    }

    /// The counters reach the stats event as Suricata's `stream.<event>`.
    @Test func countersAreInTheStatsEvent() {
        let engine = Engine()
        var clock: Int64 = 1_700_000_000
        replayRound(engine, Self.anomalies(sport: 42000), clock: &clock)
        engine.finish()
        let text = String(decoding: engine.eve.buffer, as: UTF8.self)
        #expect(text.contains(#""stream":{"#) && !text.contains(#""3whs_synack_in_wrong_direction":0"#), "only events that happened")
        #expect(text.contains(#""pkt_broken_ack":1,"#))
        #expect(text.contains(#""pkt_retransmission":1,"#))
        #expect(text.contains(#""reassembly_overlap_different_data":1,"#))
        #expect(text.contains(#""est_packet_out_of_window":1,"#))
        #expect(text.contains(#""reassembly_depth_reached":0}"#))
    }

    static func count(_ engine: Engine, _ e: StreamEvents) -> UInt64 {
        let bit = e.rawValue.trailingZeroBitCount
        return engine.flows.streamEventCounts[bit] &+ engine.reassembler.eventCounts[bit]
    }
}
