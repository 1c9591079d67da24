import UTMCore

/// DHCP/BOOTP: op 1/2 and the magic cookie 0x63825363 at offset 236.
enum AppDHCP {
    static let descriptor = AppDescriptor(
        id: .dhcp, name: "DHCP", kind: .proto, category: "Network",
        udpPorts: [67, 68],
        dissector: Dissector([.udp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        guard v.count >= 240, let op = v.u8(0), op == 1 || op == 2, v.u32(236) == 0x6382_5363 else { return .no }
        return .match(.dhcp)
    }
}
