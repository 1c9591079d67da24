import Testing
import UTMCore
import UTMDecode
@testable import UTMFlow

/// Data on a SYN (TCP Fast Open): in IDS mode it joins the stream only when the receiver
/// acknowledges it; a receiver that acknowledges only the SYN reads the sender's retransmission
/// instead, possibly with other bytes, and so must the box (Suricata's tfo_data_ignored).
@Suite struct SynDataTests {
    func ids(_ edit: (inout FlowConfig) -> Void = { _ in }) -> FlowConfig {
        var c = testConfig()
        c.holdSynData = true
        edit(&c)
        return c
    }

    @Test func acceptedSynDataJoinsTheStreamWhenAcknowledged() {
        var h = Harness(ids())
        h.send(.toServer, .syn, seq: 100, data: bytes("HELO"))
        #expect(h.streams[0].isEmpty)  // not answered yet
        h.send(.toClient, [.syn, .ack], seq: 5000, ack: 105)
        #expect(h.streams[0] == bytes("HELO") && h.chunks.first?.streamOffset == 0)
        // Suricata: a SYN/ACK taking the SYN's data establishes the session.
        #expect(h.flow.tcpState == .established && h.table.counters.tcpInvalid == 0)
        h.send(.toServer, .ack, seq: 105, ack: 5001)
        #expect(h.flow.tcpState == .established)
        h.send(.toServer, [.ack, .psh], seq: 105, ack: 5001, data: bytes(" you"))
        // A retransmission of the SYN's bytes changes nothing.
        h.send(.toServer, [.ack, .psh], seq: 101, ack: 5001, data: bytes("HELO"))
        #expect(h.streams[0] == bytes("HELO you"))
        #expect(h.reasm.counters.synDataHeld == 1 && h.reasm.counters.synDataAccepted == 1)
        #expect(h.reasm.counters.synDataIgnored == 0 && h.reasm.poolChunksInUse == 0)
    }

    @Test func refusedSynDataGivesWayToTheRetransmission() {
        var h = Harness(ids())
        h.send(.toServer, .syn, seq: 100, data: bytes("zz"))
        h.send(.toClient, [.syn, .ack], seq: 5000, ack: 101)  // the SYN only: no cookie
        h.send(.toServer, .ack, seq: 101, ack: 5001)
        #expect(h.streams[0].isEmpty && h.reasm.poolChunksInUse == 0)
        h.send(.toServer, [.ack, .psh], seq: 101, ack: 5001, data: bytes("HELO EVIL"))
        #expect(h.streams[0] == bytes("HELO EVIL"))
        #expect(h.chunks.first?.streamOffset == 0 && h.chunks.first?.gapBefore == false)
        #expect(h.reasm.counters.synDataIgnored == 1 && h.reasm.counters.overlapConflicts == 0)
        #expect(h.flow.tcpState == .established)
    }

    /// Without the option (inline) the SYN's bytes are the stream's first, as before.
    @Test func inlineKeepsTheSynBytes() throws {
        var c = testConfig()
        c.retainUnacked = true
        var h = Harness(c)
        h.send(.toServer, .syn, seq: 100, data: bytes("zz"))
        #expect(h.streams[0] == bytes("zz"))
        h.send(.toClient, [.syn, .ack], seq: 5000, ack: 101)
        h.send(.toServer, .ack, seq: 101, ack: 5001)
        h.reasm.beginPacket()
        h.send(.toServer, [.ack, .psh], seq: 101, ack: 5001, data: bytes("HELO EVIL"))
        // The retransmission rewrites forwarded bytes: caught (the engine does not forward it).
        let patched = try #require(h.reasm.conflictPayload)
        var out: [UInt8] = []
        patched.append(to: &out)
        #expect(out == bytes("zzLO EVIL"))
        #expect(h.reasm.counters.synDataHeld == 0)
    }

    /// Only the receiver's answer resolves SYN data: the sender's own segments, which an
    /// attacker sends ahead of the SYN/ACK, decide nothing and stay out of the stream (review
    /// of session 9, finding B). A one-sided capture therefore never resolves it.
    @Test func theSendersOwnSegmentsDecideNothing() {
        for race in ["", "zzzzzz"] {
            var h = Harness(ids())
            h.send(.toServer, .syn, seq: 100, data: bytes("EVIL x"))
            h.send(.toServer, race.isEmpty ? .ack : [.ack, .psh], seq: 101, ack: 12345, data: bytes(race))
            #expect(h.reasm.counters.synDataIgnored == 0 && h.reasm.counters.synDataAccepted == 0)
            h.send(.toClient, [.syn, .ack], seq: 5000, ack: 107)  // the server took the data
            h.send(.toServer, .ack, seq: 107, ack: 5001)
            h.send(.toServer, [.ack, .psh], seq: 107, ack: 5001, data: bytes(" more"))
            #expect(h.streams[0] == bytes("EVIL x more"), "\(race): \(String(decoding: h.streams[0], as: UTF8.self))")
            #expect(h.reasm.counters.synDataAccepted == 1 && h.reasm.counters.synDataIgnored == 0)
            #expect(h.reasm.counters.synDataEarlySegments == (race.isEmpty ? 0 : 1))
        }
        var oneSided = Harness(ids())
        oneSided.send(.toServer, .syn, seq: 100, data: bytes("zz"))
        oneSided.send(.toServer, .ack, seq: 101, ack: 5001)
        oneSided.send(.toServer, [.ack, .psh], seq: 101, ack: 5001, data: bytes("HELO EVIL"))
        #expect(oneSided.streams[0].isEmpty && oneSided.reasm.counters.synDataIgnored == 0)
        #expect(oneSided.reasm.counters.synDataEarlySegments == 1 && oneSided.reasm.poolChunksInUse == 1)
    }

    /// Bytes sent before the SYN/ACK never outlive a refusal nor beat the retransmission (a
    /// server drops a segment without ACK in SYN_RECV) (finding C).
    @Test func earlySegmentsDoNotSurviveARefusal() {
        var h = Harness(ids { $0.retainUnacked = true })
        h.send(.toServer, .syn, seq: 100, data: bytes("zz"))
        h.send(.toServer, .psh, seq: 103, data: bytes("XXXXXXX"))
        h.send(.toClient, [.syn, .ack], seq: 5000, ack: 101)
        h.send(.toServer, .ack, seq: 101, ack: 5001)
        h.reasm.beginPacket()
        h.send(.toServer, [.ack, .psh], seq: 101, ack: 5001, data: bytes("HELO EVIL"))
        #expect(h.streams[0] == bytes("HELO EVIL") && h.reasm.conflictPayload == nil)
        #expect(h.reasm.counters.synDataEarlySegments == 1 && h.reasm.counters.synDataIgnored == 1)
    }

    /// With a host overlap policy where new data wins, a segment before the SYN/ACK does not
    /// rewrite the held SYN bytes (finding C).
    @Test func heldSynBytesKeepTheirContent() {
        var h = Harness(ids { c in
            c.retainUnacked = true
            c.holdUntilAcked = true
            _ = c.hostOSPolicies.add("0.0.0.0/0", .linux)
        })
        h.send(.toServer, .syn, seq: 100, data: bytes("EVIL"))
        h.send(.toServer, .psh, seq: 101, data: bytes("zzzzz"))
        h.send(.toClient, [.syn, .ack], seq: 5000, ack: 105)
        h.send(.toServer, .ack, seq: 105, ack: 5001)
        h.send(.toServer, [.ack, .psh], seq: 105, ack: 5001, data: bytes(" more"))
        h.send(.toClient, .ack, seq: 5001, ack: 110)
        #expect(h.streams[0] == bytes("EVIL more"), "\(String(decoding: h.streams[0], as: UTF8.self))")
        #expect(h.reasm.poolChunksInUse == 0)
    }

    /// A SYN/ACK taking part of the SYN's data is invalid (Suricata: ISN + 1 or next_seq only)
    /// and resolves nothing; the receiver's later answer does (finding D).
    @Test func synAckTakingPartOfTheDataIsInvalid() {
        var h = Harness(ids())
        h.send(.toServer, .syn, seq: 100, data: bytes("EVIL x"))
        h.send(.toClient, [.syn, .ack], seq: 5000, ack: 103)
        #expect(h.table.counters.tcpInvalid == 1 && h.flow.tcpState != .established)
        #expect(h.reasm.counters.synDataAccepted == 0 && h.reasm.counters.synDataIgnored == 0)
        #expect(h.reasm.counters.synDataWrongAck == 1 && h.streams[0].isEmpty)
        h.send(.toClient, [.syn, .ack], seq: 5000, ack: 107)
        #expect(h.flow.tcpState == .established && h.streams[0] == bytes("EVIL x"))
    }

    /// SYN data over several pool chunks, refused or taken; a partial acknowledgement (no stack
    /// sends one) decides nothing.
    @Test func largeAndPartlyAcknowledgedSynData() {
        let big = (0..<1300).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var refused = Harness(ids())
        refused.send(.toServer, .syn, seq: 100, data: big)
        #expect(refused.reasm.poolChunksInUse == 3)
        refused.send(.toClient, [.syn, .ack], seq: 5000, ack: 101)
        #expect(refused.reasm.poolChunksInUse == 0 && refused.streams[0].isEmpty)
        refused.send(.toServer, [.ack, .psh], seq: 101, ack: 5001, data: bytes("again"))
        #expect(refused.streams[0] == bytes("again"))

        var taken = Harness(ids())
        taken.send(.toServer, .syn, seq: 100, data: big)
        taken.send(.toClient, [.syn, .ack], seq: 5000, ack: 101 &+ 1300)
        #expect(taken.streams[0] == big && taken.reasm.poolChunksInUse == 0)

        // A partial acknowledgement decides nothing (Suricata: SYNACK_WITH_WRONG_ACK), nor
        // does the client's next segment; the valid SYN/ACK does.
        var partial = Harness(ids())
        partial.send(.toServer, .syn, seq: 100, data: bytes("abcd"))
        partial.send(.toClient, [.syn, .ack], seq: 5000, ack: 103)
        #expect(partial.reasm.counters.synDataIgnored == 0 && partial.reasm.counters.synDataWrongAck == 1)
        partial.send(.toServer, [.ack, .psh], seq: 101, ack: 5001, data: bytes("abcdef"))
        #expect(partial.streams[0].isEmpty)
        partial.send(.toClient, [.syn, .ack], seq: 5000, ack: 101)
        partial.send(.toServer, [.ack, .psh], seq: 101, ack: 5001, data: bytes("abcdef"))
        #expect(partial.streams[0] == bytes("abcdef") && partial.reasm.counters.synDataIgnored == 1)
    }

    /// The retransmission after a refusal split in two and out of order: the stream is still
    /// the server's view, from offset 0, without a gap.
    @Test func splitRetransmissionAfterRefusal() {
        for order in [[0, 1], [1, 0]] {
            var h = Harness(ids())
            h.send(.toServer, .syn, seq: 100, data: bytes("zzzz"))
            h.send(.toClient, [.syn, .ack], seq: 5000, ack: 101)
            let parts: [(UInt32, String)] = [(101, "HE"), (103, "LO EVIL")]
            for k in order { h.send(.toServer, [.ack, .psh], seq: parts[k].0, ack: 5001, data: bytes(parts[k].1)) }
            #expect(h.streams[0] == bytes("HELO EVIL"), "order \(order)")
            #expect(h.chunks.allSatisfy { !$0.gapBefore } && h.reasm.poolChunksInUse == 0)
        }
    }

    /// The per-direction state stays within the flow record's budget (two per slot, all resident).
    @Test func streamStateKeepsItsSize() {
        #expect(MemoryLayout<TCPStream>.size <= 88)
    }

    /// Held bytes with a host policy: the SYN's refused bytes never meet the retransmission.
    @Test func refusedSynDataUnderHeldBytes() {
        var h = Harness(ids { c in
            c.holdUntilAcked = true
            _ = c.hostOSPolicies.add("0.0.0.0/0", .first)
        })
        h.send(.toServer, .syn, seq: 100, data: bytes("zz"))
        h.send(.toClient, [.syn, .ack], seq: 5000, ack: 101)
        h.send(.toServer, [.ack, .psh], seq: 101, ack: 5001, data: bytes("HELO EVIL"))
        h.send(.toClient, .ack, seq: 5001, ack: 110)
        #expect(h.streams[0] == bytes("HELO EVIL") && h.reasm.poolChunksInUse == 0)
    }

    /// The flow ends (RST, expiry) with SYN data unanswered: its chunks go back to the pool.
    @Test func unansweredSynDataIsFreedWithTheFlow() {
        var h = Harness(ids())
        h.send(.toServer, .syn, seq: 100, data: bytes("zz"))
        h.send(.toServer, .syn, seq: 100, data: bytes("zz"))  // the SYN again
        #expect(h.reasm.poolChunksInUse == 1)
        h.expire(seconds: 100_000)
        #expect(h.reasm.poolChunksInUse == 0 && h.streams[0].isEmpty)
    }

    /// The state machine: a SYN/ACK acknowledging the SYN's data is valid (TCP Fast Open);
    /// one acknowledging more than was sent is not.
    @Test func synAckMayAcknowledgeSynData() {
        var h = Harness(ids())
        h.send(.toServer, .syn, seq: 100, data: bytes("HELO"))
        h.send(.toClient, [.syn, .ack], seq: 5000, ack: 110)
        #expect(h.table.counters.tcpInvalid == 1 && h.flow.tcpState == .synSent)
        h.send(.toClient, [.syn, .ack], seq: 5000, ack: 105)
        #expect(h.table.counters.tcpInvalid == 1 && h.flow.tcpState == .established)
    }

    /// The per-packet marks the engine reads: a SYN whose data is held (IDS), and inline a
    /// retransmission of SYN data delivered before the handshake (inspected as a packet).
    @Test func perPacketMarks() {
        var held = Harness(ids())
        held.reasm.beginPacket()
        held.send(.toServer, .syn, seq: 100, data: bytes("HELO"))
        #expect(held.reasm.packetHeldSynData && !held.reasm.packetRepeatsSynData)
        held.reasm.beginPacket()
        #expect(!held.reasm.packetHeldSynData)

        var c = testConfig()
        c.retainUnacked = true
        var inline = Harness(c)
        inline.send(.toServer, .syn, seq: 100, data: bytes("HELO"))
        #expect(!inline.reasm.packetHeldSynData)
        inline.send(.toClient, [.syn, .ack], seq: 5000, ack: 101)
        inline.send(.toServer, .ack, seq: 101, ack: 5001)
        inline.reasm.beginPacket()
        inline.send(.toServer, [.ack, .psh], seq: 101, ack: 5001, data: bytes("HE"))
        #expect(inline.reasm.packetRepeatsSynData)
        inline.reasm.beginPacket()
        inline.send(.toServer, [.ack, .psh], seq: 105, ack: 5001, data: bytes("more"))
        #expect(!inline.reasm.packetRepeatsSynData)
        inline.reasm.beginPacket()
        inline.send(.toServer, [.ack, .psh], seq: 105, ack: 5001, data: bytes("more"))
        #expect(!inline.reasm.packetRepeatsSynData)  // a retransmission past the SYN's data
        #expect(inline.streams[0] == bytes("HELOmore"))
    }

    /// Inline: a retransmission repeating the SYN's bytes and going on past them is marked too
    /// (finding A: "HELO EVIL" after the SYN's "HELO" was read by no established rule).
    @Test func longerRetransmissionOfSynDataIsMarked() {
        var c = testConfig()
        c.retainUnacked = true
        var h = Harness(c)
        h.send(.toServer, .syn, seq: 100, data: bytes("HELO"))
        h.send(.toClient, [.syn, .ack], seq: 5000, ack: 101)
        h.send(.toServer, .ack, seq: 101, ack: 5001)
        h.reasm.beginPacket()
        h.send(.toServer, [.ack, .psh], seq: 101, ack: 5001, data: bytes("HELO EVIL"))
        #expect(h.reasm.packetRepeatsSynData && h.reasm.conflictPayload == nil)
        #expect(h.streams[0] == bytes("HELO EVIL"))
    }

    /// A SYN retried with a new ISN and other data before any answer: the latest SYN counts, as
    /// in Suricata (review of session 9, finding F).
    @Test func retriedSynWithANewIsn() {
        var h = Harness(ids { $0.retainUnacked = true })
        h.send(.toServer, .syn, seq: 100, data: bytes("EVIL"))
        h.send(.toServer, .syn, seq: 50_000, data: bytes("GOOD"))
        #expect(h.reasm.poolChunksInUse == 1 && h.reasm.counters.synDataRetried == 1)
        h.send(.toClient, [.syn, .ack], seq: 5000, ack: 50_005)
        h.send(.toServer, .ack, seq: 50_005, ack: 5001)
        h.send(.toServer, [.ack, .psh], seq: 50_005, ack: 5001, data: bytes(" more"))
        #expect(h.streams[0] == bytes("GOOD more"), "\(String(decoding: h.streams[0], as: UTF8.self))")
        #expect(h.reasm.counters.synDataAccepted == 1 && h.flow.tcpState == .established)
    }

    /// IDS with copies kept: past half the pool no more copies are kept, and that is counted.
    @Test func retentionStopIsCounted() {
        var c = testConfig()
        c.retainUnacked = true
        c.segmentPoolBytes = 8 * 512
        var h = Harness(c)
        _ = h.handshake(client: 100, server: 5000)
        h.send(.toServer, [.ack, .psh], seq: 101, ack: 5001, data: Array(repeating: 0x41, count: 2048))
        h.send(.toServer, [.ack, .psh], seq: 2149, ack: 5001, data: Array(repeating: 0x42, count: 512))
        #expect(h.reasm.counters.retainStopped >= 1 && h.reasm.poolChunksInUse * 2 >= h.reasm.poolChunkCount)
    }
}
