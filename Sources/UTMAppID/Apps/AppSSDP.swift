import UTMCore

/// Simple Service Discovery (UPnP): HTTP-over-UDP on port 1900.
enum AppSSDP {
    static let descriptor = AppDescriptor(
        id: .ssdp, name: "SSDP", kind: .proto, category: "Network",
        udpPorts: [1900],
        dissector: Dissector([.udp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        if v.has("M-SEARCH * HTTP/1.1") || v.has("NOTIFY * HTTP/1.1") || v.has("HTTP/1.1 200 OK") { return .match(.ssdp) }
        return .no
    }
}
