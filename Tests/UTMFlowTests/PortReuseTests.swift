import Testing
import UTMCore
import UTMDecode
@testable import UTMFlow

/// A new connection on the ports of a session that is closing or closed (Suricata's
/// TcpSessionReuseDoneEnoughSyn): the old flow ends with `tcpClosed`, the SYN starts a new flow
/// with its own id; a SYN repeating the old ISN is a resend, and in FIN_WAIT1/2 and TIME_WAIT a
/// SYN is never a reuse (Suricata's `shutdown_syn_resend`).
@Suite struct PortReuseTests {
    typealias D = TCPCloseStateTests

    /// The states a session with a lost last ACK (or a RST) is left in.
    static let reusable: [TCPState] = [.closeWait, .lastAck, .closing, .closed]

    static func toClosed(_ h: inout Harness, rst: Bool) {
        let (c, s) = h.handshake(client: 100, server: 5000)
        if rst {
            h.send(.toServer, [.rst, .ack], seq: c, ack: s)
        } else {
            h.send(.toServer, [.fin, .ack], seq: c, ack: s)
            h.send(.toClient, [.fin, .ack], seq: s, ack: c + 1)
            h.send(.toServer, .ack, seq: c + 1, ack: s + 1)
        }
    }

    @Test func newISNInAClosingStateStartsANewFlow() {
        for target in Self.reusable {
            for rst in target == .closed ? [false, true] : [false] {
                var h = Harness()
                if target == .closed { Self.toClosed(&h, rst: rst) } else { D.drive(&h, to: target) }
                #expect(h.flow.tcpState == target)
                let oldID = h.flow.id
                h.reasm.beginPacket()
                // Past `closeWaitReuseIdle` (CLOSE_WAIT needs it; the others do not).
                let r = h.send(.toServer, [.syn, .ece, .cwr], seq: 900_000, seconds: 1011)
                #expect(r?.isNew == true, "\(target)")
                #expect(h.table.packetStreamEvents == [], "a new session, no shutdown_syn_resend")
                #expect(h.ended == [.tcpClosed] && h.table.counters.tcpReused == 1, "\(target)")
                #expect(h.flow.id != oldID && h.flow.id != 0)
                #expect(h.flow.tcpState == .synSent && !h.flow.midstream)
                #expect(h.flow.toServer.isn == 900_000 && h.flow.packets.0 == 1 && h.flow.packets.1 == 0)
                #expect(h.table.counters.active == 1)
                // The new session runs in its own sequence space.
                let (c, s) = (UInt32(900_001), UInt32(70_001))
                h.send(.toClient, [.syn, .ack], seq: 70_000, ack: c, seconds: 1011)
                h.send(.toServer, .ack, seq: c, ack: s, seconds: 1011)
                #expect(h.flow.tcpState == .established)
                h.send(.toServer, [.ack, .psh], seq: c, ack: s, data: bytes("GET /new"), seconds: 1011)
                #expect(h.chunks.last?.streamOffset == 0 && h.chunks.last?.direction == .toServer)
                #expect(h.table.counters.tcpInvalid == 0, "\(target)")
            }
        }
    }

    @Test func sameISNIsAResendNotAReuse() {
        for target in Self.reusable {
            var h = Harness()
            if target == .closed { Self.toClosed(&h, rst: false) } else { D.drive(&h, to: target) }
            let oldID = h.flow.id
            h.reasm.beginPacket()
            let r = h.send(.toServer, .syn, seq: 100)
            #expect(r?.isNew == false && h.flow.id == oldID, "\(target)")
            #expect(h.ended.isEmpty && h.table.counters.tcpReused == 0)
            let expected: StreamEvents = target == .closed ? [] : .shutdownSynResend
            #expect(h.table.packetStreamEvents == expected, "\(target)")
        }
    }

    @Test func finWaitAndTimeWaitAreNoReuse() {
        for target in [TCPState.finWait1, .finWait2, .timeWait] {
            var h = Harness()
            D.drive(&h, to: target)
            let oldID = h.flow.id
            h.reasm.beginPacket()
            let r = h.send(.toServer, .syn, seq: 900_000)
            #expect(r?.isNew == false && h.flow.id == oldID, "\(target)")
            #expect(h.table.packetStreamEvents == .shutdownSynResend)
            #expect(h.flow.tcpState == target && h.table.counters.tcpReused == 0)
            #expect(h.flow.toServer.isn == 100, "the old ISN stays")
        }
        // Established: not a reuse either (Suricata's est_syn_resend_diff_seq).
        var e = Harness()
        _ = e.handshake(client: 100, server: 5000)
        e.reasm.beginPacket()
        #expect(e.send(.toServer, .syn, seq: 900_000)?.isNew == false)
        #expect(e.table.packetStreamEvents == .estSynResendDiffSeq)
    }

    /// The old server opening a connection back on the same ports (Suricata: any SYN the
    /// other way in those states is a reuse): the new flow's client is the old server.
    @Test func synFromTheOldServerStartsAFlowTheOtherWay() {
        var h = Harness()
        D.drive(&h, to: .lastAck)
        let oldID = h.flow.id
        let r = h.send(.toClient, .syn, seq: 5000)
        #expect(r?.isNew == true && r?.direction == .toServer)
        #expect(h.flow.id != oldID && h.flow.clientIP == serverIP && h.flow.clientPort == 80)
        #expect(h.ended == [.tcpClosed])
        // A SYN/ACK is never a session start here (no midstream reuse).
        var a = Harness()
        D.drive(&a, to: .lastAck)
        #expect(a.send(.toClient, [.syn, .ack], seq: 9000, ack: 101)?.isNew == false)
    }

    /// The old flow still holds out-of-order bytes in the segment pool: the reuse ends it
    /// through `onEnd`, which releases them; none of them reach the new session.
    @Test func reuseReleasesTheOldFlowsQueuedData() {
        var h = Harness()
        let (c, s) = D.drive(&h, to: .closeWait)
        h.send(.toClient, [.ack, .psh], seq: s + 10, ack: c + 1, data: bytes("QUEUED-OLD"))
        #expect(h.reasm.poolChunksInUse > 0 && h.flow.toClient.queuedChunks > 0)
        let before = h.streams
        h.send(.toServer, .syn, seq: 900_000, seconds: 1011)
        #expect(h.ended == [.tcpClosed])
        #expect(h.reasm.poolChunksInUse == 0, "the old flow's chunks went back to the pool")
        h.send(.toClient, [.syn, .ack], seq: 70_000, ack: 900_001, seconds: 1011)
        h.send(.toServer, .ack, seq: 900_001, ack: 70_001, seconds: 1011)
        h.send(.toClient, [.ack, .psh], seq: 70_001, ack: 900_001, data: bytes("NEW"), seconds: 1011)
        #expect(h.streams[1] == before[1] + bytes("NEW"))
        #expect(h.chunks.last?.streamOffset == 0)
    }

    /// A flow whose packets had impossible flags has no TCP state (Suricata: no session): the
    /// client's SYN starts the session in it, the server's SYN a flow of its own.
    @Test func statelessFlowIsReusedByTheServerOnly() {
        var h = Harness()
        h.send(.toServer, [], seq: 1)
        #expect(h.flow.tcpState == .none && h.table.counters.tcpInvalid == 1)
        #expect(h.send(.toServer, .syn, seq: 100)?.isNew == false)
        #expect(h.flow.tcpState == .synSent && h.table.counters.tcpReused == 0)
        var s = Harness()
        s.send(.toServer, [], seq: 1)
        #expect(s.send(.toClient, .syn, seq: 5000)?.isNew == true)
        #expect(s.flow.clientIP == serverIP && s.table.counters.tcpReused == 1)
    }

    /// A session picked up midstream (no SYN seen, its ISN unknown): any SYN in a reusable
    /// state starts a new flow.
    @Test func midstreamSessionReusedByAnySYN() {
        var h = Harness()
        h.send(.toServer, [.ack, .psh], seq: 1000, ack: 50, data: bytes("a"))
        h.send(.toServer, [.fin, .ack], seq: 1001, ack: 50)
        #expect(h.flow.tcpState == .closeWait && h.flow.midstream)
        #expect(h.send(.toServer, .syn, seq: 1000, seconds: 1011)?.isNew == true)
        #expect(!h.flow.midstream && h.table.counters.tcpReused == 1)
    }

    /// Review (lead): in CLOSE_WAIT the server may still be sending. A client that half-closes
    /// and at once sends a SYN with a new ISN must not end the flow the server's bytes are
    /// inspected in; after `closeWaitReuseIdle` of silence the SYN is a reuse.
    @Test func closeWaitReuseWaitsForSilence() {
        var h = Harness()
        let (c, s) = D.drive(&h, to: .closeWait)
        let oldID = h.flow.id
        h.reasm.beginPacket()
        #expect(h.send(.toServer, .syn, seq: 900_000, seconds: 1001)?.isNew == false)
        #expect(h.table.packetStreamEvents.contains(.shutdownSynResend))
        #expect(h.ended.isEmpty && h.flow.id == oldID && h.table.counters.tcpReused == 0)
        // The server goes on sending in the old session, which still carries it.
        let before = h.streams[1].count
        h.send(.toClient, [.ack, .psh], seq: s, ack: c + 1, data: bytes("MORE"), seconds: 1002)
        #expect(h.streams[1].count == before + 4)
        // Ten seconds of silence: now a new ISN is a new connection.
        #expect(h.send(.toServer, .syn, seq: 950_000, seconds: 1013)?.isNew == true)
        #expect(h.ended == [.tcpClosed] && h.flow.id != oldID)
    }
}
