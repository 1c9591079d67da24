import Testing
import AllocationCounter
import UTMCore
import UTMAppLayer
@testable import UTMDetect
import UTMFlow
@testable import UTMEngine

/// When anomaly events reach their rules (session 11): an app-layer event raised on the packet
/// that reveals a flow's protocol is matched once in IDS mode as inline (IDS: by the
/// direction's next packet that sees the protocol, PendingAppEvents.swift); an overlap
/// conflict found while the out-of-order queue drains reaches stream rules on the packet's
/// first bytes; `dns.flooded` over UDP and TCP.
@Suite struct EventTimingTests {
    typealias T = EngineTraffic
    typealias S6 = Session6KeywordEngineTests

    /// Alerts per sid over `frames` with `rules`, inline or IDS. Every rule must load.
    static func alerts(_ rules: String, _ frames: [[UInt8]], ids: Bool,
                       sourceLocation: SourceLocation = #_sourceLocation) -> [Int: Int] {
        var p = RuleParser()
        p.load(text: rules, file: "timing.rules")
        let set = p.finish()
        #expect(set.report.errors.isEmpty && set.report.skipped.isEmpty,
                "\(set.report.errors + set.report.skipped)", sourceLocation: sourceLocation)
        var c = EngineConfig()
        c.modes.ids = ids
        let engine = Engine(config: c)
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        var counts: [Int: Int] = [:]
        for e in S6.events(S6.replayEVE(engine, frames)) where e["event_type"] as? String == "alert" {
            if let sid = (e["alert"] as? [String: Any])?["signature_id"] as? Int { counts[sid, default: 0] += 1 }
        }
        return counts
    }

    // MARK: App-layer events on the revealing packet

    /// The flow's first data packet is a request with `X-Bad : 1` (a blank before the colon:
    /// `http.request_header_invalid`); the session goes on (server ACK, response, client ACK,
    /// FINs), so IDS mode has a later client packet that sees HTTP.
    static func badHeaderFirst(sport: UInt16) -> [[UInt8]] {
        T.tcpSession(v6: false, sport: sport, dport: 80, exchanges: [
            (Array("GET /x HTTP/1.1\r\nHost: a.example\r\nX-Bad : 1\r\n\r\n".utf8),
             Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)),
            (Array("GET /y HTTP/1.1\r\nHost: a.example\r\n\r\n".utf8),
             Array("HTTP/1.1 204 No Content\r\n\r\n".utf8)),
        ])
    }

    static let httpRules = """
        alert http any any -> any any (msg:"bad header to server"; flow:established,to_server; app-layer-event:http.request_header_invalid; sid:1;)
        alert http any any -> any any (msg:"bad header any direction"; app-layer-event:http.request_header_invalid; sid:2;)
        alert http any any -> any any (msg:"with a buffer"; http.method; content:"GET"; app-layer-event:http.request_header_invalid; sid:3;)
        alert http any any -> any any (msg:"to client, never"; flow:to_client; app-layer-event:http.request_header_invalid; sid:4;)
        alert http any any -> any any (msg:"not raised"; app-layer-event:http.response_header_invalid; sid:5;)
        """

    @Test func appEventOnTheRevealingPacketMatchesOnceInBothModes() {
        let frames = Self.badHeaderFirst(sport: 43000) + T.round()
        for ids in [false, true] {
            let n = Self.alerts(Self.httpRules, frames, ids: ids)
            #expect(n[1] == 1 && n[2] == 1 && n[3] == 1, "ids \(ids): \(n)")
            #expect(n[4] == nil && n[5] == nil, "ids \(ids): \(n)")
        }
    }

    /// IDS: the event waits for the client's next packet, the ACK of the response; inline it is
    /// the request's packet. The alert says which packet met it (its flow direction).
    @Test func idsMatchesOnTheDirectionsNextPacket() {
        let frames = Self.badHeaderFirst(sport: 43001)
        for ids in [false, true] {
            var p = RuleParser()
            p.load(text: Self.httpRules, file: "t.rules")
            var c = EngineConfig()
            c.modes.ids = ids
            let engine = Engine(config: c)
            engine.loadDetection(DetectDefinitions(ruleSet: p.finish()))
            var alertFrames: [Int] = []
            for i in frames.indices {
                let before = engine.stats.alerts
                _ = frames[i].withByteView { v in
                    engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)), wireLength: v.count)
                }
                for _ in before ..< engine.stats.alerts { alertFrames.append(i) }
            }
            // Frames: SYN, SYN/ACK, ACK, request (3), server ACK, response, client ACK (6).
            // sid 3 (transaction) always on the request; sids 1 and 2 on the request inline,
            // on the client's ACK of the response in IDS mode.
            #expect(alertFrames == (ids ? [3, 6, 6] : [3, 3, 3]), "ids \(ids): \(alertFrames)")
            #expect(engine.detect?.stats.pendingEventsLost == 0)
        }
    }

    /// A flow that ends before its direction's next packet takes its held events with it (a
    /// slot's next flow never meets them).
    @Test func heldEventsDieWithTheirFlow() {
        var c = EngineConfig()
        c.modes.ids = true
        let engine = Engine(config: c)
        var p = RuleParser()
        p.load(text: Self.httpRules, file: "t.rules")
        engine.loadDetection(DetectDefinitions(ruleSet: p.finish()))
        // Only the request and its server ACK: the event is held when the flow ends.
        let frames = Array(Self.badHeaderFirst(sport: 43002).prefix(5))
        for i in frames.indices {
            _ = frames[i].withByteView { v in
                engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)), wireLength: v.count)
            }
        }
        #expect(engine.detect?.pendingAppEvents.held == 1)
        engine.finish()
        #expect(engine.detect?.pendingAppEvents.held == 0)
    }

    // MARK: Overlap found while the queue drains

    /// `ATTACKER!` is the packet's first bytes; the bytes after them were queued earlier with
    /// other data (`XXXX` against `YYYY`): the drain finds the conflict after `ATTACKER!` went
    /// out. Port 9000: no app layer, the stream rules read the stream.
    static func drainedOverlap(sport: UInt16) -> [[UInt8]] {
        let c: UInt32 = 3_000_000 + UInt32(sport), s: UInt32 = 8_000_000 + UInt32(sport)
        func up(_ seq: UInt32, _ flags: UInt8, _ data: [UInt8] = []) -> [UInt8] {
            T.ip(v6: false, proto: 6, toServer: true, T.tcp(sport, 9000, seq: seq, ack: s + 1, flags: flags, data))
        }
        func down(_ seq: UInt32, _ ack: UInt32, _ flags: UInt8) -> [UInt8] {
            T.ip(v6: false, proto: 6, toServer: false, T.tcp(9000, sport, seq: seq, ack: ack, flags: flags))
        }
        let head = Array("ATTACKER!".utf8)
        let n = UInt32(head.count)
        return [
            T.ip(v6: false, proto: 6, toServer: true, T.tcp(sport, 9000, seq: c, ack: 0, flags: T.syn)),
            down(s, c + 1, T.syn | T.ackFlag),
            up(c + 1, T.ackFlag),
            up(c + 1 + n, T.psh | T.ackFlag, Array("XXXX".utf8)),
            up(c + 1, T.psh | T.ackFlag, head + Array("YYYY".utf8)),
            down(s + 1, c + 1 + n + 4, T.ackFlag),
            up(c + 1 + n + 4, T.fin | T.ackFlag),
            down(s + 1, c + 2 + n + 4, T.fin | T.ackFlag),
            up(c + 2 + n + 4, T.ackFlag),
        ]
    }

    @Test func drainedOverlapReachesStreamRulesOnThePacketsFirstBytes() {
        let rules = """
            alert tcp any any -> any any (msg:"content before the conflict"; flow:to_server; content:"ATTACKER!"; stream-event:reassembly_overlap_different_data; sid:10;)
            alert tcp any any -> any any (msg:"the queued bytes"; content:"XXXX"; stream-event:reassembly_overlap_different_data; sid:11;)
            alert tcp any any -> any any (msg:"the event alone"; stream-event:reassembly_overlap_different_data; sid:12;)
            alert tcp any any -> any any (msg:"content, other event"; content:"ATTACKER!"; stream-event:reassembly_seq_gap; sid:13;)
            """
        for ids in [false, true] {
            let n = Self.alerts(rules, Self.drainedOverlap(sport: 43100) + T.round(), ids: ids)
            #expect(n[10] == 1 && n[11] == 1 && n[12] == 1, "ids \(ids): \(n)")
            #expect(n[13] == nil, "ids \(ids): \(n)")
        }
    }

    /// The counters still count one conflict and one event for the packet.
    @Test func drainedOverlapCountedOnce() {
        let engine = Engine()
        let frames = Self.drainedOverlap(sport: 43101)
        for i in frames.indices {
            _ = frames[i].withByteView { v in
                engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)), wireLength: v.count)
            }
        }
        #expect(engine.reassembler.counters.overlapConflicts == 1)
        #expect(engine.reassembler.eventCounts[StreamEvents.bit(named: "reassembly_overlap_different_data")!] == 1)
    }

    // MARK: dns.flooded

    static func udpDNS(_ sport: UInt16, queries: Int, answered: Bool) -> [[UInt8]] {
        let pair = T.dns(sport: sport, name: "flood.example.net")
        var out: [[UInt8]] = []
        for _ in 0 ..< queries {
            out.append(pair[0])
            if answered { out.append(pair[1]) }
        }
        return out
    }

    /// DNS over TCP: `queries` length-prefixed queries, 50 per client segment, no answer.
    static func tcpDNS(_ sport: UInt16, queries: Int) -> [[UInt8]] {
        let query = Array(T.dns(sport: sport, name: "flood.example.net")[0].dropFirst(14 + 20 + 8))
        let framed = T.be16(UInt16(query.count)) + query
        var exchanges: [([UInt8], [UInt8])] = []
        var left = queries
        while left > 0 {
            let k = Swift.min(50, left)
            exchanges.append((Array([[UInt8]](repeating: framed, count: k).joined()), []))
            left -= k
        }
        return T.tcpSession(v6: false, sport: sport, dport: 53, exchanges: exchanges)
    }

    static let dnsRules = """
        alert dns any any -> any any (msg:"SURICATA DNS flooded"; flow:to_server; app-layer-event:dns.flooded; classtype:protocol-command-decode; sid:20;)
        """

    static func floodCount(_ engine: Engine) -> UInt64 {
        engine.stats.appEvents.count(.dns, bit: AppLayerEvents.lookup("dns.flooded")!.bit)
    }

    @Test func udpFloodRaisesOnceAnsweredFlowsNever() {
        for ids in [false, true] {
            let n = Self.alerts(Self.dnsRules, Self.udpDNS(43200, queries: 501, answered: false), ids: ids)
            #expect(n[20] == 1, "ids \(ids): \(n)")
            #expect(Self.alerts(Self.dnsRules, Self.udpDNS(43201, queries: 500, answered: false), ids: ids).isEmpty)
            #expect(Self.alerts(Self.dnsRules, Self.udpDNS(43202, queries: 700, answered: true), ids: ids).isEmpty)
        }
        // Long past the limit: still one event; other flows keep their own counts.
        let engine = Engine()
        let frames = Self.udpDNS(43203, queries: 1200, answered: false) + Self.udpDNS(43204, queries: 400, answered: false)
            + Self.udpDNS(43205, queries: 600, answered: true) + T.round()
        for i in frames.indices {
            _ = frames[i].withByteView { v in
                engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i % 1_000_000)), wireLength: v.count)
            }
        }
        #expect(Self.floodCount(engine) == 1)
    }

    /// A flow slot reused by a new DNS flow starts from no query, even when the new flow's
    /// first datagram does not parse (one slot: the second flow takes the first's).
    @Test func reusedSlotStartsFromZero() {
        var c = EngineConfig()
        c.flow.capacity = 1
        let engine = Engine(config: c)
        var broken = Self.udpDNS(43210, queries: 1, answered: false)[0]
        broken.removeLast(broken.count - (14 + 20 + 8 + 6))   // a DNS header cut short
        broken[14 + 2] = 0; broken[14 + 3] = UInt8(20 + 8 + 6)  // IPv4 total length
        broken[14 + 10] = 0; broken[14 + 11] = 0
        var sum: UInt32 = 0
        for i in stride(from: 14, to: 34, by: 2) { sum += UInt32(broken[i]) << 8 | UInt32(broken[i + 1]) }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        broken[14 + 10] = UInt8(~UInt16(sum) >> 8); broken[14 + 11] = UInt8(~UInt16(sum) & 0xff)
        broken[14 + 20 + 4] = 0; broken[14 + 20 + 5] = 8 + 6                // UDP length
        let first = Self.udpDNS(43210, queries: 400, answered: false)
        let second = [broken] + Self.udpDNS(43210, queries: 200, answered: false)
        var clock: Int64 = 1_700_000_000
        for (i, f) in (first + [nil] + second).enumerated() {
            guard let f else { clock += 7200; continue }   // the first flow times out
            _ = f.withByteView { v in
                engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: clock, micros: Int32(i)), wireLength: v.count)
            }
        }
        #expect(engine.flows.counters.created == 2 && engine.flows.counters.timedOut >= 1)
        #expect(Self.floodCount(engine) == 0, "600 queries over two flows of one slot are no flood")
    }

    @Test func tcpFloodRaisesOnce() {
        for ids in [false, true] {
            #expect(Self.alerts(Self.dnsRules, Self.tcpDNS(43300, queries: 501), ids: ids)[20] == 1, "ids \(ids)")
            #expect(Self.alerts(Self.dnsRules, Self.tcpDNS(43301, queries: 500), ids: ids).isEmpty, "ids \(ids)")
        }
    }

    /// ET Open's event rules: `dns.flooded` loads now; `modbus.flooded` still skips, naming
    /// the event (no Modbus parser); unknown names in every layer skip with the name.
    @Test func floodedLoadsUnknownNamesSkipWithTheName() {
        var p = RuleParser()
        p.load(text: """
            alert dns any any -> any any (msg:"ET dns flood"; flow:to_server; app-layer-event:dns.flooded; sid:2240007; rev:1;)
            alert modbus any any -> any any (msg:"modbus flood"; app-layer-event:modbus.flooded; sid:2250009; rev:1;)
            alert dns any any -> any any (msg:"x"; app-layer-event:dns.state_memcap_reached; sid:3;)
            alert tcp any any -> any any (msg:"x"; stream-event:wrong_thread; sid:4;)
            alert ip any any -> any any (msg:"x"; decode-event:ipv4.no_such_event; sid:5;)
            alert ip any any -> any any (msg:"x"; decode-event:decoder.ipv4.trunc_pkt; sid:6;)
            alert tcp any any -> any any (msg:"x"; stream-event:stream.reassembly_seq_gap; sid:7;)
            """, file: "et.rules")
        let set = p.finish()
        #expect(set.signatures.map(\.sid).sorted() == [6, 7, 2240007], "\(set.report.skipped)")
        let skipped = set.report.skipped.map(\.description)
        for name in ["modbus.flooded", "state_memcap_reached", "wrong_thread", "ipv4.no_such_event"] {
            #expect(skipped.contains { $0.contains(name) }, "\(name): \(skipped)")
        }
    }
}

/// DESIGN: the held events (IDS), the queue pre-check and the DNS counts allocate nothing per
/// packet.
@Suite(.serialized) struct EventTimingAllocationTests {
    @Test func heldEventsDrainedOverlapsAndDNSCountsDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        var frames = EngineTraffic.round()
        for c in 0 ..< 4 {
            frames += EventTimingTests.badHeaderFirst(sport: UInt16(43400 + c))
            frames += EventTimingTests.drainedOverlap(sport: UInt16(43410 + c))
        }
        frames += EventTimingTests.udpDNS(43420, queries: 520, answered: false)
        frames += EventTimingTests.tcpDNS(43421, queries: 510)
        var p = RuleParser()
        p.load(text: EventTimingTests.httpRules + "\n" + EventTimingTests.dnsRules + """

            alert tcp any any -> any any (msg:"overlap content"; flow:to_server; content:"ATTACKER!"; stream-event:reassembly_overlap_different_data; sid:10;)
            """, file: "t.rules")
        var c = EngineConfig()
        c.modes.ids = true
        let engine = Engine(config: c)
        engine.loadDetection(DetectDefinitions(ruleSet: p.finish()))
        var before: UInt64 = 0
        let rounds = 5
        let n = steadyStateAllocations(engine, frames, rounds: rounds) { before = engine.stats.alerts }
        #expect(n == 0, "allocated \(n) times")
        // Per round: sids 1, 2, 3 and 10 on each of the four sessions, sid 20 on the UDP and
        // TCP floods (each round's flows are new: an hour passed).
        #expect(engine.stats.alerts - before == UInt64(rounds * (4 * 4 + 2)))
    }
}

/// The chunk that reaches the stream depth carries `reassembly_depth_reached` (it was raised
/// after the chunk went out, so stream rules on that chunk never saw it).
@Suite struct EventTimingDepthTests {
    @Test func depthEventReachesTheChunkThatReachesIt() {
        let frames = EngineTraffic.tcpSession(v6: false, sport: 43500, dport: 9000, exchanges: [
            (Array("hello there, ".utf8), []),
            (Array("DEPTHMARK and more bytes past the depth".utf8), []),
        ])
        var p = RuleParser()
        p.load(text: """
            alert tcp any any -> any any (msg:"depth, content"; flow:to_server; content:"DEPTHMARK"; stream-event:reassembly_depth_reached; sid:1;)
            alert tcp any any -> any any (msg:"depth alone"; stream-event:reassembly_depth_reached; sid:2;)
            alert tcp any any -> any any (msg:"first chunk, no depth there"; content:"hello"; stream-event:reassembly_depth_reached; sid:3;)
            """, file: "d.rules")
        let set = p.finish()
        for ids in [false, true] {
            var c = EngineConfig()
            c.modes.ids = ids
            c.flow.streamDepth = 30
            let engine = Engine(config: c)
            engine.loadDetection(DetectDefinitions(ruleSet: set))
            var counts: [Int: Int] = [:]
            let eve = Session6KeywordEngineTests.replayEVE(engine, frames)
            for e in Session6KeywordEngineTests.events(eve) where e["event_type"] as? String == "alert" {
                if let sid = (e["alert"] as? [String: Any])?["signature_id"] as? Int { counts[sid, default: 0] += 1 }
            }
            #expect(counts[1] == 1 && counts[2] == 1 && counts[3] == nil, "ids \(ids): \(counts)")
            #expect(engine.reassembler.eventCounts[StreamEvents.bit(named: "reassembly_depth_reached")!] == 1)
        }
    }
}
