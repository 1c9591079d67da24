// FINs checked against the window (review 11a): what a forged FIN may not do, and the
// legitimate closes that must still work (retransmitted FIN, FIN with data, midstream,
// a NAT reusing the ports of a LAST_ACK session).
import Testing
import UTMCore
import UTMDecode
@testable import UTMFlow

@Suite struct FinWindowTests {
    /// A FIN carrying data, then the same FIN again (lost ACK): both in window, the session
    /// closes normally and the retransmission raises no `fin_out_of_window`.
    @Test func finWithDataAndItsRetransmissionClose() {
        var h = Harness()
        let (c, s) = h.handshake(client: 100, server: 5000)
        h.reasm.beginPacket()
        h.send(.toServer, [.fin, .ack, .psh], seq: c, ack: s, data: bytes("bye"))
        #expect(h.flow.tcpState == .closeWait && !h.table.packetStreamEvents.contains(.finOutOfWindow))
        h.send(.toServer, [.fin, .ack, .psh], seq: c, ack: s, data: bytes("bye"))
        #expect(h.flow.tcpState == .closeWait && !h.table.packetStreamEvents.contains(.finOutOfWindow))
        h.send(.toClient, [.fin, .ack], seq: s, ack: c + 4)
        #expect(h.flow.tcpState == .lastAck)
        h.send(.toServer, .ack, seq: c + 4, ack: s + 1)
        #expect(h.flow.tcpState == .closed && h.streams[0] == bytes("bye"))
    }

    /// A FIN whose ACK acknowledges bytes the server never sent: Suricata rejects the whole
    /// packet (`fin_invalid_ack`), so it closes nothing; the real FIN after it does.
    @Test func finWithAnInvalidAckChangesNoState() {
        var h = Harness()
        let (c, s) = h.handshake(client: 100, server: 5000)
        h.send(.toServer, [.fin, .ack], seq: c, ack: s &+ 10_000_000)
        #expect(h.flow.tcpState == .established && !h.flow.toServer.finSeen)
        #expect(h.table.packetStreamEvents.contains(.finInvalidAck))
        h.send(.toServer, [.fin, .ack], seq: c, ack: s)
        #expect(h.flow.tcpState == .closeWait)
    }

    /// A FIN past the receiver's window but near enough for the reassembler (under 2^30
    /// ahead): the state machine rejects it, and the reassembler must not take it as the end
    /// of the stream either, or every byte after the attacker's offset would be cut.
    @Test func rejectedFINDoesNotEndTheStream() {
        var h = Harness()
        let (c, s) = h.handshake(client: 100, server: 5000)
        h.reasm.beginPacket()
        h.send(.toServer, .fin, seq: c + 70_000)
        #expect(h.table.packetStreamEvents.contains(.finOutOfWindow))
        #expect(h.flow.tcpState == .established && h.flow.toServer.finOffset == .max)
        var data: [UInt8] = []
        for i in 0 ..< 3 {
            let chunk = [UInt8](repeating: UInt8(65 + i), count: 30_000)
            h.send(.toServer, [.ack, .psh], seq: c + UInt32(data.count), ack: s, data: chunk)
            h.send(.toClient, .ack, seq: s, ack: c + UInt32(data.count + chunk.count))
            data += chunk
        }
        let whole = h.streams[0] == data
        #expect(whole, "delivered \(h.streams[0].count) of \(data.count) bytes")
    }

    /// A FIN before what the sender already sent (not a retransmission of its FIN) is out of
    /// window; so is a second FIN at another sequence number after the first.
    @Test func finBeforeTheSentBytesOrASecondFinIsRejected() {
        var h = Harness()
        let (c, s) = h.handshake(client: 100, server: 5000)
        h.send(.toServer, [.ack, .psh], seq: c, ack: s, data: bytes("hello"))
        h.reasm.beginPacket()
        h.send(.toServer, [.fin, .ack], seq: c + 2, ack: s)
        #expect(h.flow.tcpState == .established && h.table.packetStreamEvents.contains(.finOutOfWindow))
        h.send(.toServer, [.fin, .ack], seq: c + 5, ack: s)
        #expect(h.flow.tcpState == .closeWait && h.flow.toServer.finSeq == c + 5)
        h.reasm.beginPacket()
        h.send(.toServer, [.fin, .ack], seq: c + 4, ack: s)
        #expect(h.table.packetStreamEvents.contains(.finOutOfWindow) && h.flow.toServer.finSeq == c + 5)
    }

    /// A session picked up midstream (no SYN, window scale unknown): the FIN at the sender's
    /// next sequence number closes it; one on the far side of the sequence space does not.
    @Test func midstreamFIN() {
        var h = Harness()
        h.send(.toServer, [.ack, .psh], seq: 1000, ack: 50, data: bytes("ab"))
        h.send(.toClient, [.ack, .psh], seq: 50, ack: 1002, data: bytes("cd"))
        h.send(.toServer, .fin, seq: 1002 &+ 2_500_000_000, ack: 0)
        #expect(h.flow.tcpState == .established && h.flow.midstream)
        h.send(.toServer, [.fin, .ack], seq: 1002, ack: 52)
        #expect(h.flow.tcpState == .closeWait)
    }

    /// A NAT reusing the ports of a session whose client's last ACK was lost: both streams
    /// are complete up to their FINs, so the SYN starts a new flow at once, from LAST_ACK.
    @Test func lastAckWithCompleteStreamsIsReusedAtOnce() {
        var h = Harness()
        let (c, s) = h.handshake(client: 100, server: 5000)
        h.send(.toServer, [.ack, .psh], seq: c, ack: s, data: bytes("GET /"))
        h.send(.toClient, [.ack, .psh], seq: s, ack: c + 5, data: bytes("200"))
        h.send(.toServer, [.fin, .ack], seq: c + 5, ack: s + 3)
        h.send(.toClient, [.fin, .ack], seq: s + 3, ack: c + 6)
        #expect(h.flow.tcpState == .lastAck && h.flow.toClient.done)
        #expect(h.send(.toServer, .syn, seq: 90_000, seconds: 1001)?.isNew == true)
        #expect(h.ended == [.tcpClosed] && h.table.counters.tcpReused == 1)
    }

    /// The server's FIN ahead of a hole: no reuse at once, from either side, but after
    /// `closeWaitReuseIdle` of silence the SYN is a new connection (the hole never came).
    @Test func lastAckWithAHoleIsReusedAfterSilence() {
        var h = Harness()
        let (c, s) = h.handshake(client: 100, server: 5000)
        h.send(.toServer, [.fin, .ack], seq: c, ack: s)
        h.send(.toClient, [.fin, .ack], seq: s + 10, ack: c + 1)
        #expect(h.flow.tcpState == .lastAck && !h.flow.toClient.done)
        #expect(h.send(.toServer, .syn, seq: 90_000, seconds: 1005)?.isNew == false)
        #expect(h.send(.toServer, .syn, seq: 90_000, seconds: 1016)?.isNew == true)
        #expect(h.ended == [.tcpClosed] && h.table.counters.tcpReused == 1)
    }
}
