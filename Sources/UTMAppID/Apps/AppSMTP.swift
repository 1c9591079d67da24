import UTMCore

/// SMTP: a 220 greeting naming SMTP (or on a mail port), or the client's EHLO/HELO.
enum AppSMTP {
    static let descriptor = AppDescriptor(
        id: .smtp, name: "SMTP", kind: .proto, category: "Mail",
        tcpPorts: [25, 587, 2525],
        dissector: Dissector([.tcp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        if p.direction == .toServer {
            if v.hasCI("EHLO ") || v.hasCI("HELO ") { return .match(.smtp) }
            return v.count < 5 && p.packetIndex < 2 ? .needMore : (p.packetIndex == 0 ? .no : .needMore)
        }
        guard v.count >= 4 else { return .needMore }
        guard v.has("220 ") || v.has("220-") else { return .no }
        if v.contains("SMTP", within: 256) || p.onPort(25) || p.onPort(587) || p.onPort(2525) { return .match(.smtp) }
        if v.contains("FTP", within: 256) { return .no }
        return .needMore
    }
}
