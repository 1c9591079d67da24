import UTMCore

/// STUN/TURN: message type with the top two bits clear and the 0x2112A442 magic cookie (classic RFC 3489 on 3478).
enum AppSTUN {
    static let descriptor = AppDescriptor(
        id: .stun, name: "STUN", kind: .carrier, category: "VoIP",
        tcpPorts: [3478],
        udpPorts: [3478, 19302],
        dissector: Dissector([.tcp, .udp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        var v = p.payload
        // STUN over TCP may be framed (RFC 4571: two length bytes first).
        if p.isTCP, let l = v.u16(0), Int(l) + 2 == v.count, v.u32(6) == 0x2112_a442 { v = v.dropFirst(2) }
        guard v.count >= 20, let type = v.u16(0), let len = v.u16(2), let cookie = v.u32(4) else {
            return v.count < 20 && p.packetIndex == 0 && p.isTCP ? .needMore : .no
        }
        guard type & 0xc000 == 0, len % 4 == 0 else { return .no }
        if cookie == 0x2112_a442 && Int(len) + 20 <= v.count { return .match(.stun) }
        // RFC 3489 (no magic cookie): only on the STUN port, with an exact length.
        if p.onPort(3478) && Int(len) + 20 == v.count && (type == 0x0001 || type == 0x0101) { return .match(.stun) }
        return .no
    }
}
