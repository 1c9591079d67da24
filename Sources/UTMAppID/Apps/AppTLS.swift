import UTMCore

/// TLS over TCP: a handshake record (ClientHello or ServerHello), SSLv2-framed hellos too.
enum AppTLS {
    static let descriptor = AppDescriptor(
        id: .tls, name: "TLS", kind: .carrier, category: "Web",
        tcpPorts: [443, 8443],
        dissector: Dissector([.tcp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        switch TLSShape.isHandshake(p.payload) {
        case .match:
            // TLS on the ports of the mail protocols' implicit-TLS variants is reported as those.
            switch p.serverPort {
            case 993: return .match(.imaps)
            case 995: return .match(.pops)
            case 465: return .match(.smtps)
            default: return .match(.tls)
            }
        case .needMore: return .needMore
        case .no: return .no
        }
    }
}
