import Testing
import UTMCore
import UTMDecode
@testable import UTMFlow

extension Harness {
    /// Sends one segment as the engine does (the reassembler's per-packet state reset first)
    /// and returns the stream events the state machine and reassembly raised for it.
    @discardableResult
    mutating func events(_ d: Direction, _ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, data: [UInt8] = [],
                         window: UInt16 = 65535) -> StreamEvents {
        reasm.beginPacket()
        send(d, flags, seq: seq, ack: ack, data: data, window: window)
        return table.packetStreamEvents.union(reasm.packetEvents)
    }
}

/// Suricata's stream events (stream-events.rules), raised by the TCP state machine and the
/// reassembler on segments built here: one positive and one negative case per family.
@Suite struct StreamEventsTests {
    // MARK: Names

    @Test func everyNameRoundTripsAndIsUnique() {
        var seen = Set<String>()
        for bit in 0..<StreamEvents.definedBits {
            guard let name = StreamEvents.name(ofBit: bit) else {
                Issue.record("bit \(bit) has no name")
                continue
            }
            let text = "\(name)"
            #expect(seen.insert(text).inserted, "duplicate \(text)")
            #expect(StreamEvents.bit(named: Substring(text)) == bit)
            #expect(StreamEvents.bit(named: Substring(text.uppercased())) == bit)
        }
        for bit in StreamEvents.definedBits..<64 { #expect(StreamEvents.name(ofBit: bit) == nil) }
    }

    @Test func suricataRuleFileSpellingsAndUndetectedEvents() {
        // stream-events.rules spells these two `_different_ack`; the event table `_diff_ack`.
        #expect(StreamEvents.bit(named: "3whs_synack_resend_with_different_ack") == 1)
        #expect(StreamEvents.bit(named: "est_synack_resend_with_different_ack") == 15)
        // Events the stream layer never raises: their rules are skipped.
        for name in ["3whs_async_wrong_seq", "3whs_synack_flood", "4whs_wrong_seq", "pkt_invalid_timestamp",
                     "wrong_thread", "rst_but_no_session", "closewait_fin_out_of_window", "", "est_syn_resend_x"] {
            #expect(StreamEvents.bit(named: Substring(name)) == nil, "\(name)")
        }
    }

    // MARK: A clean session

    @Test func aCleanSessionRaisesNothing() {
        var h = Harness()
        #expect(h.events(.toServer, .syn, seq: 100) == [])
        #expect(h.events(.toClient, [.syn, .ack], seq: 5000, ack: 101) == [])
        #expect(h.events(.toServer, .ack, seq: 101, ack: 5001) == [])
        #expect(h.events(.toServer, [.ack, .psh], seq: 101, ack: 5001, data: bytes("GET / HTTP/1.1\r\n\r\n")) == [])
        #expect(h.events(.toClient, [.ack, .psh], seq: 5001, ack: 119, data: bytes("HTTP/1.1 200 OK\r\n\r\n")) == [])
        #expect(h.events(.toServer, .ack, seq: 119, ack: 5020) == [])
        #expect(h.events(.toServer, [.fin, .ack], seq: 119, ack: 5020) == [])
        #expect(h.events(.toClient, [.fin, .ack], seq: 5020, ack: 120) == [])
        #expect(h.events(.toServer, .ack, seq: 120, ack: 5021) == [])
        #expect(h.flow.tcpState == .closed)
        #expect(h.streams[0] == bytes("GET / HTTP/1.1\r\n\r\n"))
        for bit in 0..<64 { #expect(h.table.streamEventCounts[bit] == 0 && h.reasm.eventCounts[bit] == 0) }
    }

    // MARK: Handshake

    @Test func synAckInTheWrongDirection() {
        var h = Harness()
        h.events(.toServer, .syn, seq: 100)
        #expect(h.events(.toServer, [.syn, .ack], seq: 100, ack: 5001) == .synAckInWrongDirection)
        var ok = Harness()
        ok.events(.toServer, .syn, seq: 100)
        #expect(ok.events(.toClient, [.syn, .ack], seq: 5000, ack: 101) == [])
    }

    @Test func synAckWithWrongAck() {
        var h = Harness()
        h.events(.toServer, .syn, seq: 100)
        #expect(h.events(.toClient, [.syn, .ack], seq: 5000, ack: 555) == .synAckWithWrongAck)
        #expect(h.table.streamEventCounts[StreamEvents.synAckWithWrongAck.rawValue.trailingZeroBitCount] == 1)
    }

    @Test func synAckResentWithOtherNumbers() {
        var h = Harness()
        h.events(.toServer, .syn, seq: 100)
        h.events(.toClient, [.syn, .ack], seq: 5000, ack: 101)
        #expect(h.events(.toClient, [.syn, .ack], seq: 5000, ack: 101) == [], "a plain resend")
        #expect(h.events(.toClient, [.syn, .ack], seq: 7000, ack: 101) == .synAckResendDiffSeq)
        #expect(h.events(.toClient, [.syn, .ack], seq: 7000, ack: 999) == .synAckResendDiffAck)
        #expect(h.events(.toServer, [.syn, .ack], seq: 100, ack: 7001) == .synAckToServerOnSynRecv)
    }

    @Test func synResentOrSentToTheClientDuringTheHandshake() {
        var h = Harness()
        h.events(.toServer, .syn, seq: 100)
        h.events(.toClient, [.syn, .ack], seq: 5000, ack: 101)
        #expect(h.events(.toServer, .syn, seq: 100) == [])
        #expect(h.events(.toServer, .syn, seq: 300) == .synResendDiffSeqOnSynRecv)
        #expect(h.events(.toClient, .syn, seq: 5000) == .synToClientOnSynRecv)
    }

    @Test func handshakeAcks() {
        var h = Harness()
        h.events(.toServer, .syn, seq: 100)
        h.events(.toClient, [.syn, .ack], seq: 5000, ack: 101)
        #expect(h.events(.toClient, .ack, seq: 5001, ack: 101) == .ackInWrongDir)
        #expect(h.events(.toServer, .ack, seq: 101, ack: 9000) == .rightSeqWrongAckEvasion)
        #expect(h.events(.toServer, .ack, seq: 400, ack: 9000) == .wrongSeqWrongAck)
        #expect(h.flow.tcpState == .synRecv, "the events change nothing")
        #expect(h.events(.toServer, .ack, seq: 101, ack: 5001) == [])
        #expect(h.flow.tcpState == .established)
    }

    @Test func synAckIgnoringTheSynData() {
        var h = Harness()
        h.events(.toServer, .syn, seq: 100, data: bytes("hello"))
        #expect(h.events(.toClient, [.syn, .ack], seq: 5000, ack: 101) == .synAckTFODataIgnored)
        var taken = Harness()
        taken.events(.toServer, .syn, seq: 100, data: bytes("hello"))
        #expect(taken.events(.toClient, [.syn, .ack], seq: 5000, ack: 106) == [])
        // Held until the answer (IDS): the state machine's event alone (reassembly raised it
        // too, and the stats counted one packet twice: review 10b).
        var c = testConfig()
        c.holdSynData = true
        var held = Harness(c)
        held.events(.toServer, .syn, seq: 100, data: bytes("hello"))
        #expect(held.events(.toClient, [.syn, .ack], seq: 5000, ack: 101) == .synAckTFODataIgnored)
        #expect(held.reasm.packetEvents == [])
    }

    // MARK: Established

    @Test func synAndSynAckOnAnEstablishedSession() {
        var h = Harness()
        _ = h.handshake(client: 100, server: 5000)
        #expect(h.events(.toServer, .syn, seq: 100) == .estSynResend)
        // One event each, as Suricata (review 10b).
        #expect(h.events(.toServer, .syn, seq: 300) == .estSynResendDiffSeq)
        #expect(h.events(.toClient, .syn, seq: 5000) == .estSynToClient)
        // An identical SYN/ACK before the server sent anything: it missed the final ACK.
        #expect(h.events(.toClient, [.syn, .ack], seq: 5000, ack: 101) == [])
        #expect(h.events(.toClient, [.syn, .ack], seq: 6000, ack: 101) == .estSynAckResendDiffSeq)
        #expect(h.events(.toClient, [.syn, .ack], seq: 5000, ack: 999) == .estSynAckResendDiffAck)
        #expect(h.events(.toServer, [.syn, .ack], seq: 100, ack: 5001) == .estSynAckToServer)
    }

    @Test func invalidAcksOnAnEstablishedSession() {
        var h = Harness()
        _ = h.handshake(client: 100, server: 5000)
        #expect(h.events(.toServer, .ack, seq: 101, ack: 5001 + 60000) == [], "within the window offered")
        #expect(h.events(.toServer, .ack, seq: 101, ack: 5001 + 70000) == [.pktInvalidAck, .estInvalidAck])
        #expect(h.events(.toServer, [.fin, .ack], seq: 101, ack: 5001 + 70000) == [.pktInvalidAck, .finInvalidAck])
    }

    @Test func segmentsOutOfTheReceiversWindow() {
        var h = Harness()
        _ = h.handshake(client: 100, server: 5000)
        #expect(h.events(.toServer, [.ack, .psh], seq: 101 + 100, ack: 5001, data: bytes("early")) == [],
                "out of order but in the window")
        #expect(h.events(.toServer, [.ack, .psh], seq: 101 + 70000, ack: 5001, data: bytes("far")) == .estPacketOutOfWindow)
        // Counted from the highest sequence number sent, which the far segment moved on.
        #expect(h.events(.toServer, [.fin, .ack], seq: 101 + 140_000, ack: 5001, data: bytes("x")) == .finOutOfWindow)
        // The server closed its window: a one-byte probe is not out of it.
        var z = Harness()
        _ = z.handshake(client: 100, server: 5000)
        z.events(.toClient, .ack, seq: 5001, ack: 101, window: 0)
        #expect(z.events(.toServer, [.ack, .psh], seq: 101, ack: 5001, data: bytes("p")) == [])
        #expect(z.events(.toServer, [.ack, .psh], seq: 101, ack: 5001, data: bytes("pq")) == .estPacketOutOfWindow)
    }

    // MARK: Shutdown

    /// Session 11: FIN_WAIT1/2 and CLOSING are the states of a close the server starts
    /// (Suricata's names; a client's first FIN makes CLOSE_WAIT, TCPCloseEventsTests).
    @Test func invalidAcksWhileClosing() {
        var h = Harness()
        _ = h.handshake(client: 100, server: 5000)
        h.events(.toClient, [.fin, .ack], seq: 5001, ack: 101)
        #expect(h.flow.tcpState == .finWait1)
        #expect(h.events(.toServer, .ack, seq: 101, ack: 5001 + 70000) == [.pktInvalidAck, .fin1InvalidAck])
        #expect(h.events(.toServer, .ack, seq: 101, ack: 5001) == [])
        #expect(h.flow.tcpState == .finWait1)
        #expect(h.events(.toServer, .fin, seq: 101) == [])
        #expect(h.flow.tcpState == .closing)
        #expect(h.events(.toServer, .syn, seq: 100) == .shutdownSynResend)
        #expect(h.events(.toServer, .ack, seq: 102, ack: 5002 + 70000) == [.pktInvalidAck, .closingInvalidAck])
        var w = Harness()
        _ = w.handshake(client: 100, server: 5000)
        w.events(.toClient, [.fin, .ack], seq: 5001, ack: 101)
        #expect(w.events(.toServer, .ack, seq: 101, ack: 5002) == [])
        #expect(w.flow.tcpState == .finWait2)
        #expect(w.events(.toServer, .ack, seq: 101, ack: 5002 + 70000) == [.pktInvalidAck, .fin2InvalidAck])
    }

    // MARK: Any state

    @Test func flagAnomalies() {
        var h = Harness()
        // A scan's SYN+FIN creating a flow: not Suricata's fin_syn (an established session's).
        #expect(h.events(.toServer, [.syn, .fin], seq: 100) == [])
        #expect(h.events(.toServer, .syn, seq: 100, ack: 1234) == .pktBrokenAck)
        var est = Harness()
        _ = est.handshake(client: 100, server: 5000)
        #expect(est.events(.toServer, [.syn, .fin], seq: 101, ack: 5001).contains(.finSyn))
        var ok = Harness()
        #expect(ok.events(.toServer, .syn, seq: 100) == [])
        #expect(ok.events(.toServer, [.rst], seq: 101) == [], "a RST with no ACK flag and no ack number")
    }

    @Test func resets() {
        var h = Harness()
        _ = h.handshake(client: 100, server: 5000)
        #expect(h.events(.toClient, [.rst, .ack], seq: 5001, ack: 101 + 70000) == [.rstInvalidAck, .pktInvalidAck])
        #expect(h.flow.tcpState == .closed, "still believed by its sequence number, as before")
        // The side the RST was sent to may still have data in flight; the RST's own sender
        // going on is the suspicion (Suricata's StreamTcpPacketCheckPostRst), once.
        #expect(h.events(.toServer, [.ack, .psh], seq: 101, ack: 5001, data: bytes("more")) == [])
        #expect(h.events(.toClient, .ack, seq: 5001, ack: 101) == .suspectedRSTInject, "the RST's sender goes on")
        #expect(h.events(.toClient, .ack, seq: 5001, ack: 101) == [])
        var ok = Harness()
        _ = ok.handshake(client: 100, server: 5000)
        #expect(ok.events(.toClient, [.rst, .ack], seq: 5001, ack: 101) == [])
    }

    // MARK: Reassembly

    @Test func retransmissionAndSegmentBeforeTheStream() {
        var h = Harness()
        let (c, s) = h.handshake(client: 100, server: 5000)
        #expect(h.events(.toServer, [.ack, .psh], seq: c, ack: s, data: bytes("abcd")) == [])
        #expect(h.events(.toServer, [.ack, .psh], seq: c, ack: s, data: bytes("abcd")) == .pktRetransmission)
        #expect(h.events(.toServer, [.ack, .psh], seq: c + 4, ack: s, data: bytes("efgh")) == [])
        // Midstream: bytes wholly before the first byte the box saw.
        var m = Harness()
        m.events(.toServer, [.ack, .psh], seq: 1000, ack: 1, data: bytes("abcd"))
        #expect(m.events(.toServer, [.ack, .psh], seq: 990, ack: 1, data: bytes("12345")) == .segmentBeforeBaseSeq)
    }

    @Test func gapsAndOverlaps() {
        var h = Harness()
        let (c, s) = h.handshake(client: 100, server: 5000)
        #expect(h.events(.toServer, [.ack, .psh], seq: c + 5, ack: s, data: bytes("fgh")) == [])
        #expect(h.events(.toClient, .ack, seq: s, ack: c + 8) == .seqGap, "the receiver took bytes the box never saw")
        var o = Harness()
        let (c2, s2) = o.handshake(client: 100, server: 5000)
        o.events(.toServer, [.ack, .psh], seq: c2 + 4, ack: s2, data: bytes("XXXX"))
        #expect(o.events(.toServer, [.ack, .psh], seq: c2, ack: s2, data: bytes("abcdEFGH")) == .overlapDifferentData)
        var same = Harness()
        let (c3, s3) = same.handshake(client: 100, server: 5000)
        same.events(.toServer, [.ack, .psh], seq: c3 + 4, ack: s3, data: bytes("EFGH"))
        #expect(same.events(.toServer, [.ack, .psh], seq: c3, ack: s3, data: bytes("abcdEFGH")) == [])
        #expect(same.streams[0] == bytes("abcdEFGH"))
    }

    @Test func poolExhaustedAndDepthReached() {
        var c = testConfig()
        c.segmentPoolBytes = 1024
        c.segmentChunkBytes = 512
        var h = Harness(c)
        let (cn, sn) = h.handshake(client: 100, server: 5000)
        let ev = h.events(.toServer, [.ack, .psh], seq: cn + 10, ack: sn, data: Array(repeating: 0x41, count: 1500))
        #expect(ev.contains(.noSegment))
        var d = testConfig()
        d.streamDepth = 10
        var deep = Harness(d)
        let (cd, sd) = deep.handshake(client: 100, server: 5000)
        #expect(deep.events(.toServer, [.ack, .psh], seq: cd, ack: sd, data: bytes("12345")) == [])
        #expect(deep.events(.toServer, [.ack, .psh], seq: cd + 5, ack: sd, data: bytes("6789012345")) == .depthReached)
        #expect(deep.reasm.eventCounts[StreamEvents.depthReached.rawValue.trailingZeroBitCount] == 1)
    }
}
