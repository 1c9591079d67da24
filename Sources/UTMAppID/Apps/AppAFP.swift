import UTMCore

/// Apple Filing Protocol, by port.
enum AppAFP {
    static let descriptor = AppDescriptor(
        id: .afp, name: "AFP", kind: .proto, category: "FileSharing",
        tcpPorts: [548])
}
