import UTMCore

/// AnyDesk: TLS on port 7070 and its domains.
enum AppAnyDesk {
    static let descriptor = AppDescriptor(
        id: .anydesk, name: "AnyDesk", kind: .service, category: "RemoteAccess",
        tcpPorts: [7070],
        names: ["anydesk.com", "net.anydesk.com"])
}
