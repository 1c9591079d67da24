import UTMCore
import UTMFlow
import UTMAppLayer
import UTMOutput

/// FTP control-channel hooks: stream bytes into the flow's pooled `FTPParser`, one `ftp`
/// event per command and reply (client → server endpoints), and the flow's bounce state for
/// `ftpbounce` rules on the packet being inspected.
extension Engine {
    func ftpData(_ i: Int, _ data: ByteView, _ chunk: StreamChunk, _ m: EVEEndpoints, time: Timestamp,
                 bits: inout UInt32) {
        ftp.items[i].feed(data, direction: chunk.direction, gap: chunk.gapBefore) { tx in
            self.eve.writeFTP(tx, time: time, m)
            self.ftpAnnounced(tx, m, time: time)
        }
        ftpControlUpdate(i, m, time: time)
        // Read by the stream inspection that follows this feed and by the packet rules.
        if detect != nil { detectCursor.facts.ftpBounce = Self.ftpBounce(ftp.items[i], client: m.src) }
        // After `AUTH TLS` and its 234 the channel is TLS: nothing more to read or match.
        if ftp.items[i].encrypted { bits |= FlowBits.parserDone | FlowBits.encrypted }
    }

    /// Suricata's ftpbounce: the current command is PORT and its address is not the client's
    /// (an IPv6 client can never be named by PORT's IPv4 address). A PORT whose address does
    /// not parse is not a bounce.
    static func ftpBounce(_ p: borrowing FTPParser, client: IPAddress) -> Bool {
        guard p.lastCommand == .port, let addr = p.lastPortAddress else { return false }
        return client.isV6 || client.v4Value != addr
    }

    /// The flow ended: commands still waiting for a reply are logged (`reply_received` no),
    /// unless the IPS cut the flow short.
    func ftpEnd(_ i: Int, _ flow: Flow, _ m: EVEEndpoints) {
        guard flow.engineFlags & FlowBits.ipsBlocked == 0 else { return }
        let time = flow.lastSeen
        ftp.items[i].finish { tx in self.eve.writeFTP(tx, time: time, m) }
    }
}
