import UTMCore

/// OpenVPN: client hard reset (opcode 7/10) answered by a server hard reset (8); TCP framing too.
enum AppOpenVPN {
    static let descriptor = AppDescriptor(
        id: .openvpn, name: "OpenVPN", kind: .proto, category: "VPN",
        tcpPorts: [1194],
        udpPorts: [1194],
        dissector: Dissector([.tcp, .udp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        var v = p.payload
        if p.isTCP {
            guard let len = v.u16(0) else { return .needMore }
            guard Int(len) + 2 == v.count else { return .no }
            v = v.dropFirst(2)
        }
        guard let b0 = v.u8(0), v.count >= 14 else { return .no }
        let opcode = b0 >> 3, key = b0 & 7
        guard key == 0 else { return .no }
        if p.packetIndex == 0 {
            // P_CONTROL_HARD_RESET_CLIENT_V2 / V3 from the client.
            guard p.direction == .toServer, opcode == 7 || opcode == 10 else { return .no }
            return p.onPort(1194) ? .match(.openvpn) : .needMore
        }
        // P_CONTROL_HARD_RESET_SERVER_V2 in reply.
        return p.direction == .toClient && opcode == 8 ? .match(.openvpn) : .no
    }
}
