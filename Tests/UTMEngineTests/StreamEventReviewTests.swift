import Testing
import UTMCore
import UTMDetect
import UTMFlow
import AllocationCounter
@testable import UTMEngine

/// Stream events the session 10 review found missing or allocating through the engine: stream
/// and app-layer rules with `stream-event` see the events of their own packet (they were
/// gathered only after the TCP step that inspects them), and event packets allocate nothing.
@Suite struct StreamEventEngineReviewTests {
    /// A request sent with PSH but no ACK flag and a non-zero ACK number: the state machine
    /// raises pkt_broken_ack in `track`; the HTTP parser sees the request in the same packet.
    static func frames() -> [[UInt8]] {
        let t = EngineTraffic.self
        let sport: UInt16 = 43000
        let c: UInt32 = 3_000_000, s: UInt32 = 8_000_000
        let request = Array("GET /probe HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let n = UInt32(request.count)
        func up(_ seq: UInt32, _ ack: UInt32, _ flags: UInt8, _ data: [UInt8] = []) -> [UInt8] {
            t.ip(v6: false, proto: 6, toServer: true, t.tcp(sport, 80, seq: seq, ack: ack, flags: flags, data))
        }
        func down(_ seq: UInt32, _ ack: UInt32, _ flags: UInt8, _ data: [UInt8] = []) -> [UInt8] {
            t.ip(v6: false, proto: 6, toServer: false, t.tcp(80, sport, seq: seq, ack: ack, flags: flags, data))
        }
        let response = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)
        return [
            up(c, 0, t.syn),
            down(s, c + 1, t.syn | t.ackFlag),
            up(c + 1, s + 1, t.ackFlag),
            up(c + 1, s + 1, t.psh, request),
            down(s + 1, c + 1 + n, t.psh | t.ackFlag, response),
            up(c + 1 + n, s + 1 + UInt32(response.count), t.ackFlag),
        ]
    }

    @Test func appLayerRuleSeesTheStateMachineEventOfItsPacket() throws {
        let rules = """
            alert tcp any any -> any any (msg:"packet rule"; stream-event:pkt_broken_ack; sid:32;)
            alert http any any -> any any (msg:"http rule"; stream-event:pkt_broken_ack; http.method; content:"GET"; sid:31;)
            alert tcp any any -> any any (msg:"stream content rule"; stream-event:pkt_broken_ack; flow:to_server; content:"GET /probe"; sid:33;)
            alert http any any -> any any (msg:"http control"; http.method; content:"GET"; sid:34;)
            """
        let n = try Session6KeywordEngineTests.alerts(rules, Self.frames())
        #expect(n[31] == 1 && n[32] == 1 && n[33] == 1 && n[34] == 1, "\(n)")
    }
}

@Suite struct StreamEventReviewAllocationTests {
    static func frames(sport: UInt16, syn: Bool = true, badAck: Bool = true) -> [[UInt8]] {
        let t = EngineTraffic.self
        let c: UInt32 = 4_000_000 + UInt32(sport), s: UInt32 = 7_000_000
        func up(_ seq: UInt32, _ ack: UInt32, _ flags: UInt8, _ data: [UInt8] = []) -> [UInt8] {
            t.ip(v6: false, proto: 6, toServer: true, t.tcp(sport, 80, seq: seq, ack: ack, flags: flags, data))
        }
        func down(_ seq: UInt32, _ ack: UInt32, _ flags: UInt8, _ data: [UInt8] = []) -> [UInt8] {
            t.ip(v6: false, proto: 6, toServer: false, t.tcp(80, sport, seq: seq, ack: ack, flags: flags, data))
        }
        var f = [
            up(c, 0, t.syn),
            down(s, c + 1, t.syn | t.ackFlag),
            up(c + 1, s + 1, t.ackFlag),
        ]
        if syn { f.append(up(c + 500, 0, t.syn)) }  // est_syn_resend_diff_seq (was an [a, b] literal: allocated)
        f.append(up(c + 1, badAck ? s + 2_000_000 : s + 1, 0x04 | t.ackFlag))  // RST, invalid ACK (was an [a, b] literal)
        return f
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func anomalousPacketsAllocate(_ v: (Bool, Bool)) {
        guard allocationCounterWorks() else { return }
        let engine = Engine()
        var frames: [[UInt8]] = []
        for i in 0 ..< 4 { frames += Self.frames(sport: UInt16(44000 + i), syn: v.0, badAck: v.1) }
        let n = steadyStateAllocations(engine, frames, rounds: 10)
        #expect(n == 0, "synDiffSeq=\(v.0) rstInvalidAck=\(v.1): \(n) allocations")
    }
}

/// A reassembly event (the segment that overlaps queued bytes with other data) reaches the
/// packet rules of its packet. Stream chunks carry the events raised before their delivery
/// (`StreamChunk.events`); this overlap is found while the queue drains after the delivery, so
/// a rule joining it to stream content does not see it (README "Stream events, session 10").
@Suite struct StreamEventReassemblyReviewTests {
    @Test func packetRuleSeesReassemblyEventOfItsPacket() throws {
        let rules = """
            alert tcp any any -> any any (msg:"overlap, packet rule"; stream-event:reassembly_overlap_different_data; sid:42;)
            alert tcp any any -> any any (msg:"content control"; flow:to_server; content:"abcdefgh"; sid:43;)
            """
        let n = try Session6KeywordEngineTests.alerts(rules, StreamEventAllocationTests.anomalies(sport: 42000))
        #expect(n[42] == 1, "\(n)")
        #expect(n[43] == 1, "\(n)")
    }
}
