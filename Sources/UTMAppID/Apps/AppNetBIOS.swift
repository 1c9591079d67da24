import UTMCore

/// NetBIOS name and datagram services (UDP 137/138), session requests on 139.
enum AppNetBIOS {
    static let descriptor = AppDescriptor(
        id: .netbios, name: "NetBIOS", kind: .proto, category: "FileSharing",
        tcpPorts: [139],
        udpPorts: [137, 138],
        dissector: Dissector([.udp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        if p.onPort(137) {
            // Name service: DNS-like header, names are 32 encoded bytes ("CKAAAA...").
            guard v.count >= 12 + 34, let flags = v.u16(2), (flags >> 11) & 0xf <= 8, v.u8(12) == 0x20 else { return .no }
            return .match(.netbios)
        }
        // Datagram service: type 0x10-0x16.
        guard let t = v.u8(0), t >= 0x10, t <= 0x16, v.count >= 14 else { return .no }
        // Browser announcements and mailslots carry SMB1 transactions.
        var from = 1
        while let i = v.firstIndex(of: ("SMB" as StaticString).byteView, from: from) {
            if v.u8(i - 1) == 0xff { return .match(.smbv1) }
            from = i + 1
        }
        return .match(.netbios)
    }
}
