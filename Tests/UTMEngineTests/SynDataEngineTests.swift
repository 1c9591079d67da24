import AllocationCounter
import Foundation
import Testing
import UTMCore
import UTMDetect
import UTMFlow
@testable import UTMEngine

/// Data on a SYN (TCP Fast Open) and retransmissions, through the whole engine on traffic built
/// here, in IDS and inline mode (README "SYN data and retransmissions, session 9").
@Suite(.serialized) struct SynDataEngineTests {
    typealias T = EngineTraffic

    static let rules = """
        alert tcp any any -> any any (msg:"server's first bytes"; flow:established,to_server; content:"HELO"; depth:4; sid:1;)
        alert tcp any any -> any any (msg:"the SYN's refused bytes joined to the retransmission"; flow:established,to_server; content:"zzLO"; sid:2;)
        alert tcp any any -> any any (msg:"two-byte packet"; flow:to_server; dsize:2; sid:3;)
        alert tcp any any -> any any (msg:"first bytes, any state"; content:"HELO"; depth:4; sid:4;)
        alert tcp any any -> any any (msg:"after the TFO handshake"; flow:established,to_server; content:"more"; sid:5;)
        alert tcp any any -> any any (msg:"packet rule on every copy"; flow:no_stream,to_server; content:"EVIL"; sid:6;)
        alert tcp any any -> any any (msg:"stream rule"; flow:established,to_server; content:"EVIL"; sid:7;)
        """

    static let dport: UInt16 = 8883

    struct Result {
        var alerts: [Int: Int] = [:]
        /// Verdict per frame.
        var verdicts: [PacketVerdict] = []
        var counters = StreamCounters()
        var stats = ""
    }

    static func definitions(_ text: String = rules) -> DetectDefinitions {
        var parser = RuleParser()
        parser.load(text: text, file: "syndata.rules")
        let set = parser.finish()
        #expect(set.report.errors.isEmpty && set.report.skipped.isEmpty)
        return DetectDefinitions(ruleSet: set)
    }

    static func run(_ frames: [[UInt8]], ids: Bool, rules text: String = rules) -> Result {
        var config = EngineConfig()
        config.modes.ids = ids
        let engine = Engine(config: config)
        engine.loadDetection(definitions(text))
        var out: [UInt8] = []
        var r = Result()
        for i in frames.indices {
            let d = frames[i].withByteView { view in
                engine.process(frame: view, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)),
                               wireLength: view.count)
            }
            r.verdicts.append(d.verdict)
            out += engine.eve.buffer
            engine.eve.reset()
        }
        r.counters = engine.reassembler.counters
        engine.finish()
        out += engine.eve.buffer
        for line in String(decoding: out, as: UTF8.self).split(separator: "\n") {
            guard let e = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            if e["event_type"] as? String == "stats" { r.stats = String(line) }
            guard e["event_type"] as? String == "alert",
                  let sid = (e["alert"] as? [String: Any])?["signature_id"] as? Int else { continue }
            r.alerts[sid, default: 0] += 1
        }
        return r
    }

    /// A client SYN carrying `synData`; the server's SYN/ACK acknowledges it (`accepted`) or only
    /// the SYN; the handshake ACK; then `later` client segments, each at its own sequence number
    /// (`seq` offsets from the SYN's ISN + 1), each acknowledged by the server; FINs.
    static func session(_ sport: UInt16, synData: String, accepted: Bool,
                        later: [(offset: UInt32, data: String)]) -> [[UInt8]] {
        let isn: UInt32 = 4_000_000 + UInt32(sport) * 100
        var s: UInt32 = 9_000_000
        var out: [[UInt8]] = []
        func toServer(_ seq: UInt32, _ flags: UInt8, _ data: String = "") {
            out.append(T.ip(v6: false, proto: 6, toServer: true,
                            T.tcp(sport, dport, seq: seq, ack: s, flags: flags, Array(data.utf8))))
        }
        func toClient(_ ack: UInt32, _ flags: UInt8) {
            out.append(T.ip(v6: false, proto: 6, toServer: false, T.tcp(dport, sport, seq: s, ack: ack, flags: flags)))
        }
        out.append(T.ip(v6: false, proto: 6, toServer: true,
                        T.tcp(sport, dport, seq: isn, ack: 0, flags: T.syn, Array(synData.utf8))))
        var high = isn &+ 1 &+ (accepted ? UInt32(synData.utf8.count) : 0)
        toClient(high, T.syn | T.ackFlag)
        s &+= 1
        toServer(high, T.ackFlag)
        for (offset, data) in later {
            toServer(isn &+ 1 &+ offset, T.psh | T.ackFlag, data)
            let end = isn &+ 1 &+ offset &+ UInt32(data.utf8.count)
            if Int32(bitPattern: end &- high) > 0 { high = end }
            toClient(high, T.ackFlag)
        }
        toServer(high, T.fin | T.ackFlag)
        toClient(high &+ 1, T.fin | T.ackFlag)
        s &+= 1
        toServer(high &+ 1, T.ackFlag)
        return out
    }

    /// TFO the server refuses, the retransmission carrying other bytes: IDS inspects what the
    /// server reads ("HELO EVIL"), not the SYN's bytes joined to the rest ("zzLO EVIL").
    @Test func idsRefusedSynDataReadsTheRetransmission() {
        let r = Self.run(Self.session(48801, synData: "zz", accepted: false, later: [(0, "HELO EVIL")]), ids: true)
        // sid 3: the SYN itself is still a two-byte packet; sid 4 and 7 the retransmission.
        #expect(r.alerts == [1: 1, 3: 1, 4: 1, 6: 1, 7: 1])
        #expect(r.counters.synDataHeld == 1 && r.counters.synDataIgnored == 1 && r.counters.overlapConflicts == 0)
        #expect(r.stats.contains("\"tfo_data_ignored\":1"), "\(r.stats)")
        #expect(!r.verdicts.contains(.drop))
    }

    /// The retransmission after a refusal split over two segments, in and out of order: the
    /// first-bytes rule still fires once (IDS).
    @Test func idsRefusedSynDataSplitRetransmission() {
        let inOrder = Self.session(48812, synData: "zz", accepted: false, later: [(0, "HE"), (2, "LO EVIL")])
        #expect(Self.run(inOrder, ids: true).alerts == [1: 1, 3: 2, 4: 1, 6: 1, 7: 1])
        // "LO EVIL" before "HE", the server's ACK after both.
        let s = Self.session(48813, synData: "zz", accepted: false, later: [(0, "HE"), (2, "LO EVIL")])
        let swapped = Array(s[0...2]) + [s[5], s[3]] + Array(s[6...])
        let r = Self.run(swapped, ids: true)
        #expect(r.alerts[1] == 1 && r.alerts[4] == 1 && r.alerts[2] == nil, "\(r.alerts)")
    }

    /// Inline the SYN's bytes were inspected and forwarded before the server answered: a
    /// retransmission with other bytes is not forwarded (the connection cannot carry them), and
    /// nothing the server could read goes uninspected.
    @Test func inlineRefusedSynDataDropsTheOtherBytes() {
        let frames = Self.session(48802, synData: "zz", accepted: false, later: [(0, "HELO EVIL")])
        let r = Self.run(frames, ids: false)
        #expect(r.verdicts[3] == .drop)  // the retransmission
        #expect(r.alerts[1] == nil && r.alerts[4] == nil)
        #expect(r.counters.synDataHeld == 0 && r.counters.overlapConflicts >= 1)
    }

    /// TFO the server accepts: the SYN's bytes are inspected once, and the session is
    /// established for what follows. IDS reads them as the established stream when the SYN/ACK
    /// takes them; inline on the SYN, before it is forwarded (not established yet: the rule
    /// without `flow:established` sees them, as in Suricata).
    @Test func acceptedSynDataIsInspectedOnce() {
        for ids in [true, false] {
            let frames = Self.session(ids ? 48803 : 48804, synData: "HELO x", accepted: true, later: [(6, " more")])
            let r = Self.run(frames, ids: ids)
            #expect(r.alerts == (ids ? [1: 1, 4: 1, 5: 1] : [4: 1, 5: 1]), "ids \(ids)")
            #expect(!r.verdicts.contains(.drop))
            if ids { #expect(r.counters.synDataAccepted == 1) }
        }
    }

    /// An honest client after a refused TFO: the same bytes again, then more. Inline nothing
    /// conflicts; IDS reads the retransmission as the stream's first bytes.
    @Test func refusedSynDataWithTheSameBytes() {
        for ids in [true, false] {
            let frames = Self.session(ids ? 48805 : 48806, synData: "HELO x", accepted: false,
                                      later: [(0, "HELO x"), (6, " more")])
            let r = Self.run(frames, ids: ids)
            #expect(!r.verdicts.contains(.drop), "ids \(ids)")
            #expect(r.alerts[5] == 1, "ids \(ids)")
            // IDS: the SYN's bytes are dropped and the retransmission is the stream's start.
            // Inline: the SYN was inspected as a packet before it was forwarded; the
            // retransmission adds nothing to the stream and is inspected as a packet, now
            // established (Suricata's packet inspection of a segment it does not add).
            #expect(r.alerts[1] == 1, "ids \(ids): \(r.alerts)")
            #expect(r.alerts[4] == (ids ? 1 : 2), "ids \(ids): \(r.alerts)")
        }
    }

    /// Retransmissions: packet rules see every copy, stream rules each byte once.
    @Test func retransmissionsAndPacketRules() {
        for ids in [true, false] {
            let frames = Self.session(ids ? 48807 : 48808, synData: "", accepted: false,
                                      later: [(0, "EVIL one"), (0, "EVIL one"), (0, "EVIL one")])
            let r = Self.run(frames, ids: ids)
            #expect(r.alerts == [6: 3, 7: 1], "ids \(ids): \(r.alerts)")
            #expect(r.counters.retransmissions == 2)
        }
    }

    /// A retransmission with other bytes before the server acknowledged the first ones. IDS:
    /// the stream keeps the first bytes, and the other bytes (which the receiver may keep) are
    /// read by stream rules as a packet, `only_stream` ones excepted. Inline: not forwarded.
    @Test func retransmissionWithOtherBytes() {
        for ids in [true, false] {
            let sport: UInt16 = ids ? 48809 : 48810
            var frames = Self.session(sport, synData: "", accepted: false, later: [(0, "GOOD one")])
            let isn: UInt32 = 4_000_000 + UInt32(sport) * 100
            frames.insert(T.ip(v6: false, proto: 6, toServer: true,
                               T.tcp(sport, Self.dport, seq: isn &+ 1, ack: 9_000_001, flags: T.psh | T.ackFlag,
                                     Array("EVIL one".utf8))), at: 4)
            let r = Self.run(frames, ids: ids)
            if ids {
                #expect(r.alerts == [6: 1, 7: 1], "\(r.alerts)")
                #expect(!r.verdicts.contains(.drop))
            } else {
                #expect(r.alerts.isEmpty, "\(r.alerts)")
                #expect(r.verdicts[4] == .drop)
            }
            #expect(r.counters.overlapConflicts == 1)
        }
        // A stream-only rule never reads the packet.
        let only = """
            alert tcp any any -> any any (flow:established,to_server,only_stream; content:"EVIL"; sid:8;)
            alert tcp any any -> any any (flow:established,to_server,only_stream; content:"GOOD"; sid:9;)
            """
        var parser = RuleParser()
        parser.load(text: only, file: "only.rules")
        var config = EngineConfig()
        config.modes.ids = true
        let engine = Engine(config: config)
        engine.loadDetection(DetectDefinitions(ruleSet: parser.finish()))
        var frames = Self.session(48811, synData: "", accepted: false, later: [(0, "GOOD one")])
        frames.insert(T.ip(v6: false, proto: 6, toServer: true,
                           T.tcp(48811, Self.dport, seq: 4_000_000 + 48811 * 100 + 1, ack: 9_000_001,
                                 flags: T.psh | T.ackFlag, Array("EVIL one".utf8))), at: 4)
        var out: [UInt8] = []
        for i in frames.indices {
            _ = frames[i].withByteView { engine.process(frame: $0, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)), wireLength: $0.count) }
            out += engine.eve.buffer
            engine.eve.reset()
        }
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.contains("\"signature_id\":9") && !text.contains("\"signature_id\":8"))
    }

    /// Client frames and server frames of a hand-built session (`client`/`server` append one).
    struct Frames {
        var out: [[UInt8]] = []
        let sport: UInt16
        mutating func client(_ seq: UInt32, _ ack: UInt32, _ flags: UInt8, _ d: String = "") {
            out.append(T.ip(v6: false, proto: 6, toServer: true,
                            T.tcp(sport, SynDataEngineTests.dport, seq: seq, ack: ack, flags: flags, Array(d.utf8))))
        }
        mutating func server(_ seq: UInt32, _ ack: UInt32, _ flags: UInt8) {
            out.append(T.ip(v6: false, proto: 6, toServer: false, T.tcp(SynDataEngineTests.dport, sport, seq: seq, ack: ack, flags: flags)))
        }
    }

    /// Inline: SYN "HELO" refused, the retransmission "HELO EVIL" repeats it and goes on; read
    /// as a packet by established rules (review of session 9, finding A).
    @Test func longerRetransmissionOfSynData() {
        let rules = """
            alert tcp any any -> any any (flow:established,to_server; content:"HELO EVIL"; sid:20;)
            alert tcp any any -> any any (flow:established,to_server; content:"HELO"; depth:4; sid:21;)
            """
        for ids in [false, true] {
            let isn: UInt32 = 4_000_000, sv: UInt32 = 9_000_000
            var f = Frames(sport: ids ? 48840 : 48841)
            f.client(isn, 0, T.syn, "HELO")
            f.server(sv, isn &+ 1, T.syn | T.ackFlag)
            f.client(isn &+ 1, sv &+ 1, T.ackFlag)
            f.client(isn &+ 1, sv &+ 1, T.psh | T.ackFlag, "HELO EVIL")
            f.server(sv &+ 1, isn &+ 10, T.ackFlag)
            let r = Self.run(f.out, ids: ids, rules: rules)
            #expect(r.alerts[20] == 1 && r.alerts[21] == 1, "ids \(ids): \(r.alerts)")
        }
    }

    /// IDS: the client races an ACK (empty or with other bytes) at ISN + 1 ahead of the SYN/ACK
    /// that takes the SYN's data: the data stays in the stream (finding B).
    @Test func clientRaceAheadOfTheSynAck() {
        for (k, race) in ["", "zzzzzz"].enumerated() {
            let isn: UInt32 = 4_000_000, sv: UInt32 = 9_000_000
            var f = Frames(sport: UInt16(48842 + k))
            f.client(isn, 0, T.syn, "EVIL x")
            f.client(isn &+ 1, 12345, T.ackFlag | (race.isEmpty ? 0 : T.psh), race)
            f.server(sv, isn &+ 7, T.syn | T.ackFlag)
            f.client(isn &+ 7, sv &+ 1, T.ackFlag)
            f.client(isn &+ 7, sv &+ 1, T.psh | T.ackFlag, " more data")
            f.server(sv &+ 1, isn &+ 17, T.ackFlag)
            let r = Self.run(f.out, ids: true)
            #expect(r.alerts[7] == 1 && r.alerts[5] == 1, "race \(race): \(r.alerts)")
            #expect(r.counters.synDataAccepted == 1 && r.counters.synDataIgnored == 0)
        }
    }

    /// IDS: a segment without ACK sent before the SYN/ACK (a server drops it) does not outlive
    /// the refusal of the SYN's data (finding C): the stream is the retransmission.
    @Test func earlySegmentDoesNotBeatTheRetransmission() {
        let rules = """
            alert tcp any any -> any any (flow:established,to_server,only_stream; content:"HELO EVIL"; sid:22;)
            """
        let isn: UInt32 = 4_000_000, sv: UInt32 = 9_000_000
        var f = Frames(sport: 48844)
        f.client(isn, 0, T.syn, "zz")
        f.client(isn &+ 3, 0, T.psh, "XXXXXXX")
        f.server(sv, isn &+ 1, T.syn | T.ackFlag)
        f.client(isn &+ 1, sv &+ 1, T.ackFlag)
        f.client(isn &+ 1, sv &+ 1, T.psh | T.ackFlag, "HELO EVIL")
        f.server(sv &+ 1, isn &+ 10, T.ackFlag)
        let r = Self.run(f.out, ids: true, rules: rules)
        #expect(r.alerts == [22: 1], "\(r.alerts)")
        #expect(r.counters.synDataEarlySegments == 1 && r.counters.overlapConflicts == 0)
    }

    /// Held SYN data and its resolution allocate nothing per packet (accepted and refused TFO
    /// sessions, IDS).
    @Test func synDataDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        var config = EngineConfig()
        config.modes.ids = true
        let engine = Engine(config: config)
        engine.loadDetection(Self.definitions())
        var traffic: [[UInt8]] = []
        for k in 0 ..< 8 {
            traffic += Self.session(UInt16(48820 + k), synData: k % 2 == 0 ? "HELO \(k)" : "zz", accepted: k % 2 == 0,
                                    later: [(0, "HELO EVIL \(k)"), (0, "HELO EVIL \(k)"), (12, " more")])
            // A retransmission with other bytes before the ACK (IDS reads it as a packet).
            traffic.insert(T.ip(v6: false, proto: 6, toServer: true,
                                T.tcp(UInt16(48820 + k), Self.dport, seq: 4_000_000 + UInt32(48820 + k) * 100 + 1,
                                      ack: 9_000_001, flags: T.psh | T.ackFlag, Array("OTHER BYTES".utf8))),
                           at: traffic.count - 9)
        }
        var held: UInt64 = 0
        let n = steadyStateAllocations(engine, traffic, rounds: 10) { held = engine.reassembler.counters.synDataHeld }
        #expect(n == 0, "SYN data allocated \(n) times")
        #expect(engine.reassembler.counters.synDataHeld - held == 80)
    }
}
