import UTMCore

/// POP3: a +OK greeting then USER/CAPA/APOP/STLS.
enum AppPOP3 {
    static let descriptor = AppDescriptor(
        id: .pop3, name: "POP3", kind: .proto, category: "Mail",
        tcpPorts: [110],
        dissector: Dissector([.tcp], probe: probe))

    /// A literal array in the probe would be allocated on every call.
    static let commands: [StaticString] = ["USER ", "CAPA", "APOP ", "STLS", "AUTH "]

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        if p.direction == .toClient {
            guard v.count >= 4 else { return .needMore }
            if v.has("+OK") && (p.onPort(110) || v.contains("POP", within: 256)) { return .match(.pop3) }
            return v.has("+OK") ? .needMore : .no
        }
        if v.hasAny(commands, caseInsensitive: true) {
            return p.packetIndex > 0 || p.onPort(110) ? .match(.pop3) : .needMore
        }
        return p.packetIndex == 0 ? .needMore : .no
    }
}
