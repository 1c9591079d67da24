import UTMCore
import UTMFlow

// Flow bypass: when the engine has nothing left to learn from a flow, it says so on the packet's
// decision (`PacketDecision.bypass`), and the live source marks the connection so the kernel
// stops queueing it (utmd: NF_REPEAT with the bypass mark, copied to the connmark by the
// MIMAMORI chain). The queue then carries only what matters, as Suricata's stream bypass.
//
// Today one kind of flow qualifies: a TLS connection whose handshake is over (the SNI and the
// certificate were seen, the web filter and app-ID decided, the tls event is written) and that
// nothing else follows — `FlowBits.appDone`, which already excludes flows the antivirus reads
// and flows app-ID has not finished with. What the bypass gives up: raw-stream IPS rules on
// ciphertext (which cannot match meaningfully) and the byte counts of the flow's later packets
// in its flow event. Daemons that must keep those turn bypass off (utmd: `bypass = off`).

extension Engine {
    /// Sets `decision.bypass` for an accepted packet of a flow that needs no more inspection.
    @inline(__always)
    func checkBypass(_ ref: FlowRef) {
        let flow = flows[ref]
        guard flow.engineFlags & FlowBits.appDone != 0, flow.appProto == .tls else { return }
        decision.bypass = true
    }
}
