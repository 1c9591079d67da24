import Testing
import UTMCore
import UTMDecode
@testable import UTMFlow

/// A handshake whose last ACK is seen before the SYN/ACK (capture reordering, or the ACK lost):
/// suricata-verify issue-4220's SMTP session.
@Suite struct HandshakeOrderTests {
    /// The client's next ACK acknowledges the server's banner: the session is established, and
    /// its data is reassembled as usual.
    @Test func ackOfServerDataCompletesTheHandshake() {
        var h = Harness()
        h.send(.toServer, .syn, seq: 100)
        h.send(.toServer, .ack, seq: 101, ack: 5001)              // before the SYN/ACK
        h.send(.toClient, [.syn, .ack], seq: 5000, ack: 101)
        #expect(h.flow.tcpState == .synRecv)
        h.send(.toClient, [.ack, .psh], seq: 5001, ack: 101, data: bytes("220 mail ready\r\n"))
        #expect(h.flow.tcpState == .synRecv, "server data alone does not complete it")
        h.send(.toServer, .ack, seq: 101, ack: 5017)
        #expect(h.flow.tcpState == .established)
        h.send(.toServer, [.ack, .psh], seq: 101, ack: 5017, data: bytes("HELO box\r\n"))
        #expect(h.streams[0] == bytes("HELO box\r\n"))
        #expect(h.streams[1] == bytes("220 mail ready\r\n"))
    }

    /// An ACK for bytes the server never sent (blind, or from another session) is still
    /// invalid and leaves the handshake open; so is one that acknowledges nothing new.
    @Test func ackBeyondWhatTheServerSentIsRejected() {
        var h = Harness()
        h.send(.toServer, .syn, seq: 100)
        h.send(.toClient, [.syn, .ack], seq: 5000, ack: 101)
        h.send(.toClient, [.ack, .psh], seq: 5001, ack: 101, data: bytes("220 ok\r\n"))
        let before = h.table.counters.tcpInvalid
        h.send(.toServer, .ack, seq: 101, ack: 9000)
        #expect(h.flow.tcpState == .synRecv)
        h.send(.toServer, .ack, seq: 101, ack: 4000)
        #expect(h.flow.tcpState == .synRecv)
        #expect(h.table.counters.tcpInvalid == before + 2)
        h.send(.toServer, .ack, seq: 101, ack: 5009)
        #expect(h.flow.tcpState == .established)
    }
}
