import UTMCore

/// VNC (RFB): the 'RFB 003.008' version banner.
enum AppVNC {
    static let descriptor = AppDescriptor(
        id: .vnc, name: "VNC", kind: .proto, category: "RemoteAccess",
        tcpPorts: [5900, 5901],
        dissector: Dissector([.tcp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        if v.has("RFB 00") { return .match(.vnc) }
        return v.isPrefix(of: "RFB 00") ? .needMore : .no
    }
}
