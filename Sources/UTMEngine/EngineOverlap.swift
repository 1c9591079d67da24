import UTMFlow

/// Inline overlap handling: a TCP segment that repeats bytes already inspected and forwarded,
/// but with other bytes, is the classic evasion (the IPS saw "GOOD", the host gets "EVIL" if the
/// first copy was lost after the box). Suricata's inline stream rewrites such a packet with the
/// bytes it already forwarded. This engine inspects it that way (packet rules read
/// `TCPReassembler.conflictPayload`; the stream keeps the first bytes) and does not forward it:
/// the receiver keeps what was inspected, and a real sender never retransmits other bytes.
/// IDS forwards nothing: such a retransmission is inspected as sent, its payload read by stream
/// rules too (EngineModes.swift `beginRuleScope`), since the receiver may keep its bytes.
extension Engine {
    @inline(__always)
    func forwardedOverlapConflict() {
        guard !config.modes.ids, reassembler.conflictPayload != nil else { return }
        // Packet-scoped: the flow goes on (flowBlockBits gives no flow bit for this).
        decision.escalate(to: PacketDecision(verdict: .drop, response: .none, source: .ips))
    }
}
