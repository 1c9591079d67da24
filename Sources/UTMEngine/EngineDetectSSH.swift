import UTMCore
import UTMAppLayer
import UTMDetect

/// IPS inspection of SSH (the `ssh` inspection point): when a side's banner completes, its
/// `ssh.proto`/`ssh.software` buffers are inspected (phase 1); when its KEXINIT was read, the
/// same with its HASSH buffers (phase 2: rules that name a HASSH buffer wait for it). The
/// buffers are those of the side sending in `direction`, as Suricata's per-direction SSH
/// buffers.
extension Engine {
    func detectSSH(_ i: Int, _ direction: Direction, _ ev: SSHEvents) {
        guard let d = detect, detectCursor.slot >= 0 else { return }
        var mask: UInt8 = 0
        if ev.contains(.banner) { mask |= 1 << 1 }
        if ev.contains(.kexinit) { mask |= 1 << 2 }
        let p = ssh.items[i]
        let s = p.side(direction)
        guard s.bannerDone else { return }
        var buffers = InspectionBuffers()
        p.withField(direction, s.protoVersion) { buffers[.sshProto] = $0 }
        p.withField(direction, s.softwareVersion) { buffers[.sshSoftware] = $0 }
        if s.kexinitDone {
            let server = direction == .toClient
            p.withField(direction, s.hassh) { buffers[server ? .sshHasshServer : .sshHassh] = $0 }
            p.withField(direction, s.hasshString) { buffers[server ? .sshHasshServerString : .sshHasshString] = $0 }
        }
        let f = detectFacts(direction, app: .ssh, stream: false)
        d.inspectApp(.ssh, phaseMask: mask, f, buffers: buffers, slot: detectCursor.slot, time: detectCursor.time) { sig, alert in
            self.detectMatched(sig, alert, f)
        }
    }
}
