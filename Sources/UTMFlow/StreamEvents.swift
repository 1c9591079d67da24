import UTMCore

/// TCP stream anomalies raised while one packet went through the TCP state machine and the
/// reassembler (Suricata's stream-events.rules: `stream-event:3whs_ack_in_wrong_dir`, ...).
///
/// One bit per event, per packet: the engine hands the packet's set to packet rules
/// (`stream-event:` keyword, PacketFacts.anomalies.stream) and counts them. Bit numbers are
/// stable (they index counters); append new events at the end, with their Suricata name in
/// `name(ofBit:)`.
///
/// Only what the state machine and the reassembler really detect is named here: Suricata's
/// async-mode, 4-way-handshake, SYN/ACK-flood, TCP-timestamp (PAWS), window-update,
/// wrong-thread and "no session" events have no counterpart (their rules are skipped with a
/// reason). The state-named events (`closewait_*`, `lastack_*`, `timewait_*`, `fin1_*`, ...)
/// are raised in the `TCPState` of the same name; the "before last ack" ones compare with the
/// highest ACK the receiver sent (`Flow.lastAck(sentBy:)`).
public struct StreamEvents: OptionSet, Sendable {
    public let rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public init(bit: Int) { rawValue = 1 << UInt64(bit & 63) }

    // Handshake (SYN_SENT / SYN_RECV).
    public static let synAckInWrongDirection = StreamEvents(bit: 0)
    public static let synAckResendDiffAck = StreamEvents(bit: 1)
    public static let synAckResendDiffSeq = StreamEvents(bit: 2)
    public static let synAckToServerOnSynRecv = StreamEvents(bit: 3)
    public static let synAckWithWrongAck = StreamEvents(bit: 4)
    public static let synResendDiffSeqOnSynRecv = StreamEvents(bit: 5)
    public static let synToClientOnSynRecv = StreamEvents(bit: 6)
    public static let ackInWrongDir = StreamEvents(bit: 7)
    public static let rightSeqWrongAckEvasion = StreamEvents(bit: 8)
    public static let wrongSeqWrongAck = StreamEvents(bit: 9)
    public static let synAckTFODataIgnored = StreamEvents(bit: 10)
    // Established.
    public static let estSynResend = StreamEvents(bit: 11)
    public static let estSynResendDiffSeq = StreamEvents(bit: 12)
    public static let estSynToClient = StreamEvents(bit: 13)
    public static let estSynAckResend = StreamEvents(bit: 14)
    public static let estSynAckResendDiffAck = StreamEvents(bit: 15)
    public static let estSynAckResendDiffSeq = StreamEvents(bit: 16)
    public static let estSynAckToServer = StreamEvents(bit: 17)
    public static let estInvalidAck = StreamEvents(bit: 18)
    public static let estPacketOutOfWindow = StreamEvents(bit: 19)
    // Shutdown.
    public static let finInvalidAck = StreamEvents(bit: 20)
    public static let finOutOfWindow = StreamEvents(bit: 21)
    public static let fin1InvalidAck = StreamEvents(bit: 22)
    public static let fin2InvalidAck = StreamEvents(bit: 23)
    public static let closingInvalidAck = StreamEvents(bit: 24)
    public static let shutdownSynResend = StreamEvents(bit: 25)
    // Any state.
    public static let finSyn = StreamEvents(bit: 26)
    public static let pktInvalidAck = StreamEvents(bit: 27)
    public static let pktBrokenAck = StreamEvents(bit: 28)
    public static let rstInvalidAck = StreamEvents(bit: 29)
    public static let suspectedRSTInject = StreamEvents(bit: 30)
    // Reassembly.
    public static let pktRetransmission = StreamEvents(bit: 31)
    public static let segmentBeforeBaseSeq = StreamEvents(bit: 32)
    public static let noSegment = StreamEvents(bit: 33)
    public static let seqGap = StreamEvents(bit: 34)
    public static let overlapDifferentData = StreamEvents(bit: 35)
    public static let depthReached = StreamEvents(bit: 36)
    // Closing states and the last ACK per direction (session 11).
    public static let closewaitInvalidAck = StreamEvents(bit: 37)
    public static let closewaitAckOutOfWindow = StreamEvents(bit: 38)
    public static let closewaitPktBeforeLastAck = StreamEvents(bit: 39)
    public static let lastackInvalidAck = StreamEvents(bit: 40)
    public static let lastackAckWrongSeq = StreamEvents(bit: 41)
    public static let timewaitInvalidAck = StreamEvents(bit: 42)
    public static let timewaitAckWrongSeq = StreamEvents(bit: 43)
    public static let estPktBeforeLastAck = StreamEvents(bit: 44)
    public static let pktSpuriousRetransmission = StreamEvents(bit: 45)
    public static let pktBadWindowUpdate = StreamEvents(bit: 46)
    public static let closingAckWrongSeq = StreamEvents(bit: 47)
    public static let fin1AckWrongSeq = StreamEvents(bit: 48)
    public static let fin2AckWrongSeq = StreamEvents(bit: 49)

    /// Number of defined event bits.
    public static let definedBits = 50

    /// Suricata's name of the event (`stream-event:` value, without a prefix), by bit index.
    public static func name(ofBit bit: Int) -> StaticString? {
        switch bit {
        case 0: return "3whs_synack_in_wrong_direction"
        case 1: return "3whs_synack_resend_with_diff_ack"
        case 2: return "3whs_synack_resend_with_diff_seq"
        case 3: return "3whs_synack_toserver_on_syn_recv"
        case 4: return "3whs_synack_with_wrong_ack"
        case 5: return "3whs_syn_resend_diff_seq_on_syn_recv"
        case 6: return "3whs_syn_toclient_on_syn_recv"
        case 7: return "3whs_ack_in_wrong_dir"
        case 8: return "3whs_right_seq_wrong_ack_evasion"
        case 9: return "3whs_wrong_seq_wrong_ack"
        case 10: return "3whs_synack_tfo_data_ignored"
        case 11: return "est_syn_resend"
        case 12: return "est_syn_resend_diff_seq"
        case 13: return "est_syn_toclient"
        case 14: return "est_synack_resend"
        case 15: return "est_synack_resend_with_diff_ack"
        case 16: return "est_synack_resend_with_diff_seq"
        case 17: return "est_synack_toserver"
        case 18: return "est_invalid_ack"
        case 19: return "est_packet_out_of_window"
        case 20: return "fin_invalid_ack"
        case 21: return "fin_out_of_window"
        case 22: return "fin1_invalid_ack"
        case 23: return "fin2_invalid_ack"
        case 24: return "closing_invalid_ack"
        case 25: return "shutdown_syn_resend"
        case 26: return "fin_syn"
        case 27: return "pkt_invalid_ack"
        case 28: return "pkt_broken_ack"
        case 29: return "rst_invalid_ack"
        case 30: return "suspected_rst_inject"
        case 31: return "pkt_retransmission"
        case 32: return "reassembly_segment_before_base_seq"
        case 33: return "reassembly_no_segment"
        case 34: return "reassembly_seq_gap"
        case 35: return "reassembly_overlap_different_data"
        case 36: return "reassembly_depth_reached"
        case 37: return "closewait_invalid_ack"
        case 38: return "closewait_ack_out_of_window"
        case 39: return "closewait_pkt_before_last_ack"
        case 40: return "lastack_invalid_ack"
        case 41: return "lastack_ack_wrong_seq"
        case 42: return "timewait_invalid_ack"
        case 43: return "timewait_ack_wrong_seq"
        case 44: return "est_pkt_before_last_ack"
        case 45: return "pkt_spurious_retransmission"
        case 46: return "pkt_bad_window_update"
        case 47: return "closing_ack_wrong_seq"
        case 48: return "fin1_ack_wrong_seq"
        case 49: return "fin2_ack_wrong_seq"
        default: return nil
        }
    }

    /// The bit a Suricata stream event name stands for; nil when the stream layer never raises
    /// it (the rule is then skipped with that reason).
    ///
    /// Suricata's own stream-events.rules spell two SYN/ACK events `..._with_different_ack`
    /// where its event table says `..._with_diff_ack`: both are accepted, so that file loads.
    public static func bit(named name: Substring) -> Int? {
        if let bit = EventName.bit(named: name, in: StreamEvents.name(ofBit:)) { return bit }
        if EventName.matches("3whs_synack_resend_with_different_ack", name) { return 1 }
        if EventName.matches("est_synack_resend_with_different_ack", name) { return 15 }
        return nil
    }

    /// Index of the lowest set bit (for counting a single event).
    @inlinable var lowestBit: Int { rawValue.trailingZeroBitCount }
}

/// How many packets raised each stream event (EVE stats `stream.<event>`): a fixed array
/// sized at start, indexed by bit, so counting never allocates.
public struct StreamEventCounts: Sendable, Equatable {
    public private(set) var counts: [UInt64]

    public init() { counts = Array(repeating: 0, count: 64) }

    /// Packets that raised `bit`.
    public subscript(bit: Int) -> UInt64 { bit >= 0 && bit < counts.count ? counts[bit] : 0 }

    /// Counts every event in `events` once.
    @inline(__always)
    mutating func add(_ events: StreamEvents) {
        var rest = events.rawValue
        while rest != 0 {
            let bit = rest.trailingZeroBitCount
            counts[bit] &+= 1
            rest &= rest &- 1
        }
    }
}
