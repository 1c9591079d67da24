import Testing
import UTMCore
import UTMDecode
@testable import UTMFlow

/// The closing states with Suricata's names (CLOSE_WAIT, LAST_ACK, TIME_WAIT beside FIN_WAIT1/2,
/// CLOSING), their timeouts, and the events Suricata raises in them (session 11).
@Suite struct TCPCloseStateTests {
    /// The last ACK per direction lives in alignment holes of `Flow`: no byte more per slot.
    @Test func lastAckCostsNoFlowByte() {
        #expect(MemoryLayout<TCPStream>.stride == 88)
        #expect(MemoryLayout<Flow>.stride == 336, "was 336 before the last ACK per direction")
    }

    /// Client closes first: CLOSE_WAIT (whether or not the FIN is acknowledged), the server's FIN
    /// makes LAST_ACK, the client's last ACK CLOSED.
    @Test func clientFirstCloseWaitLastAckClosed() {
        var h = Harness()
        let (c, s) = h.handshake(client: 100, server: 5000)
        h.send(.toServer, [.fin, .ack], seq: c, ack: s)
        #expect(h.flow.tcpState == .closeWait)
        #expect(h.table.config.timeouts.timeout(for: h.flow) == h.table.config.timeouts.tcpEstablished)
        h.send(.toClient, .ack, seq: s, ack: c + 1)
        #expect(h.flow.tcpState == .closeWait, "the server may still send")
        h.send(.toClient, [.ack, .psh], seq: s, ack: c + 1, data: bytes("tail"))
        #expect(h.flow.tcpState == .closeWait && h.streams[1] == bytes("tail"))
        h.send(.toClient, [.fin, .ack], seq: s + 4, ack: c + 1)
        #expect(h.flow.tcpState == .lastAck)
        #expect(h.flow.tcpState.timeoutClass == .closed)
        #expect(h.table.config.timeouts.timeout(for: h.flow) == h.table.config.timeouts.tcpClosed)
        // A FIN retransmission changes nothing.
        h.send(.toClient, [.fin, .ack], seq: s + 4, ack: c + 1)
        #expect(h.flow.tcpState == .lastAck)
        h.send(.toServer, .ack, seq: c + 1, ack: s + 5)
        #expect(h.flow.tcpState == .closed)
        #expect(h.table.counters.tcpInvalid == 0)
    }

    /// Server closes first: FIN_WAIT1, FIN_WAIT2 once acknowledged, TIME_WAIT on the client's
    /// FIN, CLOSED on the server's last ACK.
    @Test func serverFirstFinWaitTimeWaitClosed() {
        var h = Harness()
        let (c, s) = h.handshake(client: 100, server: 5000)
        h.send(.toClient, [.fin, .ack], seq: s, ack: c)
        #expect(h.flow.tcpState == .finWait1)
        h.send(.toClient, [.fin, .ack], seq: s, ack: c)
        #expect(h.flow.tcpState == .finWait1, "a FIN retransmission")
        h.send(.toServer, .ack, seq: c, ack: s + 1)
        #expect(h.flow.tcpState == .finWait2)
        h.send(.toServer, [.fin, .ack], seq: c, ack: s + 1)
        #expect(h.flow.tcpState == .timeWait)
        #expect(h.table.config.timeouts.timeout(for: h.flow) == h.table.config.timeouts.tcpClosed)
        h.send(.toClient, .ack, seq: s + 1, ack: c + 1)
        #expect(h.flow.tcpState == .closed)
        #expect(h.table.counters.tcpInvalid == 0)
    }

    /// Both FINs cross, neither acknowledging the other: CLOSING; one ACK makes TIME_WAIT, the
    /// other CLOSED (simultaneous close, either side's ACK first).
    @Test func simultaneousCloseThroughClosing() {
        for clientAcksFirst in [true, false] {
            var h = Harness()
            let (c, s) = h.handshake(client: 100, server: 5000)
            h.send(.toClient, [.fin, .ack], seq: s, ack: c)
            h.send(.toServer, [.fin, .ack], seq: c, ack: s)
            #expect(h.flow.tcpState == .closing)
            #expect(h.table.config.timeouts.timeout(for: h.flow) == h.table.config.timeouts.tcpEstablished)
            if clientAcksFirst {
                h.send(.toServer, .ack, seq: c + 1, ack: s + 1)
            } else {
                h.send(.toClient, .ack, seq: s + 1, ack: c + 1)
            }
            #expect(h.flow.tcpState == .timeWait)
            if clientAcksFirst {
                h.send(.toClient, .ack, seq: s + 1, ack: c + 1)
            } else {
                h.send(.toServer, .ack, seq: c + 1, ack: s + 1)
            }
            #expect(h.flow.tcpState == .closed)
        }
    }

    /// A believed RST closes the session from every closing state, from either side.
    @Test func resetInEveryClosingState() {
        for d in [Direction.toServer, .toClient] {
            for target in [TCPState.closeWait, .lastAck, .finWait1, .finWait2, .closing, .timeWait] {
                var h = Harness()
                let (c, s) = Self.drive(&h, to: target)
                #expect(h.flow.tcpState == target)
                let next = d == .toServer ? h.flow.toServer.sendNext : h.flow.toClient.sendNext
                h.send(d, [.rst, .ack], seq: next, ack: d == .toServer ? s : c)
                #expect(h.flow.tcpState == .closed && h.flow.rstSeen, "\(target) \(d)")
                // A RST far out of window is not believed.
                var far = Harness()
                _ = Self.drive(&far, to: target)
                far.send(d, .rst, seq: next &+ 1_000_000)
                #expect(far.flow.tcpState == target, "\(target) \(d)")
            }
        }
    }

    /// Brings a fresh harness's session to `target`; returns (client, server) next sequence
    /// numbers before any FIN.
    @discardableResult
    static func drive(_ h: inout Harness, to target: TCPState) -> (UInt32, UInt32) {
        let (c, s) = h.handshake(client: 100, server: 5000)
        switch target {
        case .closeWait:
            h.send(.toServer, [.fin, .ack], seq: c, ack: s)
        case .lastAck:
            h.send(.toServer, [.fin, .ack], seq: c, ack: s)
            h.send(.toClient, [.fin, .ack], seq: s, ack: c + 1)
        case .finWait1:
            h.send(.toClient, [.fin, .ack], seq: s, ack: c)
        case .finWait2:
            h.send(.toClient, [.fin, .ack], seq: s, ack: c)
            h.send(.toServer, .ack, seq: c, ack: s + 1)
        case .closing:
            h.send(.toClient, [.fin, .ack], seq: s, ack: c)
            h.send(.toServer, [.fin, .ack], seq: c, ack: s)
        case .timeWait:
            h.send(.toClient, [.fin, .ack], seq: s, ack: c)
            h.send(.toServer, [.fin, .ack], seq: c, ack: s + 1)
        default:
            break
        }
        return (c, s)
    }

    /// Hostile numbers in every state (random flags, sequence and ACK numbers near the session's
    /// and anywhere, windows): nothing traps, only defined events are raised, the table keeps
    /// one flow for the four-tuple and reuses never leak pool chunks.
    @Test func randomSegmentsThroughTheClosingStates() {
        var rng = SeededRNG(seed: 11)
        let flagSets: [TCPFlags] = [.ack, [.ack, .psh], [.fin, .ack], .fin, .syn, [.syn, .ack], [.rst, .ack], .rst,
                                    [.syn, .ece, .cwr], []]
        let defined = UInt64(1) << UInt64(StreamEvents.definedBits) - 1
        for _ in 0..<40 {
            var h = Harness()
            let (c, s) = h.handshake(client: 100, server: 5000)
            for _ in 0..<60 {
                let d: Direction = rng.next() & 1 == 0 ? .toServer : .toClient
                let flags = flagSets[Int(rng.next() % UInt64(flagSets.count))]
                let base = d == .toServer ? c : s, other = d == .toServer ? s : c
                let near = rng.next() & 3 != 0
                let seq = near ? base &+ UInt32(truncatingIfNeeded: rng.next() % 40) &- 5 : UInt32(truncatingIfNeeded: rng.next())
                let ack = near ? other &+ UInt32(truncatingIfNeeded: rng.next() % 40) &- 5 : UInt32(truncatingIfNeeded: rng.next())
                let data = rng.next() & 1 == 0 ? [] : Array(repeating: UInt8(0x41), count: Int(rng.next() % 8))
                let ev = h.events(d, flags, seq: seq, ack: ack, data: data,
                                  window: UInt16(truncatingIfNeeded: rng.next()))
                #expect(ev.rawValue & ~defined == 0)
                #expect(h.table.counters.active == 1)
            }
            var ended = h
            ended.expire(seconds: 1_000_000)
            #expect(ended.table.counters.active == 0 && ended.reasm.poolChunksInUse == 0)
        }
    }

    /// Flow reversal (a midstream session found to run the other way) swaps the last ACKs too.
    @Test func reversalSwapsTheLastAcks() {
        var h = Harness()
        h.send(.toServer, [.ack, .psh], seq: 1000, ack: 77, data: bytes("x"))
        #expect(h.flow.lastAck(sentBy: .toServer) == 77 && h.flow.lastAck(sentBy: .toClient) == nil)
        h.table.reverse(h.lastRef!)
        #expect(h.flow.lastAck(sentBy: .toClient) == 77 && h.flow.lastAck(sentBy: .toServer) == nil)
        // Only a later ACK moves it; an invalid one (far past what the peer sent) does not.
        var e = Harness()
        let (c, s) = e.handshake(client: 100, server: 5000)
        e.send(.toClient, [.ack, .psh], seq: s, ack: c, data: bytes("abcdef"))
        e.send(.toServer, .ack, seq: c, ack: s + 6)
        e.send(.toServer, .ack, seq: c, ack: s + 2)
        #expect(e.flow.lastAck(sentBy: .toServer) == s + 6)
        e.send(.toServer, .ack, seq: c, ack: s + 200_000)
        #expect(e.flow.lastAck(sentBy: .toServer) == s + 6)
    }
}
