import UTMCore

/// Link-Local Multicast Name Resolution on 5355.
enum AppLLMNR {
    static let descriptor = AppDescriptor(
        id: .llmnr, name: "LLMNR", kind: .proto, category: "Network",
        udpPorts: [5355],
        dissector: Dissector([.udp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        DNSShape.looksLikeDNS(p.payload, strict: false) ? .match(.llmnr) : .no
    }
}
