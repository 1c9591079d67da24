import UTMCore

/// LDAP: a BER LDAPMessage (message id + application-tagged operation) on 389/3268.
enum AppLDAP {
    static let descriptor = AppDescriptor(
        id: .ldap, name: "LDAP", kind: .proto, category: "Network",
        tcpPorts: [389, 3268],
        udpPorts: [389],
        dissector: Dissector([.tcp, .udp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        guard v.u8(0) == 0x30, let l = v.u8(1) else { return .no }
        let o = l & 0x80 == 0 ? 2 : 2 + Int(l & 0x7f)
        guard v.u8(o) == 0x02, let il = v.u8(o + 1), il >= 1, il <= 4, let op = v.u8(o + 2 + Int(il)) else { return .no }
        // Protocol ops are [APPLICATION n] (0x60-0x79, constructed or primitive 0x42/0x50/0x4a).
        return (op >= 0x60 && op <= 0x79) || op == 0x42 || op == 0x4a || op == 0x50 ? .match(.ldap) : .no
    }
}
