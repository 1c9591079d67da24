import UTMCore
import UTMDecode

/// TCP session state, tracked as Suricata's stream engine does (RFC 793 states seen from the
/// middle of the path), with Suricata's names: a close the server starts runs FIN_WAIT1 →
/// FIN_WAIT2 (or CLOSING when both FINs cross) → TIME_WAIT → CLOSED; a close the client starts
/// runs CLOSE_WAIT → LAST_ACK → CLOSED.
///
/// Raw values are stable (0-7 as before, the three states added later after them): the engine
/// compares `rawValue >= established.rawValue` for "the session is up", which holds for every
/// closing state too, as Suricata's `state >= TCP_ESTABLISHED`.
public enum TCPState: UInt8, Sendable {
    /// No TCP flow (UDP, ICMP) or nothing tracked yet.
    case none = 0
    /// Client SYN seen.
    case synSent = 1
    /// Server SYN/ACK seen.
    case synRecv = 2
    /// Handshake completed, or a session picked up midstream.
    case established = 3
    /// The server sent a FIN that is not acknowledged yet.
    case finWait1 = 4
    /// The server's FIN was acknowledged; the client may still send.
    case finWait2 = 5
    /// Both sides sent a FIN (the server's first), neither acknowledged.
    case closing = 6
    /// Both FINs acknowledged, or a valid RST.
    case closed = 7
    /// The client sent a FIN (it closed first); the server may still send.
    case closeWait = 8
    /// The client closed first and the server's FIN followed: waiting for the client's last ACK.
    case lastAck = 9
    /// The server closed first, both FINs were sent and one acknowledged: waiting for the other.
    case timeWait = 10

    /// Which timeout applies: half-open and closed sessions are cheap to forge and leave soon.
    public enum TimeoutClass: Sendable { case new, established, closed }

    /// Suricata's flow state by TCP state: LAST_ACK and TIME_WAIT already count as closed (only
    /// a last ACK is missing), CLOSE_WAIT as established (the server may still send).
    @inlinable
    public var timeoutClass: TimeoutClass {
        switch self {
        case .none, .synSent, .synRecv: return .new
        case .established, .finWait1, .finWait2, .closing, .closeWait: return .established
        case .closed, .lastAck, .timeWait: return .closed
        }
    }

    /// A SYN with a new ISN in this state starts a new session on the same ports (Suricata's
    /// TcpSessionReuseDoneEnoughSyn: `state >= TCP_LAST_ACK` in its order, LAST_ACK, CLOSE_WAIT,
    /// CLOSING, CLOSED, or no state; FlowTable.track adds the direction and ISN tests).
    /// FIN_WAIT1/2 and TIME_WAIT are not: there the SYN is `shutdown_syn_resend`, as in
    /// Suricata.
    @inlinable
    public var acceptsReuse: Bool {
        switch self {
        case .none, .lastAck, .closeWait, .closing, .closed: return true
        default: return false
        }
    }
}

/// The TCP state machine: one packet's flags and numbers applied to its flow.
///
/// Why separate from reassembly: the table updates the state for every TCP packet, even when
/// the engine does not reassemble (bypassed flows), and timeouts depend on it.
enum TCPStateMachine {
    /// Flag combinations no stack sends (scans, evasion): counted, no state change.
    @inline(__always)
    static func isInvalid(_ flags: TCPFlags) -> Bool {
        flags.isEmpty || flags.contains(synRST) || flags.contains(synFIN)
            || (flags.contains(finPSHURG) && !flags.contains(.ack))
    }

    // Flag combinations as constants, not `[.syn, .rst]` literals in the checks: an OptionSet
    // array literal builds an Array on every call in debug builds (the CI build), which the
    // engine allocation test counts per packet.
    static let synRST: TCPFlags = [.syn, .rst]
    static let synFIN: TCPFlags = [.syn, .fin]
    static let synACK: TCPFlags = [.syn, .ack]
    static let finPSHURG: TCPFlags = [.fin, .psh, .urg]
    static let synACKRSTFIN: TCPFlags = [.syn, .ack, .rst, .fin]

    /// A packet that opens a connection: SYN without ACK, RST or FIN (ECN bits and the like
    /// allowed, an ECN-setup SYN carries ECE and CWR).
    @inline(__always)
    static func startsSession(_ flags: TCPFlags) -> Bool {
        flags.intersection(synACKRSTFIN) == .syn
    }

    /// State of a flow created by its first packet (sent in `toServer` direction after the
    /// table decided who is the client).
    static func initialState(_ flags: TCPFlags) -> (state: TCPState, midstream: Bool) {
        if flags.contains(.syn) {
            return flags.contains(.ack) ? (.synRecv, true) : (.synSent, false)
        }
        return (.established, true)
    }

    /// Applies `p`, travelling in direction `d`, to `f`. Returns false when the packet was
    /// invalid for the state (counted by the caller).
    ///
    /// `ev` gets the stream events (Suricata's stream-events.rules) the packet raised; they
    /// never change the state, the return value or what the reassembler does.
    static func update(_ f: inout Flow, _ p: DecodedPacket, _ d: Direction, _ ev: inout StreamEvents) -> Bool {
        let flags = p.tcpFlags
        f.handshakeCompletedNow = false
        if d == .toServer { f.tcpFlagsSeen.0 |= flags.rawValue } else { f.tcpFlagsSeen.1 |= flags.rawValue }
        // Suricata: an ACK number with no ACK flag (broken middleboxes, some scanners).
        if !flags.contains(.ack) && p.ack != 0 { ev.formUnion(.pktBrokenAck) }
        // Suricata raises it handling the FIN of an established session, not on a scan's
        // first SYN+FIN that creates a flow.
        if flags.contains(synFIN) && f.tcpState.rawValue >= TCPState.established.rawValue { ev.formUnion(.finSyn) }
        if isInvalid(flags) { return false }
        let rstFrom: UInt8 = d == .toServer ? 1 : 2
        if flags.contains(.rst) {
            let rstBadAck = flags.contains(.ack) && ackInvalid(f, p, d)
            if rstBadAck { ev.formUnion(.rstInvalidAck); ev.formUnion(.pktInvalidAck) }
            guard rstAcceptable(f, p, d) else { return false }
            // Suricata takes a believed RST's valid ACK as that side's last ACK.
            if flags.contains(.ack) && !rstBadAck { f.noteAck(p.ack, sentBy: d) }
            f.rstSeen = true
            if f.rstFrom == 0 { f.rstFrom = rstFrom }
            f.tcpState = .closed
            return true
        }
        // The side a believed RST came from goes on sending: a real sender that reset the
        // connection would not, so the RST was probably injected in its name (Suricata's
        // StreamTcpPacketCheckPostRst: a packet from the RST's sender). Once per RST: the
        // other side's data still in flight after a browser's RST is no suspicion.
        if f.rstSeen && f.rstFrom != 0 && f.rstFrom == rstFrom {
            ev.formUnion(.suspectedRSTInject)
            f.rstFrom = 0
        }
        let len = UInt32(truncatingIfNeeded: p.payload.count)
        let syn = flags.contains(.syn), fin = flags.contains(.fin), ack = flags.contains(.ack)
        var valid = true
        var completed = false
        let state = f.tcpState
        var next = state
        let badAck = ack && !syn && state.rawValue >= TCPState.established.rawValue && state != .closed
            && ackInvalid(f, p, d)
        // The ACK makes Suricata reject the packet only where it checks it (the named events).
        var ackRejected = false
        if badAck {
            let named: StreamEvents
            switch state {
            case .established: named = fin ? .finInvalidAck : .estInvalidAck
            case .finWait1: named = .fin1InvalidAck
            case .finWait2: named = .fin2InvalidAck
            case .closing: named = .closingInvalidAck
            case .closeWait: named = .closewaitInvalidAck
            // Suricata checks the ACK in LAST_ACK on the client's ACKs only, and in TIME_WAIT
            // on ACKs without a FIN only (its FIN branch there does nothing).
            case .lastAck: named = d == .toServer && !fin ? .lastackInvalidAck : StreamEvents()
            case .timeWait: named = fin ? StreamEvents() : .timewaitInvalidAck
            default: named = StreamEvents()
            }
            if named.rawValue != 0 { ev.formUnion(named); ev.formUnion(.pktInvalidAck); ackRejected = true }
        }
        // A FIN outside what the sender may send (Suricata's StreamTcpHandleFin, in every
        // state): a blind attacker who knows only the ports would otherwise close the session
        // with it, and a SYN would then reuse the ports (FlowTable.track).
        var rejected = fin && !syn && state != .none && state != .closed && finOutOfWindow(f, p, d, len)
        if rejected {
            ev.formUnion(.finOutOfWindow)
        } else if !syn && state == .established && outOfWindow(f, p, d, len) {
            ev.formUnion(fin ? .finOutOfWindow : .estPacketOutOfWindow)
            // Rejected too (Suricata returns -1): its end must not become the sender's highest
            // sequence number, or the real FIN that follows would look out of window.
            rejected = true
        }
        if !syn && state.rawValue >= TCPState.established.rawValue {
            ev.formUnion(lastAckEvents(f, p, d, state, len))
        }
        if syn { ev.formUnion(synEvents(f, p, d, state)) }
        // Suricata rejects the whole packet (return -1): its FIN, window and sequence numbers
        // change nothing, so neither a forged FIN nor a packet with an impossible ACK moves the
        // state. The reassembler takes a FIN only once it is recorded here (`finSeen`).
        if rejected || ackRejected { return false }
        f.withStreams(d) { s, peer in
            if syn {
                // A retried SYN may carry a new ISN until the handshake moves on.
                if !s.synSeen || s.isn == p.seq || state == .synSent || (ack && state == .synRecv) {
                    s.isn = p.seq
                    s.synSeen = true
                    s.windowScale = p.windowScale
                } else {
                    // A SYN with another ISN on a session past its handshake (FlowTable.track did
                    // not take it as port reuse): its numbers are not this stream's, so it
                    // changes nothing (Suricata's shutdown_syn_resend / est_syn_resend_diff_seq).
                    valid = false
                    return
                }
                if ack {
                    // A SYN/ACK acknowledges the SYN (ISN + 1), or with TCP Fast Open all of
                    // the SYN's data, what the client sent (Suricata: ISN + 1 or next_seq; part
                    // of the data is SYNACK_WITH_WRONG_ACK).
                    if peer.synSeen && p.ack != peer.isn &+ 1
                        && !(peer.sendNextKnown && p.ack == peer.sendNext) {
                        valid = false
                    } else if state == .none || state == .synSent {
                        // The server took the SYN's data (TCP Fast Open): the session is up,
                        // as Suricata sets it, so that data is inspected as established.
                        next = peer.synSeen && p.ack != peer.isn &+ 1 ? .established : .synRecv
                    }
                } else if state == .none {
                    next = .synSent
                }
            } else if ack && state == .synRecv && d == .toServer {
                if !peer.synSeen || p.ack == peer.isn &+ 1 {
                    next = .established
                    completed = len == 0
                } else if peer.sendNextKnown, Int32(bitPattern: p.ack &- (peer.isn &+ 1)) > 0,
                          Int32(bitPattern: p.ack &- peer.sendNext) <= 0 {
                    // The client's handshake ACK came before the SYN/ACK in the capture (or was
                    // lost) and this ACK already acknowledges server data we saw: the session
                    // is up (Suricata issue 4220, a broken handshake still inspected).
                    next = .established
                } else {
                    valid = false
                    // Suricata tells an ACK with the right sequence number (an evasion
                    // attempt on a box that believes it) from one wrong in both.
                    ev.formUnion(s.synSeen && p.seq == s.isn &+ 1 ? .rightSeqWrongAckEvasion : .wrongSeqWrongAck)
                }
            } else if ack && state == .synRecv && d == .toClient && !fin {
                // The server acknowledges again before the client completed the handshake.
                ev.formUnion(.ackInWrongDir)
            }
            let end = p.seq &+ len &+ (syn ? 1 : 0) &+ (fin ? 1 : 0)
            if !s.sendNextKnown || Int32(bitPattern: end &- s.sendNext) > 0 {
                s.sendNext = end
                s.sendNextKnown = true
            }
            let scaled = !syn && s.windowScale <= 14 && peer.windowScale <= 14
            s.window = UInt32(p.window) << (scaled ? UInt32(s.windowScale) : 0)
            if fin && !s.finSeen {
                s.finSeen = true
                s.finSeq = p.seq &+ len &+ (syn ? 1 : 0)
            }
            // An ACK past everything the peer may have sent acknowledges no FIN (Suricata rejects
            // the packet before any state change).
            if ack && !badAck && peer.finSeen && Int32(bitPattern: p.ack &- (peer.finSeq &+ 1)) >= 0 {
                peer.finAcked = true
            }
        }
        if syn && !valid { return false }
        // A believed ACK is this side's last ACK (Suricata does not take one it rejected).
        if ack && valid && !badAck { f.noteAck(p.ack, sentBy: d) }
        if next != .closed && (f.toServer.finSeen || f.toClient.finSeen) {
            next = closeState(f, before: state)
        }
        f.tcpState = next
        f.handshakeCompletedNow = completed
        return valid
    }

    /// The state once a FIN was seen, with Suricata's names: the client closing first runs
    /// CLOSE_WAIT → LAST_ACK → CLOSED (its last ACK acknowledges the server's FIN); the server
    /// closing first runs FIN_WAIT1 → FIN_WAIT2 → TIME_WAIT → CLOSED, or through CLOSING when the
    /// two FINs cross unacknowledged. `before` (the state before this packet) tells who closed
    /// first once both FINs are seen.
    @inline(__always)
    static func closeState(_ f: Flow, before: TCPState) -> TCPState {
        let cFin = f.toServer.finSeen, sFin = f.toClient.finSeen
        let cAcked = f.toServer.finAcked, sAcked = f.toClient.finAcked
        if cFin && sFin {
            if before == .closeWait || before == .lastAck { return sAcked ? .closed : .lastAck }
            if cAcked && sAcked { return .closed }
            return cAcked || sAcked ? .timeWait : .closing
        }
        if cFin { return .closeWait }
        return sAcked ? .finWait2 : .finWait1
    }

    /// Suricata's checks against the receiver's last ACK (spurious retransmission, packet
    /// before last ACK, bad window update) and the closing states' sequence checks, read before
    /// the packet changes the streams. Not called for SYN or RST packets.
    static func lastAckEvents(_ f: Flow, _ p: DecodedPacket, _ d: Direction, _ state: TCPState,
                              _ len: UInt32) -> StreamEvents {
        let flags = p.tcpFlags
        let fin = flags.contains(.fin), ack = flags.contains(.ack)
        let s = f.stream(d), peer = f.stream(d.reversed)
        let end = p.seq &+ len
        var e = StreamEvents()
        // Suricata skips a keep-alive (a byte or none, one before the next sequence number)
        // before any of these checks.
        let keepAlive = !fin && len <= 1 && s.sendNextKnown && p.seq == s.sendNext &- 1
        // Everything the receiver acknowledged is behind it: the sender repeats what arrived.
        let acked = f.lastAck(sentBy: d.reversed)
        var beforeAck = false
        if let acked, len > 0, !keepAlive, Int32(bitPattern: end &- acked) <= 0 {
            beforeAck = true
            e.formUnion(.pktSpuriousRetransmission)
        }
        // Suricata's StreamTcpPacketIsRetransmission: data before the last ACK or within what
        // the sender has sent; such packets skip the closing states' sequence checks.
        var retransmission = false
        if len > 0 {
            if let acked, Int32(bitPattern: p.seq &- acked) < 0 { retransmission = true }
            if s.sendNextKnown && Int32(bitPattern: end &- s.sendNext) <= 0 { retransmission = true }
        }
        let plainAck = ack && !fin
        switch state {
        case .established:
            // Ends before the receiver's last ACK, unless the receiver acknowledged bytes we
            // never saw (missed packets: this one may be one of them).
            if plainAck, !keepAlive, let acked, Int32(bitPattern: end &- acked) < 0,
               !(s.sendNextKnown && Int32(bitPattern: acked &- s.sendNext) > 0
                 && Int32(bitPattern: end &- s.sendNext) > 0) {
                e.formUnion(.estPktBeforeLastAck)
            }
        case .closeWait:
            if plainAck, let acked {
                if beforeAck {
                    e.formUnion(.closewaitPktBeforeLastAck)
                } else if s.synSeen && peer.synSeen
                            && Int32(bitPattern: p.seq &- (acked &+ peer.window)) > 0 {
                    // Past the receiver's last ACK plus its window (the scale is known).
                    e.formUnion(.closewaitAckOutOfWindow)
                }
            }
        case .lastAck:
            // The client's last ACK: at its next sequence number (or one past, Suricata allows
            // it); before it is an old packet, not an anomaly.
            if plainAck && d == .toServer && !retransmission && s.sendNextKnown
                && Int32(bitPattern: p.seq &- s.sendNext) > 1 {
                e.formUnion(.lastackAckWrongSeq)
            }
        case .timeWait:
            if plainAck && !retransmission && s.sendNextKnown {
                let wrong = d == .toServer
                    ? p.seq != s.sendNext && p.seq != s.sendNext &+ 1
                    : p.seq != s.sendNext &- 1 && p.seq != s.sendNext
                        && !(len > 0 && acked == p.seq)
                if wrong { e.formUnion(.timewaitAckWrongSeq) }
            }
        case .closing:
            // Both FINs are out: an ACK comes at the sender's next sequence number.
            if plainAck && s.sendNextKnown && p.seq != s.sendNext { e.formUnion(.closingAckWrongSeq) }
        case .finWait1, .finWait2:
            // Past what the receiver's window allows (from the sender's highest sequence
            // number, never more than Suricata's next_win check flags; midstream: no scale).
            if plainAck && !retransmission && !f.midstream && s.synSeen && peer.synSeen && s.sendNextKnown
                && Int64(Int32(bitPattern: end &- s.sendNext)) > Int64(peer.window) {
                e.formUnion(state == .finWait1 ? .fin1AckWrongSeq : .fin2AckWrongSeq)
            }
        default:
            break
        }
        // A window shrunk by more than the packet's data and more than its ACK moved, on a
        // packet past everything both sides have sent (Suricata's bug 1238 check).
        if plainAck && state != .closed, let own = f.lastAck(sentBy: d), s.sendNextKnown, peer.sendNextKnown,
           Int32(bitPattern: p.ack &- peer.sendNext) > 0, Int32(bitPattern: p.seq &- s.sendNext) > 0 {
            let scaled = s.windowScale <= 14 && peer.windowScale <= 14
            let win = UInt32(p.window) << (scaled ? UInt32(s.windowScale) : 0)
            // Not the last ACK of a shutdown (Suricata's StreamTcpPacketIsFinShutdownAck).
            let shutdownAck = (state == .timeWait || state == .closeWait || state == .lastAck)
                && flags == .ack && len == 0 && p.seq == s.sendNext &+ 1 && p.ack == peer.sendNext &+ 1
            if win < s.window && !shutdownAck {
                let diff = UInt64(s.window - win), adiff = UInt64(p.ack &- own)
                if diff > UInt64(len) && (win > 1024 ? diff > adiff + 32 : diff > adiff) {
                    e.formUnion(.pktBadWindowUpdate)
                }
            }
        }
        return e
    }

    /// Suricata's SYN and SYN/ACK events by state and direction, read before the packet
    /// changes the streams (a resend is told by the ISN and ACK the first one carried).
    static func synEvents(_ f: Flow, _ p: DecodedPacket, _ d: Direction, _ state: TCPState) -> StreamEvents {
        // Suricata's shutdown states answer any SYN (a client's, a server's, a SYN/ACK) so; a
        // client SYN with a new ISN in CLOSE_WAIT, LAST_ACK, CLOSING or CLOSED never gets here,
        // FlowTable.track starts a new flow for it.
        switch state {
        case .finWait1, .finWait2, .closing, .closeWait, .lastAck, .timeWait: return .shutdownSynResend
        default: break
        }
        let s = f.stream(d), peer = f.stream(d.reversed)
        let ack = p.tcpFlags.contains(.ack)
        // The SYN/ACK acknowledges the SYN, or all of a TFO SYN's data.
        let rightAck = !peer.synSeen || p.ack == peer.isn &+ 1 || (peer.sendNextKnown && p.ack == peer.sendNext)
        if ack {
            if d == .toServer {
                switch state {
                case .synSent: return .synAckInWrongDirection
                case .synRecv: return .synAckToServerOnSynRecv
                case .established: return .estSynAckToServer
                default: return []
                }
            }
            switch state {
            case .none, .synSent:
                if !rightAck { return .synAckWithWrongAck }
                // The SYN carried data and the server took only the SYN.
                if peer.synSeen && p.ack == peer.isn &+ 1 && peer.sendNextKnown && peer.sendNext != peer.isn &+ 1 {
                    return .synAckTFODataIgnored
                }
                return []
            case .synRecv:
                var e: StreamEvents = []
                if s.synSeen && p.seq != s.isn { e.formUnion(.synAckResendDiffSeq) }
                if !rightAck { e.formUnion(.synAckResendDiffAck) }
                return e
            case .established:
                guard s.synSeen else { return [] }
                // One event, as Suricata: a different ack, else a different seq, else a resend;
                // a plain resend only once the server is known to have completed the handshake
                // (it sent data since): before, it is the server not having seen the final
                // ACK (lossy Wi-Fi), no anomaly.
                if !rightAck { return .estSynAckResendDiffAck }
                if p.seq != s.isn { return .estSynAckResendDiffSeq }
                return s.sendNextKnown && s.sendNext != s.isn &+ 1 ? .estSynAckResend : []
            default: return []
            }
        }
        if d == .toClient {
            switch state {
            case .synRecv: return .synToClientOnSynRecv
            case .established: return .estSynToClient
            default: return []
            }
        }
        switch state {
        case .synRecv: return s.synSeen && p.seq != s.isn ? .synResendDiffSeqOnSynRecv : []
        case .established:
            guard s.synSeen else { return [] }
            // One event, as Suricata: the different-ISN one when it differs.
            return p.seq == s.isn ? .estSynResend : .estSynResendDiffSeq
        default: return []
        }
    }

    /// The ACK acknowledges bytes beyond what the peer may have sent: past everything we saw
    /// it send plus the window this side offered it (Suricata's `next_win` check, with the
    /// peer's highest sequence number for its last acknowledged one, so it flags no more
    /// than Suricata does). A midstream session's window scale is unknown: no check.
    static func ackInvalid(_ f: Flow, _ p: DecodedPacket, _ d: Direction) -> Bool {
        let s = f.stream(d), peer = f.stream(d.reversed)
        guard peer.sendNextKnown, s.synSeen, peer.synSeen else { return false }
        let delta = Int64(Int32(bitPattern: p.ack &- peer.sendNext))
        return delta > Int64(s.window)
    }

    /// The segment ends past the receiver's window, counted from the highest sequence number
    /// the sender had sent (at or past the receiver's last ACK, so never more than Suricata
    /// flags). Needs both SYNs (window scale known); a zero-window probe is not out of window.
    static func outOfWindow(_ f: Flow, _ p: DecodedPacket, _ d: Direction, _ len: UInt32) -> Bool {
        let s = f.stream(d), peer = f.stream(d.reversed)
        guard s.sendNextKnown, peer.sendNextKnown, s.synSeen, peer.synSeen, len > 0 else { return false }
        if peer.window == 0 && len <= 1 { return false }
        let end = p.seq &+ len
        return Int64(Int32(bitPattern: end &- s.sendNext)) > Int64(peer.window)
    }

    /// Suricata's FIN check (StreamTcpHandleFin): the FIN's sequence number (after the data)
    /// before what the sender already sent, or past the receiver's last ACK plus its window.
    /// A retransmitted FIN (the sequence number of the FIN already recorded) is not out of
    /// window. What is not known yet is not checked: no lower bound before the sender's first
    /// packet, no upper bound before the receiver's. A session picked up midstream has no
    /// window scale: the window counts as scaled by 14, as Suricata assumes for midstream
    /// pick-ups, so only FINs far away are rejected there.
    static func finOutOfWindow(_ f: Flow, _ p: DecodedPacket, _ d: Direction, _ len: UInt32) -> Bool {
        let s = f.stream(d), peer = f.stream(d.reversed)
        let pos = p.seq &+ len
        if s.sendNextKnown && Int32(bitPattern: pos &- s.sendNext) < 0 && !(s.finSeen && pos == s.finSeq) {
            return true
        }
        guard peer.sendNextKnown else { return false }
        let base: UInt32
        if let acked = f.lastAck(sentBy: d.reversed) {
            base = acked
        } else if s.sendNextKnown {
            base = s.sendNext
        } else {
            return false
        }
        let window = s.synSeen && peer.synSeen ? Int64(peer.window) : Int64(peer.window) << 14
        return Int64(Int32(bitPattern: pos &- base)) > window
    }

    /// A RST is believed when its sequence number is within the receiver's window of what the
    /// sender has sent, so a blind attacker cannot make the box forget a session.
    static func rstAcceptable(_ f: Flow, _ p: DecodedPacket, _ d: Direction) -> Bool {
        let s = f.stream(d), peer = f.stream(d.reversed)
        guard s.sendNextKnown else { return true }
        let window = Int64(Swift.max(peer.window, 65535))
        let delta = Int64(Int32(bitPattern: p.seq &- s.sendNext))
        return delta >= -window && delta <= window
    }
}
