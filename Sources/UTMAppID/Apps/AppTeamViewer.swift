import UTMCore

/// TeamViewer: its framing bytes (0x17 0x24 / 0x11 0x30) on port 5938, and its domains.
enum AppTeamViewer {
    static let descriptor = AppDescriptor(
        id: .teamviewer, name: "TeamViewer", kind: .service, category: "RemoteAccess",
        tcpPorts: [5938],
        udpPorts: [5938],
        names: ["teamviewer.com", "teamviewer.net"],
        dissector: Dissector([.tcp, .udp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        guard let b0 = v.u8(0), let b1 = v.u8(1) else { return .needMore }
        if (b0 == 0x17 && b1 == 0x24) || (b0 == 0x11 && b1 == 0x30) { return .match(.teamviewer) }
        return .no
    }
}
