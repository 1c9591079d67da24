import UTMCore

/// FTP control: a 220 greeting naming FTP (or on 21), then USER/AUTH TLS/FEAT.
enum AppFTPControl {
    static let descriptor = AppDescriptor(
        id: .ftpControl, name: "FTP_CONTROL", kind: .proto, category: "FileTransfer",
        tcpPorts: [21],
        dissector: Dissector([.tcp], probe: probe))

    /// A literal array in the probe would be allocated on every call.
    static let commands: [StaticString] = ["USER ", "AUTH TLS", "AUTH SSL", "FEAT", "SYST", "PASV", "EPSV"]

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        if p.direction == .toClient {
            guard v.count >= 4 else { return .needMore }
            guard v.has("220 ") || v.has("220-") else { return .no }
            if v.contains("FTP", within: 256) || p.onPort(21) { return .match(.ftpControl) }
            return v.contains("SMTP", within: 256) ? .no : .needMore
        }
        if v.hasAny(commands, caseInsensitive: true) {
            return p.packetIndex > 0 ? .match(.ftpControl) : .needMore
        }
        return p.packetIndex == 0 ? .needMore : .no
    }
}
