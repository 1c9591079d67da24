import UTMCore

/// WhatsApp: the Noise prologue 'WA' + version its clients send first, and its domains.
enum AppWhatsApp {
    static let descriptor = AppDescriptor(
        id: .whatsapp, name: "WhatsApp", kind: .service, category: "Chat",
        tcpPorts: [5222],
        names: ["whatsapp.com", "whatsapp.net", "wa.me", "whatsapp.biz", "wl.co"],
        dissector: Dissector([.tcp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        guard p.direction == .toServer, p.packetIndex == 0 else { return .no }
        // The client's first bytes: "WA" and a two-byte protocol version, or the routing prologue "ED\0\1".
        guard v.count >= 4 else { return v.count < 4 && (v.isPrefix(of: "WA") || v.isPrefix(of: "ED")) ? .needMore : .no }
        if v.u8(0) == UInt8(ascii: "W"), v.u8(1) == UInt8(ascii: "A"), let major = v.u8(2), major >= 1, major <= 6 { return .match(.whatsapp) }
        if v.u8(0) == UInt8(ascii: "E"), v.u8(1) == UInt8(ascii: "D"), v.u8(2) == 0, v.u8(3) == 1 { return .match(.whatsapp) }
        return .no
    }
}
