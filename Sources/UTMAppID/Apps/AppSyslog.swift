import UTMCore

/// Syslog: '<PRI>' on 514.
enum AppSyslog {
    static let descriptor = AppDescriptor(
        id: .syslog, name: "Syslog", kind: .proto, category: "Network",
        udpPorts: [514],
        dissector: Dissector([.udp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        guard v.u8(0) == UInt8(ascii: "<"), isDigit(v.u8(1)) else { return .no }
        var i = 1
        while i < 5, isDigit(v.u8(i)) { i += 1 }
        return v.u8(i) == UInt8(ascii: ">") ? .match(.syslog) : .no
    }
}
