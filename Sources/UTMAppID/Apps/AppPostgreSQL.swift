import UTMCore

/// PostgreSQL: the client's StartupMessage or SSLRequest.
enum AppPostgreSQL {
    static let descriptor = AppDescriptor(
        id: .postgresql, name: "PostgreSQL", kind: .proto, category: "Database",
        tcpPorts: [5432],
        dissector: Dissector([.tcp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        guard p.direction == .toServer else { return .no }
        guard let len = v.u32(0), let code = v.u32(4) else { return .needMore }
        // StartupMessage (protocol 3.0) or SSLRequest / GSSENCRequest.
        if Int(len) == v.count && (code == 0x0003_0000 || code == 0x04d2_162f || code == 0x04d2_1630) { return .match(.postgresql) }
        return .no
    }
}
