import UTMCore
import UTMDecode
import UTMFlow

// Flow bypass: when the engine has nothing left to learn from a flow, it says so on the packet's
// decision (`PacketDecision.bypass`), and the live source marks the connection so the kernel
// stops queueing it (utmd: NF_REPEAT with the bypass mark, copied to the connmark by the
// MIMAMORI chain). The queue then carries only what matters, as Suricata's stream bypass.
//
// Two kinds of flow qualify, each switchable (`EngineBypassPolicy`):
// - encrypted: a TLS connection whose handshake is over (the SNI and the certificate were seen,
//   the web filter and app-ID decided, the tls event is written) and that nothing else follows
//   — `FlowBits.appDone`, which already excludes flows the antivirus reads and flows app-ID has
//   not finished with. Given up: raw-stream IPS rules on ciphertext, which cannot match
//   meaningfully. SSH after NEWKEYS in both directions likewise (Suricata's BYPASS_READY).
// - depth: a TCP direction past the stream depth (`FlowConfig.streamDepth`, 1 MiB), where
//   reassembly, the parsers and the antivirus stop anyway (Suricata's `stream.bypass`). Given
//   up: per-packet IPS rules on the rest of the flow. HTTP waits for both directions, so a
//   request after a large response on a kept-alive connection is still filtered.
// Both give up the byte counts of the flow's later packets in its flow event. Daemons that must
// keep those turn bypass off (utmd: `bypass = off`).

/// Which flows the engine may declare finished (`PacketDecision.bypass`).
public struct EngineBypassPolicy: Sendable, Equatable {
    public var encrypted = true
    public var streamDepth = true
    public init(encrypted: Bool = true, streamDepth: Bool = true) {
        self.encrypted = encrypted
        self.streamDepth = streamDepth
    }
    public static let off = EngineBypassPolicy(encrypted: false, streamDepth: false)
}

extension Engine {
    /// Sets `decision.bypass` for an accepted packet of a flow that needs no more inspection.
    @inline(__always)
    func checkBypass(_ ref: FlowRef, _ direction: Direction) {
        let policy = config.bypass
        guard policy.encrypted || policy.streamDepth else { return }
        // Field reads, not `flows[ref]`: this runs for every accepted packet.
        let app = flows.appProto(ref)
        let flags = flows.engineFlags(ref)
        if policy.encrypted && flags & FlowBits.appDone != 0
            && (app == .tls || (app == .ssh && flags & FlowBits.encrypted != 0)) {
            decision.bypass = true
            return
        }
        guard policy.streamDepth, packet.ipProto == IPProto.tcp, config.flow.streamDepth > 0 else { return }
        let depth = UInt64(config.flow.streamDepth)
        guard flows.nextOffset(ref, direction) >= depth, !avFollowsStream(ref) else { return }
        if app == .http && flows.nextOffset(ref, direction == .toServer ? .toClient : .toServer) < depth { return }
        decision.bypass = true
    }
}
