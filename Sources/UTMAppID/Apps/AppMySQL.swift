import UTMCore

/// MySQL/MariaDB: the server's protocol-10 greeting with a version string.
enum AppMySQL {
    static let descriptor = AppDescriptor(
        id: .mysql, name: "MySQL", kind: .proto, category: "Database",
        tcpPorts: [3306],
        dissector: Dissector([.tcp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        // Server greeting: 3-byte little-endian length, sequence 0, protocol 10, version "5."/"8." etc.
        guard p.direction == .toClient || p.packetIndex == 0 else { return .no }
        guard v.count >= 8, let b0 = v.u8(0), let b1 = v.u8(1), let b2 = v.u8(2) else { return .needMore }
        let len = Int(b0) | Int(b1) << 8 | Int(b2) << 16
        guard len + 4 == v.count, v.u8(3) == 0, v.u8(4) == 0x0a, isDigit(v.u8(5)), v.u8(6) == UInt8(ascii: ".") || isDigit(v.u8(6)) else {
            return p.direction == .toServer ? .needMore : .no
        }
        return .match(.mysql)
    }
}
