import UTMCore

/// DHCPv6: a message type 1-13 on ports 546/547.
enum AppDHCPv6 {
    static let descriptor = AppDescriptor(
        id: .dhcpv6, name: "DHCPV6", kind: .proto, category: "Network",
        udpPorts: [546, 547],
        dissector: Dissector([.udp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        guard let t = p.payload.u8(0), t >= 1, t <= 13, p.payload.count >= 4 else { return .no }
        return .match(.dhcpv6)
    }
}
