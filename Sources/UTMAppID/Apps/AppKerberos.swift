import UTMCore

/// Kerberos: the application tag of AS/TGS/AP messages on 88.
enum AppKerberos {
    static let descriptor = AppDescriptor(
        id: .kerberos, name: "Kerberos", kind: .proto, category: "Network",
        tcpPorts: [88],
        udpPorts: [88],
        dissector: Dissector([.tcp, .udp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        var v = p.payload
        if p.isTCP {
            guard let len = v.u32(0) else { return .needMore }
            guard len > 0, len < 65536 else { return .no }
            v = v.dropFirst(4)
        }
        // ASN.1 application tags: AS-REQ 10, AS-REP 11, TGS-REQ 12, TGS-REP 13, AP-REQ 14, KRB-ERROR 30.
        guard let t = v.u8(0) else { return .needMore }
        switch t {
        case 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x7e: return .match(.kerberos)
        default: return .no
        }
    }
}
