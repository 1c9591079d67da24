import UTMCore

/// IMAP: the * OK greeting naming IMAP (or on 143), or a tagged CAPABILITY/LOGIN/STARTTLS.
enum AppIMAP {
    static let descriptor = AppDescriptor(
        id: .imap, name: "IMAP", kind: .proto, category: "Mail",
        tcpPorts: [143],
        dissector: Dissector([.tcp], probe: probe))

    /// A literal array in the probe would be allocated on every call.
    static let commands: [StaticString] = ["CAPABILITY", "LOGIN ", "STARTTLS", "AUTHENTICATE ", "ID ("]

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        if p.direction == .toClient {
            guard v.count >= 5 else { return .needMore }
            if v.has("* OK") && (v.contains("IMAP", within: 256) || p.onPort(143)) { return .match(.imap) }
            if v.has("* PREAUTH") || v.has("* CAPABILITY IMAP") { return .match(.imap) }
            return .no
        }
        // A tagged command: "<tag> CAPABILITY", "<tag> LOGIN ".
        guard let sp = v.prefix(24).firstIndex(of: UInt8(ascii: " ")), sp > 0 else {
            return v.count < 24 && p.packetIndex < 2 ? .needMore : .no
        }
        let rest = v.dropFirst(sp + 1)
        if rest.hasAny(commands, caseInsensitive: true) {
            return .match(.imap)
        }
        return p.packetIndex == 0 ? .needMore : .no
    }
}
