import UTMCore

/// DNS: the header and first question parse (on port 53, or anywhere when the shape is strict).
enum AppDNS {
    static let descriptor = AppDescriptor(
        id: .dns, name: "DNS", kind: .carrier, category: "Network",
        tcpPorts: [53],
        udpPorts: [53],
        dissector: Dissector([.tcp, .udp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        var v = p.payload
        if p.isTCP {
            guard let len = v.u16(0) else { return .needMore }
            guard p.onPort(53), Int(len) >= 12 else { return .no }
            v = v.dropFirst(2)
            if v.count < 12 { return .needMore }
        }
        if p.onPort(5353) || p.onPort(5355) || p.onPort(137) { return .no }
        if p.onPort(53) { return DNSShape.looksLikeDNS(v, strict: false) ? .match(.dns) : .no }
        return DNSShape.looksLikeDNS(v, strict: true) ? .match(.dns) : .no
    }
}
