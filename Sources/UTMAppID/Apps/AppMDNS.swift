import UTMCore

/// Multicast DNS on 5353.
enum AppMDNS {
    static let descriptor = AppDescriptor(
        id: .mdns, name: "MDNS", kind: .proto, category: "Network",
        udpPorts: [5353],
        dissector: Dissector([.udp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        DNSShape.looksLikeDNS(p.payload, strict: false) ? .match(.mdns) : .no
    }
}
