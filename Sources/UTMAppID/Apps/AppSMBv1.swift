import UTMCore

/// SMB 1 over NetBIOS session framing (\xffSMB); shares its dissector with SMBv23.
enum AppSMBv1 {
    static let descriptor = AppDescriptor(
        id: .smbv1, name: "SMBv1", kind: .proto, category: "FileSharing",
        tcpPorts: [445, 139],
        dissector: Dissector([.tcp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        // NetBIOS session service framing: type 0 (message), 3-byte length, then the SMB magic.
        guard let t = v.u8(0) else { return .needMore }
        if t == 0x81 || t == 0x82 || t == 0x85 { return .match(.netbios) }
        guard t == 0 else { return .no }
        guard let magic = v.u32(4) else { return .needMore }
        switch magic {
        case 0xff53_4d42:                                          // \xffSMB
            // Session service on 139 is reported as NetBIOS (as nDPI does).
            if p.onPort(139) { return .match(.netbios) }
            // An SMB1 NEGOTIATE offering SMB 2 dialects opens an SMB 2/3 session.
            if v.u8(8) == 0x72, v.contains("SMB 2.", within: 512) { return .match(.smbv23) }
            return .match(.smbv1)
        case 0xfe53_4d42, 0xfd53_4d42, 0xfc53_4d42: return p.onPort(139) ? .match(.netbios) : .match(.smbv23)  // \xfeSMB, transform, compressed
        default: return .no
        }
    }
}
