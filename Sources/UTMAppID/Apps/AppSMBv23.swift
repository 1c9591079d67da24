import UTMCore

/// SMB 2/3 (\xfeSMB) over NetBIOS session framing; found by the SMB dissector.
enum AppSMBv23 {
    static let descriptor = AppDescriptor(
        id: .smbv23, name: "SMBv23", kind: .proto, category: "FileSharing",
        tcpPorts: [445])
}
