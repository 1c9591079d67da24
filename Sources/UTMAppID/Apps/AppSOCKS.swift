import UTMCore

/// SOCKS 4/5 greetings on 1080.
enum AppSOCKS {
    static let descriptor = AppDescriptor(
        id: .socks, name: "SOCKS", kind: .proto, category: "Proxy",
        tcpPorts: [1080],
        dissector: Dissector([.tcp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        guard let ver = v.u8(0), let n = v.u8(1) else { return .needMore }
        if ver == 5, n >= 1, n <= 9, Int(n) + 2 == v.count { return .match(.socks) }
        if ver == 4, n == 1 || n == 2, v.count >= 9, v.u8(v.count - 1) == 0 { return .match(.socks) }
        return .no
    }
}
