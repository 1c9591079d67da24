import UTMCore

/// Telnet: IAC WILL/WONT/DO/DONT option negotiation first.
enum AppTelnet {
    static let descriptor = AppDescriptor(
        id: .telnet, name: "Telnet", kind: .proto, category: "RemoteAccess",
        tcpPorts: [23],
        dissector: Dissector([.tcp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        // Option negotiation: IAC (255) followed by WILL/WONT/DO/DONT and an option.
        guard v.count >= 3, v.u8(0) == 0xff, let cmd = v.u8(1), cmd >= 0xfb, cmd <= 0xfe,
              let opt = v.u8(2), opt < 50 || opt == 0xff else { return .no }
        return .match(.telnet)
    }
}
