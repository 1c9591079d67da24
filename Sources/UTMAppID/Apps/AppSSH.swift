import UTMCore

/// SSH: the SSH-<version>- identification string either side sends first.
enum AppSSH {
    static let descriptor = AppDescriptor(
        id: .ssh, name: "SSH", kind: .proto, category: "RemoteAccess",
        tcpPorts: [22],
        dissector: Dissector([.tcp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        if v.has("SSH-") { return .match(.ssh) }
        return v.isPrefix(of: "SSH-") ? .needMore : .no
    }
}
