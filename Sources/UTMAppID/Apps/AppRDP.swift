import UTMCore

/// RDP: TPKT + X.224 connection request with an mstshash cookie or an RDP negotiation request.
enum AppRDP {
    static let descriptor = AppDescriptor(
        id: .rdp, name: "RDP", kind: .proto, category: "RemoteAccess",
        tcpPorts: [3389],
        udpPorts: [3389],
        dissector: Dissector([.tcp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        // TPKT (version 3) + X.224 Connection Request (0xE0) / Confirm (0xD0).
        guard let b0 = v.u8(0) else { return .needMore }
        guard b0 == 3 else { return .no }
        guard v.count >= 11, let tl = v.u16(2), let x = v.u8(5) else { return .needMore }
        guard v.u8(1) == 0, Int(tl) == v.count || Int(tl) < v.count, x & 0xf0 == 0xe0 || x & 0xf0 == 0xd0 else { return .no }
        if v.contains("Cookie: mstshash=", within: 128) || p.onPort(3389) { return .match(.rdp) }
        // rdpNegReq / rdpNegRsp right after the 11-byte X.224 header.
        if let t = v.u8(11), t == 1 || t == 2 || t == 3, v.u16le(13) == 8 { return .match(.rdp) }
        return .no
    }
}
