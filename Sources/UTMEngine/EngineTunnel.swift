import UTMCore
import UTMDecode
import UTMFlow

/// Tunnel layers as flows of their own.
///
/// Why: Suricata keeps a flow for the outer IP layer of an IP-in-IP tunnel (protocol 41 for
/// IPv6 inside, 4 for IPv4 inside) beside the flow of the carried traffic, so a tunnelled
/// TCP session ends as two flow events: the session, and the tunnel between its two
/// endpoints (suricata-verify bug-4571-03 / -06). The tunnel flow is counted (packets, bytes,
/// times) but not inspected: rules and the app layer see the inner traffic.
extension Engine {
    /// Tracks the outer layer of the current packet when it came through a tunnel. A value on
    /// the stack (no allocation); only tunnelled packets pay for it.
    @inline(never)
    func trackTunnelLayer() {
        var outer = DecodedPacket()
        outer.timestamp = packet.timestamp
        outer.wireLength = packet.wireLength
        outer.ipVersion = packet.tunnelIPVersion
        outer.src = packet.tunnelSrc
        outer.dst = packet.tunnelDst
        outer.ipProto = packet.tunnelProto
        outer.vlanIDs = packet.vlanIDs
        outer.vlanCount = packet.vlanCount
        outer.srcMAC = packet.srcMAC
        outer.dstMAC = packet.dstMAC
        _ = flows.track(outer, onEnd: { ref, flow, reason in
            self.endFlow(ref, &flow, reason)
        })
    }
}
