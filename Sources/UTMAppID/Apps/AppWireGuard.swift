import UTMCore

/// WireGuard: message types 1-4 with their fixed sizes.
enum AppWireGuard {
    static let descriptor = AppDescriptor(
        id: .wireguard, name: "WireGuard", kind: .proto, category: "VPN",
        udpPorts: [51820],
        dissector: Dissector([.udp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        guard let t = v.u8(0), v.u8(1) == 0, v.u8(2) == 0, v.u8(3) == 0 else { return .no }
        switch t {
        case 1: return v.count == 148 ? .match(.wireguard) : .no   // handshake initiation
        case 2: return v.count == 92 ? .match(.wireguard) : .no    // handshake response
        case 3: return v.count == 64 ? .match(.wireguard) : .no    // cookie reply
        case 4: return v.count >= 32 && (v.count - 32) % 16 == 0 && p.onPort(51820) ? .match(.wireguard) : .no
        default: return .no
        }
    }
}
