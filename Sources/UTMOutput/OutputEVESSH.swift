import UTMCore
import UTMAppLayer

extension EVEWriter {
    /// Suricata's `ssh` event for a connection (client → server endpoints): per side that sent
    /// an identification line, `proto_version`, `software_version` and, once its KEXINIT was
    /// read, `hassh` {`hash`, `string`} (the server's is HASSH-server, under the same names as
    /// Suricata 7 writes them).
    public mutating func writeSSH(_ p: borrowing SSHParser, time: Timestamp, _ e: EVEEndpoints) {
        guard isEnabled(.ssh), p.client.bannerDone || p.server.bannerDone else { return }
        begin(.ssh, time: time, e)
        json.key("ssh"); json.beginObject()
        sshSide(p, .toServer, "client")
        sshSide(p, .toClient, "server")
        json.endObject()
        end()
    }

    mutating func sshSide(_ p: borrowing SSHParser, _ d: Direction, _ key: StaticString) {
        let s = p.side(d)
        guard s.bannerDone else { return }
        json.key(key); json.beginObject()
        p.withField(d, s.protoVersion) { json.key("proto_version"); json.string($0) }
        p.withField(d, s.softwareVersion) { field("software_version", $0) }
        if s.kexinitDone {
            json.key("hassh"); json.beginObject()
            p.withField(d, s.hassh) { field("hash", $0) }
            p.withField(d, s.hasshString) { field("string", $0) }
            json.endObject()
        }
        json.endObject()
    }
}
