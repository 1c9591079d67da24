import UTMCore

/// RADIUS: a known code and an exact length, on 1812/1813/1645/1646.
enum AppRadius {
    static let descriptor = AppDescriptor(
        id: .radius, name: "Radius", kind: .proto, category: "Network",
        udpPorts: [1812, 1813, 1645, 1646],
        dissector: Dissector([.udp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        guard let code = v.u8(0), (code >= 1 && code <= 5) || (code >= 11 && code <= 13) || (code >= 40 && code <= 45),
              let len = v.u16(2), Int(len) == v.count, len >= 20 else { return .no }
        return .match(.radius)
    }
}
