import UTMCore

/// NTP: 48-byte or longer datagrams with version 1-4 and a client/server/peer mode, on port 123.
enum AppNTP {
    static let descriptor = AppDescriptor(
        id: .ntp, name: "NTP", kind: .proto, category: "Network",
        udpPorts: [123],
        dissector: Dissector([.udp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        guard v.count >= 48, let b0 = v.u8(0) else { return .no }
        let version = (b0 >> 3) & 7, mode = b0 & 7
        guard version >= 1, version <= 4, mode >= 1, mode <= 5 else { return .no }
        return .match(.ntp)
    }
}
