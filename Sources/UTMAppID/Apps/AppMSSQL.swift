import UTMCore

/// Microsoft SQL Server TDS: a PRELOGIN (or LOGIN7/SQL batch on 1433) with an exact length.
enum AppMSSQL {
    static let descriptor = AppDescriptor(
        id: .mssql, name: "MsSQL-TDS", kind: .proto, category: "Database",
        tcpPorts: [1433],
        dissector: Dissector([.tcp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        guard let t = v.u8(0) else { return .needMore }
        guard t == 0x12 || t == 0x10 || t == 0x01 else { return .no }
        guard let st = v.u8(1), let len = v.u16(2) else { return .needMore }
        guard st <= 0x1f, Int(len) == v.count, len >= 8 else { return .no }
        if t == 0x12 || p.onPort(1433) { return .match(.mssql) }
        return .no
    }
}
