import UTMCore

/// Dropbox: its domains and the LAN sync discovery broadcast (JSON with host_int) on 17500.
enum AppDropbox {
    static let descriptor = AppDescriptor(
        id: .dropbox, name: "Dropbox", kind: .service, category: "Cloud",
        tcpPorts: [17500],
        udpPorts: [17500],
        names: ["dropbox.com", "dropboxapi.com", "dropboxstatic.com", "dropboxusercontent.com", "db.tt",
                "dropbox-dns.com", "getdropbox.com", "dropboxbusiness.com", "dropboxcaptcha.com"],
        dissector: Dissector([.udp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        return v.has("{\"host_int\"") || v.contains("\"host_int\"", within: 64) ? .match(.dropbox) : .no
    }
}
