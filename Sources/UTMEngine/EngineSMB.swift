import UTMCore
import UTMFlow
import UTMAppLayer
import UTMOutput

/// SMB hooks: stream bytes into the flow's `SMBParser`, one `smb` event per request/response
/// pair (client → server endpoints).
extension Engine {
    func smbData(_ i: Int, _ data: ByteView, _ chunk: StreamChunk, _ m: EVEEndpoints, time: Timestamp) {
        smb.items[i].feed(data, direction: chunk.direction, gap: chunk.gapBefore, onTransaction: { p, tx in
            if self.detect != nil { self.detectSMB(p, tx) }
            self.eve.writeSMB(p, tx, time: time, m)
        }, onPipe: { dir, file, bytes, cut in
            self.smbPipeData(i, dir, file, bytes, cut)
        })
    }

    /// The flow ended: requests still waiting for a response are logged, unless the IPS cut
    /// the flow short (as for HTTP and PostgreSQL; Suricata 8 does not log those either).
    func smbEnd(_ i: Int, _ flow: Flow, _ m: EVEEndpoints) {
        guard flow.engineFlags & FlowBits.ipsBlocked == 0 else { return }
        let time = flow.lastSeen
        smb.items[i].finish { p, tx in self.eve.writeSMB(p, tx, time: time, m) }
    }
}
