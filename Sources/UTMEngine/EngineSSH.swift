import UTMCore
import UTMFlow
import UTMAppLayer
import UTMOutput
import UTMDetect

/// SSH hooks: stream bytes of flows detected by their `SSH-` banner into the flow's pooled
/// `SSHParser`; the IPS inspects each banner and KEXINIT as it completes (EngineDetectSSH.swift);
/// one `ssh` event per flow. After NEWKEYS in both directions the rest is ciphertext: the flow
/// is marked encrypted and done, so later packets skip reassembly and may be bypassed, as
/// Suricata does for SSH, and the parser goes back to its pool: a slot is held for the
/// handshake only, not for a session that may last days.
extension Engine {
    func sshData(_ i: Int, _ data: ByteView, _ chunk: StreamChunk, _ m: EVEEndpoints, time: Timestamp,
                 bits: inout UInt32, slot: inout Int32) {
        let ev = ssh.items[i].feed(data, direction: chunk.direction, gap: chunk.gapBefore)
        let anomalies = ev.anomalies(gap: chunk.gapBefore)
        if !anomalies.isEmpty { raiseAppEvents(anomalies, .ssh) }
        if detect != nil && (ev.contains(.banner) || ev.contains(.kexinit)) { detectSSH(i, chunk.direction, ev) }
        let p = ssh.items[i]
        // Written once, when both KEXINITs were read (the HASSHes are known), or when the parser
        // has nothing more to read; else at flow end. `helloLogged` is the flow's "handshake
        // event written" bit (TLS and QUIC use it the same way).
        if bits & FlowBits.helloLogged == 0 && ((p.client.kexinitDone && p.server.kexinitDone) || p.finished) {
            eve.writeSSH(ssh.items[i], time: time, m)
            bits |= FlowBits.helloLogged
        }
        if p.encrypted {
            bits |= FlowBits.parserDone | FlowBits.encrypted
        } else if p.finished {
            bits |= FlowBits.parserDone
        }
        if p.finished {
            ssh.release(slot)
            slot = -1
        }
    }

    /// The flow ended before the event was written (no KEXINITs, a one-sided capture): write
    /// what the banners said.
    func sshEnd(_ i: Int, _ flow: Flow, _ m: EVEEndpoints) {
        guard flow.engineFlags & FlowBits.helloLogged == 0 else { return }
        eve.writeSSH(ssh.items[i], time: flow.lastSeen, m)
    }
}
