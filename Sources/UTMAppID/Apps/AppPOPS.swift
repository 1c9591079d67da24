import UTMCore

/// POP3 over implicit TLS (port 995); found by the TLS dissector.
enum AppPOPS {
    static let descriptor = AppDescriptor(
        id: .pops, name: "POPS", kind: .proto, category: "Mail",
        tcpPorts: [995])
}
