import UTMCore

/// SNMP: a BER sequence with version 1, 2c or 3, on 161/162.
enum AppSNMP {
    static let descriptor = AppDescriptor(
        id: .snmp, name: "SNMP", kind: .proto, category: "Network",
        udpPorts: [161, 162],
        dissector: Dissector([.udp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        // BER SEQUENCE, then INTEGER version 0 (v1), 1 (v2c) or 3 (v3).
        guard v.u8(0) == 0x30, let l = v.u8(1) else { return .no }
        let o = l & 0x80 == 0 ? 2 : 2 + Int(l & 0x7f)
        guard v.u8(o) == 0x02, v.u8(o + 1) == 0x01, let ver = v.u8(o + 2), ver <= 3 else { return .no }
        return .match(.snmp)
    }
}
