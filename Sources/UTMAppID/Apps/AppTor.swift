import UTMCore

/// Tor: TLS on the relay and directory ports.
enum AppTor {
    static let descriptor = AppDescriptor(
        id: .tor, name: "Tor", kind: .service, category: "VPN",
        tcpPorts: [9001, 9030, 9050, 9150])
}
