import Testing
import UTMCore
import UTMDecode
@testable import UTMFlow

/// Session details Suricata's tests depend on: when a closing session gets the short timeout,
/// and which packet of the handshake counts as established.
@Suite struct SessionCloseTests {
    /// Client FIN, server FIN with data, the server acknowledges the client's FIN, and the
    /// client's last ACK never comes (ips/firewall-04's capture): Suricata is in LAST_ACK (the
    /// client closed first; a state of its own since session 11) and the flow leaves after the
    /// closed timeout, not the established one.
    @Test func closingWithOneFinAcknowledgedTakesTheClosedTimeout() {
        var h = Harness()
        let (c, s) = h.handshake(client: 100, server: 5000)
        h.send(.toServer, [.ack, .fin], seq: c, ack: s)
        #expect(h.flow.tcpState == .closeWait)
        #expect(h.table.config.timeouts.timeout(for: h.flow) == h.table.config.timeouts.tcpEstablished)
        h.send(.toClient, [.ack, .psh, .fin], seq: s, ack: c, data: bytes("bye"))
        #expect(h.flow.tcpState == .lastAck)
        h.send(.toClient, .ack, seq: s &+ 4, ack: c &+ 1)
        #expect(h.flow.tcpState == .lastAck && h.flow.toServer.finAcked && !h.flow.toClient.finAcked)
        #expect(h.table.config.timeouts.timeout(for: h.flow) == h.table.config.timeouts.tcpClosed)
        h.expire(seconds: 1059)
        #expect(h.ended.isEmpty)
        h.expire(seconds: 1061)
        // A closed-class session ends as closed (FlowTable uses `timeoutClass`, review 11a).
        #expect(h.ended == [.tcpClosed])
    }

    @Test func onlyTheBareHandshakeAckIsMarked() {
        var h = Harness()
        h.send(.toServer, .syn, seq: 100)
        #expect(!h.flow.handshakeCompletedNow)
        h.send(.toClient, [.syn, .ack], seq: 5000, ack: 101)
        h.send(.toServer, .ack, seq: 101, ack: 5001)
        #expect(h.flow.tcpState == .established && h.flow.handshakeCompletedNow)
        h.send(.toServer, .ack, seq: 101, ack: 5001, data: bytes("x"))
        #expect(!h.flow.handshakeCompletedNow)
        // A handshake completed by a data packet: that packet is established already.
        var d = Harness()
        d.clientPort = 40001
        d.send(.toServer, .syn, seq: 100)
        d.send(.toClient, [.syn, .ack], seq: 5000, ack: 101)
        d.send(.toServer, .ack, seq: 101, ack: 5001, data: bytes("GET"))
        #expect(d.flow.tcpState == .established && !d.flow.handshakeCompletedNow)
    }
}
