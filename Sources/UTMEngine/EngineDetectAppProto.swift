import UTMCore
import UTMDecode
import UTMFlow

/// Which app protocol packet rules see (`alert http ... flow:to_server;` with no HTTP buffer).
///
/// Why this is not simply the flow's protocol: in IDS mode Suricata hands a direction's stream
/// bytes to the app layer only once the other side acknowledged them, on a packet of the other
/// direction. So the packet that carries the first request bytes does not yet know the flow is
/// HTTP; the server's ACK reveals it, and the client's later packets are the first HTTP packets
/// (suricata-verify detect-engine-proto: a TCP Fast Open request in the SYN becomes HTTP only
/// at the server's first data packet, after the SYN/ACK). Our reassembler delivers in-order
/// bytes at once, which inline mode wants (Suricata inline parses the packet's own data), so
/// in IDS mode the protocol stays hidden from packet rules until a packet of the other
/// direction acknowledges the revealing bytes. App-layer rules (HTTP/TLS/DNS buffers) are
/// inspected on the transaction and are not affected.
extension FlowBits {
    /// IDS mode: the app protocol was found in client (server) data that no packet of the
    /// other direction has acknowledged yet.
    static let appHiddenClientData: UInt32 = 1 << 24
    static let appHiddenServerData: UInt32 = 1 << 25
    static let appHidden: UInt32 = appHiddenClientData | appHiddenServerData
}

extension Engine {
    /// The app protocol was just recognised in data sent in `direction`. Not when only one
    /// side of sessions is seen (`asyncOneSide`): no acknowledgement would ever come, and
    /// Suricata hands such a stream to the app layer unacknowledged.
    @inline(__always)
    func appRevealed(by direction: Direction, bits: inout UInt32) {
        guard config.modes.ids, !config.modes.asyncOneSide else { return }
        bits |= direction == .toServer ? FlowBits.appHiddenClientData : FlowBits.appHiddenServerData
    }

    /// Before the packet's stream stage: a packet of the other direction that acknowledges the
    /// revealing bytes (an ACK that is not a SYN/ACK, whose acknowledgement number reaches
    /// them) makes the protocol visible to packet rules from this packet on.
    @inline(__always)
    /// Reads the flow as `detectBegin` copied it into the cursor (passing it as a value copied
    /// it again).
    func appRevealAcknowledged(_ ref: FlowRef, _ direction: Direction) {
        let hidden = detectCursor.flow.engineFlags & FlowBits.appHidden
        guard hidden != 0 else { return }
        let acked = direction == .toServer ? FlowBits.appHiddenServerData : FlowBits.appHiddenClientData
        guard hidden & acked != 0, packet.tcpFlags.contains(.ack), !packet.tcpFlags.contains(.syn) else { return }
        let started = direction == .toServer ? detectCursor.flow.toClient.started : detectCursor.flow.toServer.started
        let baseSeq = direction == .toServer ? detectCursor.flow.toClient.baseSeq : detectCursor.flow.toServer.baseSeq
        // The acknowledgement must reach past the first byte the peer sent.
        if started, Int32(bitPattern: packet.ack &- baseSeq) <= 0 { return }
        flows.withFlow(ref) { $0.engineFlags &= ~acked }
    }

    /// The app protocol packet rules see for the current packet.
    @inline(__always)
    func packetRuleAppProto(_ ref: FlowRef) -> AppProto {
        flows.engineFlags(ref) & FlowBits.appHidden != 0 ? .unknown : flows.appProto(ref)
    }
}
