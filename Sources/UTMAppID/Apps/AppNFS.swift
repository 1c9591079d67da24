import UTMCore

/// NFS, by port.
enum AppNFS {
    static let descriptor = AppDescriptor(
        id: .nfs, name: "NFS", kind: .proto, category: "FileSharing",
        tcpPorts: [2049],
        udpPorts: [2049])
}
