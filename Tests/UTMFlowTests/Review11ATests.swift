import Testing
import UTMCore
import UTMDecode
@testable import UTMFlow

/// Review 11a (tcpstate): forged FINs and SYNs that end the inspection of a live connection.
@Suite struct Review11ATests {
    /// A FIN far outside the window (a blind attacker who only knows the four-tuple; the real
    /// endpoints drop it) must not close anything. Suricata's StreamTcpHandleFin rejects it
    /// (`SEQ_LT(seq, next_seq) || SEQ_GT(seq, last_ack + window)`: FIN_OUT_OF_WINDOW, return -1,
    /// no state change). Here any FIN, at any sequence number, with or without ACK, moves the
    /// session to CLOSE_WAIT / FIN_WAIT1.
    @Test func blindFINOutOfWindowChangesNoState() {
        for d in [Direction.toServer, .toClient] {
            var h = Harness()
            let (c, s) = h.handshake(client: 100, server: 5000)
            h.send(.toServer, [.ack, .psh], seq: c, ack: s, data: bytes("GET /"))
            h.send(.toClient, .ack, seq: s, ack: c + 5)
            h.reasm.beginPacket()
            let far: UInt32 = 2_000_000_000
            h.send(d, .fin, seq: (d == .toServer ? c + 5 : s) &+ far)
            #expect(h.flow.tcpState == .established, "\(d): \(h.flow.tcpState)")
            #expect(h.table.packetStreamEvents.contains(.finOutOfWindow), "\(d)")
        }
    }

    /// Three blind packets end a live flow: a FIN each way at any sequence number makes
    /// LAST_ACK (no ACK needed, and LAST_ACK has no idle condition), then a SYN with a new ISN
    /// is taken as port reuse. The real connection goes on; its bytes land in a flow stuck in
    /// SYN_SENT and are never reassembled.
    @Test func threeBlindPacketsEndALiveFlow() {
        var h = Harness()
        let (c, s) = h.handshake(client: 100, server: 5000)
        h.send(.toServer, [.ack, .psh], seq: c, ack: s, data: bytes("GET /a"))
        h.send(.toClient, .ack, seq: s, ack: c + 6)
        let oldID = h.flow.id
        // The attacker's packets.
        h.send(.toServer, .fin, seq: 3_000_000_000, seconds: 1001)
        h.send(.toClient, .fin, seq: 3_000_000_000, seconds: 1001)
        h.send(.toServer, .syn, seq: 777, seconds: 1001)
        #expect(h.ended.isEmpty && h.table.counters.tcpReused == 0, "state before the SYN: \(h.flow.tcpState)")
        #expect(h.flow.id == oldID)
        // The real client goes on in its connection.
        h.send(.toServer, [.ack, .psh], seq: c + 6, ack: s, data: bytes("GET /evil"), seconds: 1001)
        #expect(h.streams[0] == bytes("GET /aGET /evil"), "\(String(decoding: h.streams[0], as: UTF8.self))")
    }

    /// The same with the idle rule of CLOSE_WAIT: one forged FIN from the client on a quiet
    /// session (SSH, a websocket, a long poll), ten seconds, one forged SYN: the flow ends and
    /// what follows is not reassembled.
    @Test func oneBlindFINAndTenQuietSecondsEndAnIdleFlow() {
        var h = Harness()
        let (c, s) = h.handshake(client: 100, server: 5000)
        h.send(.toServer, [.ack, .psh], seq: c, ack: s, data: bytes("hi"))
        h.send(.toClient, .ack, seq: s, ack: c + 2)
        h.send(.toServer, .fin, seq: 3_000_000_000, seconds: 1001)
        h.send(.toServer, .syn, seq: 777, seconds: 1012)
        #expect(h.ended.isEmpty && h.table.counters.tcpReused == 0, "\(h.flow.tcpState)")
        h.send(.toClient, [.ack, .psh], seq: s, ack: c + 2, data: bytes("EVIL"), seconds: 1013)
        #expect(h.streams[1] == bytes("EVIL"))
    }

    /// A malicious server, with its own packets only, after the client half-closed (CLOSE_WAIT):
    /// it sends its FIN first, a hundred bytes ahead of what it has sent (the client's stack
    /// queues the FIN out of order and waits for the hole), which makes LAST_ACK; then a SYN,
    /// which LAST_ACK takes as port reuse at once (the client answers a challenge ACK, its
    /// connection lives on). Then the server fills the hole: the client reads those bytes, the
    /// box has ended the flow and puts them in a new one that never reassembles them.
    /// Reuse from LAST_ACK / CLOSING should need the closing side's stream complete up to its
    /// FIN (no hole, nothing queued), or the same silence as CLOSE_WAIT.
    @Test func serverFINAheadOfAHoleThenSYNHidesTheHole() {
        var h = Harness()
        let (c, s) = h.handshake(client: 100, server: 5000)
        h.send(.toServer, [.ack, .psh], seq: c, ack: s, data: bytes("PUT /x"))
        h.send(.toServer, [.fin, .ack], seq: c + 6, ack: s)
        h.send(.toClient, .ack, seq: s, ack: c + 7)
        #expect(h.flow.tcpState == .closeWait)
        let payload = bytes("EVIL-PAYLOAD")
        h.send(.toClient, [.fin, .ack], seq: s + UInt32(payload.count), ack: c + 7)
        #expect(h.flow.tcpState == .lastAck)
        h.send(.toClient, .syn, seq: 424_242)
        #expect(h.ended.isEmpty && h.table.counters.tcpReused == 0, "the hole before the FIN is still open")
        h.send(.toClient, [.ack, .psh], seq: s, ack: c + 7, data: payload)
        #expect(h.streams[1] == payload)
    }
}
